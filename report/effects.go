package report

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/stats"
)

// Effect is one factor's main effect on energy per output token. A factor
// is a swept parameter, or several that always change together (a grouped
// sweep, an explicit list pairing them): their effects cannot be told
// apart, so they are ranked once, named "a+b", with levels "x+y".
type Effect struct {
	// Rank is the factor's place by effect size, 1 for the largest.
	Rank int `json:"rank"`
	// Tied is true when the factor's interval overlaps that of a factor
	// ranked next to it: the order between them is not resolved, and they
	// share SharedRank.
	Tied bool `json:"tied"`
	// SharedRank is Rank, or the rank of the highest factor it is tied with.
	SharedRank int `json:"shared_rank"`
	// Parameter names the factor: its configuration keys joined with "+".
	Parameter string `json:"parameter"`
	// Parameters are the configuration keys of the factor, sorted: one for
	// a parameter swept on its own.
	Parameters []string `json:"parameters"`
	// Levels are the factor's values, each with its arithmetic marginal mean.
	Levels []Level `json:"levels"`
	// Low and High are the levels with the lowest and highest estimated
	// marginal mean in the blocked model (the arithmetic marginal means
	// without one).
	Low string `json:"low_level"`
	// High is the level with the highest estimated marginal mean (see Low).
	High string `json:"high_level"`
	// LowMeanJ is Low's arithmetic marginal mean of the ranking measure, in J per output token.
	LowMeanJ float64 `json:"low_mean_j"`
	// HighMeanJ is High's arithmetic marginal mean of the ranking measure, in J per output token.
	HighMeanJ float64 `json:"high_mean_j"`
	// EffectJ is High's arithmetic marginal mean minus Low's, in J per
	// output token; RelativePct is it relative to Low's.
	EffectJ float64 `json:"effect_j"`
	// RelativePct is EffectJ as a percentage of LowMeanJ.
	RelativePct float64 `json:"relative_pct"`
	// MinCycles is the fewest completed cycles of any configuration at the
	// two compared levels; below 2 there is no interval.
	MinCycles int `json:"min_cycles"`
	// Model is the blocked model's estimate, nil when it cannot be fitted
	// (no residual degrees of freedom).
	Model *ModelEffect `json:"blocked_model,omitempty"`
	// PTop is the share of cycle-bootstrap draws in which this factor has
	// the largest effect (RankDraws draws; 0 when none were made).
	PTop float64 `json:"p_most_important"`
	// RankDraws is the number of cycle-bootstrap draws PTop is from; 0 when none were made.
	RankDraws int `json:"rank_draws"`
	// Resolved is true when the Holm-adjusted p-value of the factor's F
	// test is below 0.05 and MinCycles is at least minResolveCycles.
	Resolved bool `json:"resolved"`
	// Cycles is how many cycles would resolve the effect, when it is not
	// resolved or a size to detect was asked for.
	Cycles *CyclesNeeded `json:"cycles_needed,omitempty"`
	// Throughput and Latency are the same factor's effect on output
	// tokens/s and E2E p50, between the same two levels.
	Throughput *MetricEffect `json:"throughput,omitempty"`
	// Latency is the factor's effect on E2E p50 between the same two levels; omitted without a blocked model.
	Latency *MetricEffect `json:"e2e_p50,omitempty"`
}

