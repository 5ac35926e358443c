package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/llenergymeasure/llem/config"
)

// unsetLevel is the level of a key a configuration does not set (e.g.
// native.batch_size in a pytorch configuration of a backend sweep).
const unsetLevel = "unset"

// flattenConfig flattens a configuration to dotted keys as a sweep names
// them (backend, native.batch_size, dataset.output_len, …), each value in a
// canonical text form. Lists are kept whole, as JSON.
func flattenConfig(c *config.ExperimentConfig) (map[string]string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("flatten configuration: %w", err)
	}
	var tree map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("flatten configuration: %w", err)
	}
	out := make(map[string]string)
	flattenInto(out, "", tree)
	return out, nil
}

func flattenInto(out map[string]string, prefix string, v any) {
	if m, ok := v.(map[string]any); ok && (prefix == "" || len(m) > 0) {
		for k, x := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flattenInto(out, key, x)
		}
		return
	}
	switch x := v.(type) {
	case nil:
		out[prefix] = "null"
	case string:
		out[prefix] = x
	case json.Number:
		out[prefix] = x.String()
	case bool:
		out[prefix] = strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x) // decoded JSON re-encodes
		out[prefix] = string(b)
	}
}

// sweptKeys returns, sorted, the keys whose value differs between
// configurations; a key missing from some configurations counts as unset there.
func sweptKeys(flat []map[string]string) []string {
	all := make(map[string]bool)
	for _, f := range flat {
		for k := range f {
			all[k] = true
		}
	}
	var swept []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		first := levelOf(flat[0], k)
		for _, f := range flat[1:] {
			if levelOf(f, k) != first {
				swept = append(swept, k)
				break
			}
		}
	}
	return swept
}

func levelOf(flat map[string]string, key string) string {
	if v, ok := flat[key]; ok {
		return v
	}
	return unsetLevel
}

// labelFor names a configuration by its swept values, e.g.
// "native.batch_size=4, dataset.output_len=64"; a study of one
// configuration is named by its backend and model.
func labelFor(flat map[string]string, swept []string) string {
	if len(swept) == 0 {
		return strings.TrimSpace(levelOf(flat, "backend") + " " + levelOf(flat, "model"))
	}
	parts := make([]string, len(swept))
	for i, k := range swept {
		parts[i] = k + "=" + levelOf(flat, k)
	}
	return strings.Join(parts, ", ")
}

// sortLevels orders levels numerically when all are numbers, else as text,
// with "unset" first.
func sortLevels(levels []string) {
	numeric := true
	for _, l := range levels {
		if _, err := strconv.ParseFloat(l, 64); err != nil && l != unsetLevel {
			numeric = false
		}
	}
	slices.SortFunc(levels, func(a, b string) int {
		if a == unsetLevel || b == unsetLevel {
			return boolCmp(b == unsetLevel, a == unsetLevel)
		}
		if numeric {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			return cmpFloat(x, y)
		}
		return strings.Compare(a, b)
	})
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
