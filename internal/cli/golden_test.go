package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden and the generated files of ../../schema this package owns")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -run %s -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, t.Name(), got, want)
	}
}

// TestGoldenDryRun pins the --dry-run listing: configurations with their
// labels and hashes, skipped points, runs in order, the duration bound.
func TestGoldenDryRun(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "run", "testdata/golden-study.yaml", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	golden(t, "dry-run.stdout", stdout)
	golden(t, "dry-run.stderr", stderr)
}

// TestGoldenErrorsWithHints pins what a user reads on bad input: the
// error, the hint, nothing on stdout, exit 2.
func TestGoldenErrorsWithHints(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown-flag", []string{"run", "--bogus-flag"}},
		{"two-files", []string{"run", "testdata/golden-study.yaml", "testdata/golden-study.yaml"}},
		{"unknown-order", []string{"run", "testdata/golden-study.yaml", "--order", "random", "--dry-run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tc.args...)
			if code != ExitBadInput || stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
			}
			golden(t, "error-"+tc.name+".stderr", stderr)
		})
	}
}

// goldenResult is a fixed measured result for the summary goldens.
func goldenResult() *results.ExperimentResult {
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend = "tiny", config.BackendNative
	r := &results.ExperimentResult{MeasurementConfigHash: "f8f752bbcf57df2f", Config: cfg}
	r.Model.Name = "tiny"
	r.Energy = results.EnergyMetrics{Source: results.SourceRAPL, TotalJ: 12.5, AdjustedJ: 10.25, BaselinePowerW: 3.5,
		PerOutputTokenJ: 0.0488, DurationS: 2.5, AvgPowerW: 5, PeakPowerW: 7.25}
	r.Throughput = results.ThroughputStats{OutputTokensPerS: 102.4, RequestsPerS: 3.2, Requests: 8, OutputTokens: 256}
	r.Latency.TTFT.P50, r.Latency.TTFT.P99, r.Latency.ITL.P50, r.Latency.TPOT.P50, r.Latency.E2E.P50 = 0.012, 0.0305, 0.0021, 0.0022, 1.25
	r.Carbon = &results.CarbonMetrics{EmissionsG: 0.0013, EnergyKWh: 3.47e-6, PUE: 1.2, CarbonIntensityGKWh: 300}
	r.MeasurementWarnings = []results.Warning{{Code: results.WarnShortRun, Message: "measured run lasted 2.5 s (< 10 s)"}}
	return r
}

// TestGoldenSingleRunSummary pins the summary after one run, measured and
// estimated (an estimate is never shown as a measurement).
func TestGoldenSingleRunSummary(t *testing.T) {
	var b bytes.Buffer
	r := goldenResult()
	printExperimentSummary(&b, r, "results/tiny_2026-01-02T03-04-05")
	r.Energy.Source, r.Energy.Estimated = results.SourceEstimated, true
	printExperimentSummary(&b, r, "results/tiny_2026-01-02T03-04-05")
	golden(t, "single-summary.stdout", b.String())
}

// TestGoldenStudySummary pins the study summary: intervals only with two
// cycles or more, no figure for a configuration without a completed run,
// estimates marked, failures and warnings listed.
func TestGoldenStudySummary(t *testing.T) {
	a, b, c := goldenResult().Config, goldenResult().Config, goldenResult().Config
	bs1, bs2, bs4 := 1, 2, 4
	a.Native = &config.NativeConfig{BatchSize: &bs1}
	b.Native = &config.NativeConfig{BatchSize: &bs2}
	c.Native = &config.NativeConfig{BatchSize: &bs4}
	stat := func(n int, mean, lo, hi float64) results.Stat {
		return results.Stat{N: n, Mean: mean, CILow: lo, CIHigh: hi}
	}
	r := &results.StudyResult{
		StudyName: "golden", StudyDesignHash: "4a6657bf7ff82cdb",
		Summary: results.StudySummary{Completed: 5, Failed: 1, Skipped: 2},
		Configurations: []results.ConfigSummary{
			{MeasurementConfigHash: config.MeasurementConfigHash(a), Config: a, EnergySource: results.SourceRAPL,
				EnergyPerOutputTokenJ: stat(3, 0.05, 0.045, 0.055), OutputTokensPerS: stat(3, 100, 90, 110)},
			{MeasurementConfigHash: config.MeasurementConfigHash(b), Config: b, EnergySource: results.SourceEstimated,
				EnergyPerOutputTokenJ: stat(1, 0.03, 0, 0), OutputTokensPerS: stat(1, 180, 0, 0)},
			{MeasurementConfigHash: config.MeasurementConfigHash(c), Config: c, EnergySource: results.SourceRAPL},
		},
		Failed:     []results.FailedRun{{RunIndex: 5, Cycle: 2, Config: c, ErrorType: "timeout", Message: "exceeded the experiment timeout of 10m0s"}},
		StopReason: "fail-fast: run 5 failed",
		Warnings:   []results.Warning{{Code: results.WarnShortRun, Message: "2 runs lasted under 10 s"}},
	}
	var out bytes.Buffer
	printStudySummary(&out, r)
	golden(t, "study-summary.stdout", out.String())
}