// ModelEffect is a factor's effect in the blocked model of log energy per
// output token.
type ModelEffect struct {
	// Ratio is High's estimated marginal mean over Low's (geometric), with
	// its 95% interval; for more than two levels the interval holds
	// simultaneously for every pair of levels (Simultaneous), so it stays
	// valid for the pair the data selected.
	Ratio float64 `json:"ratio"`
	// CILow is the lower end of Ratio's 95% interval.
	CILow float64 `json:"ratio_ci95_low"`
	// CIHigh is the upper end of Ratio's 95% interval.
	CIHigh float64 `json:"ratio_ci95_high"`
	// Simultaneous is true when the interval holds for every pair of levels at once (more than two levels).
	Simultaneous bool `json:"simultaneous"`
	// F is the Type II F statistic on DFNum and DFResid degrees of
	// freedom, P its p-value and PHolm that adjusted across the factors.
	F float64 `json:"f"`
	// DFNum is the F test's numerator degrees of freedom.
	DFNum int `json:"df_num"`
	// DFResid is the F test's residual degrees of freedom.
	DFResid int `json:"df_resid"`
	// P is the F test's p-value.
	P float64 `json:"p"`
	// PHolm is P Holm-adjusted across the factors.
	PHolm float64 `json:"p_holm"`
	// PartialEta2 is the share of variance (of log energy per token) the
	// factor explains: SS_factor / (SS_factor + SS_residual).
	PartialEta2 float64 `json:"partial_eta2"`
	// logSE is the standard error of log(Ratio), for the power calculation.
	logSE float64
}

// MetricEffect is a factor's effect on another metric in the same blocked
// model: the ratio of the metric at the energy ranking's High level to
// its Low level, with its t-interval, and the Holm-adjusted p-value of the
// factor's F test on that metric.
type MetricEffect struct {
	// Ratio is the metric's estimated marginal mean at High over that at Low.
	Ratio float64 `json:"ratio"`
	// CILow and CIHigh are nil when the energy effect has no interval
	// either (a configuration with one cycle).
	CILow *float64 `json:"ratio_ci95_low"`
	// CIHigh is the upper end of Ratio's 95% interval; null with no interval.
	CIHigh *float64 `json:"ratio_ci95_high"`
	// PHolm is the Holm-adjusted p-value of the factor's F test on this metric.
	PHolm float64 `json:"p_holm"`
}

// CyclesNeeded is the number of cycles at which the F test would resolve
// an effect at 80% power, for the size observed and for the size asked
// for with --detect (0: not asked). A count above maxCycles is -1.
type CyclesNeeded struct {
	// Observed is the cycles needed to resolve the effect size observed; 0 when already resolved, -1 beyond the maximum.
	Observed int `json:"observed_effect"`
	// DetectPct is the effect size asked for with --detect, in percent; omitted when not asked.
	DetectPct float64 `json:"detect_pct,omitempty"`
	// Detect is the cycles needed to detect an effect of DetectPct; -1 beyond the maximum.
	Detect int `json:"detect_effect,omitempty"`
}

// minResolveCycles is the fewest completed cycles every configuration at
// the two compared levels needs before an effect is called resolved.
const minResolveCycles = 3

// HasInterval is true when the blocked model gives an interval and every
// configuration at the compared levels has at least two cycles.
func (e Effect) HasInterval() bool { return e.Model != nil && e.MinCycles >= 2 }

// MarshalJSON writes the model's interval as null when the effect has
// none (a configuration at the compared levels has one cycle).
func (e Effect) MarshalJSON() ([]byte, error) {
	type plain Effect
	out := struct {
		plain
		Model any `json:"blocked_model,omitempty"`
	}{plain: plain(e)}
	if e.Model != nil {
		type plainModel ModelEffect
		m := struct {
			plainModel
			CILow  *float64 `json:"ratio_ci95_low"`
			CIHigh *float64 `json:"ratio_ci95_high"`
		}{plainModel: plainModel(*e.Model)}
		if e.HasInterval() {
			m.CILow, m.CIHigh = &e.Model.CILow, &e.Model.CIHigh
		}
		out.Model = m
	}
	return json.Marshal(out)
}

// Level is one value of a swept parameter and its marginal mean.
type Level struct {
	// Value is the level's value, as text.
	Value string `json:"value"`
	// MeanJ is the level's arithmetic marginal mean of the ranking measure, in J per output token.
	MeanJ float64 `json:"mean_j"`
	// Configs is the number of configurations with results at this level.
	Configs int `json:"configs"`
	// Runs is the number of completed runs at this level.
	Runs int `json:"runs"`
}

