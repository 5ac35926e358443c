package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/schemagen"
	"github.com/llenergymeasure/llem/results"
)

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "llem ") || !strings.Contains(out, "commit") || !strings.Contains(out, "built") {
		t.Errorf("--version: code %d, %q", code, out)
	}
}

func TestExamplesPassDryRun(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "run", f, "--dry-run")
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(out, "design hash") || !strings.Contains(out, "Runs, in execution order") {
				t.Errorf("dry-run output lacks the plan:\n%s", out)
			}
		})
	}
}

func TestDryRunJSON(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "run", "../../examples/native-batch-study.yaml", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		StudyName       string          `json:"study_name"`
		StudyDesignHash string          `json:"study_design_hash"`
		Execution       json.RawMessage `json:"execution"`
		Experiments     []struct {
			MeasurementConfigHash string                  `json:"measurement_config_hash"`
			Config                config.ExperimentConfig `json:"config"`
		} `json:"experiments"`
		Runs []struct {
			Index                 int    `json:"index"`
			Cycle                 int    `json:"cycle"`
			MeasurementConfigHash string `json:"measurement_config_hash"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(resultOf(t, out, envelopePlan)), &doc); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if doc.StudyName != "native-batch" || len(doc.StudyDesignHash) != 16 || len(doc.Execution) == 0 {
		t.Errorf("header: %+v", doc)
	}
	if len(doc.Experiments) != 6 || len(doc.Runs) != 18 {
		t.Fatalf("%d experiments, %d runs; want 6 and 18", len(doc.Experiments), len(doc.Runs))
	}
	hashes := map[string]bool{}
	for _, e := range doc.Experiments {
		if e.MeasurementConfigHash != config.MeasurementConfigHash(e.Config) {
			t.Errorf("hash %s does not match its config", e.MeasurementConfigHash)
		}
		hashes[e.MeasurementConfigHash] = true
	}
	perCycle := map[int]int{}
	for i, r := range doc.Runs {
		if r.Index != i || !hashes[r.MeasurementConfigHash] {
			t.Errorf("run %d: %+v", i, r)
		}
		perCycle[r.Cycle]++
	}
	if perCycle[1] != 6 || perCycle[2] != 6 || perCycle[3] != 6 {
		t.Errorf("runs per cycle %v", perCycle)
	}
}

func TestBadInputExitsTwoWithPositions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model: tiny\nbackend: native\nmodle: x\ndecoder: {temprature: 0.5}\n"), 0o644)
	code, _, errOut := runCLI(t, nil, "run", bad, "--dry-run")
	if code != ExitBadInput {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"bad.yaml:3:1: modle", `did you mean "model"`, "bad.yaml:4:11: decoder.temprature", `did you mean "temperature"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, _ := runCLI(t, nil, "run", "--cycles", "0", "--dry-run"); code != ExitBadInput {
		t.Errorf("--cycles 0: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, nil, "run", "--bogus-flag"); code != ExitBadInput {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, nil, "run", filepath.Join(dir, "missing.yaml")); code != ExitBadInput {
		t.Errorf("missing file: exit %d, want 2 (%s)", code, errOut)
	}
}

func TestAIEnergyScoreOfflineSaysWhatItNeeds(t *testing.T) {
	env := map[string]string{"HF_HOME": t.TempDir(), "HF_HUB_OFFLINE": "1"}
	code, _, errOut := runCLI(t, env, "run", "--dataset", "aienergyscore", "-n", "5", "--output", t.TempDir())
	if code != ExitBadInput {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; lines != 1 {
		t.Errorf("want one line, got %d:\n%s", lines, errOut)
	}
	for _, want := range []string{"https://huggingface.co/datasets/AIEnergyScore/text_generation/resolve/", "datasets--AIEnergyScore--text_generation"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q:\n%s", want, errOut)
		}
	}
}

// writeTinyExperiment writes an experiment file on the native tiny shape
// with a protocol short enough for tests (baseline and warm-up off).
func writeTinyExperiment(t *testing.T, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "tiny.yaml")
	src := "model: tiny\nbackend: native\nn: 4\ndataset: {name: synthetic, input_len: 8, output_len: 6}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\n" + extra
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunSingleExperimentWritesResult(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results")
	code, stdout, errOut := runCLI(t, nil, "run", writeTinyExperiment(t, dir, ""), "--output", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	runs, _ := filepath.Glob(filepath.Join(out, "tiny_*"))
	if len(runs) != 1 {
		t.Fatalf("result dirs %v", runs)
	}
	// A single experiment has a study's layout: manifest, study, result
	// and one run directory.
	for _, f := range []string{results.ManifestFile, results.StudyConfigFile, results.StudyResultFile} {
		if _, err := os.Stat(filepath.Join(runs[0], f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	runDirs, _ := filepath.Glob(filepath.Join(runs[0], "run-0000-c1-*"))
	if len(runDirs) != 1 {
		t.Fatalf("run dirs %v", runDirs)
	}
	for _, f := range []string{results.ResultFile, results.TimeseriesFile, results.RunLogFile} {
		if _, err := os.Stat(filepath.Join(runDirs[0], f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	res, err := results.ReadExperimentResult(filepath.Join(runDirs[0], results.ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	m, err := results.ReadManifest(filepath.Join(runs[0], results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != 1 || m.Runs[0].State != results.StateCompleted || m.Runs[0].MeasurementConfigHash != res.MeasurementConfigHash {
		t.Errorf("manifest runs %+v, want one completed run of %s", m.Runs, res.MeasurementConfigHash)
	}
	// `llem report` reads it like any study.
	if code, md, errOut := runCLI(t, nil, "report", runs[0], "--format", "md"); code != 0 || !strings.Contains(md, "| C1 | native tiny | 1 |") {
		t.Errorf("report of a single run: exit %d\n%s\n%s", code, md, errOut)
	}
	if res.Throughput.OutputTokens != 24 || res.Energy.Source != "estimated" {
		t.Errorf("result: %d output tokens, source %q", res.Throughput.OutputTokens, res.Energy.Source)
	}
	for _, want := range []string{"energy/output token", "ESTIMATED", "energy_estimated", runs[0]} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestRunFailureExitsOne(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "slow.yaml")
	src := "model: stories15M\nn: 20\ndataset: {input_len: 64, output_len: 64}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\n"
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "run", p, "--timeout", "300ms", "--output", filepath.Join(dir, "r"))
	if code != ExitRunsFailed {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	if !strings.Contains(errOut, "run.log") || !strings.Contains(errOut, "experiment timeout") {
		t.Errorf("error should name the log:\n%s", errOut)
	}
}

// TestMissingModelExitsTwo: a model that does not exist is bad input,
// found by the pre-flight before anything runs (also at --dry-run), and
// leaves no result folder behind.
func TestMissingModelExitsTwo(t *testing.T) {
	dir := t.TempDir()
	p := writeTinyExperiment(t, dir, "")
	notGGUF := filepath.Join(dir, "notes.gguf")
	if err := os.WriteFile(notGGUF, []byte("this is not a gguf file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{filepath.Join(dir, "absent.gguf"), notGGUF} {
		for _, extra := range [][]string{{"--dry-run"}, nil} {
			args := append([]string{"run", p, "--model", model, "--output", filepath.Join(dir, "r")}, extra...)
			code, _, errOut := runCLI(t, nil, args...)
			if code != ExitBadInput || !strings.Contains(errOut, "model: ") || !strings.Contains(errOut, filepath.Base(model)) {
				t.Errorf("%v: exit %d, want 2 naming the model field and file:\n%s", args, code, errOut)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r")); !os.IsNotExist(err) {
		t.Errorf("an early failure left a result folder behind (%v)", err)
	}
}

func TestConfigReport(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgFile, []byte("results_dir: /data/llem\ncarbon_intensity_gco2_kwh: 250\n"), 0o644)
	code, out, errOut := runCLI(t, map[string]string{"LLEM_CONFIG": cfgFile, "LLEM_DATACENTER_PUE": "1.4", "DOCKER_HOST": "unix://" + filepath.Join(dir, "none.sock")}, "config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Machine", "Energy sensors", "Engines", "native", "pytorch", "User config (file: " + cfgFile, "/data/llem", "user config " + cfgFile, "env LLEM_DATACENTER_PUE"} {
		if !strings.Contains(out, want) {
			t.Errorf("llem config lacks %q:\n%s", want, out)
		}
	}
}

// TestPreflightFailsBeforeMeasuring: a GPU backend whose Python cannot run
// is refused before any baseline is measured or folder written.
func TestPreflightFailsBeforeMeasuring(t *testing.T) {
	dir := t.TempDir()
	userCfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(userCfg, []byte("runners:\n  pytorch: {python: "+filepath.Join(dir, "no-such-python")+"}\n"), 0o644)
	out := filepath.Join(dir, "results")
	code, _, errOut := runCLI(t, map[string]string{"LLEM_CONFIG": userCfg}, "run", "--backend", "pytorch", "--model", "gpt2", "-n", "2", "--output", out)
	if code != ExitRunsFailed {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	for _, want := range []string{"pre-flight", "pytorch", "no-such-python", "fix:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q:\n%s", want, errOut)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("nothing should be written before pre-flight passes (stat %s: %v)", out, err)
	}
}

// TestReportOutputs runs `llem report` on a study from a real run: md and
// json to stdout or to the file -o names, a flat export, and bad flags.
func TestReportOutputs(t *testing.T) {
	study := "../../report/testdata/native-sweep"
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "report", study, "--format", "md")
	if code != 0 || !strings.HasPrefix(out, "# Study report") {
		t.Fatalf("md to stdout: exit %d\n%.200s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, nil, "report", study, "--format", "md", "--measure", "adjusted", "--detect", "5%")
	if code != 0 || !strings.Contains(out, "Ranked on baseline-adjusted energy per output token") || !strings.Contains(out, "a 5% effect:") {
		t.Errorf("--measure adjusted --detect 5%%: exit %d, headline or cycles for a 5%% effect missing\n%.2000s%s", code, out, errOut)
	}
	for _, bad := range [][]string{{"--measure", "median"}, {"--detect", "five"}} {
		if code, _, errOut := runCLI(t, nil, append([]string{"report", study, "--format", "md"}, bad...)...); code != ExitBadInput || !strings.Contains(errOut, bad[1]) {
			t.Errorf("%v: exit %d %s, want bad input naming %q", bad, code, errOut, bad[1])
		}
	}
	md := filepath.Join(dir, "r.md")
	if code, out, errOut := runCLI(t, nil, "report", study, "--format", "md", "-o", md); code != 0 || !strings.Contains(out, md) {
		t.Fatalf("md to a file: exit %d\n%s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.HasPrefix(string(b), "# Study report") {
		t.Errorf("%s: %v %.100q", md, err, b)
	}
	js := filepath.Join(dir, "r.json")
	if code, _, errOut := runCLI(t, nil, "report", study, "--format", "json", "-o", js); code != 0 {
		t.Fatalf("json to a file: exit %d %s", code, errOut)
	}
	var v map[string]any
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &v) != nil || len(v) == 0 {
		t.Errorf("%s is not a JSON report: %v", js, err)
	}
	csv := filepath.Join(dir, "flat.csv")
	if code, _, errOut := runCLI(t, nil, "report", study, "--export", "csv", "-o", csv); code != 0 || !strings.Contains(errOut, "deprecated; use llem export") {
		t.Fatalf("csv export: exit %d %s (want it to work and say it is deprecated)", code, errOut)
	}
	if b, err := os.ReadFile(csv); err != nil || strings.Count(string(b), "\n") < 2 {
		t.Errorf("%s: %v, %d lines", csv, err, strings.Count(string(b), "\n"))
	}
	if code, _, errOut := runCLI(t, nil, "report", study, "--export", "xlsx", "-o", filepath.Join(dir, "x")); code != ExitBadInput || !strings.Contains(errOut, "allowed: parquet, csv") {
		t.Errorf("bad export: exit %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a refused export left a file behind")
	}
}

// TestReportAcrossStudies runs `llem report A B` on the real native-sweep
// study and a copy of it whose result files record another GPU driver: the
// comparison names both studies, matches every configuration by hash and
// names the driver; JSON comes in the run envelope; flags that apply to
// one study, html, and the same study twice are refused with exit 2.
func TestReportAcrossStudies(t *testing.T) {
	a := "../../report/testdata/native-sweep"
	b := filepath.Join(t.TempDir(), "native-sweep-copy")
	if err := os.CopyFS(b, os.DirFS(a)); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(b, "run-*", "result.json"))
	if err != nil || len(files) != 12 {
		t.Fatalf("%d result files: %v", len(files), err)
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var res map[string]any
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		res["environment"].(map[string]any)["driver_version"] = "550.54.15"
		if raw, err = json.Marshal(res); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := runCLI(t, nil, "report", a, b)
	if code != 0 {
		t.Fatalf("report A B: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"# Cross-study report: S1 ", "`" + a + "`", "`" + b + "`", "**Environment:** differs in driver.",
		"| driver | none | 550.54.15 |", "**Coverage:** all 4 configurations are in every study.", "| same hash |"} {
		if !strings.Contains(out, want) {
			t.Errorf("report A B lacks %q:\n%s", want, out)
		}
	}
	js := filepath.Join(t.TempDir(), "c.json")
	if code, out, errOut := runCLI(t, nil, "report", a, b, "--format", "json", "-o", js); code != 0 || !strings.Contains(out, js) {
		t.Fatalf("report A B --format json -o: exit %d %s%s", code, out, errOut)
	}
	var env struct {
		Kind     string `json:"kind"`
		StudyDir string `json:"study_dir"`
		Result   struct {
			Studies []struct {
				Dir string `json:"dir"`
			} `json:"studies"`
		} `json:"result"`
	}
	if raw, err := os.ReadFile(js); err != nil || json.Unmarshal(raw, &env) != nil || env.Kind != "comparison" || env.StudyDir != a ||
		len(env.Result.Studies) != 2 || env.Result.Studies[1].Dir != b {
		t.Errorf("JSON envelope %+v (%v)", env, err)
	}
	if v, err := schemagen.NewValidator(schemaDir); err != nil {
		t.Fatal(err)
	} else if raw, _ := os.ReadFile(js); v.Validate("envelope.schema.json", raw) != nil {
		t.Errorf("the comparison's JSON does not match envelope.schema.json: %v", v.Validate("envelope.schema.json", raw))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{a, a}, "same study directory"},
		{[]string{a, b, "--format", "html"}, "md or json"},
		{[]string{a, b, "--measure", "adjusted"}, "--measure applies to one study"},
		{[]string{a, b, "--detect", "5%"}, "--detect applies to one study"},
		{[]string{a, b, "--export", "csv"}, "--export applies to one study"},
	} {
		if code, out, errOut := runCLI(t, nil, append([]string{"report"}, tc.args...)...); code != ExitBadInput || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("report %v: exit %d, stdout %.100q, stderr %s; want exit 2 saying %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestExportCommand runs `llem export` on a study from a real run: the run
// table as CSV on stdout, as Parquet to a file (the columns results.RunTable
// defines), the time series as JSON Lines, and bad flags.
func TestExportCommand(t *testing.T) {
	study := "../../report/testdata/native-sweep"
	dir := t.TempDir()
	code, out, errOut := runCLI(t, nil, "export", study)
	if code != 0 || !strings.HasPrefix(out, "study_name,run_index,cycle,measurement_config_hash,") || strings.Count(out, "\n") != 13 {
		t.Fatalf("csv to stdout: exit %d, %d lines\n%.300s%s", code, strings.Count(out, "\n"), out, errOut)
	}
	pq := filepath.Join(dir, "runs.parquet")
	if code, _, errOut := runCLI(t, nil, "export", study, "--format", "parquet", "-o", pq); code != 0 || !strings.Contains(errOut, pq) {
		t.Fatalf("parquet to a file: exit %d %s", code, errOut)
	}
	tab, _, err := results.ReadTableParquet(pq)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Columns, results.RunColumns()) || len(tab.Rows) != 12 {
		t.Errorf("%s: %d rows, columns %v", pq, len(tab.Rows), tab.Columns)
	}
	code, out, errOut = runCLI(t, nil, "export", study, "--table", "timeseries", "--format", "jsonl")
	if code != 0 || !strings.HasPrefix(out, `{"run_index":0,"measurement_config_hash":"cb739e7b`) {
		t.Errorf("timeseries jsonl: exit %d\n%.300s%s", code, out, errOut)
	}
	for _, bad := range [][]string{{"--format", "xlsx"}, {"--table", "samples"}} {
		if code, _, errOut := runCLI(t, nil, append([]string{"export", study}, bad...)...); code != ExitBadInput || !strings.Contains(errOut, bad[1]) {
			t.Errorf("%v: exit %d %s, want bad input naming %q", bad, code, errOut, bad[1])
		}
	}
}

// TestBadInputExitsTwo: every kind of bad input is exit 2, not 1.
func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	tiny := writeTinyExperiment(t, dir, "")
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("empty.jsonl", "")
	write("bad.jsonl", "{bad\n")
	aFile := write("a-file", "x")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown shape in model synth", []string{"model", "synth", "--shape", "nope", "--out", filepath.Join(dir, "x.gguf")}, `unknown synthetic shape "nope"`},
		{"unknown type in model synth", []string{"model", "synth", "--type", "q9", "--out", filepath.Join(dir, "x.gguf")}, `unknown tensor type "q9"`},
		{"empty JSONL", []string{"run", write("e.yaml", "model: tiny\nn: 1\ndataset: empty.jsonl\n"), "--dry-run"}, "no prompts"},
		{"malformed JSONL", []string{"run", write("m.yaml", "model: tiny\nn: 1\ndataset: bad.jsonl\n"), "--dry-run"}, "invalid JSON"},
		{"n larger than the pool", []string{"run", write("p.yaml", "model: tiny\nn: 500\ndataset: builtin\n"), "--dry-run"}, "pool holds only"},
		{"-o naming a file", []string{"run", tiny, "-o", aFile}, "is a file"},
		{"resume of a folder that is not a study", []string{"run", "--resume", dir}, "study.json"},
		{"two files", []string{"run", tiny, tiny}, "accepts at most 1 arg"},
		{"report without a folder", []string{"report"}, "requires at least 1 arg"},
		{"unknown subcommand", []string{"frobnicate"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, nil, tc.args...)
			if code != ExitBadInput || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want 2 with %q:\n%s", code, tc.want, errOut)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); !os.IsNotExist(err) {
		t.Errorf("a refused model synth left its output file (%v)", err)
	}
}

// TestTinyWithDefaultDatasetRuns: the built-in defaults (512 prompt tokens,
// 128 new) run on every built-in shape; tiny's context used to be too
// short, which failed every run after the baseline.
func TestTinyWithDefaultDatasetRuns(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(p, []byte("model: tiny\nn: 2\nbaseline: {enabled: false}\nwarmup: {enabled: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := runCLI(t, nil, "run", p, "--output", filepath.Join(dir, "r"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var out struct {
		Result results.ExperimentResult `json:"result"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Result.Requests {
		if r.InputTokens != 512 || r.OutputTokens != 128 {
			t.Errorf("request %s: %d→%d tokens, want the defaults 512→128", r.PromptID, r.InputTokens, r.OutputTokens)
		}
	}
}
