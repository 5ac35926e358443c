package results

import (
	"encoding/json"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/schemagen"
)

var update = flag.Bool("update", false, "rewrite the generated files of ../schema this package owns")

const (
	pkgPath = schemagen.Module + "/results"
	regen   = "go test ./results -run TestGeneratedSchemas -update"
)

// generatedSchemas maps each file of ../schema this package owns to its
// content, generated from the Go types and their doc comments.
func generatedSchemas(t *testing.T) map[string][]byte {
	t.Helper()
	r, err := schemagen.Reflector(pkgPath, ExperimentResult{}, StudyResult{}, StudyManifest{}, config.StudyConfig{}, TimeseriesSample{})
	if err != nil {
		t.Fatal(err)
	}
	manifest := schemagen.Reflect(r, &StudyManifest{}, "manifest.schema.json", "llem study manifest ("+ManifestFile+"), schema_version "+SchemaVersion)
	journal := schemagen.Reflect(r, &JournalEntry{}, "manifest.journal.schema.json", "llem manifest journal: one line of "+ManifestJournalFile)
	states := []any{StatePending, StateRunning, StateCompleted, StateFailed, StateSkipped, StateInterrupted}
	for _, s := range []*jsonschema.Schema{manifest, journal} {
		schemagen.Property(s, "ManifestRun", "state").Enum = states
	}
	return map[string][]byte{
		"../schema/result.schema.json": schemagen.Marshal(t, schemagen.Reflect(r, &ExperimentResult{}, "result.schema.json",
			"llem ExperimentResult ("+ResultFile+"), schema_version "+SchemaVersion)),
		"../schema/study_result.schema.json": schemagen.Marshal(t, schemagen.Reflect(r, &StudyResult{}, "study_result.schema.json",
			"llem StudyResult ("+StudyResultFile+"), schema_version "+SchemaVersion)),
		"../schema/manifest.schema.json":         schemagen.Marshal(t, manifest),
		"../schema/manifest.journal.schema.json": schemagen.Marshal(t, journal),
		// study.json is the resolved study (config.StudyConfig), not the
		// study file that study.schema.json describes.
		"../schema/resolved_study.schema.json": schemagen.Marshal(t, schemagen.Reflect(r, &config.StudyConfig{}, "resolved_study.schema.json",
			"llem resolved study ("+StudyConfigFile+" of a study directory)")),
		"../schema/runs.columns.json":       schemagen.Marshal(t, runColumnsDoc(t, r.CommentMap)),
		"../schema/timeseries.columns.json": schemagen.Marshal(t, timeseriesColumnsDoc(t, r.CommentMap)),
	}
}

// TestGeneratedSchemas fails when a checked-in schema differs from the one
// the types give; -update rewrites them.
func TestGeneratedSchemas(t *testing.T) {
	for path, want := range generatedSchemas(t) {
		schemagen.CheckFresh(t, path, want, *update, regen)
	}
}

// runColumnsDoc describes the run table's columns: the configuration's by
// their fields' doc comments, the others by runColumnDescriptions.
func runColumnsDoc(t *testing.T, comments map[string]string) schemagen.Columns {
	t.Helper()
	doc := schemagen.Columns{
		Table:         RunTableName,
		SchemaVersion: RunTableSchemaVersion,
		Description: "The run table: " + ResultsParquetFile + " of a study directory and `llem export`'s runs table (Parquet, CSV or JSON Lines), " +
			"one row per run. Configuration columns are named by their dotted keys; lists and mappings are JSON text. Null: not set, or no result.",
	}
	fromConfig := map[string]string{}
	for _, c := range configColumns() {
		fromConfig[c.Name] = fieldComment(comments, c.path)
	}
	for _, c := range RunColumns() {
		desc, ok := fromConfig[c.Name]
		if !ok {
			desc = runColumnDescriptions[c.Name]
		}
		if desc == "" {
			t.Errorf("run table column %s has no description: add a doc comment to its field, or an entry to runColumnDescriptions", c.Name)
		}
		unit := schemagen.Unit(c.Name)
		if c.Type == TypeTimestamp {
			unit = "UTC"
		}
		doc.Columns = append(doc.Columns, schemagen.Column{Name: c.Name, Type: c.Type.String(), Unit: unit, Description: desc})
	}
	return doc
}

