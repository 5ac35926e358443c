package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// This file is the one place configurations are flattened to dotted keys
// and told apart by the keys whose values differ: the CLI's listings and
// the report's swept parameters and labels both read it.

// Unset is the level of a key a configuration does not set (e.g.
// native.batch_size in a pytorch configuration of a backend sweep).
const Unset = "unset"

// Flatten flattens a configuration to dotted keys as a sweep names them
// (backend, native.batch_size, dataset.output_len, …), each value in a
// canonical text form. Lists are kept whole, as JSON.
func Flatten(c *ExperimentConfig) (map[string]string, error) {
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
			flattenInto(out, join(prefix, k), x)
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

// SweptKeys returns, sorted, the keys whose value differs between the
// flattened configurations; a key missing from some counts as Unset there.
func SweptKeys(flat []map[string]string) []string {
	all := make(map[string]bool)
	for _, f := range flat {
		for k := range f {
			all[k] = true
		}
	}
	var swept []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		first := Level(flat[0], k)
		for _, f := range flat[1:] {
			if Level(f, k) != first {
				swept = append(swept, k)
				break
			}
		}
	}
	return swept
}

// Level is a flattened configuration's value of key, Unset when absent.
func Level(flat map[string]string, key string) string {
	if v, ok := flat[key]; ok {
		return v
	}
	return Unset
}

// LabelFor names a configuration by its swept values, e.g.
// "dataset.output_len=64, native.batch_size=4"; with nothing swept, by its
// backend and model.
func LabelFor(flat map[string]string, swept []string) string {
	if len(swept) == 0 {
		return strings.TrimSpace(Level(flat, "backend") + " " + Level(flat, "model"))
	}
	parts := make([]string, len(swept))
	for i, k := range swept {
		parts[i] = k + "=" + Level(flat, k)
	}
	return strings.Join(parts, ", ")
}

// Labels names each configuration by what distinguishes it from the
// others (LabelFor over SweptKeys). Every listing uses these: dry-run,
// progress, summary, failures, and the report.
func Labels(cfgs []ExperimentConfig) []string {
	flat := make([]map[string]string, len(cfgs))
	for i := range cfgs {
		f, err := Flatten(&cfgs[i])
		if err != nil {
			f = map[string]string{"backend": string(cfgs[i].Backend), "model": cfgs[i].Model}
		}
		flat[i] = f
	}
	out := make([]string, len(cfgs))
	if len(cfgs) == 0 {
		return out
	}
	swept := SweptKeys(flat)
	for i := range flat {
		out[i] = LabelFor(flat[i], swept)
	}
	return out
}

// Labels is Labels of the study's experiments.
func (sc *StudyConfig) Labels() []string { return Labels(sc.Experiments) }
