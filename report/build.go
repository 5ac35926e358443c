package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// Report is a study summarised for presentation. Build computes it; the
// Write* functions render it. Configurations without a completed run are
// not in Configs but in NoResults (their failed runs are in Failed).
type Report struct {
	// StudyName is the study's name ("study" when it has none).
	StudyName string `json:"study_name"`
	// Dir is the study directory the report was built from.
	Dir string `json:"dir"`
	// Status is complete, partly failed, interrupted or unfinished.
	Status string `json:"status"`
	// StatusNote explains a status other than complete; empty when complete.
	StatusNote string `json:"status_note,omitempty"`
	// Runs counts the study's runs by state.
	Runs RunCounts `json:"runs"`
	// Swept are the configuration keys that vary across configurations.
	Swept []string `json:"swept_parameters"`
	// Configs are the configurations with at least one completed run, with their figures across cycles.
	Configs []ConfigRow `json:"configurations"`
	// NoResults are the configurations with runs but none completed: they
	// have no figures, only a count of their runs by state.
	NoResults []NoResultRow `json:"configurations_without_completed_runs"`
	// Measure is what effects are ranked on (Options.Measure).
	Measure Measure `json:"ranking_measure"`
	// Effects rank the swept parameters by their effect on the ranking measure, largest first; empty with nothing swept.
	Effects []Effect `json:"effects"`
	// Interaction is the two-way table of the two top-ranked parameters; omitted with fewer than two.
	Interaction *Interaction `json:"interaction,omitempty"`
	// Frontier lists the IDs of configurations on the Pareto front of energy per output token against E2E p50, fastest first.
	Frontier []string `json:"pareto_frontier"`
	// Failed lists the runs that failed, were interrupted, or completed with an unreadable result, by run index.
	Failed []FailedRow `json:"failed"`
	// Skipped lists configurations the study left out, with the reason.
	Skipped []SkippedRow `json:"skipped"`
	// Problems are files that could not be read and analysis caveats; omitted when none.
	Problems []string `json:"problems,omitempty"`
	// Warnings are the study's and the runs' measurement warnings (MEA-6),
	// one row per code with how many runs raised it.
	Warnings []WarningRow `json:"warnings"`
	// Sources give the nominal accuracy of each energy source the figures use.
	Sources []SourceAccuracy `json:"source_accuracies"`
	// AnyEstimated is true when any figure in the report rests on an
	// estimated energy source.
	AnyEstimated bool `json:"any_estimated"`
	// Methods describe in words how each part of the report is computed.
	Methods Methods `json:"methods"`
	// Power holds the time series plotted as power over time.
	Power []PowerSeries `json:"-"`
}

// RunCounts counts a study's runs by state.
type RunCounts struct {
	// Total is the number of runs in the study's manifest.
	Total int `json:"total"`
	// Completed is the number of runs completed.
	Completed int `json:"completed"`
	// Failed is the number of runs failed.
	Failed int `json:"failed"`
	// Pending is the number of runs not yet started.
	Pending int `json:"pending"`
	// Running is the number of runs marked running.
	Running int `json:"running"`
	// Interrupted is the number of runs interrupted.
	Interrupted int `json:"interrupted"`
	// SkippedConfigs counts configurations never run (CFG-4b).
	SkippedConfigs int `json:"skipped_configurations"`
}

