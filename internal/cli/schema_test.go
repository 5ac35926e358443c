package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/internal/schemagen"
	"github.com/llenergymeasure/llem/internal/slurm"
	"github.com/llenergymeasure/llem/results"
)

const (
	schemaDir    = "../../schema"
	regenSchemas = "go test ./internal/cli -run TestGeneratedSchemas -update"
)

// envelopeKinds are the --json envelope's kinds, each with the schema of
// its result.
var envelopeKinds = [][2]string{
	{envelopeExperiment, "result.schema.json"},
	{envelopeStudy, "study_result.schema.json"},
	{envelopeComparison, "comparison.schema.json"},
	{envelopeReport, "report.schema.json"},
	{envelopePlan, "plan.schema.json"},
	{envelopeSubmission, "submission.schema.json"},
	{envelopeMachine, "config_report.schema.json"},
}

// generatedSchemas maps each file of ../../schema this package owns (the
// --json envelope, the results only the CLI prints) to its content.
func generatedSchemas(t *testing.T) map[string][]byte {
	t.Helper()
	r, err := schemagen.Reflector(schemagen.Module+"/internal/cli", envelope{}, configReport{}, dryRunJSON{}, slurm.Submission{})
	if err != nil {
		t.Fatal(err)
	}
	env := schemagen.Reflect(r, &envelope{}, "envelope.schema.json", "llem --json envelope: what every command prints with --json (and llem report --format json)")
	def := env.Definitions["envelope"]
	if def == nil {
		t.Fatal("envelope schema: no envelope definition")
	}
	kind, _ := def.Properties.Get("kind")
	kind.Enum = nil
	// kind says which schema result takes.
	with := func(name string, s *jsonschema.Schema) *jsonschema.Schema {
		out := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		out.Properties.Set(name, s)
		return out
	}
	for _, k := range envelopeKinds {
		kind.Enum = append(kind.Enum, k[0])
		def.AllOf = append(def.AllOf, &jsonschema.Schema{If: with("kind", &jsonschema.Schema{Const: k[0]}), Then: with("result", &jsonschema.Schema{Ref: k[1]})})
	}
	return map[string][]byte{
		schemaDir + "/envelope.schema.json":      schemagen.Marshal(t, env),
		schemaDir + "/config_report.schema.json": schemagen.Marshal(t, schemagen.Reflect(r, &configReport{}, "config_report.schema.json", "llem machine and configuration report (`llem config --json`)")),
		schemaDir + "/plan.schema.json":          schemagen.Marshal(t, schemagen.Reflect(r, &dryRunJSON{}, "plan.schema.json", "llem resolved runs (`llem run --dry-run --json`)")),
		schemaDir + "/submission.schema.json":    schemagen.Marshal(t, schemagen.Reflect(r, &slurm.Submission{}, "submission.schema.json", "llem Slurm submission (`llem run --scheduler slurm --json`; also slurm/submission.json of the study)")),
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
	check("llem report --format json", "envelope.schema.json", []byte(stdout))
	checkKind(t, stdout, envelopeReport)

	code, stdout, errOut = runCLI(t, map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(dir, "none.sock")}, "config", "--json")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s", code, errOut)
	}
	check("llem config --json", "envelope.schema.json", []byte(stdout))
	checkKind(t, stdout, envelopeMachine)

	code, stdout, errOut = runCLI(t, nil, "run", study, "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("run --dry-run: exit %d\n%s", code, errOut)
	}
	check("llem run --dry-run --json", "envelope.schema.json", []byte(stdout))
	checkKind(t, stdout, envelopePlan)

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

// resultOf is the result of a --json envelope of kind.
func resultOf(t *testing.T, stdout, kind string) json.RawMessage {
	t.Helper()
	var env struct {
		Kind   string          `json:"kind"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(stdout), &env); err != nil || env.Kind != kind {
		t.Fatalf("not a --json envelope of kind %s (%v):\n%s", kind, err, stdout)
	}
	return env.Result
}

// checkKind fails unless the --json envelope says kind.
func checkKind(t *testing.T, stdout, kind string) {
	t.Helper()
	var env envelope
	if err := json.Unmarshal([]byte(stdout), &env); err != nil || env.Kind != kind {
		t.Errorf("envelope kind %q (%v), want %q", env.Kind, err, kind)
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
