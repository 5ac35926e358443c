package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/buildinfo"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/harness"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// runSingle measures one experiment in this process and writes
// {results_dir}/{name}_{timestamp}/ with result.json, timeseries.parquet
// and run.log.
func runSingle(ctx context.Context, stdio *IO, sc *config.StudyConfig, resultsDir string, user config.UserConfig, f runFlags, quick bool) error {
	cfg := sc.Experiments[0]
	dir := filepath.Join(resultsDir, results.StudyDirName(sc.Name, time.Now()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create results directory: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, results.RunLogFile))
	if err != nil {
		return fmt.Errorf("create run log: %w", err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))

	pr := newProgress(stdio.Err, stdio.IsTerminal, f.quiet || f.asJSON, f.verbose)
	if quick {
		pr.line("llem quick demo: %s", describe(cfg))
		pr.line("Short protocol (%.0f s baseline, %d warm-up run, no thermal floor), recorded in the result. Use an experiment file for the full methodology.", cfg.Baseline.DurationSeconds, cfg.Warmup.NWarmup)
	} else {
		pr.line("Running %s", describe(cfg))
	}
	opts := harnessOptions(user, stdio, baseDir(sc), logFile)
	opts.OutDir = dir
	opts.Quick = quick
	opts.Log = log
	opts.Observer = pr.harnessEvent
	// The experiment timeout applies to a single run as to a study's.
	timeout := study.RunTimeout(sc.Execution, 0)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := harness.Run(runCtx, cfg, opts)
	pr.done()
	if err != nil && runCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("the run exceeded the experiment timeout of %s (execution.experiment_timeout_seconds, --timeout): %w", timeout, err)
	}
	if err != nil {
		log.Error("run failed", "err", err)
		return fmt.Errorf("%w (log: %s)", err, filepath.Join(dir, results.RunLogFile))
	}
	resultPath := filepath.Join(dir, results.ResultFile)
	if err := results.WriteJSONAtomic(resultPath, res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if f.asJSON {
		return writeJSON(stdio.Out, map[string]any{"result_dir": dir, "result": res})
	}
	printExperimentSummary(stdio.Out, res, dir)
	return nil
}

// harnessOptions are the measurement options from the user config; log
// receives a Python worker's own output.
func harnessOptions(user config.UserConfig, stdio *IO, dataBase string, log io.Writer) harness.Options {
	bi := buildinfo.Get()
	newEngine := func(c config.ExperimentConfig) (engine.Engine, error) { return engines.New(c, user, log) }
	opts := harness.UserOptions(user, newEngine, stdio.Getenv, bi.Version, bi.Commit)
	opts.Dataset.BaseDir = dataBase
	return opts
}

// printExperimentSummary is the short human summary after one run.
func printExperimentSummary(w io.Writer, r *results.ExperimentResult, dir string) {
	e := r.Energy
	src := e.Source
	if e.Estimated {
		src = "ESTIMATED, not measured (no energy sensor readable; see the warning below)"
	}
	fmt.Fprintf(w, "\n%s  %s on %s\n", r.MeasurementConfigHash, r.Model.Name, r.Config.Backend)
	fmt.Fprintf(w, "  energy/output token  %.4g J   (total %.2f J, adjusted %.2f J, baseline %.2f W)\n", e.PerOutputTokenJ, e.TotalJ, e.AdjustedJ, e.BaselinePowerW)
	fmt.Fprintf(w, "  energy source        %s\n", src)
	fmt.Fprintf(w, "  throughput           %.1f output tok/s, %.2f req/s  (%d requests, %d output tokens in %.1f s)\n", r.Throughput.OutputTokensPerS, r.Throughput.RequestsPerS, r.Throughput.Requests, r.Throughput.OutputTokens, e.DurationS)
	fmt.Fprintf(w, "  latency              TTFT p50 %s p99 %s · ITL p50 %s · E2E p50 %s\n", secs(r.Latency.TTFT.P50), secs(r.Latency.TTFT.P99), secs(r.Latency.ITL.P50), secs(r.Latency.E2E.P50))
	fmt.Fprintf(w, "  power                avg %.1f W, peak %.1f W\n", e.AvgPowerW, e.PeakPowerW)
	if r.Carbon != nil {
		fmt.Fprintf(w, "  carbon               %.3g gCO2 (%.3g kWh × PUE %.2f × %.0f g/kWh)\n", r.Carbon.EmissionsG, r.Carbon.EnergyKWh, r.Carbon.PUE, r.Carbon.CarbonIntensityGKWh)
	}
	if len(r.MeasurementWarnings) > 0 {
		fmt.Fprintf(w, "  warnings:\n")
		for _, m := range r.MeasurementWarnings {
			fmt.Fprintf(w, "    - [%s] %s\n", m.Code, m.Message)
		}
	}
	fmt.Fprintf(w, "  results              %s\n", dir)
}

func secs(s float64) string {
	switch {
	case s == 0:
		return "-"
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1000)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

func baseDir(sc *config.StudyConfig) string {
	if sc.Path == "" {
		return "."
	}
	return filepath.Dir(sc.Path)
}