// ConfigRow is one configuration summarised across its completed cycles.
type ConfigRow struct {
	// ID is a short name (C1, C2, …) used in tables and plots.
	ID string `json:"id"`
	// Label names the configuration by its swept values (by backend and model with nothing swept).
	Label string `json:"label"`
	// MeasurementConfigHash identifies the configuration (config.MeasurementConfigHash).
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Params are the configuration's values of the swept parameters, most important first.
	Params []Param `json:"params"`
	// Completed is the number of completed runs (cycles) with a result.
	Completed int `json:"completed"`
	// Failed is the number of failed or interrupted runs.
	Failed int `json:"failed"`
	// EnergySource is the energy source of its runs, several joined with "+".
	EnergySource string `json:"energy_source"`
	// Estimated is true when any run's energy is an estimate.
	Estimated bool `json:"energy_estimated"`

	// EnergyPerOutputTokenJ is energy per output token across cycles, in joules.
	EnergyPerOutputTokenJ Metric `json:"energy_per_output_token_j"`
	// EnergyTotalJ is the measured window's total energy across cycles, in joules.
	EnergyTotalJ Metric `json:"energy_total_j"`
	// EnergyAdjustedJ is the baseline-adjusted energy across cycles, in joules.
	EnergyAdjustedJ Metric `json:"energy_adjusted_j"`
	// EnergyAdjustedPerOutputTokenJ is the baseline-adjusted energy per
	// output token, a negative adjusted energy counted as 0.
	EnergyAdjustedPerOutputTokenJ Metric `json:"energy_adjusted_per_output_token_j"`
	// PrefillPerInputTokenJ is prefill energy per prompt token across
	// cycles (results.PhaseEnergy), in joules; n 0 when no run split it.
	PrefillPerInputTokenJ Metric `json:"prefill_per_input_token_j"`
	// DecodePerOutputTokenJ is decode energy per output token after each
	// request's first across cycles, in joules; n 0 when no run split it.
	DecodePerOutputTokenJ Metric `json:"decode_per_output_token_j"`
	// OutputTokensPerS is output throughput across cycles, in tokens/s.
	OutputTokensPerS Metric `json:"output_tokens_per_s"`
	// TTFTP50S is the median time to first token across cycles, in seconds.
	TTFTP50S Metric `json:"ttft_p50_s"`
	// TTFTP99S is the 99th-percentile time to first token across cycles, in seconds.
	TTFTP99S Metric `json:"ttft_p99_s"`
	// ITLP50S is the median inter-token latency across cycles, in seconds.
	ITLP50S Metric `json:"itl_p50_s"`
	// ITLP99S is the 99th-percentile inter-token latency across cycles, in seconds.
	ITLP99S Metric `json:"itl_p99_s"`
	// E2EP50S is the median end-to-end request latency across cycles, in seconds.
	E2EP50S Metric `json:"e2e_p50_s"`
	// AvgPowerW is average power across cycles, in watts.
	AvgPowerW Metric `json:"avg_power_w"`

	// Uncertainty is the uncertainty budget of the mean energy per output token.
	Uncertainty Uncertainty `json:"uncertainty"`
	// OnFrontier is true when the configuration is on the Pareto front (see Report.Frontier).
	OnFrontier bool `json:"pareto_frontier"`
	// Cycles are the per-cycle values of energy per output token.
	Cycles []CyclePoint `json:"cycles"`

	// flat is the configuration flattened to dotted keys.
	flat map[string]string
}

// NoResultRow is a configuration none of whose runs completed.
type NoResultRow struct {
	// Label names the configuration by its swept values.
	Label string `json:"label"`
	// MeasurementConfigHash identifies the configuration.
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Failed counts its failed runs and completed runs without a readable result.
	Failed int `json:"failed"`
	// Unfinished counts runs pending, running or interrupted.
	Unfinished int `json:"unfinished"`

	// flat is the configuration flattened to dotted keys.
	flat map[string]string
}

// noCompletedRuns is what every renderer shows for a configuration
// without a completed run, in place of figures.
const noCompletedRuns = "no completed runs"

// Note is what stands in place of the configuration's figures.
func (NoResultRow) Note() string { return noCompletedRuns }

// RunsText says how many of the configuration's runs failed or are
// unfinished.
func (r NoResultRow) RunsText() string {
	var parts []string
	if r.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", r.Failed))
	}
	if r.Unfinished > 0 {
		parts = append(parts, fmt.Sprintf("%d unfinished", r.Unfinished))
	}
	if len(parts) == 0 {
		return "0"
	}
	return "0 (" + strings.Join(parts, ", ") + ")"
}

// SourceLabel is the energy source as shown in tables: an estimate is
// always marked "≈ estimated".
func (c ConfigRow) SourceLabel() string { return sourceLabel(c.EnergySource, c.Estimated) }

func sourceLabel(source string, estimated bool) string {
	switch {
	case !estimated:
		return source
	case source == results.SourceEstimated || source == "":
		return "≈ estimated"
	}
	return source + " (≈ estimated part)"
}

// Param is one swept parameter's value in a configuration.
type Param struct {
	// Key is the configuration key, dotted (e.g. native.batch_size).
	Key string `json:"key"`
	// Value is the configuration's value for it, as text.
	Value string `json:"value"`
}

// CyclePoint is one completed run's figures that the blocked model uses.
type CyclePoint struct {
	// RunIndex is the run's index in the study.
	RunIndex int `json:"run_index"`
	// Cycle is the run's cycle (1-based).
	Cycle int `json:"cycle"`
	// EnergyPerOutputTokenJ is the run's energy per output token, in joules.
	EnergyPerOutputTokenJ float64 `json:"energy_per_output_token_j"`
	// AdjustedPerOutputTokenJ is the baseline-adjusted energy per output
	// token, 0 when the adjusted energy was negative.
	AdjustedPerOutputTokenJ float64 `json:"energy_adjusted_per_output_token_j"`
	// OutputTokensPerS is the run's output throughput, in tokens/s.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// E2EP50S is the run's median end-to-end latency, in seconds.
	E2EP50S float64 `json:"e2e_p50_s"`
}