// Interaction is the two-way table of the two top-ranked parameters.
type Interaction struct {
	// A is the top-ranked parameter (the table's rows).
	A string `json:"a"`
	// B is the second parameter (the table's columns).
	B string `json:"b"`
	// ALevels are A's levels.
	ALevels []string `json:"a_levels"`
	// BLevels are B's levels.
	BLevels []string `json:"b_levels"`
	// Means[i][j] is the cell mean at ALevels[i], BLevels[j].
	Means [][]float64 `json:"means_j"`
	// ContrastJ is (B high − B low) at A high minus the same at A low, on
	// the arithmetic cell means.
	ContrastJ float64 `json:"contrast_j"`
	// Model is the interaction in the blocked model: the ratio of ratios
	// (B high/B low at A high) / (B high/B low at A low), nil when the
	// model could not include the interaction.
	Model *InteractionModel `json:"blocked_model,omitempty"`
	// MinCycles is the fewest completed cycles of any configuration in the
	// table.
	MinCycles int `json:"min_cycles"`
}

// InteractionModel is the interaction term of the blocked model.
type InteractionModel struct {
	// Ratio is the ratio of ratios (B high/B low at A high) / (B high/B low at A low).
	Ratio float64 `json:"ratio_of_ratios"`
	// CILow is the lower end of Ratio's 95% interval.
	CILow float64 `json:"ci95_low"`
	// CIHigh is the upper end of Ratio's 95% interval.
	CIHigh float64 `json:"ci95_high"`
	// P is the p-value of the interaction term.
	P float64 `json:"p"`
	// DFResid is the model's residual degrees of freedom.
	DFResid int `json:"df_resid"`
}

// HasInterval is true when the model includes the interaction and every
// configuration in the table has at least two cycles.
func (in Interaction) HasInterval() bool { return in.Model != nil && in.MinCycles >= 2 }

// MarshalJSON writes the model's interval as null when the contrast has
// none.
func (in Interaction) MarshalJSON() ([]byte, error) {
	type plain Interaction
	out := struct {
		plain
		Model any `json:"blocked_model,omitempty"`
	}{plain: plain(in)}
	if in.Model != nil {
		type plainModel InteractionModel
		m := struct {
			plainModel
			CILow  *float64 `json:"ci95_low"`
			CIHigh *float64 `json:"ci95_high"`
		}{plainModel: plainModel(*in.Model)}
		if in.HasInterval() {
			m.CILow, m.CIHigh = &in.Model.CILow, &in.Model.CIHigh
		}
		out.Model = m
	}
	return json.Marshal(out)
}

// CIText is the model's ratio of ratios with its interval, or why there
// is none.
func (in Interaction) CIText() string {
	switch {
	case in.Model == nil:
		return " (not in the blocked model: no residual degrees of freedom for it)"
	case in.MinCycles < 2:
		return " (no interval: a configuration has one cycle)"
	}
	return fmt.Sprintf("; blocked model: ratio of ratios %s, 95%% CI [%s, %s], p %s",
		fmtRatio(in.Model.Ratio), fmtRatio(in.Model.CILow), fmtRatio(in.Model.CIHigh), pEq(in.Model.P))
}

// factorSep joins the keys of a factor into its name and their values into
// its levels.
const factorSep = "+"

// factorsOf groups the swept keys into factors: keys whose levels split
// the configurations with results into the same groups (they always change
// together, so their effects are one and the same) form one factor. Keys
// that vary only among configurations without results stay on their own.
func factorsOf(configs []ConfigRow, swept []string) [][]string {
	var out [][]string
	at := make(map[string]int) // partition signature -> factor
	for _, key := range swept {
		if len(levelsOf(configs, []string{key})) < 2 {
			out = append(out, []string{key})
			continue
		}
		// Number each configuration by the first configuration sharing its
		// level: two keys with the same numbering co-vary perfectly.
		first := make(map[string]int)
		sig := make([]string, len(configs))
		for i, c := range configs {
			v := paramValue(c, key)
			if _, ok := first[v]; !ok {
				first[v] = i
			}
			sig[i] = strconv.Itoa(first[v])
		}
		k := strings.Join(sig, ",")
		if i, ok := at[k]; ok {
			out[i] = append(out[i], key)
			continue
		}
		at[k] = len(out)
		out = append(out, []string{key})
	}
	return out
}

