package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/results"
)

// runSingle measures one experiment in this process through llem.Run
// (Options.InProcess): the study's layout, {results_dir}/{name}_{timestamp}/
// with study.json, manifest.json, study_result.json and the run's
// directory (result.json, timeseries.parquet, run.log), which `llem
// report` reads like any study.
func runSingle(ctx context.Context, stdio *IO, sc *config.StudyConfig, resultsDir string, user config.UserConfig, f runFlags, quick bool) error {
	cfg := sc.Experiments[0]
	pr := newProgress(stdio.Err, stdio.IsTerminal, f.quiet || f.asJSON, f.verbose)
	if quick {
		pr.line("llem quick demo: %s", describe(cfg))
		pr.line("Short protocol (%.0f s baseline, %d warm-up run, no thermal floor), recorded in the result. Use an experiment file for the full methodology.", cfg.Baseline.DurationSeconds, cfg.Warmup.NWarmup)
	} else {
		pr.line("Running %s", describe(cfg))
	}
	opts := runOptions(stdio, user, resultsDir, f)
	opts.InProcess, opts.Quick = true, quick
	var dir, runDir string
	opts.OnEvent = func(e event.Event) {
		if f.onEvent != nil {
			f.onEvent(e)
		}
		switch e.Kind {
		case event.StudyStart:
			dir = e.StudyDir
		case event.RunStart:
			runDir = e.RunDir
		case event.RunEnd:
			pr.endRun()
		case event.RunPhase:
			if e.Progress != nil {
				pr.runEvent(*e.Progress, e.Elapsed)
			}
		case event.Circuit, event.Warning:
			pr.line("warning: %s", e.Message)
		}
	}
	sres, err := llem.Run(ctx, sc, opts)
	pr.done()
	if sres == nil {
		return err
	}
	if len(sres.Failed) > 0 {
		fl := sres.Failed[0]
		ferr := fmt.Errorf("%s (log: %s)", fl.Message, filepath.Join(runDir, results.RunLogFile))
		return errors.Join(ferr, err)
	}
	if err != nil {
		return err
	}
	if len(sres.ResultFiles) != 1 {
		return fmt.Errorf("the run left %d results in %s, want 1", len(sres.ResultFiles), dir)
	}
	res, err := results.ReadExperimentResult(filepath.Join(dir, sres.ResultFiles[0]))
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeEnvelope(stdio.Out, envelopeExperiment, dir, res)
	}
	printExperimentSummary(stdio.Out, res, dir)
	return nil
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
	fmt.Fprintf(w, "  latency              TTFT p50 %s p99 %s · ITL p50 %s · TPOT p50 %s · E2E p50 %s\n", secs(r.Latency.TTFT.P50), secs(r.Latency.TTFT.P99), secs(r.Latency.ITL.P50), secs(r.Latency.TPOT.P50), secs(r.Latency.E2E.P50))
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