// Metric is a figure that cannot be negative summarised across cycles:
// mean, sample standard deviation and the 95% Student-t interval of the
// mean with its lower end clipped at 0 (stats.SummarizeNonNegative). With
// one cycle there is no spread: the interval collapses to the value here
// and is null in JSON, and no renderer shows it.
type Metric struct {
	// N is the number of values (completed cycles); 0, with every figure 0, when there are none.
	N int `json:"n"`
	// Mean is the mean across cycles, in the figure's unit.
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation across cycles.
	Std float64 `json:"std"`
	// CILow is the lower end of the 95% Student-t interval of the mean (see ci95_low_clipped).
	CILow float64 `json:"ci95_low"`
	// CIHigh is the upper end of the 95% Student-t interval of the mean.
	CIHigh float64 `json:"ci95_high"`
	// LowClipped is true when the t-interval's lower end was below 0 and
	// was raised to 0.
	LowClipped bool `json:"ci95_low_clipped,omitempty"`
}

// HasInterval is true when there are cycles enough (2) for a spread.
func (m Metric) HasInterval() bool { return m.N >= 2 }

// MarshalJSON writes std and the interval as null for fewer than two
// cycles, so a reader cannot take a collapsed interval for a measured one.
func (m Metric) MarshalJSON() ([]byte, error) {
	type plain Metric
	out := struct {
		plain
		Std    *float64 `json:"std"`
		CILow  *float64 `json:"ci95_low"`
		CIHigh *float64 `json:"ci95_high"`
	}{plain: plain(m)}
	if m.HasInterval() {
		out.Std, out.CILow, out.CIHigh = &m.Std, &m.CILow, &m.CIHigh
	}
	return json.Marshal(out)
}

// summarize summarises a quantity that cannot be negative: every figure of
// a configuration row is one (energy, power, times, throughput).
func summarize(xs []float64) Metric {
	if len(xs) == 0 {
		return Metric{}
	}
	s := stats.SummarizeNonNegative(xs)
	return Metric{N: s.N, Mean: s.Mean, Std: s.Std, CILow: s.CILow, CIHigh: s.CIHigh, LowClipped: s.LowClipped}
}

// Uncertainty is the uncertainty budget of a configuration's mean energy
// per output token, after the GUM (JCGM 100:2008): standard uncertainties,
// relative to the mean, combined in quadrature, then expanded once with
// the coverage factor of Student's t at the Welch–Satterthwaite effective
// degrees of freedom.
type Uncertainty struct {
	// CycleRelPct is the Type A standard uncertainty of the mean from the
	// spread across cycles, s/√n, on CycleDF = n − 1 degrees of freedom
	// (0 with one cycle: unknown, left out).
	CycleRelPct float64 `json:"cycle_rel_pct"`
	// CycleDF is the degrees of freedom of CycleRelPct: completed cycles − 1.
	CycleDF int `json:"cycle_df"`
	// SourceBoundPct is the source's nominal accuracy, a bound ±a;
	// SourceRelPct its standard uncertainty a/√3 (rectangular, Type B,
	// infinite degrees of freedom).
	SourceBoundPct float64 `json:"source_bound_pct"`
	// SourceRelPct is the source's standard uncertainty, SourceBoundPct/√3, in percent.
	SourceRelPct float64 `json:"source_rel_pct"`
	// ResolutionRelPct is the counter resolution's standard uncertainty
	// over the window, q/√6 (a difference of two readings, each
	// rectangular over one step q), relative to the window's energy, over
	// √n cycles.
	ResolutionRelPct float64 `json:"resolution_rel_pct"`
	// CombinedStdRelPct is the combined standard uncertainty u_c.
	CombinedStdRelPct float64 `json:"combined_std_rel_pct"`
	// EffectiveDF is ν_eff; nil (null) when infinite (Type B components
	// only).
	EffectiveDF *float64 `json:"effective_df"`
	// CoverageK is t₀.₉₇₅(ν_eff); CombinedRelPct = k·u_c is the expanded
	// uncertainty at about 95% coverage, CombinedJ the same in J.
	CoverageK float64 `json:"coverage_k"`
	// CombinedRelPct is the expanded uncertainty k·u_c at about 95% coverage, in percent of the mean.
	CombinedRelPct float64 `json:"combined_rel_pct"`
	// CombinedJ is CombinedRelPct of the mean energy per output token, in joules.
	CombinedJ float64 `json:"combined_j"`
	// Dominant names the largest standard uncertainty: "cycles",
	// "source" or "resolution"; "source (one cycle)" when the spread
	// across cycles is unknown.
	Dominant string `json:"dominant"`
}

// FailedRow is a run that did not complete, with why.
type FailedRow struct {
	// RunIndex is the run's index in the study.
	RunIndex int `json:"run_index"`
	// Cycle is the run's cycle (1-based).
	Cycle int `json:"cycle"`
	// ConfigID is the configuration's ID in Configurations; empty when it has no completed run.
	ConfigID string `json:"config_id,omitempty"`
	// Label names the run's configuration by its swept values.
	Label string `json:"label"`
	// State is failed, interrupted, or unreadable (marked completed but its result could not be read).
	State string `json:"state"`
	// ErrorType classifies the failure (e.g. timeout); empty when not recorded.
	ErrorType string `json:"error_type,omitempty"`
	// Reason is the error in words ("no reason recorded" when none was).
	Reason string `json:"reason"`
}

