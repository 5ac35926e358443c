package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
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
	Interaction *struct{ Est, SE float64 } `json:"interaction"`
}

// TestBlockedModelMatchesStatsmodels fits the blocked model of an
// unbalanced study (batch size at three levels × output length at two,
// four cycles, one run failed) in Go and with statsmodels' OLS, and
// compares the residual sum of squares and degrees of freedom, the Type II
// F tests of every term (anova_lm typ=2), every pairwise difference of
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
