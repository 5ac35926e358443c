package report

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// runTinyStudy runs a real study on the native engine, in this process,
// with the tiny model: one configuration per batch size, each native
// configuration changed by tweak, and returns its study directory.
func runTinyStudy(t *testing.T, name string, batches []int, cycles int, tweak func(*config.ExperimentConfig)) string {
	t.Helper()
	sc := &config.StudyConfig{Name: name, Execution: config.DefaultExecution()}
	sc.Execution.NCycles = cycles
	for _, b := range batches {
		cfg := config.DefaultExperiment()
		cfg.Model, cfg.Backend, cfg.N = "tiny", config.BackendNative, 2
		cfg.Dataset.InputLen, cfg.Dataset.OutputLen = 8, 4
		cfg.Baseline.Enabled, cfg.Warmup.Enabled = false, false
		cfg.Native = &config.NativeConfig{BatchSize: &b}
		if tweak != nil {
			tweak(&cfg)
		}
		config.ApplyDefaults(&cfg)
		sc.Experiments = append(sc.Experiments, cfg)
	}
	out := t.TempDir()
	user := config.DefaultUserConfig()
	if _, err := llem.Run(context.Background(), sc, llem.Options{User: &user, ResultsDir: out, NoGaps: true, InProcess: true}); err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(out, "*", "manifest.json"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("study %s: %v %v", name, dirs, err)
	}
	return filepath.Dir(dirs[0])
}

// tamperResults rewrites every completed run's result.json of a study.
func tamperResults(t *testing.T, dir string, change func(*results.ExperimentResult)) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "run-*", results.ResultFile))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no result files in %s: %v", dir, err)
	}
	for _, p := range paths {
		res, err := results.ReadExperimentResult(p)
		if err != nil {
			t.Fatal(err)
		}
		change(res)
		mustJSON(t, p, res)
	}
}

