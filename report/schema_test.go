package report

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/llenergymeasure/llem/internal/schemagen"
	"github.com/llenergymeasure/llem/results"
)

const regenSchemas = "go test ./report -run TestGeneratedSchemas -update"

// generatedSchemas maps each file of ../schema this package owns (the
// report's JSON) to its content.
func generatedSchemas(t *testing.T) map[string][]byte {
	t.Helper()
	r, err := schemagen.Reflector(schemagen.Module+"/report", Report{}, Comparison{})
	if err != nil {
		t.Fatal(err)
	}
	s := schemagen.Reflect(r, &Report{}, "report.schema.json", "llem report (`llem report --format json`)")
	// Metric, Effect and Interaction write an interval as null when there
	// is none (MarshalJSON): fewer than two cycles.
	for def, props := range map[string][]string{
		"Metric":           {"std", "ci95_low", "ci95_high"},
		"ModelEffect":      {"ratio_ci95_low", "ratio_ci95_high"},
		"InteractionModel": {"ci95_low", "ci95_high"},
	} {
		for _, p := range props {
			if schemagen.Property(s, def, p) == nil {
				t.Fatalf("report schema: no property %s.%s", def, p)
			}
			s.Definitions[def].Properties.Set(p, schemagen.Nullable(schemagen.Property(s, def, p)))
		}
	}
	return map[string][]byte{
		"../schema/report.schema.json": schemagen.Marshal(t, s),
		"../schema/comparison.schema.json": schemagen.Marshal(t, schemagen.Reflect(r, &Comparison{}, "comparison.schema.json",
			"llem cross-study comparison (the result of `llem report DIR DIR… --format json`)")),
	}
}

// TestGeneratedSchemas fails when a checked-in file differs from the one
// the types give; -update rewrites them.
func TestGeneratedSchemas(t *testing.T) {
	for path, want := range generatedSchemas(t) {
		schemagen.CheckFresh(t, path, want, *update, regenSchemas)
	}
}

// TestReportJSONMatchesSchema checks the JSON report of every study
// fixture against the checked-in schema.
func TestReportJSONMatchesSchema(t *testing.T) {
	v, err := schemagen.NewValidator("../schema")
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob("testdata/*/" + results.ManifestFile)
	if len(dirs) == 0 {
		t.Fatal("no study fixtures under testdata")
	}
	for _, m := range dirs {
		dir := filepath.Dir(m)
		s, err := Load(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		rep, err := Build(s)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
		if err := v.Validate("report.schema.json", buf.Bytes()); err != nil {
			t.Errorf("%s: the report JSON does not match schema/report.schema.json: %v", dir, err)
		}
	}
}