// fieldComment is the doc comment of the configuration field at path
// (field indices from config.ExperimentConfig).
func fieldComment(comments map[string]string, path [][]int) string {
	typ := reflect.TypeFor[config.ExperimentConfig]()
	var key string
	for _, idx := range path {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		f := typ.FieldByIndex(idx)
		key = typ.PkgPath() + "." + typ.Name() + "." + f.Name
		typ = f.Type
	}
	return strings.Join(strings.Fields(comments[key]), " ")
}

// TestSchemasRejectWrongDocuments: the generated schemas are strict enough
// to catch a misspelt or mistyped field.
func TestSchemasRejectWrongDocuments(t *testing.T) {
	v, err := schemagen.NewValidator("../schema")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := StudyManifest{SchemaVersion: SchemaVersion, StudyName: "s", StudyDesignHash: "h", CreatedAt: now, UpdatedAt: now,
		Runs: []ManifestRun{{Index: 0, Cycle: 1, MeasurementConfigHash: "abc", State: StateCompleted}}}
	good, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate("manifest.schema.json", good); err != nil {
		t.Fatalf("a manifest as llem writes it: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field":  strings.Replace(string(good), `"study_name"`, `"studyname":"x","study_name"`, 1),
		"wrong type":     strings.Replace(string(good), `"journal_seq":0`, `"journal_seq":"0"`, 1),
		"unknown state":  strings.Replace(string(good), `"completed"`, `"done"`, 1),
		"missing field":  strings.Replace(string(good), `"study_name":"s",`, ``, 1),
		"not a run list": strings.Replace(string(good), `"runs":[`, `"runs":[1,`, 1),
	} {
		if doc == string(good) {
			t.Fatalf("%s: the edit did not apply to %s", name, good)
		}
		if v.Validate("manifest.schema.json", []byte(doc)) == nil {
			t.Errorf("%s: the schema accepts %s", name, doc)
		}
	}
}

// timeseriesColumnsDoc describes the time-series table, each run's
// timeseries.parquet and `llem export --table timeseries`, from
// TimeseriesSample's doc comments.
func timeseriesColumnsDoc(t *testing.T, comments map[string]string) schemagen.Columns {
	t.Helper()
	typ := reflect.TypeFor[TimeseriesSample]()
	doc := schemagen.Columns{
		Table:         TimeseriesTableName,
		SchemaVersion: TimeseriesTableSchemaVersion,
		Description: "The time-series table: each run's " + TimeseriesFile + " (run-*/" + TimeseriesFile +
			" in a study directory; one glob reads every run) and `llem export --table timeseries` (Parquet, CSV or JSON Lines), " +
			"one row per sample and energy domain. Null: not recorded.",
	}
	cols := TimeseriesColumns()
	if len(cols) != typ.NumField() {
		t.Fatalf("%d time-series columns, %d TimeseriesSample fields", len(cols), typ.NumField())
	}
	for i, c := range cols {
		f := typ.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("parquet"), ","); name != c.Name {
			t.Errorf("time-series column %d is %s, TimeseriesSample field %s is tagged %s", i, c.Name, f.Name, name)
		}
		desc := strings.Join(strings.Fields(comments[pkgPath+".TimeseriesSample."+f.Name]), " ")
		if desc == "" {
			t.Errorf("TimeseriesSample.%s has no doc comment", f.Name)
		}
		unit := schemagen.Unit(c.Name)
		if c.Type == TypeTimestamp {
			unit = "UTC"
		}
		doc.Columns = append(doc.Columns, schemagen.Column{Name: c.Name, Type: c.Type.String(), Unit: unit, Description: desc})
	}
	return doc
}