// factorValue is a configuration's level of a factor: its values of the
// factor's keys, joined.
func factorValue(c ConfigRow, keys []string) string {
	vs := make([]string, len(keys))
	for i, k := range keys {
		vs[i] = paramValue(c, k)
	}
	return strings.Join(vs, factorSep)
}

// analysis is the blocked model of a study's ranking measure, kept to
// fit the same model to other metrics.
type analysis struct {
	factors []factorDef
	d       *design
	full    stats.OLS
	ok      bool // the model was fitted with residual degrees of freedom
	// dropped counts cycles left out of the model: their value was not
	// positive, which a log model cannot take.
	dropped int
}

// mainEffects ranks the factors of the swept parameters by their effect
// on the ranking measure in the blocked model, largest first. Without a
// model (no residual degrees of freedom) they are ranked by the difference
// of arithmetic marginal means, with no interval.
func mainEffects(configs []ConfigRow, swept []string, m Measure, detectPct float64) ([]Effect, analysis) {
	effects := []Effect{}
	var an analysis
	for _, keys := range factorsOf(configs, swept) {
		levels := levelsOf(configs, keys)
		if len(levels) < 2 {
			continue // varies only among configurations without results
		}
		key := strings.Join(keys, factorSep)
		e := Effect{Parameter: key, Parameters: keys}
		means := cellMeans(configs, keys, levels, configMeans(configs, m))
		for i, l := range levels {
			e.Levels = append(e.Levels, Level{Value: l, MeanJ: means[i]})
		}
		for _, c := range configs {
			i := slices.Index(levels, factorValue(c, keys))
			e.Levels[i].Configs++
			e.Levels[i].Runs += c.Completed
		}
		an.factors = append(an.factors, factorDef{name: key, keys: keys, levels: levels})
		effects = append(effects, e)
	}
	if len(effects) == 0 {
		return effects, an
	}
	an.fit(configs, m.value)
	var me []modelEffect
	if an.ok {
		var err error
		if me, err = an.d.factorEffects(an.full); err != nil {
			an.ok = false
		}
	}
	var ptop []float64
	draws := 0
	if an.ok && len(effects) > 1 {
		ptop, draws = an.d.topProbability(seedFor(strings.Join(swept, ",")))
	}
	var ps []float64
	for f := range effects {
		e := &effects[f]
		levels := an.factors[f].levels
		lo, hi := 0, 0
		for i, l := range e.Levels {
			if l.MeanJ < e.Levels[lo].MeanJ {
				lo = i
			}
			if l.MeanJ > e.Levels[hi].MeanJ {
				hi = i
			}
		}
		if an.ok {
			x := me[f]
			lo, hi = x.low, x.high
			e.Model = &ModelEffect{
				Ratio: math.Exp(x.logRange), CILow: math.Exp(x.lo), CIHigh: math.Exp(x.hi), Simultaneous: x.simultaneous,
				F: x.f, DFNum: x.dfNum, DFResid: an.full.DFResid, P: x.p, PartialEta2: x.eta2, logSE: x.se,
			}
			ps = append(ps, x.p)
			e.RankDraws = draws
			if draws > 0 {
				e.PTop = ptop[f]
			}
		}
		e.Low, e.High = levels[lo], levels[hi]
		e.LowMeanJ, e.HighMeanJ = e.Levels[lo].MeanJ, e.Levels[hi].MeanJ
		e.EffectJ = e.HighMeanJ - e.LowMeanJ
		if e.LowMeanJ != 0 {
			e.RelativePct = e.EffectJ / math.Abs(e.LowMeanJ) * 100
		}
		e.MinCycles = math.MaxInt
		for _, c := range configs {
			if v := factorValue(c, e.Parameters); v == e.Low || v == e.High {
				e.MinCycles = min(e.MinCycles, len(c.Cycles))
			}
		}
	}
	if an.ok {
		holm := stats.Holm(ps)
		for f := range effects {
			e := &effects[f]
			e.Model.PHolm = holm[f]
			e.Resolved = e.MinCycles >= minResolveCycles && e.Model.PHolm < 0.05
			e.Cycles = an.cyclesNeeded(*e, len(effects), detectPct)
		}
	}
	order := make([]int, len(effects))
	for i := range order {
		order[i] = i
	}
	size := func(e Effect) float64 {
		if e.Model != nil {
			return math.Log(e.Model.Ratio)
		}
		return e.EffectJ
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmpFloat(size(effects[b]), size(effects[a])); c != 0 {
			return c
		}
		return strings.Compare(effects[a].Parameter, effects[b].Parameter)
	})
	sorted := make([]Effect, len(effects))
	for i, j := range order {
		sorted[i] = effects[j]
		sorted[i].Rank = i + 1
		sorted[i].SharedRank = i + 1
	}
	// A factor whose interval reaches the lower end of the one ranked
	// above it is tied with it; ties chain.
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if a.HasInterval() && b.HasInterval() && b.Model.CIHigh >= a.Model.CILow {
			sorted[i-1].Tied, sorted[i].Tied = true, true
			sorted[i].SharedRank = sorted[i-1].SharedRank
		}
	}
	return sorted, an
}