// SkippedRow is a configuration the sweep generated but no run was made of.
type SkippedRow struct {
	// Label names the skipped configuration.
	Label string `json:"label"`
	// Reason says why it was skipped.
	Reason string `json:"reason"`
}

// Methods states how each figure of the report is computed, for the page.
type Methods struct {
	// Table describes how the configuration table's figures and intervals are computed.
	Table string `json:"table"`
	// Effects describes how parameter effects are estimated and ranked.
	Effects string `json:"effects"`
	// Interaction describes the two-way interaction analysis.
	Interaction string `json:"interaction"`
	// Uncertainty describes the uncertainty budget.
	Uncertainty string `json:"uncertainty"`
	// Pareto describes how the Pareto front is chosen.
	Pareto string `json:"pareto"`
}

func methods(m Measure) Methods {
	return Methods{
		Table: "Each figure is the mean over a configuration's completed cycles, with the 95% Student-t confidence " +
			"interval of that mean (n = completed cycles; with n = 1 there is no interval). Every figure in the table " +
			"(energy, power, times, throughput) cannot be negative, so an interval's lower end is clipped at 0: the true " +
			"mean is at least 0, so the clipped interval holds it whenever the t-interval does and keeps its 95% coverage " +
			"of the same arithmetic mean (a log-scale interval would describe the geometric mean instead). " +
			"Adjusted energy per output token counts a negative baseline-adjusted energy (idle power above the measured " +
			"average) as 0, and the run is listed under measurement warnings (adjusted_energy_negative); the adjusted " +
			"energy column keeps the raw value. " +
			"Failed runs are left out; a configuration without a completed run is listed with no completed runs and no figures.",
		Effects: fmt.Sprintf("Ranked on %s (choose with --measure total|adjusted; both are in the table). "+
			"Swept parameters are the configuration keys (flattened to dotted names) whose value differs "+
			"between configurations; parameters that always change together across the configurations with results "+
			"(a grouped sweep, an explicit list pairing them) are perfectly confounded and form one factor a+b with levels x+y. "+
			"Every cycle runs every configuration, so the cycle is a block: the effects come from a linear model of "+
			"log(%s) with the cycle as a block factor, each factor as a categorical main effect and, when the data leave "+
			"residual degrees of freedom for it, the interaction of the two factors with the largest effects, fitted by "+
			"least squares. A factor's effect is the ratio of its highest to its lowest estimated marginal mean (averaged "+
			"on the log scale over the cycles and the other factors' levels: a ratio of geometric means, so it can differ from the ratio of the arithmetic level means shown beside it), with a 95%% Student-t interval on the model's residual degrees "+
			"of freedom; with more than two levels the interval is Bonferroni-simultaneous over every pair of levels, so it "+
			"holds for the pair the data picked as lowest and highest (the range itself is biased upward: it is never below "+
			"1, so also read the partial η², the share of variance the factor explains, SS_factor / (SS_factor + SS_residual)). "+
			"Each factor is tested by a Type II F test; the p-values are adjusted across the factors tested by Holm's method "+
			"(family-wise error 5%%), and an effect is called resolved when its Holm-adjusted p is below 0.05 and every "+
			"configuration at its two compared levels has at least %d completed cycles. Factors are ranked by effect; "+
			"factors whose intervals overlap are tied (shared rank, marked =). P(top) is the share of %d cycle-bootstrap "+
			"draws (whole cycles resampled with replacement, the model refitted, the lowest and highest levels re-selected "+
			"in every draw) in which the factor has the largest effect. For an effect not resolved, the cycles needed is "+
			"the smallest number of cycles at which a two-sided t test of the same contrast at level 0.05/(factors tested) "+
			"has 80%% power, from the observed residual variance. The arithmetic level means in J/token are shown beside "+
			"the model's ratios. The same model is fitted to output tokens/s and E2E p50 (their ratios are between the "+
			"same two levels, with t-intervals and Holm-adjusted p-values). The energy source's systematic error is common "+
			"to configurations measured by the same source and cancels in a ratio; it is not included.",
			m.Label(), m.Label(), minResolveCycles, rankDraws),
		Interaction: "For the two factors in the model's interaction, when every pair of their levels has data: the two-way " +
			"table of arithmetic cell means (each cell the mean of its configuration means) and the contrast (effect of B at " +
			"A's highest level minus at A's lowest, 0 when the effects add up); the blocked model's interaction term gives " +
			"the same contrast as a ratio of ratios (1 when the effects multiply), with its t-interval and Type II F-test " +
			"p-value (not part of the Holm family of main effects).",
		Uncertainty: "A budget per configuration after the GUM (JCGM 100:2008) for its mean energy per output token, every " +
			"component a standard uncertainty relative to the mean: the spread across cycles, s/√n (Type A, n − 1 degrees of " +
			"freedom); the energy source's nominal accuracy ±a, read as the bounds of a rectangular distribution, a/√3 (Type B, " +
			"infinite degrees of freedom); and the energy counter's resolution q over the measured window, q/√6 for a difference " +
			"of two readings, relative to the window's energy and over √n cycles (Type B). They are combined in quadrature, " +
			"u_c = √(Σ uᵢ²), and expanded once: U = k·u_c with k the 97.5% quantile of Student's t at the Welch–Satterthwaite " +
			"effective degrees of freedom ν_eff = u_c⁴ / Σ(uᵢ⁴/νᵢ) (k = 1.96 when every component is Type B), about 95% " +
			"coverage. The largest component is named as dominant. A source's accuracy is systematic: more cycles do not reduce it.",
		Pareto: "A configuration is on the Pareto front when no other configuration has both lower mean energy per output " +
			"token and lower mean median end-to-end request latency (E2E p50).",
	}
}

