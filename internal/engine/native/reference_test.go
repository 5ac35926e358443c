package native

import (
	"math"
	"testing"
)

// refForward is an independent float64 implementation of the Llama forward
// pass over one sequence, written from the model definition (not sharing
// code with forward.go): it returns the logits after each token.
func refForward(m *Model, toks []int) [][]float64 {
	s := m.Shape
	d, hd, kvd := s.Dim, s.Dim/s.Heads, s.KVDim()
	get := func(w *matrix, r int) []float64 {
		tmp := make([]float32, w.cols)
		row := w.row(r, tmp)
		out := make([]float64, len(row))
		for i, v := range row {
			out[i] = float64(v)
		}
		return out
	}
	mul := func(w *matrix, x []float64) []float64 {
		out := make([]float64, w.rows)
		for r := range out {
			row := get(w, r)
			for i := range row {
				out[r] += row[i] * x[i]
			}
		}
		return out
	}
	norm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		sc := 1 / math.Sqrt(ss/float64(len(x))+s.NormEps)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * sc * float64(w[i])
		}
		return out
	}
	rot := func(x []float64, pos int) {
		for i := 0; i < hd/2; i++ {
			th := float64(pos) * math.Pow(s.RopeBase, -2*float64(i)/float64(hd))
			c, sn := math.Cos(th), math.Sin(th)
			a, b := x[2*i], x[2*i+1]
			x[2*i], x[2*i+1] = a*c-b*sn, a*sn+b*c
		}
	}
	keys := make([][][]float64, s.Layers)
	vals := make([][][]float64, s.Layers)
	var all [][]float64
	for pos, t := range toks {
		x := get(&m.embed, t)
		for l := range m.layers {
			ly := &m.layers[l]
			h := norm(x, ly.attnNorm)
			q, k, v := mul(&ly.wq, h), mul(&ly.wk, h), mul(&ly.wv, h)
			for hh := 0; hh < s.Heads; hh++ {
				rot(q[hh*hd:(hh+1)*hd], pos)
			}
			for hh := 0; hh < s.KVHeads; hh++ {
				rot(k[hh*hd:(hh+1)*hd], pos)
			}
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, d)
			for hh := 0; hh < s.Heads; hh++ {
				kh := hh * s.KVHeads / s.Heads
				w := make([]float64, pos+1)
				var mx = math.Inf(-1)
				for p := 0; p <= pos; p++ {
					for j := 0; j < hd; j++ {
						w[p] += q[hh*hd+j] * keys[l][p][kh*hd+j]
					}
					w[p] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, w[p])
				}
				var sum float64
				for p := range w {
					w[p] = math.Exp(w[p] - mx)
					sum += w[p]
				}
				for p := range w {
					for j := 0; j < hd; j++ {
						att[hh*hd+j] += w[p] / sum * vals[l][p][kh*hd+j]
					}
				}
			}
			_ = kvd
			o := mul(&ly.wo, att)
			for i := range x {
				x[i] += o[i]
			}
			h = norm(x, ly.ffnNorm)
			g, u := mul(&ly.wGate, h), mul(&ly.wUp, h)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			dn := mul(&ly.wDown, g)
			for i := range x {
				x[i] += dn[i]
			}
		}
		all = append(all, mul(&m.output, norm(x, m.outNorm)))
	}
	return all
}

func TestLogitsMatchFloat64Reference(t *testing.T) {
	m, err := SynthModel("tiny", 7, TypeF32, 1)
	if err != nil {
		t.Fatal(err)
	}
	toks := []int{1, 40, 300, 77, 5, 511, 130, 2}
	want := refForward(m, toks)
	for _, kname := range []string{KernelsPortable, KernelsAuto} {
		k, err := selectKernels(kname)
		if err != nil {
			t.Fatal(err)
		}
		r := newRunner(m, k, 2)
		defer r.close()
		cache := []*kvCache{newKVCache(m.Shape, len(toks))}
		// Prefill the first half in one pass, then decode one at a time.
		var steps []step
		for p := 0; p < 4; p++ {
			steps = append(steps, step{seq: 0, pos: p, tok: toks[p], logits: true})
		}
		got := [][]float32{}
		lg := r.forward(steps, cache)
		for p := 0; p < 4; p++ {
			got = append(got, append([]float32(nil), lg[p*m.Shape.Vocab:(p+1)*m.Shape.Vocab]...))
		}
		for p := 4; p < len(toks); p++ {
			lg := r.forward([]step{{seq: 0, pos: p, tok: toks[p], logits: true}}, cache)
			got = append(got, append([]float32(nil), lg...))
		}
		var maxErr, maxAbs float64
		for p := range want {
			for i := range want[p] {
				maxErr = math.Max(maxErr, math.Abs(float64(got[p][i])-want[p][i]))
				maxAbs = math.Max(maxAbs, math.Abs(want[p][i]))
			}
		}
		if maxAbs < 0.5 {
			t.Fatalf("%s: reference logits are degenerate (max |logit| %g)", k.name, maxAbs)
		}
		if maxErr > 1e-4*maxAbs+1e-4 {
			t.Fatalf("%s: max |logit - reference| = %g (max |logit| %g)", k.name, maxErr, maxAbs)
		}
		t.Logf("%s: max abs error %.3g over logits up to %.3g", k.name, maxErr, maxAbs)
	}
}
