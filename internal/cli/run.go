package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/metrics"
	"github.com/llenergymeasure/llem/results"
)

// runFlags are the flags of `llem run` that override the file (SPEC CLI-2).
type runFlags struct {
	model, backend, dataset, precision string
	prompts, batchSize, cycles         int
	order, output, resume              string
	noGaps, dryRun, failFast, asJSON   bool
	quiet, verbose                     bool
	timeout                            time.Duration
	scheduler                          string
	slurmOpts                          []string
	slurmConcurrency                   int
	wait                               bool
	metricsAddr                        string
	// onEvent, when set, also receives every event of the run or study
	// (the --metrics exporter).
	onEvent func(event.Event)
}

func newRunCmd(stdio *IO) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [FILE]",
		Short: "Run an experiment or a study (no file: a quick demo on the built-in engine)",
		Long: `Run an experiment file or a study file (a file with sweep: or experiments:).

With no file, llem runs its quick demonstration: the built-in native engine on a
synthetic-weight stories15M model, offline, in under a minute, with a short
protocol (5 s baseline, one warm-up run, no thermal floor) that it states on
screen and records in the result. Files get the full methodology defaults.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return runRun(cmd.Context(), stdio, file, f, cmd.Flags().Changed)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "model id, path or synthetic shape name (overrides the file)")
	fl.StringVar(&f.backend, "backend", "", "backend: "+strings.Join(config.BackendNames(), ", "))
	fl.StringVar(&f.dataset, "dataset", "", "dataset name (synthetic, builtin, aienergyscore) or a .jsonl/.json file")
	fl.IntVarP(&f.prompts, "prompts", "n", 0, "number of prompts measured")
	fl.IntVar(&f.batchSize, "batch-size", 0, "batch size (the backend's batch knob)")
	fl.StringVar(&f.precision, "precision", "", "precision: "+strings.Join(config.CommonPrecisions(), ", ")+" (or an engine's own, e.g. q4_0 on native)")
	fl.StringVarP(&f.output, "output", "o", "", "results directory (default from user config, else ./results)")
	fl.IntVar(&f.cycles, "cycles", 0, "cycles per configuration (CLI default 3 for study files)")
	fl.StringVar(&f.order, "order", "", "cycle order: "+strings.Join(config.CycleOrderNames(), ", "))
	fl.BoolVar(&f.noGaps, "no-gaps", false, "skip thermal gaps between runs and cycles")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the resolved runs and their hashes; run nothing")
	fl.StringVar(&f.resume, "resume", "", "continue the interrupted study in `DIR`")
	fl.BoolVar(&f.failFast, "fail-fast", false, "stop the study at the first failed run")
	fl.BoolVar(&f.asJSON, "json", false, "print a machine-readable summary on stdout")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the summary")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print every event (on a terminal: a line per measured batch)")
	fl.DurationVar(&f.timeout, "timeout", 0, "per-run timeout (overrides execution.experiment_timeout_seconds)")
	fl.StringVar(&f.scheduler, "scheduler", "", "submit the runs to a scheduler instead of running them here: slurm (a job array, see docs/slurm.md)")
	fl.StringArrayVar(&f.slurmOpts, "slurm-opt", nil, "extra sbatch option, repeatable (e.g. --slurm-opt=--partition=debug)")
	fl.IntVar(&f.slurmConcurrency, "slurm-concurrency", 1, "array tasks running at once (1: runs never share a machine's energy sensors)")
	fl.BoolVar(&f.wait, "wait", false, "with --scheduler: wait for the job array to end, then gather the results")
	fl.StringVar(&f.metricsAddr, "metrics", "", "serve live Prometheus metrics on `HOST:PORT` (e.g. 127.0.0.1:9464) at /metrics while the runs go (docs/metrics.md)")
	_ = cmd.RegisterFlagCompletionFunc("backend", fixedCompletion(config.BackendNames()...))
	_ = cmd.RegisterFlagCompletionFunc("order", fixedCompletion(config.CycleOrderNames()...))
	_ = cmd.RegisterFlagCompletionFunc("precision", fixedCompletion(config.CommonPrecisions()...))
	return cmd
}

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// dryRunJSON is the --dry-run --json document (issue 2).
type dryRunJSON struct {
	// StudyName is the study's name.
	StudyName string `json:"study_name"`
	// StudyDesignHash identifies the set of configurations (config.StudyDesignHash).
	StudyDesignHash string `json:"study_design_hash"`
	// Execution says how the runs would be executed: cycles, order, gaps and timeouts.
	Execution config.Execution `json:"execution"`
	// Experiments are the resolved configurations, in study order.
	Experiments []dryRunExperiment `json:"experiments"`
	// Runs are the planned runs, in execution order.
	Runs []dryRunRun `json:"runs"`
	// Skipped lists configurations that would not be run, and why.
	Skipped []config.SkippedConfig `json:"skipped"`
	// Warnings are problems found checking the study.
	Warnings []string `json:"warnings"`
	// EstimatedMinS is a lower bound of the study's duration in seconds: its baselines, thermal floors and gaps.
	EstimatedMinS float64 `json:"estimated_min_duration_s"`
	// NoGaps is true when the gaps would be skipped (--no-gaps).
	NoGaps bool `json:"no_gaps"`
}

type dryRunExperiment struct {
	// MeasurementConfigHash identifies the configuration (config.MeasurementConfigHash).
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Label names the configuration by its swept values.
	Label string `json:"label"`
	// Config is the configuration, defaults applied.
	Config config.ExperimentConfig `json:"config"`
}

type dryRunRun struct {
	// Index is the run's position in the plan (0-based).
	Index int `json:"index"`
	// Cycle is the run's cycle (1-based).
	Cycle int `json:"cycle"`
	// MeasurementConfigHash identifies the run's configuration.
	MeasurementConfigHash string `json:"measurement_config_hash"`
}

func runRun(ctx context.Context, stdio *IO, file string, f runFlags, changed func(string) bool) error {
	user, err := loadUserConfig(stdio)
	if err != nil {
		return err
	}
	var sc *config.StudyConfig
	quick := file == "" && f.resume == ""
	switch {
	case f.resume != "" && file == "":
		sc, err = loadStudyFromDir(f.resume)
	case quick:
		sc = quickStudy()
	default:
		sc, err = config.Load(file)
		if err == nil {
			config.ApplyUserConfig(sc, user)
		}
	}
	if err != nil {
		return err
	}
	if err := applyRunFlags(sc, f, changed, quick); err != nil {
		return err
	}
	if f.metricsAddr != "" {
		if err := metrics.CheckAddr(f.metricsAddr); err != nil {
			return usageError{err}
		}
		if f.scheduler != "" {
			return usageError{fmt.Errorf("--metrics serves the runs of this process; with --scheduler they run in the job array (drop --metrics)")}
		}
	}
	plan := config.Plan(sc)
	// The pre-flight runs before --dry-run prints, so a study that cannot
	// run is exit 2 there already; llem.Run then skips it.
	checkWarnings, err := llem.Check(ctx, sc, llem.CheckOptions{User: &user, Getenv: stdio.Getenv, DryRun: f.dryRun})
	if err != nil {
		return err
	}
	if f.dryRun {
		return printDryRun(stdio, sc, plan, user, f, checkWarnings)
	}
	outDir := f.output
	if outDir == "" {
		outDir = user.ResultsDir
	}
	if st, err := os.Stat(outDir); err == nil && !st.IsDir() {
		return usageError{fmt.Errorf("results directory %s is a file; name a directory (--output/-o or results_dir)", outDir)}
	}
	if f.scheduler != "" {
		return runScheduled(ctx, stdio, sc, outDir, user, f)
	}
	if f.metricsAddr != "" {
		stop, err := serveMetrics(stdio, sc, &f)
		if err != nil {
			return err
		}
		defer stop()
	}
	if len(plan) == 1 && !sc.Declared && f.resume == "" {
		return runSingle(ctx, stdio, sc, outDir, user, f, quick)
	}
	return runStudy(ctx, stdio, sc, outDir, user, f)
}

// serveMetrics starts the --metrics endpoint, fed by every event of the
// runs, before the first run; stop ends it with the command, with no
// final scrape window.
func serveMetrics(stdio *IO, sc *config.StudyConfig, f *runFlags) (stop func(), err error) {
	labels := configLabels(sc.Experiments)
	exp := metrics.New(metrics.Options{Label: func(c config.ExperimentConfig) string { return labels[config.MeasurementConfigHash(c)] }})
	srv, err := metrics.Serve(f.metricsAddr, exp)
	if err != nil {
		return nil, exitError{code: ExitBadInput, err: err}
	}
	if !f.quiet {
		fmt.Fprintf(stdio.Err, "Metrics: http://%s/metrics\n", srv.Addr())
	}
	f.onEvent = exp.Observe
	return func() { _ = srv.Close() }, nil
}

// quickStudy is `llem run` with no file: the default experiment on the
// built-in engine with the short demonstration protocol (SPEC CLI-1).
func quickStudy() *config.StudyConfig {
	cfg := config.QuickExperiment()
	return &config.StudyConfig{
		Name:        "quickstart",
		Experiments: []config.ExperimentConfig{cfg},
		Execution:   config.DefaultExecution(),
	}
}

// applyRunFlags lays the command-line flags over the file (flags win).
func applyRunFlags(sc *config.StudyConfig, f runFlags, changed func(string) bool, quick bool) error {
	var problems config.Errors
	for i := range sc.Experiments {
		cfg := &sc.Experiments[i]
		if changed("model") {
			cfg.Model = f.model
		}
		if changed("backend") {
			cfg.Backend = config.Backend(f.backend)
		}
		if changed("dataset") {
			cfg.Dataset = config.DatasetFromString(f.dataset)
		}
		if changed("prompts") {
			cfg.N = f.prompts
		}
		if changed("precision") {
			cfg.Precision = f.precision
		}
		if changed("batch-size") {
			if err := config.SetBatchSize(cfg, f.batchSize); err != nil {
				problems = append(problems, &config.FieldError{Field: "--batch-size", Msg: err.Error()})
			}
		}
	}
	if changed("cycles") {
		if f.cycles < 1 {
			problems = append(problems, &config.FieldError{Field: "--cycles", Msg: fmt.Sprintf("must be at least 1, got %d", f.cycles)})
		}
		sc.Execution.NCycles = f.cycles
	} else if !sc.ExecutionFromFile && !quick && (len(sc.Experiments) > 1 || sc.Declared) {
		// The CLI's statistically sound default for studies (CFG-6).
		sc.Execution.NCycles = config.CLIDefaultCycles
		sc.Execution.CycleOrder = config.OrderShuffled
	}
	if changed("order") {
		if o := config.CycleOrder(f.order); slices.Contains(config.CycleOrders(), o) {
			sc.Execution.CycleOrder = o
		} else {
			problems = append(problems, &config.FieldError{Field: "--order", Msg: fmt.Sprintf("unknown order %q (allowed: %s)", f.order, strings.Join(config.CycleOrderNames(), ", "))})
		}
	}
	if f.timeout > 0 {
		sc.Execution.ExperimentTimeoutSeconds = f.timeout.Seconds()
	}
	if len(problems) > 0 {
		return problems
	}
	if changed("model") || changed("backend") || changed("dataset") || changed("prompts") || changed("precision") || changed("batch-size") {
		return config.Revalidate(sc)
	}
	return nil
}

func printDryRun(stdio *IO, sc *config.StudyConfig, plan []config.Run, user config.UserConfig, f runFlags, checkWarnings []string) error {
	asJSON := f.asJSON
	hashes := make([]string, len(sc.Experiments))
	labels := sc.Labels()
	doc := dryRunJSON{
		StudyName:       sc.Name,
		StudyDesignHash: config.StudyDesignHash(sc),
		Execution:       sc.Execution,
		Skipped:         sc.Skipped,
		Warnings:        checkWarnings,
		Experiments:     []dryRunExperiment{},
		Runs:            []dryRunRun{},
		NoGaps:          f.noGaps,
	}
	if w := config.RecordedOnlySweep(sc.Experiments); w != "" {
		doc.Warnings = append(doc.Warnings, w)
	}
	if doc.Skipped == nil {
		doc.Skipped = []config.SkippedConfig{}
	}
	for i, cfg := range sc.Experiments {
		hashes[i] = config.MeasurementConfigHash(cfg)
		doc.Experiments = append(doc.Experiments, dryRunExperiment{MeasurementConfigHash: hashes[i], Label: labels[i], Config: cfg})
	}
	for _, r := range plan {
		doc.Runs = append(doc.Runs, dryRunRun{Index: r.Index, Cycle: r.Cycle, MeasurementConfigHash: r.MeasurementConfigHash})
	}
	doc.EstimatedMinS = llem.MinDuration(sc, user, f.noGaps).Seconds()
	if asJSON {
		return writeEnvelope(stdio.Out, envelopePlan, "", doc)
	}
	w := stdio.Out
	fmt.Fprintf(w, "Study %q  design hash %s\n", sc.Name, doc.StudyDesignHash)
	fmt.Fprintf(w, "%d configuration(s) × %d cycle(s) = %d run(s), order %s\n", len(sc.Experiments), sc.Execution.NCycles, len(plan), sc.Execution.CycleOrder)
	if n := len(sc.Skipped); n > 0 {
		total := n + len(sc.Experiments)
		fmt.Fprintf(w, "Skipping %d/%d generated configurations:\n", n, total)
		skipped := skippedLabels(sc)
		for i, s := range sc.Skipped {
			fmt.Fprintf(w, "  - %s: %s\n", skipped[i], s.Reason)
		}
		if n*2 > total {
			fmt.Fprintf(w, "warning: more than half of the sweep is invalid; check the sweep axes\n")
		}
	}
	fmt.Fprintln(w, "\nConfigurations:")
	for i, cfg := range sc.Experiments {
		fmt.Fprintf(w, "  [%d] %s  %s  (%s)\n", i, hashes[i], labels[i], describe(cfg))
	}
	fmt.Fprintln(w, "\nRuns, in execution order:")
	for _, r := range plan {
		fmt.Fprintf(w, "  run %4d  cycle %d  config [%d] %s  %s\n", r.Index, r.Cycle, r.Experiment, r.MeasurementConfigHash, labels[r.Experiment])
	}
	waits := "baselines, thermal floors and gaps"
	if f.noGaps {
		waits = "baselines and thermal floors; --no-gaps"
	}
	fmt.Fprintf(w, "\nEstimated duration: at least %s (%s; inference time is measured, not guessed)\n", fmtDuration(time.Duration(doc.EstimatedMinS*float64(time.Second))), waits)
	for _, m := range doc.Warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
	return nil
}

// describe is a one-line label of a configuration for humans.
func describe(cfg config.ExperimentConfig) string {
	parts := []string{string(cfg.Backend), cfg.Model}
	if cfg.Precision != "" {
		parts = append(parts, cfg.Precision)
	}
	if bs, ok := config.BatchSize(cfg); ok {
		parts = append(parts, fmt.Sprintf("batch %d", bs))
	}
	ds := "dataset " + cfg.Dataset.Name
	if cfg.Dataset.Name == config.DatasetSynthetic {
		ds += fmt.Sprintf(" %d→%d tok", cfg.Dataset.InputLen, cfg.Dataset.OutputLen)
	}
	parts = append(parts, fmt.Sprintf("n %d", cfg.N), ds)
	return strings.Join(parts, ", ")
}

func fmtDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func loadStudyFromDir(dir string) (*config.StudyConfig, error) {
	sc, err := results.ReadStudyConfig(dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("resume %s: %w", dir, err)}
	}
	return sc, nil
}

// envelope is what every command prints with --json (and `llem report
// --format json`): what the result is (Kind), the study folder it is about
// (empty when none: a plan before any folder exists, the machine report)
// and the result itself. schema/envelope.schema.json gives each kind's
// result schema.
type envelope struct {
	// Kind says what Result is: experiment, study, report, comparison, plan, submission or machine.
	Kind string `json:"kind"`
	// StudyDir is the study folder the result is about; empty when none (a plan, the machine report).
	StudyDir string `json:"study_dir"`
	// Result is the result itself, per Kind.
	Result any `json:"result"`
}

// Kinds of envelope, each with its result type.
const (
	// envelopeExperiment: a results.ExperimentResult (`llem run --json` of
	// a single experiment; a single experiment is a study of one run).
	envelopeExperiment = "experiment"
	// envelopeStudy: a results.StudyResult (`llem run --json`, `llem
	// gather --json`).
	envelopeStudy = "study"
	// envelopeComparison: a report.Comparison (`llem report DIR DIR...
	// --format json`); study_dir is the reference (first) study.
	envelopeComparison = "comparison"
	// envelopeReport: a report.Report (`llem report DIR --format json`).
	envelopeReport = "report"
	// envelopePlan: the resolved runs (`llem run --dry-run --json`).
	envelopePlan = "plan"
	// envelopeSubmission: a slurm.Submission (`llem run --scheduler slurm
	// --json` without --wait).
	envelopeSubmission = "submission"
	// envelopeMachine: the machine and configuration report (`llem config
	// --json`).
	envelopeMachine = "machine"
)

// writeEnvelope prints result in the --json envelope.
func writeEnvelope(w io.Writer, kind, studyDir string, result any) error {
	return writeJSON(w, envelope{Kind: kind, StudyDir: studyDir, Result: result})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
