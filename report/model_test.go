package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// statsmodelsPython is a Python with statsmodels: Debian's python3
// (apt-get install python3-statsmodels) first, then python3 on PATH.
func statsmodelsPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import statsmodels, pandas, patsy").Run(); err == nil {
			return py
		}
	}
	t.Skip("statsmodels not installed (Debian: apt-get install -y python3-statsmodels): the blocked model is not cross-checked")
	return ""
}

// smResult is what testdata/statsmodels/blocked_model.py writes.
type smResult struct {
	SSR     float64 `json:"ssr"`
	DFResid int     `json:"df_resid"`
	Anova   map[string]struct {
		F, P, DF float64
	} `json:"anova"`
	Pairs []struct {
		Factor int     `json:"factor"`
		A      string  `json:"a"`
		B      string  `json:"b"`
		Est    float64 `json:"est"`
		SE     float64 `json:"se"`
	} `json:"pairs"`
	Interaction  *struct{ Est, SE float64 } `json:"interaction"`
	TBonferroni3 float64                    `json:"t_bonferroni3"`
}

// TestBlockedModelMatchesStatsmodels fits the blocked model of an
// unbalanced study (batch size at three levels × output length at two,
// four cycles, one run failed) in Go and with statsmodels' OLS, and
// compares the residual sum of squares and degrees of freedom, the t
// quantile of the simultaneous intervals, the Type II F tests of every term (anova_lm typ=2), every pairwise difference of
// estimated marginal means with its standard error, and the interaction
// contrast.
func TestBlockedModelMatchesStatsmodels(t *testing.T) {
	py := statsmodelsPython(t)
	noisy := batchDominant
	noisy.Noise = 0.05
	rep := buildFixture(t, fixtureSpec{Name: "statsmodels", BatchSizes: []int{1, 2, 4}, OutputLens: []int{16, 64}, Cycles: 4,
		Source: "rapl", Model: noisy, Failed: map[int]string{7: "out of memory"}})
	_, an := mainEffects(rep.Configs, rep.Swept, MeasureTotal, 0)
	if !an.ok || an.d.inter == nil {
		t.Fatalf("the blocked model with an interaction was not fitted (ok %v)", an.ok)
	}
	d := an.d
	if len(d.obs) != 6*4-1 {
		t.Fatalf("%d observations, want 23 (one run failed)", len(d.obs))
	}

	type obsJSON struct {
		Cycle  string   `json:"cycle"`
		Levels []string `json:"levels"`
		Y      float64  `json:"y"`
	}
	in := struct {
		Factors []map[string]any `json:"factors"`
		Inter   []int            `json:"inter"`
		Obs     []obsJSON        `json:"obs"`
	}{Inter: d.inter}
	for _, f := range d.factors {
		in.Factors = append(in.Factors, map[string]any{"name": f.name, "levels": f.levels})
	}
	for _, o := range d.obs {
		var lv []string
		for f, l := range o.levels {
			lv = append(lv, d.factors[f].levels[l])
		}
		in.Obs = append(in.Obs, obsJSON{Cycle: fmt.Sprintf("c%d", o.block), Levels: lv, Y: o.y})
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join("testdata", "statsmodels", "blocked_model.py"))
	cmd.Stdin = bytes.NewReader(b)
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("statsmodels script: %v", err)
	}
	var sm smResult
	if err := json.Unmarshal(outb, &sm); err != nil {
		t.Fatalf("statsmodels output %q: %v", outb, err)
	}

	close := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: Go %.12g, statsmodels %.12g", what, got, want)
		}
	}
	// p-values: relative, they can be tiny.
	closeP := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*want+1e-300 {
			t.Errorf("%s: Go %.12g, statsmodels %.12g", what, got, want)
		}
	}
	full := an.full
	if full.DFResid != sm.DFResid {
		t.Errorf("residual df: Go %d, statsmodels %d", full.DFResid, sm.DFResid)
	}
	close("residual sum of squares", full.SSR, sm.SSR, 1e-9)
	close("Bonferroni t quantile (3 pairs)", stats.TQuantile(1-0.025/3, float64(full.DFResid)), sm.TBonferroni3, 1e-9)

	me, err := d.factorEffects(full)
	if err != nil {
		t.Fatal(err)
	}
	for f := range d.factors {
		row, ok := sm.Anova[strconv.Itoa(f)]
		if !ok {
			t.Fatalf("statsmodels ANOVA has no row for factor %d: %v", f, sm.Anova)
		}
		close(d.factors[f].name+" F", me[f].f, row.F, 1e-7)
		closeP(d.factors[f].name+" p", me[f].p, row.P)
		if int(row.DF) != me[f].dfNum {
			t.Errorf("%s df: Go %d, statsmodels %g", d.factors[f].name, me[f].dfNum, row.DF)
		}
	}
	if len(sm.Pairs) != 3+1 {
		t.Fatalf("statsmodels gave %d level pairs, want 4 (3 of batch size, 1 of output length)", len(sm.Pairs))
	}
	terms := d.allTerms()
	for _, p := range sm.Pairs {
		lv := d.factors[p.Factor].levels
		ia, ib := indexOf(lv, p.A), indexOf(lv, p.B)
		est, se := full.Contrast(sub(d.emmRow(terms, p.Factor, ib, -1, 0), d.emmRow(terms, p.Factor, ia, -1, 0)))
		what := fmt.Sprintf("%s %s−%s", d.factors[p.Factor].name, p.B, p.A)
		close(what+" estimate", est, p.Est, 1e-9)
		close(what+" standard error", se, p.SE, 1e-9)
	}

	a, bf := d.inter[0], d.inter[1]
	ka, kb := len(d.factors[a].levels)-1, len(d.factors[bf].levels)-1
	est, se, p, err := d.interactionEffect(full, a, ka, 0, bf, kb, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sm.Interaction == nil {
		t.Fatal("statsmodels gave no interaction contrast")
	}
	close("interaction contrast", est, sm.Interaction.Est, 1e-9)
	close("interaction standard error", se, sm.Interaction.SE, 1e-9)
	row, ok := sm.Anova[fmt.Sprintf("%d:%d", a, bf)]
	if !ok {
		t.Fatalf("statsmodels ANOVA has no interaction row: %v", sm.Anova)
	}
	closeP("interaction p", p, row.P)
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// synthetic builds a 2×2 study of energy per output token in memory:
// log y = log 0.1 + effA·[a = hi] + effB·[b = hi] + a drift down with the
// cycle + noise from a fixed stream.
func synthetic(effA, effB float64, cycles int, noise float64, seed uint64) []ConfigRow {
	return syntheticByCycle(func(int) (float64, float64) { return effA, effB }, cycles, noise, seed)
}

// syntheticByCycle is synthetic with effects that may change from cycle to
// cycle (k from 0).
func syntheticByCycle(eff func(k int) (float64, float64), cycles int, noise float64, seed uint64) []ConfigRow {
	rng := rand.New(rand.NewPCG(seed, 1))
	var rows []ConfigRow
	for _, a := range []string{"lo", "hi"} {
		for _, b := range []string{"lo", "hi"} {
			c := ConfigRow{Params: []Param{{"a", a}, {"b", b}}}
			for k := range cycles {
				ly := math.Log(0.1) - 0.02*float64(k) + noise*rng.NormFloat64()
				effA, effB := eff(k)
				if a == "hi" {
					ly += effA
				}
				if b == "hi" {
					ly += effB
				}
				v := math.Exp(ly)
				c.Cycles = append(c.Cycles, CyclePoint{Cycle: k + 1, EnergyPerOutputTokenJ: v, AdjustedPerOutputTokenJ: v / 2,
					OutputTokensPerS: 1 / v, E2EP50S: v})
			}
			c.Completed = cycles
			rows = append(rows, c)
		}
	}
	return rows
}

// TestCloseEffectsAreTiedAndShareTheTopProbability: two effects of the
// same size on average, a's larger in cycles 1–2 and b's in cycles 3–4,
// are tied, share rank 1, and each is most important in a fair share of
// the bootstrap draws over cycles; far apart, the larger ranks first
// alone and almost always.
func TestCloseEffectsAreTiedAndShareTheTopProbability(t *testing.T) {
	swing := func(k int) (float64, float64) {
		if k < 2 {
			return 0.33, 0.27
		}
		return 0.27, 0.33
	}
	es, _ := mainEffects(syntheticByCycle(swing, 4, 0.01, 1), []string{"a", "b"}, MeasureTotal, 0)
	if len(es) != 2 || !es[0].Tied || !es[1].Tied || es[1].SharedRank != 1 || es[1].RankText() != "=1" {
		t.Fatalf("close effects: %+v, want both tied at =1", es)
	}
	if sum := es[0].PTop + es[1].PTop; math.Abs(sum-1) > 1e-9 || es[0].PTop > 0.9 || es[1].PTop < 0.1 || es[0].RankDraws < rankDraws/2 {
		t.Errorf("P(top) = %g, %g over %d draws: want both between 0.1 and 0.9, summing to 1", es[0].PTop, es[1].PTop, es[0].RankDraws)
	}
	es, _ = mainEffects(synthetic(0.60, 0.05, 4, 0.05, 1), []string{"a", "b"}, MeasureTotal, 0)
	if es[0].Parameter != "a" || es[0].Tied || es[0].PTop < 0.95 {
		t.Errorf("far apart: %s first, tied %v, P(top) %g: want a alone, P(top) ≥ 0.95", es[0].Parameter, es[0].Tied, es[0].PTop)
	}
	if r := es[0].Model.Ratio; math.Abs(math.Log(r)-0.60) > 0.1 {
		t.Errorf("ratio %g, want about e^0.6 = %g", r, math.Exp(0.6))
	}
}

// TestResolvedIsHolmCorrected finds, among fixed noise streams, a study
// where an effect passes the uncorrected test but not Holm's, and checks
// it is not called resolved, while every effect's verdict follows its
// Holm-adjusted p.
func TestResolvedIsHolmCorrected(t *testing.T) {
	found := false
	for seed := uint64(1); seed <= 40; seed++ {
		es, _ := mainEffects(synthetic(0.06, 0.06, 4, 0.06, seed), []string{"a", "b"}, MeasureTotal, 0)
		for _, e := range es {
			m := e.Model
			if m.PHolm < m.P-1e-15 {
				t.Fatalf("seed %d %s: Holm p %g below raw p %g", seed, e.Parameter, m.PHolm, m.P)
			}
			if e.Resolved != (m.PHolm < 0.05) {
				t.Errorf("seed %d %s: resolved %v with Holm p %g", seed, e.Parameter, e.Resolved, m.PHolm)
			}
			if m.P < 0.05 && m.PHolm >= 0.05 {
				found = true
				if e.ResolvedText() != "no" {
					t.Errorf("seed %d %s: raw p %g, Holm p %g shown as %q", seed, e.Parameter, m.P, m.PHolm, e.ResolvedText())
				}
			}
		}
	}
	if !found {
		t.Fatal("no noise stream gave an effect significant only before correction: widen the search")
	}
}

// TestCyclesNeededAndDetect checks the power calculation against the
// normal approximation m ≈ n·((z₀.₉₇₅′ + z₀.₈)·se/d)² (t quantiles make it
// a little larger), and that --detect asks it for every effect.
func TestCyclesNeededAndDetect(t *testing.T) {
	const se, n, configs, df = 0.05, 4, 4, 9
	for _, d := range []float64{0.05, 0.1, 0.2} {
		got := cyclesFor(d, se, n, configs, df, 2)
		z := distuv.UnitNormal.Quantile(1-0.05/2/2) + distuv.UnitNormal.Quantile(0.8)
		normal := float64(n) * math.Pow(z*se/d, 2)
		if float64(got) < normal || float64(got) > math.Max(normal*1.3, minResolveCycles+1) {
			t.Errorf("effect %g: %d cycles, normal approximation %.1f", d, got, normal)
		}
	}
	if cyclesFor(0.001, se, n, configs, df, 2) != -1 {
		t.Error("a tiny effect should need more than maxCycles")
	}
	es, _ := mainEffects(synthetic(0.30, 0.01, 4, 0.05, 3), []string{"a", "b"}, MeasureTotal, 5)
	for _, e := range es {
		if e.Cycles == nil || e.Cycles.DetectPct != 5 || e.Cycles.Detect < minResolveCycles {
			t.Errorf("%s: cycles %+v, want a count for a 5%% effect", e.Parameter, e.Cycles)
		}
	}
	if small := es[1]; small.Resolved || small.Cycles.Observed == 0 {
		t.Errorf("the 1%% effect: resolved %v, cycles %+v: want not resolved, with cycles needed", small.Resolved, small.Cycles)
	}
	rep := &Report{Effects: es, Measure: MeasureTotal}
	var md strings.Builder
	writeEffectsMD(&md, rep)
	if !strings.Contains(md.String(), "a 5% effect:") || !strings.Contains(md.String(), "the size seen") {
		t.Errorf("markdown does not say how many cycles would resolve the effects:\n%s", md.String())
	}
}

// TestRankingMeasure checks that the adjusted measure ranks on adjusted
// energy per output token and the headline says so.
func TestRankingMeasure(t *testing.T) {
	rows := synthetic(0.3, 0.1, 4, 0.05, 1)
	for i := range rows { // adjusted energy: b dominates
		for k := range rows[i].Cycles {
			p := &rows[i].Cycles[k]
			p.AdjustedPerOutputTokenJ = 0.01
			if paramValue(rows[i], "b") == "hi" {
				p.AdjustedPerOutputTokenJ = 0.03 * (1 + 0.01*float64(k))
			}
		}
	}
	for _, tt := range []struct {
		m     Measure
		first string
	}{{MeasureTotal, "a"}, {MeasureAdjusted, "b"}} {
		es, _ := mainEffects(rows, []string{"a", "b"}, tt.m, 0)
		if es[0].Parameter != tt.first {
			t.Errorf("%s: %s ranked first, want %s", tt.m, es[0].Parameter, tt.first)
		}
		rep := &Report{Effects: es, Measure: tt.m}
		if !strings.Contains(rep.Headline(), "Ranked on "+tt.m.Label()+".") {
			t.Errorf("%s: headline %q does not name the measure", tt.m, rep.Headline())
		}
	}
}

// TestNegativeAdjustedEnergyIsClampedAndWarned: a run whose adjusted
// energy is below 0 counts as 0 in adjusted energy per output token (never
// a negative energy) and is listed under measurement warnings, while the
// adjusted energy column keeps the raw value.
func TestNegativeAdjustedEnergyIsClampedAndWarned(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, fixtureSpec{Name: "negative", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: 3, Source: "rapl", Model: batchDominant})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Runs[0].Result.Energy.AdjustedJ = -2.5
	rep, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	var c ConfigRow
	for _, row := range rep.Configs {
		if row.MeasurementConfigHash == s.Runs[0].MeasurementConfigHash {
			c = row
		}
	}
	for _, p := range c.Cycles {
		if p.AdjustedPerOutputTokenJ < 0 || (p.RunIndex == s.Runs[0].Index && p.AdjustedPerOutputTokenJ != 0) {
			t.Errorf("run %d: adjusted energy per output token %g, want 0 for the negative run and never below 0", p.RunIndex, p.AdjustedPerOutputTokenJ)
		}
	}
	raw := -2.5
	if len(rep.Problems) != 0 {
		t.Errorf("ranking on total energy: problems %q, want none", rep.Problems)
	}
	adj, err := BuildWith(s, Options{Measure: MeasureAdjusted})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(adj.Problems, func(p string) bool { return strings.HasPrefix(p, "1 completed run left out of the blocked model") }) {
		t.Errorf("ranking on adjusted energy: problems %q, want the zero run named as left out of the model", adj.Problems)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w WarningRow) bool {
		return w.Code == results.WarnAdjustedNegative && w.Runs == 1 && strings.Contains(w.Example, fmtNum(raw))
	}) {
		t.Errorf("warnings %+v: want adjusted_energy_negative for one run, naming %s J", rep.Warnings, fmtNum(raw))
	}
}

// TestNoiselessStudyHasNoModel: a study without noise (a deterministic
// fake) leaves no residual variance to test against; the effects are
// ranked without a model, and the report still encodes as JSON (no Inf).
func TestNoiselessStudyHasNoModel(t *testing.T) {
	rows := synthetic(0.3, 0.1, 3, 0, 1)
	for i := range rows { // exactly additive in the log, no drift
		for k := range rows[i].Cycles {
			rows[i].Cycles[k] = rows[i].Cycles[0]
			rows[i].Cycles[k].Cycle = k + 1
		}
	}
	es, _ := mainEffects(rows, []string{"a", "b"}, MeasureTotal, 0)
	if es[0].Parameter != "a" || es[0].Resolved {
		t.Errorf("noiseless: %s first, resolved %v: want a first, not resolved", es[0].Parameter, es[0].Resolved)
	}
	if _, err := json.Marshal(es); err != nil {
		t.Errorf("JSON: %v", err)
	}
}
