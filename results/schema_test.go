package results

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/invopop/jsonschema"
)

var update = flag.Bool("update", false, "rewrite ../schema/result.schema.json")

const resultSchemaPath = "../schema/result.schema.json"

// ResultSchema is generated from ExperimentResult so readers outside llem
// (and the harness tests) can check result.json files.
func resultSchema(t *testing.T) []byte {
	r := &jsonschema.Reflector{RequiredFromJSONSchemaTags: false, AllowAdditionalProperties: false}
	s := r.Reflect(&ExperimentResult{})
	s.ID = "https://github.com/llenergymeasure/llem/schema/result.schema.json"
	s.Title = "llem ExperimentResult (result.json), schema_version " + SchemaVersion
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

func TestResultSchemaFresh(t *testing.T) {
	want := resultSchema(t)
	if *update {
		if err := os.WriteFile(resultSchemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(resultSchemaPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is stale or missing (%v); regenerate with: go test ./results -run TestResultSchema -update", resultSchemaPath, err)
	}
}
