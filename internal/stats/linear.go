package stats

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// ErrRankDeficient is returned by FitOLS when the design's columns are not
// linearly independent: some effect is not estimable from the data.
var ErrRankDeficient = errors.New("stats: design matrix is rank deficient")

// OLS is an ordinary least-squares fit of y = Xβ + ε with independent,
// equal-variance errors.
type OLS struct {
	Coef []float64
	// Cov is the estimated covariance of Coef: σ̂² (XᵀX)⁻¹.
	Cov *mat.SymDense
	// SSR is the residual sum of squares, DFResid its degrees of freedom
	// (observations − columns) and Sigma2 = SSR/DFResid.
	SSR     float64
	DFResid int
	Sigma2  float64
}

// FitOLS fits y on the columns of x (rows are observations). It returns
// ErrRankDeficient when a column is (numerically) a combination of others.
// With as many columns as rows there is no residual: DFResid is 0 and Cov
// is NaN.
func FitOLS(x *mat.Dense, y []float64) (OLS, error) {
	n, p := x.Dims()
	if n != len(y) || n < p || p == 0 {
		return OLS{}, ErrRankDeficient
	}
	// QR with a rank check on R's diagonal, relative to the column norms:
	// the normal equations square the condition number.
	var qr mat.QR
	qr.Factorize(x)
	var r mat.Dense
	qr.RTo(&r)
	for j := range p {
		norm := mat.Norm(x.ColView(j), 2)
		if norm == 0 || math.Abs(r.At(j, j)) <= 1e-10*norm {
			return OLS{}, ErrRankDeficient
		}
	}
	var beta mat.Dense
	if err := qr.SolveTo(&beta, false, mat.NewDense(n, 1, slices.Clone(y))); err != nil {
		return OLS{}, ErrRankDeficient
	}
	fit := OLS{Coef: make([]float64, p), DFResid: n - p}
	for j := range p {
		fit.Coef[j] = beta.At(j, 0)
	}
	for i := range n {
		e := y[i] - mat.Dot(x.RowView(i), mat.NewVecDense(p, fit.Coef))
		fit.SSR += e * e
	}
	fit.Sigma2 = math.NaN()
	if fit.DFResid > 0 {
		fit.Sigma2 = fit.SSR / float64(fit.DFResid)
	}
	// (XᵀX)⁻¹ = R⁻¹ R⁻ᵀ.
	var rinv mat.Dense
	if err := rinv.Inverse(r.Slice(0, p, 0, p)); err != nil {
		return OLS{}, ErrRankDeficient
	}
	var xtxInv mat.Dense
	xtxInv.Mul(&rinv, rinv.T())
	fit.Cov = mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			fit.Cov.SetSym(i, j, fit.Sigma2*(xtxInv.At(i, j)+xtxInv.At(j, i))/2)
		}
	}
	return fit, nil
}

// Contrast returns the estimate of cᵀβ and its standard error.
func (f OLS) Contrast(c []float64) (est, se float64) {
	v := mat.NewVecDense(len(c), slices.Clone(c))
	est = mat.Dot(v, mat.NewVecDense(len(f.Coef), f.Coef))
	return est, math.Sqrt(mat.Inner(v, f.Cov, v))
}

// TQuantile is the p-quantile of Student's t with df degrees of freedom
// (df may be fractional, as a Welch–Satterthwaite one is; +Inf is the
// normal).
func TQuantile(p, df float64) float64 {
	if df <= 0 || math.IsNaN(df) {
		return math.NaN()
	}
	if math.IsInf(df, 1) {
		return distuv.UnitNormal.Quantile(p)
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(p)
}

// TTwoSidedP is the two-sided p-value of a t statistic with df degrees of
// freedom.
func TTwoSidedP(t, df float64) float64 {
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// FSurvival is P(F > f) for an F distribution with d1 and d2 degrees of
// freedom: the p-value of an F test.
func FSurvival(f float64, d1, d2 int) float64 {
	if math.IsNaN(f) || d1 < 1 || d2 < 1 {
		return math.NaN()
	}
	// I_x(d2/2, d1/2) with x = d2/(d2 + d1 f): keeps its relative
	// precision for tiny p, where 1 − CDF does not.
	x := float64(d2) / (float64(d2) + float64(d1)*f)
	return mathext.RegIncBeta(float64(d2)/2, float64(d1)/2, x)
}

// Holm adjusts p-values for a family of tests by Holm's step-down method
// (Holm 1979), which controls the family-wise error rate: reject test i at
// level α when its adjusted p-value is below α. NaN p-values (no test) are
// left out of the family and stay NaN.
func Holm(p []float64) []float64 {
	var idx []int
	for i, v := range p {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, len(p))
	for i := range out {
		out[i] = math.NaN()
	}
	m := len(idx)
	run := 0.0
	for k, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-k)*p[i]))
		out[i] = run
	}
	return out
}

// WelchSatterthwaite returns the effective degrees of freedom of a
// combined standard uncertainty √(Σ uᵢ²) whose components have νᵢ degrees
// of freedom (+Inf for a Type B component known exactly), GUM G.4.1:
// ν_eff = u⁴ / Σ(uᵢ⁴/νᵢ). It is +Inf when every component has infinite ν.
func WelchSatterthwaite(u, nu []float64) float64 {
	var uc2, den float64
	for i := range u {
		uc2 += u[i] * u[i]
		if !math.IsInf(nu[i], 1) && u[i] != 0 {
			den += math.Pow(u[i], 4) / nu[i]
		}
	}
	if den == 0 {
		return math.Inf(1)
	}
	return uc2 * uc2 / den
}

// TCDF is P(T ≤ t) for Student's t with df degrees of freedom.
func TCDF(t, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(t)
}