// factorIndex is the model's index of the named factor.
func (an analysis) factorIndex(name string) int {
	return slices.IndexFunc(an.factors, func(f factorDef) bool { return f.name == name })
}

// interPair is the names of the factors whose interaction the model
// includes, or nil.
func (an analysis) interPair() []string {
	if !an.ok || an.d.inter == nil {
		return nil
	}
	return []string{an.factors[an.d.inter[0]].name, an.factors[an.d.inter[1]].name}
}

// fit fits the blocked model of log value: main effects first, then, with
// at least two factors, again with the interaction of the two with the
// largest effects when the data leave residual degrees of freedom for it.
func (an *analysis) fit(configs []ConfigRow, value func(CyclePoint) float64) {
	an.d, an.dropped = blockedDesign(configs, an.factors, value)
	full, err := an.d.fit(an.d.allTerms())
	if err != nil || !usable(full) {
		return
	}
	an.full, an.ok = full, true
	if len(an.factors) < 2 {
		return
	}
	r := an.d.emmRanges(full)
	idx := make([]int, len(r))
	for f := range idx {
		idx[f] = f
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(r[b], r[a]) })
	an.d.inter = []int{min(idx[0], idx[1]), max(idx[0], idx[1])}
	if withInter, err := an.d.fit(an.d.allTerms()); err == nil && usable(withInter) {
		an.full = withInter
		return
	}
	an.d.inter = nil
}

// usable is true when a fit leaves a residual to estimate the noise from:
// residual degrees of freedom, and a residual spread above rounding (a
// perfect fit, as from a deterministic fake, has no noise to test against;
// the model is on the log scale, so 1e-9 is a relative spread of 1e-9).
func usable(f stats.OLS) bool {
	return f.DFResid >= 1 && math.Sqrt(f.Sigma2) > 1e-9 && !math.IsInf(f.Sigma2, 0)
}

