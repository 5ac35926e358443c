package llem_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

func tinyConfig() config.ExperimentConfig {
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend, cfg.N = "tiny", config.BackendNative, 4
	cfg.Dataset.InputLen, cfg.Dataset.OutputLen = 8, 4
	cfg.Baseline.Enabled, cfg.Warmup.Enabled = false, false
	config.ApplyDefaults(&cfg)
	return cfg
}

func TestRunExperimentWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	user := config.DefaultUserConfig()
	res, err := llem.RunExperiment(context.Background(), tinyConfig(), llem.Options{User: &user})
	if err != nil {
		t.Fatal(err)
	}
	if res.Throughput.OutputTokens != 16 || res.MeasurementConfigHash != config.MeasurementConfigHash(tinyConfig()) {
		t.Errorf("result: %d output tokens, hash %s", res.Throughput.OutputTokens, res.MeasurementConfigHash)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("RunExperiment wrote %d entries into the working directory", len(entries))
	}
}

// llemBinary builds the llem binary once per test binary.
var llemBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "llem-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "llem")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/llem").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build llem: %v\n%s", err, out)
	}
	return bin, nil
})

func buildLlem(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the llem binary")
	}
	bin, err := llemBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestRunStudyDisableWrites runs a two-run study through the llem binary
// (built here) with writes turned off: a full StudyResult, nothing on disk.
func TestRunStudyDisableWrites(t *testing.T) {
	bin := buildLlem(t)
	a, b := tinyConfig(), tinyConfig()
	bs := 2
	b.Native = &config.NativeConfig{BatchSize: &bs}
	sc := &config.StudyConfig{Name: "lib", Experiments: []config.ExperimentConfig{a, b}, Execution: config.DefaultExecution()}
	results := filepath.Join(t.TempDir(), "results")
	user := config.DefaultUserConfig()
	res, err := llem.Run(context.Background(), sc, llem.Options{User: &user, ResultsDir: results, DisableWrites: true, NoGaps: true, LlemBinary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed != 2 || len(res.Configurations) != 2 {
		t.Errorf("summary %+v, %d configurations", res.Summary, len(res.Configurations))
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Errorf("DisableWrites: %s exists (%v)", results, err)
	}
}

// writeRelativeDatasetStudy writes a two-configuration study whose data
// set is a JSONL file named relative to the study file.
func writeRelativeDatasetStudy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var prompts strings.Builder
	for i := range 4 {
		fmt.Fprintf(&prompts, "{\"prompt\": \"Once upon a time %d\"}\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts.jsonl"), []byte(prompts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	study := `model: tiny
backend: native
n: 2
max_output_tokens: 4
dataset: prompts.jsonl
baseline: {enabled: false}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2]
execution: {n_cycles: 1, cycle_order: interleaved}
`
	p := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(p, []byte(study), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// studyLayout lists a study directory's files (run directory names kept,
// the timestamped folder dropped) and its runs' measurement config hashes.
func studyLayout(t *testing.T, resultsDir string) (files, hashes []string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(resultsDir, "*"))
	if len(dirs) != 1 {
		t.Fatalf("%s holds %v, want one study directory", resultsDir, dirs)
	}
	err := filepath.WalkDir(dirs[0], func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dirs[0], path)
		files = append(files, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := results.ReadManifest(filepath.Join(dirs[0], results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Runs {
		if r.State != results.StateCompleted {
			t.Errorf("run %d: %s %s", r.Index, r.State, r.Error)
		}
		hashes = append(hashes, r.MeasurementConfigHash)
	}
	slices.Sort(files)
	return files, hashes
}

// TestLibraryAndCLIAgree runs one study, whose data set is named relative
// to the study file, through the library and through the command line,
// both from a working directory elsewhere: the same configuration hashes
// (the data set's content is hashed from the same file it is read from)
// and the same layout.
func TestLibraryAndCLIAgree(t *testing.T) {
	bin := buildLlem(t)
	file := writeRelativeDatasetStudy(t)
	t.Chdir(t.TempDir())

	libOut := filepath.Join(t.TempDir(), "lib")
	sc, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	user := config.DefaultUserConfig()
	if _, err := llem.Run(context.Background(), sc, llem.Options{User: &user, ResultsDir: libOut, NoGaps: true, LlemBinary: bin}); err != nil {
		t.Fatal(err)
	}

	cliOut := filepath.Join(t.TempDir(), "cli")
	cmd := exec.Command(bin, "run", file, "--no-gaps", "--cycles", "1", "--output", cliOut, "-q")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir(), "LLEM_CONFIG=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("llem run: %v\n%s", err, out)
	}

	libFiles, libHashes := studyLayout(t, libOut)
	cliFiles, cliHashes := studyLayout(t, cliOut)
	if len(libHashes) != 2 || !slices.Equal(libHashes, cliHashes) {
		t.Errorf("measurement_config_hash: library %v, CLI %v", libHashes, cliHashes)
	}
	// The CLI keeps a copy of the study file; the library was handed a
	// loaded study, and keeps one only when it has a path (it has here).
	if !slices.Equal(libFiles, cliFiles) {
		t.Errorf("layouts differ:\nlibrary %v\nCLI     %v", libFiles, cliFiles)
	}
	runDir := regexp.MustCompile(`^run-\d{4}-c1-[0-9a-f]{8}/`)
	var runFiles int
	for _, f := range cliFiles {
		if runDir.MatchString(filepath.ToSlash(f)) {
			runFiles++
		}
	}
	if runFiles < 6 {
		t.Errorf("run directories hold %d files, want result.json, timeseries.parquet and run.log for each of 2 runs: %v", runFiles, cliFiles)
	}
}

// outsideTest is a test in a module outside llem's module path: it can
// reach only the public API.
const outsideTest = `package outside

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/report"
)

func TestPublicAPI(t *testing.T) {
	sc, err := config.Load(os.Getenv("OUTSIDE_STUDY"))
	if err != nil {
		t.Fatal(err)
	}
	user := config.DefaultUserConfig()
	var studyDir string
	kinds := map[event.EventKind]int{}
	var phases []event.Phase
	res, err := llem.Run(context.Background(), sc, llem.Options{
		User: &user, ResultsDir: t.TempDir(), NoGaps: true, LlemBinary: os.Getenv("OUTSIDE_LLEM"),
		OnEvent: func(e event.Event) {
			kinds[e.Kind]++
			if e.Kind == event.StudyStart {
				studyDir = e.StudyDir
			}
			if e.Progress != nil {
				phases = append(phases, e.Progress.Phase)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Completed != 2 || kinds[event.RunEnd] != 2 || kinds[event.StudyStart] != 1 || kinds[event.StudyEnd] != 1 {
		t.Errorf("summary %+v, events %v", res.Summary, kinds)
	}
	measured := false
	for _, p := range phases {
		measured = measured || p == event.PhaseMeasure
	}
	if !measured {
		t.Errorf("no measuring progress among %v", phases)
	}
	st, err := report.Load(studyDir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.BuildWith(st, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var md, csv bytes.Buffer
	if err := report.WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "native.batch_size") {
		t.Errorf("report does not name the swept parameter:\n%s", md.String())
	}
	if err := report.Export(&csv, st, "csv"); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != 3 {
		t.Errorf("export: %d lines, want a header and 2 runs", lines)
	}
}
`

// TestOutsideModule runs a study, receives its events and builds its
// report from a module outside llem's (a replace directive points it at
// this tree): every type it needs is public.
func TestOutsideModule(t *testing.T) {
	bin := buildLlem(t)
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	// The outside module requires what llem requires, so the build needs
	// nothing beyond the module cache.
	ourMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	requires := string(ourMod)[strings.Index(string(ourMod), "\ngo "):]
	gomod := "module example.com/outside\n" + requires +
		"\nrequire github.com/llenergymeasure/llem v0.0.0\n\nreplace github.com/llenergymeasure/llem => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "outside_test.go": []byte(outsideTest)} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", ".")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off",
		"OUTSIDE_LLEM="+bin, "OUTSIDE_STUDY="+writeRelativeDatasetStudy(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in the outside module: %v\n%s", err, out)
	}
}
