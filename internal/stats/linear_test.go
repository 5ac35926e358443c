package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestFitOLSExact fits a line through four points by hand: x = 0..3,
// y = 1, 3, 2, 5. Normal equations give β = (1.1, 1.1); residuals
// −0.1, 0.8, −1.3, 0.6 give SSR 2.7 on 2 df, σ̂² 1.35, and
// (XᵀX)⁻¹ = [[0.7, −0.3], [−0.3, 0.2]].
func TestFitOLSExact(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 0, 1, 1, 1, 2, 1, 3})
	fit, err := FitOLS(x, []float64{1, 3, 2, 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intercept", fit.Coef[0], 1.1}, {"slope", fit.Coef[1], 1.1}, {"SSR", fit.SSR, 2.7}, {"sigma2", fit.Sigma2, 1.35},
		{"var intercept", fit.Cov.At(0, 0), 1.35 * 0.7}, {"cov", fit.Cov.At(0, 1), 1.35 * -0.3}, {"var slope", fit.Cov.At(1, 1), 1.35 * 0.2},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %.15g, want %g", c.name, c.got, c.want)
		}
	}
	if fit.DFResid != 2 {
		t.Errorf("df = %d, want 2", fit.DFResid)
	}
	est, se := fit.Contrast([]float64{1, 3}) // prediction at x = 3
	if math.Abs(est-4.4) > 1e-12 || math.Abs(se-math.Sqrt(1.35*(0.7-1.8+1.8))) > 1e-12 {
		t.Errorf("prediction at 3 = %g ± %g", est, se)
	}
}

func TestFitOLSRankDeficient(t *testing.T) {
	x := mat.NewDense(3, 3, []float64{1, 1, 0, 1, 0, 1, 1, 1, 0}) // col0 = col1 + col2
	if _, err := FitOLS(x, []float64{1, 2, 3}); err != ErrRankDeficient {
		t.Errorf("err = %v, want ErrRankDeficient", err)
	}
}

// TestHolm uses R's p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") =
// 0.03, 0.06, 0.06, 0.02; a NaN stays out of the family.
func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, math.NaN(), 0.03, 0.005})
	want := []float64{0.03, 0.06, math.NaN(), 0.06, 0.02}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-15) {
			t.Errorf("Holm[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

// TestWelchSatterthwaite: GUM G.4.1 with u = (1, 1), ν = (4, ∞) gives
// ν_eff = 2² / (1/4) = 16; all-infinite ν gives +Inf.
func TestWelchSatterthwaite(t *testing.T) {
	if got := WelchSatterthwaite([]float64{1, 1}, []float64{4, math.Inf(1)}); math.Abs(got-16) > 1e-12 {
		t.Errorf("ν_eff = %g, want 16", got)
	}
	if got := WelchSatterthwaite([]float64{1, 2}, []float64{math.Inf(1), math.Inf(1)}); !math.IsInf(got, 1) {
		t.Errorf("ν_eff = %g, want +Inf", got)
	}
}

// TestFSurvival checks the F test's p-value against scipy.stats.f.sf(4, 2, 10)
// = 0.052922149401... and F(1, d) against the two-sided t p-value of √F.
func TestFSurvival(t *testing.T) {
	if got := FSurvival(4, 2, 10); math.Abs(got-0.05292214940134466) > 1e-12 {
		t.Errorf("FSurvival(4, 2, 10) = %.12g", got)
	}
	if got, want := FSurvival(6.25, 1, 7), TTwoSidedP(2.5, 7); math.Abs(got-want) > 1e-12 {
		t.Errorf("F(1,7) p %g ≠ t(7) p %g", got, want)
	}
}