// Build computes a report from a loaded study with the default options.
func Build(s *Study) (*Report, error) { return BuildWith(s, Options{}) }

// BuildWith computes a report from a loaded study. Time series of the
// runs plotted as power over time are read here; a file that cannot be
// read is listed in Problems rather than failing the report.
func BuildWith(s *Study, opts Options) (*Report, error) {
	if s == nil {
		return nil, fmt.Errorf("report: build: no study")
	}
	opts, err := opts.check()
	if err != nil {
		return nil, err
	}
	state, note := s.status()
	rep := &Report{
		StudyName:  cmp.Or(s.StudyName(), "study"),
		Dir:        s.Dir,
		Status:     state,
		StatusNote: note,
		Problems:   slices.Clone(s.Problems),
		Methods:    methods(opts.Measure),
		Measure:    opts.Measure,
		Frontier:   []string{},
		NoResults:  []NoResultRow{},
		Failed:     []FailedRow{},
		Skipped:    []SkippedRow{},
		Effects:    []Effect{},
	}

	groups, err := groupRuns(s.Runs)
	if err != nil {
		return nil, err
	}
	flat := make([]map[string]string, len(groups))
	for i, g := range groups {
		if flat[i], err = config.Flatten(g.config); err != nil {
			return nil, fmt.Errorf("report: configuration %s: %w", g.hash, err)
		}
	}
	swept := config.SweptKeys(flat)

	ids := make(map[string]string) // hash -> config ID
	var without []int              // groups without a completed run
	for i, g := range groups {
		for _, r := range g.runs {
			countRun(&rep.Runs, r.State)
		}
		if row, ok := summarizeGroup(g, flat[i], swept); ok {
			row.ID = fmt.Sprintf("C%d", len(rep.Configs)+1)
			ids[g.hash] = row.ID
			rep.Configs = append(rep.Configs, row)
		} else {
			without = append(without, i)
		}
	}
	var an analysis
	rep.Effects, an = mainEffects(rep.Configs, swept, opts.Measure, opts.DetectPct)
	if an.dropped > 0 {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d completed run%s left out of the blocked model: %s was not above 0, "+
			"which a model of its logarithm cannot take", an.dropped, plural(an.dropped), opts.Measure.Label()))
	}
	tput := an.otherMetric(rep.Configs, rep.Effects, func(p CyclePoint) float64 { return p.OutputTokensPerS })
	lat := an.otherMetric(rep.Configs, rep.Effects, func(p CyclePoint) float64 { return p.E2EP50S })
	for i := range rep.Effects {
		rep.Effects[i].Throughput, rep.Effects[i].Latency = tput[i], lat[i]
	}
	// Name configurations by their swept values, most important first.
	rep.Swept = rankedKeys(swept, rep.Effects)
	for i := range rep.Configs {
		c := &rep.Configs[i]
		c.Params = paramsOf(c.flat, rep.Swept)
		c.Label = config.LabelFor(c.flat, rep.Swept)
	}
	for _, i := range without {
		rep.NoResults = append(rep.NoResults, noResultRow(groups[i], flat[i], config.LabelFor(flat[i], rep.Swept)))
	}
	for i, g := range groups {
		for _, r := range g.runs {
			if r.State == results.StateCompleted && r.Result != nil {
				continue
			}
			if r.State == results.StateCompleted || r.State == results.StateFailed || r.State == results.StateInterrupted {
				f := failedRow(r, config.LabelFor(flat[i], rep.Swept))
				f.ConfigID = ids[g.hash]
				rep.Failed = append(rep.Failed, f)
			}
		}
	}
	slices.SortFunc(rep.Failed, func(a, b FailedRow) int { return a.RunIndex - b.RunIndex })
	for _, sk := range s.Skipped {
		f, err := config.Flatten(&sk.Config)
		if err != nil {
			return nil, fmt.Errorf("report: skipped configuration: %w", err)
		}
		rep.Skipped = append(rep.Skipped, SkippedRow{Label: skippedLabel(f, flat, rep.Swept), Reason: sk.Reason})
	}
	rep.Runs.SkippedConfigs = len(rep.Skipped)

	var used []string
	for i := range rep.Configs {
		c := &rep.Configs[i]
		c.Uncertainty = uncertaintyOf(c)
		rep.AnyEstimated = rep.AnyEstimated || c.Estimated
		for _, src := range strings.Split(c.EnergySource, "+") {
			if a := accuracyOf(src, c.Estimated).Source; !slices.Contains(used, a) {
				used = append(used, a)
			}
		}
	}
	rep.Sources = usedAccuracies(used)

	if len(rep.Effects) >= 2 {
		a, b := rep.Effects[0], rep.Effects[1]
		if pair := an.interPair(); pair != nil {
			a, b = rep.effect(pair[0]), rep.effect(pair[1])
			if a.Rank > b.Rank {
				a, b = b, a
			}
		}
		rep.Interaction = interaction(rep.Configs, a, b, opts.Measure, an)
	}
	rep.Frontier = paretoFrontier(rep.Configs)
	rep.Power, rep.Problems = powerSeries(s, rep, rep.Problems)
	rep.Warnings = warningRows(s)
	return rep, nil
}

