package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/results"
)

// runStudy runs a study through llem.Run: one child process per run,
// manifest, gaps, resume.
func runStudy(ctx context.Context, stdio *IO, sc *config.StudyConfig, resultsDir string, user config.UserConfig, f runFlags) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the llem binary to re-execute per run: %w", err)
	}
	pr := newProgress(stdio.Err, stdio.IsTerminal, f.quiet || f.asJSON, f.verbose)
	printPreflight(pr, sc)
	opts := runOptions(stdio, user, resultsDir, f)
	opts.LlemBinary = exe
	observe := studyObserver(pr, configLabels(sc.Experiments))
	var dir string
	opts.OnEvent = func(e event.Event) {
		if e.Kind == event.StudyStart {
			dir = e.StudyDir
		}
		if f.onEvent != nil {
			f.onEvent(e)
		}
		observe(e)
	}
	res, err := llem.Run(ctx, sc, opts)
	pr.done()
	if res == nil {
		return err
	}
	if f.asJSON {
		if jerr := writeEnvelope(stdio.Out, envelopeStudy, dir, res); jerr != nil {
			return jerr
		}
	} else {
		printStudySummary(stdio.Out, res)
	}
	return studyOutcome(res, err)
}

// runOptions are the llem.Options of `llem run`'s flags. The pre-flight
// (llem.Check) has run already.
func runOptions(stdio *IO, user config.UserConfig, resultsDir string, f runFlags) llem.Options {
	return llem.Options{
		User:       &user,
		Getenv:     stdio.Getenv,
		ResultsDir: resultsDir,
		ResumeDir:  f.resume,
		NoGaps:     f.noGaps,
		FailFast:   f.failFast,
		Timeout:    f.timeout,
		SkipCheck:  true,
	}
}

// studyOutcome is the command's error for a study that produced res: the
// runner's own error, else exit 1 when runs failed.
func studyOutcome(res *results.StudyResult, err error) error {
	switch {
	case err != nil:
		return err
	case res.Summary.Failed > 0:
		return exitError{code: ExitRunsFailed, err: fmt.Errorf("%d of %d runs failed (see the failures above and each run's run.log)", res.Summary.Failed, res.Summary.Ran)}
	}
	return nil
}

func printPreflight(pr *progress, sc *config.StudyConfig) {
	n := len(sc.Experiments)
	pr.line("Study %q: %d configuration(s) × %d cycle(s), order %s", sc.Name, n, sc.Execution.NCycles, sc.Execution.CycleOrder)
	if k := len(sc.Skipped); k > 0 {
		total := k + n
		pr.line("Skipping %d/%d: ", k, total)
		labels := skippedLabels(sc)
		for i, s := range sc.Skipped {
			pr.line("  - %s: %s", labels[i], s.Reason)
		}
		if k*2 > total {
			pr.line("warning: more than half of the generated configurations are invalid")
		}
	}
}

func studyObserver(pr *progress, labels map[string]string) func(event.Event) {
	return func(e event.Event) {
		switch e.Kind {
		case event.StudyStart:
			pr.line("Results: %s  (%d of %d runs to do)", e.StudyDir, e.ToRun, e.Total)
		case event.RunStart:
			label := fmt.Sprintf("run %d/%d · cycle %d", e.Position, e.ToRun, e.Cycle)
			if e.Config != nil {
				label += " · " + labels[config.MeasurementConfigHash(*e.Config)]
			}
			if e.ETA > 0 {
				label += " · ETA " + fmtDuration(e.ETA)
			}
			pr.setPrefix(label)
			if e.Config != nil {
				pr.line("[%s] %s", label, describe(*e.Config))
			}
		case event.RunPhase:
			if p := e.Progress; p != nil {
				pr.runEvent(*p, e.Elapsed)
			}
		case event.Gap:
			pr.gap(e)
		case event.RunEnd:
			pr.endRun()
			if e.State == results.StateCompleted {
				pr.line("  completed")
			} else {
				pr.line("  %s: %s %s", e.State, e.ErrorType, e.Error)
			}
		case event.Circuit, event.Warning:
			pr.line("warning: %s", e.Message)
		case event.StudyEnd:
			pr.line("%s", e.Message)
		}
	}
}

func printStudySummary(w io.Writer, r *results.StudyResult) {
	fmt.Fprintf(w, "\nStudy %s  design %s\n", r.StudyName, r.StudyDesignHash)
	s := r.Summary
	fmt.Fprintf(w, "  runs: %d completed, %d failed, %d skipped configs, %d pending\n", s.Completed, s.Failed, s.Skipped, s.Pending)
	cfgs := make([]config.ExperimentConfig, len(r.Configurations))
	for i, c := range r.Configurations {
		cfgs[i] = c.Config
	}
	labels := configLabels(cfgs)
	for _, c := range r.Configurations {
		src := c.EnergySource
		if src == results.SourceEstimated {
			src = "ESTIMATED"
		}
		e := c.EnergyPerOutputTokenJ
		fig := "no completed runs" // never 0 J/tok [0, 0]
		if e.N > 0 {
			fig = fmt.Sprintf("%.4g J/tok  %.1f tok/s", e.Mean, c.OutputTokensPerS.Mean)
		}
		if e.N > 1 { // one cycle has no interval
			fig = fmt.Sprintf("%.4g J/tok [%.4g, %.4g]  %.1f tok/s", e.Mean, e.CILow, e.CIHigh, c.OutputTokensPerS.Mean)
		}
		fmt.Fprintf(w, "  %s  %-40s  %s  (%s, n=%d)\n", c.MeasurementConfigHash, labels[c.MeasurementConfigHash], fig, src, e.N)
	}
	for _, f := range r.Failed {
		label, ok := labels[config.MeasurementConfigHash(f.Config)]
		if !ok {
			label = describe(f.Config)
		}
		fmt.Fprintf(w, "  FAILED run %d (cycle %d) %s: %s: %s\n", f.RunIndex, f.Cycle, label, f.ErrorType, f.Message)
	}
	if r.StopReason != "" {
		fmt.Fprintf(w, "  stopped: %s\n", r.StopReason)
	}
	for _, m := range r.Warnings {
		fmt.Fprintf(w, "  warning [%s] %s\n", m.Code, m.Message)
	}
}

// configLabels maps each configuration's measurement_config_hash to what
// tells it apart from the others (config.Labels), for every listing.
func configLabels(cfgs []config.ExperimentConfig) map[string]string {
	out := make(map[string]string, len(cfgs))
	for i, l := range config.Labels(cfgs) {
		out[config.MeasurementConfigHash(cfgs[i])] = l
	}
	return out
}

// skippedLabels labels the skipped configurations against the whole
// generated set, so a skipped point shows the axis values that produced it.
func skippedLabels(sc *config.StudyConfig) []string {
	all := slices.Clone(sc.Experiments)
	for _, s := range sc.Skipped {
		all = append(all, s.Config)
	}
	return config.Labels(all)[len(sc.Experiments):]
}
