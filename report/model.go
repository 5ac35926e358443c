package report

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/llenergymeasure/llem/internal/stats"
)

// The blocked model: every cycle runs every configuration, so a cycle is a
// block (drift, temperature and execution order are shared within it). The
// analysis is a linear model of log(metric) with the cycle as a block
// factor, each swept factor as a categorical main effect and, where the
// data allow it, the interaction of the two top-ranked factors:
//
//	log y = μ + cycle + Σ factor + (A×B) + ε
//
// Effects are differences of estimated marginal means on the log scale,
// shown as ratios.

// factorDef is one factor of the model: its keys and sorted levels.
type factorDef struct {
	name   string
	keys   []string
	levels []string
}

// observation is one completed cycle of one configuration.
type observation struct {
	levels []int // level index per factor
	block  int   // cycle index into design.blocks
	y      float64
}

// design is the data of a blocked model and which terms it includes.
type design struct {
	factors []factorDef
	blocks  int
	obs     []observation
	// inter is the pair of factors whose interaction is in the model, or
	// nil.
	inter []int
}

// term names a model term for column selection: -1 is the block, 0..k-1
// the factors, interTerm the interaction.
const (
	blockTerm = -1
	interTerm = -2
)

// columns lays out the design's columns: intercept, block dummies,
// factor dummies, interaction products (treatment coding, first level the
// reference).
func (d *design) width(terms []int) int {
	w := 1
	for _, t := range terms {
		w += d.termWidth(t)
	}
	return w
}

func (d *design) termWidth(t int) int {
	switch t {
	case blockTerm:
		return d.blocks - 1
	case interTerm:
		return (len(d.factors[d.inter[0]].levels) - 1) * (len(d.factors[d.inter[1]].levels) - 1)
	}
	return len(d.factors[t].levels) - 1
}

// dummy gives a factor's dummy column values at a point: avg[f][j] is the
// (possibly averaged) value of factor f's dummy for level j+1; the block's
// is blockAvg.
func (d *design) row(terms []int, blockAvg []float64, avg [][]float64) []float64 {
	out := []float64{1}
	for _, t := range terms {
		switch t {
		case blockTerm:
			out = append(out, blockAvg...)
		case interTerm:
			a, b := avg[d.inter[0]], avg[d.inter[1]]
			for i := range a {
				for j := range b {
					out = append(out, a[i]*b[j])
				}
			}
		default:
			out = append(out, avg[t]...)
		}
	}
	return out
}

func indicator(n, at int) []float64 {
	v := make([]float64, n-1)
	if at > 0 {
		v[at-1] = 1
	}
	return v
}

func uniform(n int) []float64 {
	v := make([]float64, n-1)
	for i := range v {
		v[i] = 1 / float64(n)
	}
	return v
}

// allTerms is the full model's term list.
func (d *design) allTerms() []int {
	terms := []int{blockTerm}
	for f := range d.factors {
		terms = append(terms, f)
	}
	if d.inter != nil {
		terms = append(terms, interTerm)
	}
	return terms
}

func (d *design) fit(terms []int) (stats.OLS, error) {
	x := mat.NewDense(len(d.obs), d.width(terms), nil)
	y := make([]float64, len(d.obs))
	for i, o := range d.obs {
		avg := make([][]float64, len(d.factors))
		for f, l := range o.levels {
			avg[f] = indicator(len(d.factors[f].levels), l)
		}
		x.SetRow(i, d.row(terms, indicator(d.blocks, o.block), avg))
		y[i] = o.y
	}
	return stats.FitOLS(x, y)
}

// emmRow is the model row of factor f's level l averaged over the blocks
// and every other factor's levels (an estimated marginal mean's
// coefficients). fixed may fix a second factor g at level m (g < 0: none).
func (d *design) emmRow(terms []int, f, l, g, m int) []float64 {
	avg := make([][]float64, len(d.factors))
	for i, fd := range d.factors {
		switch i {
		case f:
			avg[i] = indicator(len(fd.levels), l)
		case g:
			avg[i] = indicator(len(fd.levels), m)
		default:
			avg[i] = uniform(len(fd.levels))
		}
	}
	return d.row(terms, uniform(d.blocks), avg)
}