func mustLoad(t *testing.T, dirs ...string) []*Study {
	t.Helper()
	var out []*Study
	for _, d := range dirs {
		s, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func mustCompare(t *testing.T, dirs ...string) (*Comparison, string) {
	t.Helper()
	c, err := Compare(mustLoad(t, dirs...))
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := WriteComparisonMarkdown(&md, c); err != nil {
		t.Fatal(err)
	}
	return c, md.String()
}

// TestCompareSameConfigsByHash runs the same two-configuration study twice
// on the native engine: the configurations match by hash, the figures are
// the single-study report's, the ratios are of the means; then one study's
// environment (GPU, driver) and energy source are changed and the report
// names exactly those fields and labels the estimate.
func TestCompareSameConfigsByHash(t *testing.T) {
	a := runTinyStudy(t, "twice", []int{1, 2}, 2, nil)
	b := runTinyStudy(t, "twice", []int{1, 2}, 2, nil)

	c, md := mustCompare(t, a, b)
	if len(c.Configs) != 2 || len(c.Environment) != 0 || len(c.ConfigDifferences) != 0 {
		t.Fatalf("%d configurations, environment differences %v, configuration differences %v; want 2 and none", len(c.Configs), c.Environment, c.ConfigDifferences)
	}
	if !strings.Contains(md, "**Environment:** same environment") {
		t.Errorf("markdown does not say same environment:\n%s", md)
	}
	single := make([]*Report, 2)
	for i, st := range mustLoad(t, a, b) {
		var err error
		if single[i], err = Build(st); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range c.Configs {
		if r.MatchedBy != MatchedByHash || !slices.Equal(r.In, []string{"S1", "S2"}) || len(r.Differences) != 0 {
			t.Errorf("%s: matched by %q in %v, differences %v; want the same hash in both", r.Label, r.MatchedBy, r.In, r.Differences)
		}
		for i, cell := range r.Cells {
			row := single[i].configByHash(cell.MeasurementConfigHash)
			if cell.EnergyPerOutputTokenJ != row.EnergyPerOutputTokenJ || cell.TTFTP50S != row.TTFTP50S || cell.Completed != 2 {
				t.Errorf("%s in S%d: %+v, single-study report %+v", r.Label, i+1, cell.EnergyPerOutputTokenJ, row.EnergyPerOutputTokenJ)
			}
		}
		ref, other := r.Cells[0], r.Cells[1]
		if ref.Ratio != nil || other.Ratio == nil || *other.Ratio.EnergyPerOutputToken != other.EnergyPerOutputTokenJ.Mean/ref.EnergyPerOutputTokenJ.Mean ||
			*other.Ratio.OutputTokensPerS != other.OutputTokensPerS.Mean/ref.OutputTokensPerS.Mean {
			t.Errorf("%s: ratios %+v / %+v, want none for the reference and S2's means over S1's", r.Label, ref.Ratio, other.Ratio)
		}
	}

	tamperResults(t, b, func(r *results.ExperimentResult) {
		r.Environment.GPUs = []results.GPUInfo{{Name: "NVIDIA H100 80GB HBM3"}, {Index: 1, Name: "NVIDIA H100 80GB HBM3"}}
		r.Environment.GPUCount, r.Environment.DriverVersion = 2, "550.54.15"
		r.Energy.Source, r.Energy.Estimated = results.SourceEstimated, true
	})
	tamperResults(t, a, func(r *results.ExperimentResult) {
		r.Energy.Source, r.Energy.Estimated = results.SourceRAPL, false
	})
	c, md = mustCompare(t, a, b)
	var fields []string
	for _, d := range c.Environment {
		fields = append(fields, d.Name)
	}
	if !slices.Equal(fields, []string{"GPU", "driver"}) || !slices.Equal(c.Environment[0].Values, []string{"none", "2× NVIDIA H100 80GB HBM3"}) {
		t.Errorf("environment differences %+v, want GPU (none, 2× NVIDIA H100 80GB HBM3) and driver", c.Environment)
	}
	if !strings.Contains(md, "**Environment:** differs in GPU, driver.") || !strings.Contains(md, "| driver | none | 550.54.15 |") {
		t.Errorf("markdown does not name the environment difference:\n%s", md)
	}
	if !slices.Equal(c.Studies[0].EnergySources, []string{"rapl"}) || !slices.Equal(c.Studies[1].EnergySources, []string{"≈ estimated"}) || !c.AnyEstimated {
		t.Errorf("energy sources %v and %v, want rapl and ≈ estimated", c.Studies[0].EnergySources, c.Studies[1].EnergySources)
	}
	if !strings.Contains(md, "| ≈ estimated |") || !strings.Contains(md, "not a measurement") {
		t.Errorf("markdown does not label S2's estimate:\n%s", md)
	}

	var js strings.Builder
	if err := WriteComparisonJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	var back Comparison
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil || len(back.Configs) != 2 || back.Configs[0].MatchedBy != MatchedByHash || len(back.Environment) != 2 {
		t.Errorf("JSON does not read back (%v):\n%.600s", err, js.String())
	}

	if _, err := Compare(mustLoad(t, a, a)); !errors.Is(err, ErrOption) || !strings.Contains(err.Error(), "same study directory") {
		t.Errorf("the same study twice: %v, want a refusal", err)
	}
	if _, err := Compare(mustLoad(t, a)); !errors.Is(err, ErrOption) {
		t.Errorf("one study: %v, want a refusal", err)
	}
}

// TestCompareBySweptValues compares a sweep with the same sweep run with
// native.threads set and one batch size more: the shared batch sizes match
// by swept values naming native.threads, the extra one is only in S2.
func TestCompareBySweptValues(t *testing.T) {
	a := runTinyStudy(t, "base", []int{1, 2}, 2, nil)
	one := 1
	b := runTinyStudy(t, "threads", []int{1, 2, 4}, 2, func(c *config.ExperimentConfig) { c.Native.Threads = &one })
	c, md := mustCompare(t, a, b)
	if !slices.Equal(c.Swept, []string{"native.batch_size"}) || len(c.Configs) != 3 {
		t.Fatalf("swept %v, %d configurations; want native.batch_size and 3", c.Swept, len(c.Configs))
	}
	threads := []Difference{{Name: "native.threads", Values: []string{config.Unset, "1"}}}
	for _, r := range c.Configs[:2] {
		if r.MatchedBy != MatchedBySwept || !reflect.DeepEqual(r.Differences, threads) || r.Cells[0].MeasurementConfigHash == r.Cells[1].MeasurementConfigHash {
			t.Errorf("%s: matched by %q, differences %+v; want swept values differing in native.threads", r.Label, r.MatchedBy, r.Differences)
		}
		if r.Cells[1].Ratio == nil || *r.Cells[1].Ratio.EnergyTotal != r.Cells[1].EnergyTotalJ.Mean/r.Cells[0].EnergyTotalJ.Mean {
			t.Errorf("%s: ratio %+v", r.Label, r.Cells[1].Ratio)
		}
	}
	extra := c.Configs[2]
	if extra.Label != "native.batch_size=4" || extra.MatchedBy != "" || !slices.Equal(extra.In, []string{"S2"}) || extra.Cells[0].Present || extra.Cells[1].Ratio != nil {
		t.Errorf("extra configuration %+v, want native.batch_size=4 only in S2 without a ratio", extra)
	}
	if !reflect.DeepEqual(c.ConfigDifferences, threads) || len(c.Environment) != 0 {
		t.Errorf("configuration differences %+v, environment %+v; want native.threads only", c.ConfigDifferences, c.Environment)
	}
	for _, want := range []string{
		"**Configuration:** configurations matched by their swept values differ in `native.threads`.",
		"| `native.threads` | unset | 1 |",
		"- native.batch_size=4: only in S2 (not in S1)",
		"| native.batch_size=1 | swept values; differs in `native.threads` |",
		"| native.batch_size=4 | S1 | — | — | — | not in study |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func (r *Report) configByHash(hash string) ConfigRow {
	for _, c := range r.Configs {
		if c.MeasurementConfigHash == hash {
			return c
		}
	}
	return ConfigRow{}
}

// TestReportSplitsPrefillAndDecode: a real native study's report gives each
// configuration prefill energy per input token and decode energy per
// output token, from the runs' phase split, and the Markdown shows them.
func TestReportSplitsPrefillAndDecode(t *testing.T) {
	dir := runTinyStudy(t, "phases", []int{1, 2}, 2, nil)
	rep, err := BuildWith(mustLoad(t, dir)[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Configs {
		if c.PrefillPerInputTokenJ.N != 2 || c.PrefillPerInputTokenJ.Mean <= 0 || c.DecodePerOutputTokenJ.N != 2 || c.DecodePerOutputTokenJ.Mean <= 0 {
			t.Errorf("%s: prefill %+v, decode %+v", c.Label, c.PrefillPerInputTokenJ, c.DecodePerOutputTokenJ)
		}
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "prefill energy/input token (J)") || strings.Contains(md.String(), "| — ≈ |") {
		t.Errorf("markdown lacks the phase columns or shows them empty:\n%s", md.String())
	}
}