// effect is the named factor's effect.
func (r *Report) effect(name string) Effect {
	for _, e := range r.Effects {
		if e.Parameter == name {
			return e
		}
	}
	return Effect{}
}

// WarningRow is one measurement warning code seen in a study: how many runs
// raised it (0 for a study-level warning) and one of its messages.
type WarningRow struct {
	// Code identifies the kind of warning.
	Code string `json:"code"`
	// Runs is how many completed runs raised it; 0 for a study-level warning.
	Runs int `json:"runs"`
	// Example is one of its messages.
	Example string `json:"example"`
}

// warningRows gathers the study's warnings and every completed run's, one
// row per code, study-level first, then by how many runs raised them.
func warningRows(s *Study) []WarningRow {
	rows := []WarningRow{}
	if s.Result != nil {
		for _, w := range s.Result.Warnings {
			rows = append(rows, WarningRow{Code: w.Code, Example: w.Message})
		}
	}
	perRun := map[string]*WarningRow{}
	var order []string
	for _, r := range s.Runs {
		if r.Result == nil {
			continue
		}
		seen := map[string]bool{}
		ws := r.Result.MeasurementWarnings
		if adj := r.Result.Energy.AdjustedJ; adj < 0 {
			ws = append(slices.Clone(ws), results.Warning{Code: results.WarnAdjustedNegative, Message: fmt.Sprintf(
				"run %d: baseline-adjusted energy %s J is below 0 (idle power above the run's average power); "+
					"adjusted energy per output token counts it as 0, the adjusted energy column keeps the raw value", r.Index, fmtNum(adj))})
		}
		for _, w := range ws {
			if seen[w.Code] {
				continue
			}
			seen[w.Code] = true
			row, ok := perRun[w.Code]
			if !ok {
				row = &WarningRow{Code: w.Code, Example: w.Message}
				perRun[w.Code] = row
				order = append(order, w.Code)
			}
			row.Runs++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return perRun[order[i]].Runs > perRun[order[j]].Runs })
	for _, c := range order {
		rows = append(rows, *perRun[c])
	}
	return rows
}

// skippedLabel names a skipped configuration by the swept keys and by
// every key where it differs from all configurations that ran.
func skippedLabel(f map[string]string, ran []map[string]string, swept []string) string {
	keys := slices.Clone(swept)
	for _, k := range slices.Sorted(maps.Keys(f)) {
		if slices.Contains(keys, k) {
			continue
		}
		if !slices.ContainsFunc(ran, func(r map[string]string) bool { return config.Level(r, k) == f[k] }) {
			keys = append(keys, k)
		}
	}
	return config.LabelFor(f, keys)
}

func countRun(c *RunCounts, st results.RunState) {
	c.Total++
	switch st {
	case results.StateCompleted:
		c.Completed++
	case results.StateFailed:
		c.Failed++
	case results.StatePending:
		c.Pending++
	case results.StateRunning:
		c.Running++
	case results.StateInterrupted:
		c.Interrupted++
	}
}