// otherMetric fits the same model (same factors and interaction) to
// another metric and returns each factor's effect between the energy
// ranking's Low and High levels; nil entries where it cannot be fitted.
func (an analysis) otherMetric(configs []ConfigRow, effects []Effect, value func(CyclePoint) float64) []*MetricEffect {
	out := make([]*MetricEffect, len(effects))
	if !an.ok {
		return out
	}
	d, _ := blockedDesign(configs, an.factors, value)
	d.inter = an.d.inter
	full, err := d.fit(d.allTerms())
	if err != nil || !usable(full) {
		return out
	}
	me, err := d.factorEffects(full)
	if err != nil {
		return out
	}
	ps := make([]float64, len(me))
	for f := range me {
		ps[f] = me[f].p
	}
	holm := stats.Holm(ps)
	terms := d.allTerms()
	tc := stats.TQuantile(0.975, float64(full.DFResid))
	for i, e := range effects {
		f := an.factorIndex(e.Parameter)
		lv := an.factors[f].levels
		c := sub(d.emmRow(terms, f, slices.Index(lv, e.High), -1, 0), d.emmRow(terms, f, slices.Index(lv, e.Low), -1, 0))
		est, se := full.Contrast(c)
		out[i] = &MetricEffect{Ratio: math.Exp(est), PHolm: holm[f]}
		if e.HasInterval() {
			lo, hi := math.Exp(est-tc*se), math.Exp(est+tc*se)
			out[i].CILow, out[i].CIHigh = &lo, &hi
		}
	}
	return out
}

// Power analysis: the power target and the largest cycle count searched.
const (
	targetPower = 0.8
	maxCycles   = 1000
)

// cyclesNeeded is, for an effect not resolved (or when a size to detect
// was asked for), the number of cycles at which a two-sided t test of the
// selected contrast, at the Bonferroni level 0.05/family (Holm's first
// step, the strictest), reaches 80% power, from the observed residual
// variance: the contrast's variance shrinks as 1/cycles and each cycle
// adds configurations − 1 residual degrees of freedom.
func (an analysis) cyclesNeeded(e Effect, family int, detectPct float64) *CyclesNeeded {
	if e.Resolved && detectPct == 0 {
		return nil
	}
	configs := map[string]bool{}
	for _, o := range an.d.obs {
		configs[fmt.Sprint(o.levels)] = true
	}
	need := func(logEffect float64) int {
		return cyclesFor(logEffect, e.Model.logSE, an.d.blocks, len(configs), an.full.DFResid, family)
	}
	out := &CyclesNeeded{}
	if !e.Resolved {
		out.Observed = need(math.Log(e.Model.Ratio))
	}
	if detectPct > 0 {
		out.DetectPct = detectPct
		out.Detect = need(math.Log1p(detectPct / 100))
	}
	return out
}

// cyclesFor is the smallest cycle count at which a contrast of size
// logEffect with standard error se at cycles cycles is detected with
// targetPower at level 0.05/family; -1 above maxCycles.
func cyclesFor(logEffect, se float64, cycles, configs, dfResid, family int) int {
	if logEffect <= 0 || se <= 0 || math.IsNaN(se) {
		return -1
	}
	alpha := 0.05 / float64(family)
	// Never fewer than the report needs to call anything resolved.
	for m := minResolveCycles; m <= maxCycles; m++ {
		df := dfResid + (m-cycles)*(configs-1)
		if df < 1 {
			continue
		}
		delta := logEffect / (se * math.Sqrt(float64(cycles)/float64(m)))
		tc := stats.TQuantile(1-alpha/2, float64(df))
		if 1-stats.TCDF(tc-delta, float64(df)) >= targetPower {
			return m
		}
	}
	return -1
}

