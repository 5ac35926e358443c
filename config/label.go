package config

import (
	"encoding/json"
	"slices"
	"strings"
)

// Labels names each experiment of the study by what distinguishes it from
// the others: the fields whose values differ across the study, as
// `field=value`, in field order (for example `native.batch_size=4
// precision=q8_0`). A study of one experiment is labelled by backend and
// model. Every listing (dry-run, progress, summary, failures) uses these.
func (sc *StudyConfig) Labels() []string {
	return Labels(sc.Experiments)
}

// Label is Labels()[i].
func (sc *StudyConfig) Label(i int) string {
	return Labels(sc.Experiments)[i]
}

// hiddenFromLabels are filled by Load from other fields; the fields they
// follow are in the label already.
var hiddenFromLabels = []string{"model_sha256", "dataset.file_sha256"}

// Labels labels configurations by the fields that differ among them.
func Labels(cfgs []ExperimentConfig) []string {
	out := make([]string, len(cfgs))
	if len(cfgs) == 1 {
		out[0] = string(cfgs[0].Backend) + " " + cfgs[0].Model
		return out
	}
	flat := make([]map[string]string, len(cfgs))
	var keys []string
	seen := map[string]bool{}
	for i, c := range cfgs {
		var v any
		_ = json.Unmarshal(CanonicalExperimentJSON(c), &v)
		flat[i] = map[string]string{}
		flatten(v, "", flat[i])
		for k := range flat[i] {
			if !seen[k] && !slices.Contains(hiddenFromLabels, k) {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var varying []string
	for _, k := range keys {
		for _, f := range flat[1:] {
			if f[k] != flat[0][k] {
				varying = append(varying, k)
				break
			}
		}
	}
	for i := range cfgs {
		parts := make([]string, 0, len(varying))
		for _, k := range varying {
			// A field another backend's section holds is not this one's.
			if v, ok := flat[i][k]; ok {
				parts = append(parts, k+"="+v)
			}
		}
		out[i] = strings.Join(parts, " ")
		if out[i] == "" {
			out[i] = string(cfgs[i].Backend) + " " + cfgs[i].Model
		}
	}
	return out
}

// flatten writes the scalars and lists under v as dotted paths.
func flatten(v any, prefix string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(e, join(prefix, k), out)
		}
	case string:
		out[prefix] = x
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}