// rankedKeys orders swept keys by the rank of their factor's effect, keys
// without an effect last.
func rankedKeys(swept []string, effects []Effect) []string {
	var out []string
	for _, e := range effects {
		out = append(out, e.Parameters...)
	}
	for _, k := range swept {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func paramsOf(flat map[string]string, keys []string) []Param {
	out := make([]Param, len(keys))
	for i, k := range keys {
		out[i] = Param{Key: k, Value: config.Level(flat, k)}
	}
	return out
}

func noResultRow(g group, flat map[string]string, label string) NoResultRow {
	row := NoResultRow{Label: label, MeasurementConfigHash: g.hash, flat: flat}
	for _, r := range g.runs {
		switch r.State {
		case results.StateCompleted, results.StateFailed:
			row.Failed++ // a completed run without a readable result counts as failed
		default:
			row.Unfinished++
		}
	}
	return row
}

func runByIndex(runs []Run, index int) Run {
	for _, r := range runs {
		if r.Index == index {
			return r
		}
	}
	return Run{}
}

func failedRow(r Run, label string) FailedRow {
	reason := r.Error
	state := string(r.State)
	if r.State == results.StateCompleted {
		state = "unreadable"
		reason = "marked completed but its result could not be read (see problems)"
	}
	if reason == "" {
		reason = "no reason recorded"
	}
	return FailedRow{RunIndex: r.Index, Cycle: r.Cycle, Label: label, State: state, ErrorType: r.ErrorType, Reason: reason}
}

// group is the runs of one configuration.
type group struct {
	hash   string
	config *config.ExperimentConfig
	runs   []Run
}

// groupRuns groups runs by configuration, in order of first appearance.
func groupRuns(runs []Run) ([]group, error) {
	var groups []group
	at := make(map[string]int)
	for _, r := range runs {
		h := hashOf(r)
		if h == "" {
			return nil, fmt.Errorf("report: run %d has neither a measurement config hash nor a known configuration", r.Index)
		}
		i, ok := at[h]
		if !ok {
			i = len(groups)
			at[h] = i
			groups = append(groups, group{hash: h})
		}
		if groups[i].config == nil && r.Config != nil {
			groups[i].config = r.Config
		}
		groups[i].runs = append(groups[i].runs, r)
	}
	for i := range groups {
		if groups[i].config == nil {
			groups[i].config = &config.ExperimentConfig{}
		}
	}
	return groups, nil
}

// hashOf identifies a run's configuration: its measurement config hash,
// or, when none was recorded, a hash of its configuration.
func hashOf(r Run) string {
	if r.MeasurementConfigHash != "" {
		return r.MeasurementConfigHash
	}
	if r.Config == nil {
		return ""
	}
	b, err := json.Marshal(r.Config)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "cfg-" + hex.EncodeToString(sum[:8])
}

// summarizeGroup summarises a configuration's completed runs; ok is false
// when it has none.
func summarizeGroup(g group, flat map[string]string, swept []string) (ConfigRow, bool) {
	row := ConfigRow{MeasurementConfigHash: g.hash, Params: paramsOf(flat, swept), flat: flat, Cycles: []CyclePoint{}}
	var ept, adjEPT, total, adj, tps, ttft50, ttft99, itl50, itl99, e2e50, power, prefill, decode []float64
	var sources []string
	for _, r := range g.runs {
		res := r.Result
		if r.State != results.StateCompleted || res == nil {
			if r.State == results.StateFailed || r.State == results.StateInterrupted {
				row.Failed++
			}
			continue
		}
		row.Completed++
		e := res.Energy
		ept = append(ept, e.PerOutputTokenJ)
		total = append(total, e.TotalJ)
		adj = append(adj, e.AdjustedJ)
		tps = append(tps, res.Throughput.OutputTokensPerS)
		ttft50 = append(ttft50, res.Latency.TTFT.P50)
		ttft99 = append(ttft99, res.Latency.TTFT.P99)
		itl50 = append(itl50, res.Latency.ITL.P50)
		itl99 = append(itl99, res.Latency.ITL.P99)
		e2e50 = append(e2e50, res.Latency.E2E.P50)
		power = append(power, e.AvgPowerW)
		if ph := e.Phases; ph != nil {
			prefill = append(prefill, ph.PrefillPerInputTokenJ)
			decode = append(decode, ph.DecodePerOutputTokenJ)
		}
		adjTok := adjustedPerOutputToken(e.AdjustedJ, res.Throughput.OutputTokens)
		adjEPT = append(adjEPT, adjTok)
		row.Cycles = append(row.Cycles, CyclePoint{RunIndex: r.Index, Cycle: r.Cycle, EnergyPerOutputTokenJ: e.PerOutputTokenJ,
			AdjustedPerOutputTokenJ: adjTok, OutputTokensPerS: res.Throughput.OutputTokensPerS, E2EP50S: res.Latency.E2E.P50})
		if !slices.Contains(sources, e.Source) {
			sources = append(sources, e.Source)
		}
		row.Estimated = row.Estimated || e.Estimated || e.Source == results.SourceEstimated
	}
	if row.Completed == 0 {
		return row, false
	}
	row.EnergySource = strings.Join(sources, "+")
	row.EnergyPerOutputTokenJ = summarize(ept)
	row.EnergyTotalJ = summarize(total)
	row.EnergyAdjustedJ = summarize(adj)
	row.EnergyAdjustedPerOutputTokenJ = summarize(adjEPT)
	row.OutputTokensPerS = summarize(tps)
	row.TTFTP50S = summarize(ttft50)
	row.TTFTP99S = summarize(ttft99)
	row.ITLP50S = summarize(itl50)
	row.ITLP99S = summarize(itl99)
	row.E2EP50S = summarize(e2e50)
	row.AvgPowerW = summarize(power)
	row.PrefillPerInputTokenJ = summarize(prefill)
	row.DecodePerOutputTokenJ = summarize(decode)
	return row, true
}

// adjustedPerOutputToken is the baseline-adjusted energy per output
// token, a negative adjusted energy (idle power above the measured
// average: a drifting baseline) counted as 0; warningRows flags the run.
func adjustedPerOutputToken(adjustedJ float64, tokens int) float64 {
	if tokens <= 0 || !(adjustedJ > 0) {
		return 0
	}
	return adjustedJ / float64(tokens)
}

// uncertaintyOf is a configuration's GUM budget (see Uncertainty).
func uncertaintyOf(c *ConfigRow) Uncertainty {
	m := c.EnergyPerOutputTokenJ
	a := worstAccuracy(c.EnergySource, c.Estimated)
	u := Uncertainty{SourceBoundPct: a, SourceRelPct: a / math.Sqrt(3)}
	n := math.Max(1, float64(m.N))
	if q, e := resolutionOf(c.EnergySource, c.Estimated), c.EnergyTotalJ.Mean; q > 0 && e > 0 {
		u.ResolutionRelPct = q / math.Sqrt(6) / e / math.Sqrt(n) * 100
	}
	comps := []float64{u.SourceRelPct, u.ResolutionRelPct}
	dfs := []float64{math.Inf(1), math.Inf(1)}
	if m.N >= 2 && m.Mean != 0 {
		u.CycleRelPct = m.Std / math.Sqrt(n) / math.Abs(m.Mean) * 100
		u.CycleDF = m.N - 1
		comps = append(comps, u.CycleRelPct)
		dfs = append(dfs, float64(u.CycleDF))
	}
	for _, x := range comps {
		u.CombinedStdRelPct = math.Hypot(u.CombinedStdRelPct, x)
	}
	nu := stats.WelchSatterthwaite(comps, dfs)
	if !math.IsInf(nu, 1) {
		u.EffectiveDF = &nu
	}
	u.CoverageK = stats.TQuantile(0.975, nu)
	u.CombinedRelPct = u.CoverageK * u.CombinedStdRelPct
	u.CombinedJ = math.Abs(m.Mean) * u.CombinedRelPct / 100
	switch {
	case m.N < 2:
		u.Dominant = "source (one cycle)"
	case u.CycleRelPct >= u.SourceRelPct && u.CycleRelPct >= u.ResolutionRelPct:
		u.Dominant = "cycles"
	case u.ResolutionRelPct > u.SourceRelPct:
		u.Dominant = "resolution"
	default:
		u.Dominant = "source"
	}
	return u
}

// usedAccuracies returns the accuracy rows of the sources used: those of
// llem's table in its order, then any others by name.
func usedAccuracies(used []string) []SourceAccuracy {
	out := []SourceAccuracy{}
	for _, a := range sourceAccuracies() {
		if slices.Contains(used, a.Source) {
			out = append(out, a)
		}
	}
	slices.Sort(used)
	for _, src := range used {
		if !slices.ContainsFunc(out, func(a SourceAccuracy) bool { return a.Source == src }) {
			out = append(out, accuracyOf(src, false))
		}
	}
	return out
}

// worstAccuracy is the largest nominal error among a "+"-joined list of sources.
func worstAccuracy(sources string, estimated bool) float64 {
	worst := 0.0
	for _, s := range strings.Split(sources, "+") {
		worst = math.Max(worst, accuracyOf(s, estimated).RelPct)
	}
	return worst
}

// paretoFrontier marks and returns, by increasing latency, the
// configurations no other beats on both energy per output token and E2E p50.
func paretoFrontier(configs []ConfigRow) []string {
	var front []int
	for i, a := range configs {
		dominated := false
		for j, b := range configs {
			if i == j {
				continue
			}
			le := b.EnergyPerOutputTokenJ.Mean <= a.EnergyPerOutputTokenJ.Mean && b.E2EP50S.Mean <= a.E2EP50S.Mean
			lt := b.EnergyPerOutputTokenJ.Mean < a.EnergyPerOutputTokenJ.Mean || b.E2EP50S.Mean < a.E2EP50S.Mean
			if le && lt {
				dominated = true
				break
			}
		}
		if !dominated {
			front = append(front, i)
		}
	}
	slices.SortStableFunc(front, func(a, b int) int {
		return cmpFloat(configs[a].E2EP50S.Mean, configs[b].E2EP50S.Mean)
	})
	ids := []string{}
	for _, i := range front {
		configs[i].OnFrontier = true
		ids = append(ids, configs[i].ID)
	}
	return ids
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