// Verdict completes the headline sentence about the effect: resolved from
// the cycle-to-cycle noise, not resolved, or too few cycles to say.
func (e Effect) Verdict() string {
	switch {
	case e.Model == nil:
		return "not called resolved: the blocked model has no residual degrees of freedom (too few cycles)"
	case e.MinCycles < minResolveCycles:
		return fmt.Sprintf("not called resolved: a configuration at the compared levels has %d completed cycle%s, "+
			"and the report calls an effect resolved only with at least %d completed cycles per level",
			e.MinCycles, plural(e.MinCycles), minResolveCycles)
	case e.Resolved:
		return fmt.Sprintf("beyond the cycle-to-cycle noise (Holm-adjusted p %s)", pEq(e.Model.PHolm))
	}
	return fmt.Sprintf("not resolved from the cycle-to-cycle noise (Holm-adjusted p %s)", pEq(e.Model.PHolm))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// interaction returns the two-way table of a and b (the model's
// interaction pair), or nil when some pair of their levels has no
// configuration.
func interaction(configs []ConfigRow, a, b Effect, m Measure, an analysis) *Interaction {
	in := &Interaction{A: a.Parameter, B: b.Parameter}
	for _, l := range a.Levels {
		in.ALevels = append(in.ALevels, l.Value)
	}
	for _, l := range b.Levels {
		in.BLevels = append(in.BLevels, l.Value)
	}
	cm := configMeans(configs, m)
	in.Means = make([][]float64, len(in.ALevels))
	for i, al := range in.ALevels {
		in.Means[i] = make([]float64, len(in.BLevels))
		for j, bl := range in.BLevels {
			var xs []float64
			for k, c := range configs {
				if factorValue(c, a.Parameters) == al && factorValue(c, b.Parameters) == bl {
					xs = append(xs, cm[k])
				}
			}
			in.Means[i][j] = stats.Mean(xs) // NaN for an empty cell
			if math.IsNaN(in.Means[i][j]) {
				return nil
			}
		}
	}
	ah, al := slices.Index(in.ALevels, a.High), slices.Index(in.ALevels, a.Low)
	bh, bl := slices.Index(in.BLevels, b.High), slices.Index(in.BLevels, b.Low)
	in.ContrastJ = (in.Means[ah][bh] - in.Means[ah][bl]) - (in.Means[al][bh] - in.Means[al][bl])
	in.MinCycles = math.MaxInt
	for _, c := range configs {
		in.MinCycles = min(in.MinCycles, len(c.Cycles))
	}
	if an.ok && an.d.inter != nil {
		fa, fb := an.factorIndex(a.Parameter), an.factorIndex(b.Parameter)
		est, se, p, err := an.d.interactionEffect(an.full, fa, ah, al, fb, bh, bl)
		if err == nil {
			tc := stats.TQuantile(0.975, float64(an.full.DFResid))
			in.Model = &InteractionModel{Ratio: math.Exp(est), CILow: math.Exp(est - tc*se), CIHigh: math.Exp(est + tc*se),
				P: p, DFResid: an.full.DFResid}
		}
	}
	return in
}

func paramValue(c ConfigRow, key string) string {
	for _, p := range c.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return config.Unset
}

// levelsOf returns the sorted levels of a factor among configurations with
// results. A factor of several keys is sorted by its first key's levels:
// its keys change together, so the first decides the order.
func levelsOf(configs []ConfigRow, keys []string) []string {
	var levels, firsts []string
	for _, c := range configs {
		if v := factorValue(c, keys); !slices.Contains(levels, v) {
			levels = append(levels, v)
			firsts = append(firsts, paramValue(c, keys[0]))
		}
	}
	if len(keys) == 1 {
		sortLevels(levels)
		return levels
	}
	order := slices.Clone(firsts)
	sortLevels(order)
	idx := make([]int, len(levels))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return slices.Index(order, firsts[a]) - slices.Index(order, firsts[b])
	})
	sorted := make([]string, len(levels))
	for i, j := range idx {
		sorted[i] = levels[j]
	}
	return sorted
}

// configMeans is each configuration's mean of the measure over its cycles.
func configMeans(configs []ConfigRow, m Measure) []float64 {
	out := make([]float64, len(configs))
	for i, c := range configs {
		var xs []float64
		for _, p := range c.Cycles {
			xs = append(xs, m.value(p))
		}
		out[i] = stats.Mean(xs)
	}
	return out
}

// cellMeans returns, for each level of a factor, the mean of the
// configuration means cm at that level.
func cellMeans(configs []ConfigRow, keys []string, levels []string, cm []float64) []float64 {
	out := make([]float64, len(levels))
	for i, l := range levels {
		var xs []float64
		for k, c := range configs {
			if factorValue(c, keys) == l {
				xs = append(xs, cm[k])
			}
		}
		out[i] = stats.Mean(xs)
	}
	return out
}

// seedFor derives a fixed bootstrap seed from a name, so a report is
// reproducible and each parameter draws its own stream.
func seedFor(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
