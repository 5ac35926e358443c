package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/internal/schemagen"
	"github.com/llenergymeasure/llem/results"
)

const (
	schemaDir    = "../../schema"
	regenSchemas = "go test ./internal/cli -run TestGeneratedSchemas -update"
)

// generatedSchemas maps each file of ../../schema this package owns (the
// --json envelope, `llem config --json`) to its content.
func generatedSchemas(t *testing.T) map[string][]byte {
	t.Helper()
	r, err := schemagen.Reflector(schemagen.Module+"/internal/cli", runJSON{}, configReport{})
	if err != nil {
		t.Fatal(err)
	}
	env := schemagen.Reflect(r, &runJSON{}, "envelope.schema.json", "llem --json envelope (`llem run --json`, `llem report DIR DIR… --format json`)")
	def := env.Definitions["runJSON"]
	if def == nil {
		t.Fatal("envelope schema: no runJSON definition")
	}
	kind, _ := def.Properties.Get("kind")
	kind.Enum = []any{runJSONExperiment, runJSONStudy, runJSONComparison}
	// kind says which schema result takes.
	with := func(name string, s *jsonschema.Schema) *jsonschema.Schema {
		out := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		out.Properties.Set(name, s)
		return out
	}
	ref := func(file string) *jsonschema.Schema { return with("result", &jsonschema.Schema{Ref: file}) }
	for _, k := range [][2]string{{runJSONExperiment, "result.schema.json"}, {runJSONStudy, "study_result.schema.json"}, {runJSONComparison, "comparison.schema.json"}} {
		def.AllOf = append(def.AllOf, &jsonschema.Schema{If: with("kind", &jsonschema.Schema{Const: k[0]}), Then: ref(k[1])})
	}
	cfg := schemagen.Reflect(r, &configReport{}, "config_report.schema.json", "llem machine and configuration report (`llem config --json`)")
	return map[string][]byte{
		schemaDir + "/envelope.schema.json":      schemagen.Marshal(t, env),
		schemaDir + "/config_report.schema.json": schemagen.Marshal(t, cfg),
	}
}

// TestGeneratedSchemas fails when a checked-in file differs from the one
// the types give; -update rewrites them.
func TestGeneratedSchemas(t *testing.T) {
	for path, want := range generatedSchemas(t) {
		schemagen.CheckFresh(t, path, want, *update, regenSchemas)
	}
}

// TestRealOutputsMatchSchemas runs a small native study and checks every
// JSON file it writes, the --json envelope, the report's JSON and `llem
// config --json` against the checked-in schemas, and the run table's
// columns against schema/runs.columns.json.
func TestRealOutputsMatchSchemas(t *testing.T) {
	v, err := schemagen.NewValidator(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, schema string, data []byte) {
		t.Helper()
		if err := v.Validate(schema, data); err != nil {
			t.Errorf("%s does not match %s: %v", what, schema, err)
		}
	}
	dir := t.TempDir()
	study := filepath.Join(dir, "study.yaml")
	src := "name: schemas\nmodel: tiny\nbackend: native\nn: 2\ndataset: {name: synthetic, input_len: 8, output_len: 4}\n" +
		"baseline: {enabled: false}\nwarmup: {enabled: false}\nexecution: {n_cycles: 2}\nsweep:\n  native.batch_size: [1, 2]\n"
	if err := os.WriteFile(study, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := runCLI(t, nil, "run", study, "--no-gaps", "--json", "--output", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	check("llem run --json", "envelope.schema.json", []byte(stdout))
	studyDirs, _ := filepath.Glob(filepath.Join(dir, "out", "schemas_*"))
	if len(studyDirs) != 1 {
		t.Fatalf("study dirs %v", studyDirs)
	}
	sd := studyDirs[0]

	// Each file kind is required once at least; every JSON file of the
	// study directory must have a schema.
	want := map[string]string{
		results.ManifestFile:        "manifest.schema.json",
		results.StudyConfigFile:     "resolved_study.schema.json",
		results.StudyResultFile:     "study_result.schema.json",
		results.ManifestJournalFile: "manifest.journal.schema.json",
		results.ResultFile:          "result.schema.json",
	}
	seen := map[string]int{}
	err = filepath.WalkDir(sd, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, ".jsonl") {
			return nil
		}
		schema, ok := want[name]
		if !ok {
			t.Errorf("%s: llem wrote a JSON file no schema describes", p)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.HasSuffix(name, ".jsonl") {
			check(p, schema, data)
			seen[name]++
			return nil
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for n := 1; sc.Scan(); n++ {
			check(fmt.Sprintf("%s line %d", p, n), schema, sc.Bytes())
			seen[name]++
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if seen[name] == 0 && name != results.ManifestJournalFile {
			t.Errorf("the study wrote no %s to check", name)
		}
	}
	t.Logf("checked: %v", seen)
	if seen[results.ResultFile] != 4 {
		t.Errorf("checked %d result files, want 4", seen[results.ResultFile])
	}

	code, stdout, errOut = runCLI(t, nil, "report", sd, "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	check("llem report --format json", "report.schema.json", []byte(stdout))

	code, stdout, errOut = runCLI(t, map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(dir, "none.sock")}, "config", "--json")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s", code, errOut)
	}
	check("llem config --json", "config_report.schema.json", []byte(stdout))

	// The Parquet files' columns, in order, are those the columns files list.
	checkColumns(t, filepath.Join(sd, results.ResultsParquetFile), "runs.columns.json")
	ts, _ := filepath.Glob(filepath.Join(sd, "run-*", results.TimeseriesFile))
	if len(ts) == 0 {
		t.Errorf("the study wrote no %s to check", results.TimeseriesFile)
	}
	for _, p := range ts {
		checkColumns(t, p, "timeseries.columns.json")
	}
}

// checkColumns fails unless the Parquet file's columns are, in order, those
// the schema/*.columns.json file lists.
func checkColumns(t *testing.T, path, columnsFile string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var got, listed []string
	for _, c := range pf.Schema().Fields() {
		got = append(got, c.Name())
	}
	var doc schemagen.Columns
	if err := results.ReadJSON(filepath.Join(schemaDir, columnsFile), &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Columns {
		listed = append(listed, c.Name)
	}
	if !slices.Equal(got, listed) {
		t.Errorf("%s: columns differ from %s:\n got %v\nwant %v", path, columnsFile, got, listed)
	}
}