func sub(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// modelEffect is what the model says about one factor.
type modelEffect struct {
	low, high int // levels with the lowest and highest marginal mean
	// logRange is log(high/low), with its simultaneous 95% interval.
	logRange, lo, hi float64
	// se is the standard error of the log contrast high − low.
	se           float64
	f, p, eta2   float64
	dfNum        int
	simultaneous bool
}

// factorEffects returns each factor's effect from a full-model fit: the
// estimated marginal means' range, its interval (for more than two levels,
// Bonferroni-simultaneous over every pair of levels, so it holds whichever
// pair the data pick as lowest and highest), and the Type II F test.
func (d *design) factorEffects(full stats.OLS) ([]modelEffect, error) {
	terms := d.allTerms()
	out := make([]modelEffect, len(d.factors))
	for f, fd := range d.factors {
		k := len(fd.levels)
		emm := make([]float64, k)
		rows := make([][]float64, k)
		for l := range k {
			rows[l] = d.emmRow(terms, f, l, -1, 0)
			emm[l], _ = full.Contrast(rows[l])
		}
		e := modelEffect{dfNum: k - 1, simultaneous: k > 2}
		for l := range k {
			if emm[l] < emm[e.low] {
				e.low = l
			}
			if emm[l] > emm[e.high] {
				e.high = l
			}
		}
		e.logRange = emm[e.high] - emm[e.low]
		_, e.se = full.Contrast(sub(rows[e.high], rows[e.low]))
		pairs := k * (k - 1) / 2
		tc := stats.TQuantile(1-0.025/float64(pairs), float64(full.DFResid))
		for a := range k {
			for b := a + 1; b < k; b++ {
				est, se := full.Contrast(sub(rows[b], rows[a]))
				lo, hi := absInterval(est-tc*se, est+tc*se)
				e.lo, e.hi = math.Max(e.lo, lo), math.Max(e.hi, hi)
			}
		}
		ss, err := d.typeIISS(f, full)
		if err != nil {
			return nil, err
		}
		e.f = ss / float64(e.dfNum) / full.Sigma2
		e.p = stats.FSurvival(e.f, e.dfNum, full.DFResid)
		e.eta2 = ss / (ss + full.SSR)
		out[f] = e
	}
	return out, nil
}

// absInterval is the interval of |d| given one of d.
func absInterval(lo, hi float64) (float64, float64) {
	switch {
	case lo > 0:
		return lo, hi
	case hi < 0:
		return -hi, -lo
	}
	return 0, math.Max(-lo, hi)
}

// typeIISS is a term's Type II sum of squares: the rise in residual sum of
// squares when the term is dropped from the model without the terms that
// contain it (statsmodels' anova_lm typ=2). term is a factor index or
// interTerm.
func (d *design) typeIISS(term int, full stats.OLS) (float64, error) {
	base := d.allTerms()
	if term != interTerm && d.inter != nil && slices.Contains(d.inter, term) {
		base = slices.DeleteFunc(base, func(t int) bool { return t == interTerm })
	}
	with, err := d.fit(base)
	if err != nil {
		return 0, err
	}
	without, err := d.fit(slices.DeleteFunc(slices.Clone(base), func(t int) bool { return t == term }))
	if err != nil {
		return 0, err
	}
	return without.SSR - with.SSR, nil
}

// interactionEffect is the model's A×B contrast: the log ratio (B high /
// B low at A high) / (B high / B low at A low), on cell marginal means.
func (d *design) interactionEffect(full stats.OLS, a, ah, al, b, bh, bl int) (est, se, p float64, err error) {
	terms := d.allTerms()
	c := sub(sub(d.emmRow(terms, a, ah, b, bh), d.emmRow(terms, a, ah, b, bl)),
		sub(d.emmRow(terms, a, al, b, bh), d.emmRow(terms, a, al, b, bl)))
	est, se = full.Contrast(c)
	ss, err := d.typeIISS(interTerm, full)
	if err != nil {
		return 0, 0, 0, err
	}
	df := d.termWidth(interTerm)
	p = stats.FSurvival(ss/float64(df)/full.Sigma2, df, full.DFResid)
	return est, se, p, nil
}

// blockedDesign builds the model's data from configurations: factors with
// at least two levels, each completed cycle an observation of log value;
// cycles that are not positive are left out (their count returned).
func blockedDesign(configs []ConfigRow, factors []factorDef, value func(CyclePoint) float64) (*design, int) {
	var cycles []int
	for _, c := range configs {
		for _, p := range c.Cycles {
			if !slices.Contains(cycles, p.Cycle) {
				cycles = append(cycles, p.Cycle)
			}
		}
	}
	slices.Sort(cycles)
	d := &design{factors: factors, blocks: len(cycles)}
	dropped := 0
	for _, c := range configs {
		lv := make([]int, len(factors))
		for f, fd := range factors {
			lv[f] = slices.Index(fd.levels, factorValue(c, fd.keys))
		}
		for _, p := range c.Cycles {
			v := value(p)
			if !(v > 0) || math.IsInf(v, 0) {
				dropped++
				continue
			}
			d.obs = append(d.obs, observation{levels: lv, block: slices.Index(cycles, p.Cycle), y: math.Log(v)})
		}
	}
	return d, dropped
}

// resampleBlocks returns the design with its blocks drawn with
// replacement: each drawn cycle's observations, relabelled as a new block,
// so a cycle drawn twice counts as two blocks.
func (d *design) resampleBlocks(rng *rand.Rand) *design {
	out := &design{factors: d.factors, blocks: d.blocks, inter: d.inter}
	byBlock := make([][]observation, d.blocks)
	for _, o := range d.obs {
		byBlock[o.block] = append(byBlock[o.block], o)
	}
	for j := range d.blocks {
		for _, o := range byBlock[rng.IntN(d.blocks)] {
			o.block = j
			out.obs = append(out.obs, o)
		}
	}
	return out
}

// emmRanges returns each factor's range of estimated marginal means from a
// fit (levels re-selected from this fit's means).
func (d *design) emmRanges(fit stats.OLS) []float64 {
	terms := d.allTerms()
	out := make([]float64, len(d.factors))
	for f, fd := range d.factors {
		lo, hi := math.Inf(1), math.Inf(-1)
		for l := range fd.levels {
			m, _ := fit.Contrast(d.emmRow(terms, f, l, -1, 0))
			lo, hi = math.Min(lo, m), math.Max(hi, m)
		}
		out[f] = hi - lo
	}
	return out
}

// rankDraws is the number of cycle-bootstrap draws for rank probabilities.
const rankDraws = 1000

// topProbability is, per factor, the share of cycle-bootstrap draws in
// which it has the largest range of marginal means (levels re-selected in
// every draw), and the number of draws the model could be fitted in.
func (d *design) topProbability(seed uint64) ([]float64, int) {
	rng := rand.New(rand.NewPCG(seed, 0x6c6c656d))
	wins := make([]float64, len(d.factors))
	used := 0
	for range rankDraws {
		bd := d.resampleBlocks(rng)
		// Point estimates only: the fit needs no residual, but the
		// covariance does, so a draw without residual df still counts.
		fit, err := bd.fitPoint()
		if err != nil {
			continue
		}
		r := bd.emmRanges(fit)
		best := 0
		for f := range r {
			if r[f] > r[best] {
				best = f
			}
		}
		wins[best]++
		used++
	}
	for f := range wins {
		if used > 0 {
			wins[f] /= float64(used)
		}
	}
	return wins, used
}

// fitPoint fits the full model for its coefficients only.
func (d *design) fitPoint() (stats.OLS, error) {
	fit, err := d.fit(d.allTerms())
	if err != nil {
		return fit, err
	}
	if fit.Cov == nil {
		return fit, stats.ErrRankDeficient
	}
	return fit, nil
}
