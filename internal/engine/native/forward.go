package native

import (
	"math"
)

// kvCache holds one sequence's keys and values for every layer.
type kvCache struct {
	k, v [][]float32 // per layer: ctx × kvDim
	ctx  int
}

func newKVCache(s Shape, ctx int) *kvCache {
	c := &kvCache{k: make([][]float32, s.Layers), v: make([][]float32, s.Layers), ctx: ctx}
	for l := range c.k {
		c.k[l] = make([]float32, ctx*s.KVDim())
		c.v[l] = make([]float32, ctx*s.KVDim())
	}
	return c
}

// step is one token position in a forward pass: token tok of sequence seq
// at position pos; logits marks the positions whose logits are wanted.
type step struct {
	seq, pos, tok int
	logits        bool
	// gemm marks a prompt token that llama.cpp, prefilling the prompt alone
	// in ubatches of a multiple of 4 tokens, multiplies by repacked Q4_K
	// matrices in gemm order: one of the first n−n%4 of its n tokens (see
	// qkOrderSub). Decode steps are in gemv order.
	gemm bool
	// ubatch marks a prompt token that llama.cpp evaluates in a ubatch of
	// two or more tokens (llamaUbatchLen), whose attention values it sums
	// with tinyBLAS (lanes p%8) rather than ggml_vec_dot_f32 (p%32).
	ubatch bool
}

// runner runs forward passes of a model with a kernel set and workers,
// reusing its scratch buffers between calls. It is not safe for concurrent
// use.
type runner struct {
	m   *Model
	k   kernels
	w   *pool
	buf map[string][]float32
	// Per-worker scratch: decoded weight rows (matmul) and attention scores.
	tmp, scores [][]float32
	// Activations quantised to Q8_0 for the integer kernel (gemvQ8).
	qx []byte
	qd []float32
	// Their Q8_1 block sums, for Q4_1 and Q5_1 weights (quantizeQ8ActsSums).
	qs []float32
	// Their blocks' integer sums, for repacked Q4_0 weights (q8BlockSums).
	qi []int32
	// Their per-lane corrections, for the VNNI Q8_0 row kernel (gemvQ8C).
	qc []int32
	// Activations quantised to Q8_K for the integer k-quant kernel (gemvQK).
	kx []byte
	kd []float32
	kb []int16
	// Per activation row of the forward pass: whether llama.cpp would
	// multiply it by a repacked Q4_K matrix in its gemm order (step.gemm),
	// and the same for the last layer's FFN, which llama.cpp runs on the
	// logits rows alone.
	subRows, ffnSubRows []bool
	// The parallel steps' tasks, reused so the decode loop allocates nothing.
	mt matmulTask
	at attnTask
	qt quantTask
	st swigluTask
}

func newRunner(m *Model, k kernels, threads int) *runner {
	if k.gemmQ40x8 != nil && intQ8ByDefault(TypeQ4_0) {
		m.repackQ40()
	}
	if k.gemmQ4Kx8 != nil && k.gemvQK != nil {
		m.repackQ4K()
	}
	w := newPool(threads)
	r := &runner{m: m, k: k, w: w, buf: map[string][]float32{},
		tmp: make([][]float32, w.size()), scores: make([][]float32, w.size())}
	r.mt.r, r.at.r, r.qt.r = r, r, r
	return r
}

// close stops the runner's worker goroutines.
func (r *runner) close() { r.w.close() }

// scratch returns a reusable buffer of n floats named name.
func (r *runner) scratch(name string, n int) []float32 {
	b := r.buf[name]
	if cap(b) < n {
		b = make([]float32, n)
		r.buf[name] = b
	}
	return b[:n]
}

// forward runs the steps (all sequences advance together: every weight
// matrix is multiplied with all steps' activations at once) and writes the
// logits of steps marked logits, in order, to the returned slice
// (len = marked × vocab), valid until the next call.
func (r *runner) forward(steps []step, caches []*kvCache) []float32 {
	m, s := r.m, r.m.Shape
	n, d, kvd, hd, ff := len(steps), s.Dim, s.KVDim(), s.HeadDim(), s.FF
	x := r.scratch("x", n*d)
	xb := r.scratch("xb", n*d)
	xb2 := r.scratch("xb2", n*d)
	q := r.scratch("q", n*d)
	k := r.scratch("k", n*kvd)
	v := r.scratch("v", n*kvd)
	att := r.scratch("att", n*d)
	hb := r.scratch("hb", n*ff)
	hb2 := r.scratch("hb2", n*ff)
	cos := r.scratch("cos", n*m.ropeDim/2)
	sin := r.scratch("sin", n*m.ropeDim/2)

	r.setSubRows(steps)
	emb := r.scratch("emb", d)
	for i, st := range steps {
		copy(x[i*d:(i+1)*d], m.embed.row(st.tok, emb))
		r.ropeTable(st.pos, cos[i*m.ropeDim/2:(i+1)*m.ropeDim/2], sin[i*m.ropeDim/2:(i+1)*m.ropeDim/2])
	}
	for l := range m.layers {
		ly := &m.layers[l]
		rmsNorm(xb, x, ly.attnNorm, n, s.NormEps)
		r.matmul(n, mm{q, xb, &ly.wq}, mm{k, xb, &ly.wk}, mm{v, xb, &ly.wv})
		addBias(q, ly.bq, n)
		addBias(k, ly.bk, n)
		addBias(v, ly.bv, n)
		for i, st := range steps {
			cs, sn := cos[i*m.ropeDim/2:(i+1)*m.ropeDim/2], sin[i*m.ropeDim/2:(i+1)*m.ropeDim/2]
			for h := 0; h < s.Heads; h++ {
				r.rope(q[i*d+h*hd:i*d+(h+1)*hd], cs, sn)
			}
			for h := 0; h < s.KVHeads; h++ {
				r.rope(k[i*kvd+h*hd:i*kvd+(h+1)*hd], cs, sn)
			}
			c := caches[st.seq]
			copy(c.k[l][st.pos*kvd:(st.pos+1)*kvd], k[i*kvd:(i+1)*kvd])
			copy(c.v[l][st.pos*kvd:(st.pos+1)*kvd], v[i*kvd:(i+1)*kvd])
		}
		r.attention(att, q, steps, caches, l)
		r.matmul(n, mm{xb2, att, &ly.wo})
		addInto(x, xb2)
		rmsNorm(xb, x, ly.ffnNorm, n, s.NormEps)
		if l == len(m.layers)-1 {
			// llama.cpp runs the last layer's FFN on the rows whose logits
			// are wanted only, one per sequence: its gemv order.
			r.mt.sub = r.ffnSubRows
		}
		r.matmul(n, mm{hb, xb, &ly.wGate}, mm{hb2, xb, &ly.wUp})
		r.swigluRows(hb, hb2, n)
		r.matmul(n, mm{xb2, hb, &ly.wDown})
		addInto(x, xb2)
		r.mt.sub = r.subRows
	}
	nl := 0
	for i, st := range steps {
		if st.logits {
			copy(xb[nl*d:(nl+1)*d], x[i*d:(i+1)*d])
			nl++
		}
	}
	rmsNorm(xb2[:nl*d], xb[:nl*d], m.outNorm, nl, s.NormEps)
	logits := r.scratch("logits", nl*s.Vocab)
	r.mt.sub = r.ffnSubRows[:0] // one row per sequence: gemv order
	r.matmul(nl, mm{logits, xb2, &m.output})
	return logits
}

// setSubRows sets r.subRows (and r.mt.sub) from the steps' gemm marks, and
// r.ffnSubRows, the same with the logits rows in gemv order.
func (r *runner) setSubRows(steps []step) {
	if cap(r.subRows) < len(steps) {
		r.subRows, r.ffnSubRows = make([]bool, len(steps)), make([]bool, len(steps))
	}
	sub, ffn := r.subRows[:len(steps)], r.ffnSubRows[:len(steps)]
	for i, st := range steps {
		sub[i] = st.gemm
		ffn[i] = st.gemm && !st.logits
	}
	r.subRows, r.ffnSubRows = sub, ffn
	r.mt.sub = sub
}

// mm is one matrix product of a forward pass: out[b] = w·x[b].
type mm struct {
	out, x []float32
	w      *matrix
}

// matmul runs matrix products over n activation rows. The weight rows of all
// products are cut into blocks of about 32 KiB (of F32) and the blocks are
// split over the workers in one parallel region, so independent products
// (Q, K and V; gate and up) cost one fan-out. Each block is loaded (and,
// for BF16/Q4_0, decoded) once and multiplied with all n rows of x while it
// is in cache.
func (r *runner) matmul(n int, jobs ...mm) {
	if n == 0 {
		return
	}
	t := &r.mt
	t.n = n
	t.jobs = append(t.jobs[:0], jobs...)
	t.first = t.first[:0] // first global block index of each job
	t.br = t.br[:0]
	total := 0
	for _, jb := range jobs {
		t.first = append(t.first, total)
		br := r.blockRows(jb.w)
		t.br = append(t.br, br)
		total += (jb.w.rows + br - 1) / br
	}
	r.quantizeActs(n)
	r.w.parallel(total, t)
}

// quantizeActs quantises, for each of the matmul's jobs that an integer
// kernel serves, its n activation rows: to Q8_0 into r.qx/r.qd for Q8_0
// and Q4_0/Q5_0 weights (with Q8_1 sums into r.qs for Q4_1/Q5_1), to Q8_K into r.kx/r.kd/r.kb for Q4_K and Q6_K weights, once per
// distinct x and format (Q, K and V share theirs), recording where in
// t.qoff and t.koff (-1 for jobs not on that path).
func (r *runner) quantizeActs(n int) {
	t := &r.mt
	t.qoff, t.koff = t.qoff[:0], t.koff[:0]
	need, needK, sums, isums, lanes := 0, 0, false, false, false
	for _, jb := range t.jobs {
		if r.useQ8(jb.w, n) {
			need += n * jb.w.cols
			sums = sums || needsQ8Sums(jb.w.typ)
			isums = isums || jb.w.x8 != nil
			lanes = lanes || jb.w.typ == TypeQ8_0 && r.k.gemvQ8C != nil
		}
		if r.useQK(jb.w) {
			needK += n * jb.w.cols
		}
	}
	if need > 0 && cap(r.qx) < need {
		r.qx, r.qd, r.qs, r.qi = make([]byte, need), make([]float32, need/32), make([]float32, need/32), make([]int32, need/32)
	}
	if lanes && cap(r.qc) < need/4 {
		r.qc = make([]int32, need/4)
	}
	if needK > 0 && cap(r.kx) < needK {
		r.kx, r.kd, r.kb = make([]byte, needK), make([]float32, needK/qkK), make([]int16, needK/16)
	}
	used, usedK := 0, 0
	for j, jb := range t.jobs {
		off, offK := -1, -1
		m := n * jb.w.cols
		same := func(i int) bool { return &t.jobs[i].x[0] == &jb.x[0] && t.jobs[i].w.cols == jb.w.cols }
		if r.useQ8(jb.w, n) {
			for i := range j {
				if t.qoff[i] >= 0 && same(i) {
					off = t.qoff[i]
				}
			}
			if off < 0 {
				off = used
				var ss []float32
				if sums { // any job of this product on Q8_1 takes them
					ss = r.qs[off/32 : (off+m)/32]
				}
				r.quantizeRows(quantQ8, jb.x[:m], jb.w.cols, off, ss != nil)
				if isums { // as sums: any repacked Q4_0 job takes them
					q8BlockSums(r.qx[off:off+m], r.qi[off/32:(off+m)/32])
				}
				if lanes {
					r.k.q8LaneSums(r.qx[off:off+m], r.qc[off/4:(off+m)/4])
				}
				used += m
			}
		}
		if r.useQK(jb.w) {
			for i := range j {
				if t.koff[i] >= 0 && same(i) {
					offK = t.koff[i]
				}
			}
			if offK < 0 {
				offK = usedK
				r.quantizeRows(quantQ8K, jb.x[:m], jb.w.cols, offK, false)
				usedK += m
			}
		}
		t.qoff = append(t.qoff, off)
		t.koff = append(t.koff, offK)
	}
}

// swigluRows applies swiglu to n rows of g and u, split over the workers
// from quantMinRows rows on (prefill, large batches).
func (r *runner) swigluRows(g, u []float32, n int) {
	if n < quantMinRows {
		r.k.swiglu(g, u)
		return
	}
	t := &r.st
	t.swiglu, t.g, t.u, t.cols = r.k.swiglu, g, u, len(g)/n
	r.w.parallel(n, t)
}

// swigluTask is swigluRows' parallel step: rows [lo, hi) (elementwise, so
// the split changes no value).
type swigluTask struct {
	swiglu func(g, u []float32)
	g, u   []float32
	cols   int
}

func (t *swigluTask) run(_, lo, hi int) {
	t.swiglu(t.g[lo*t.cols:hi*t.cols], t.u[lo*t.cols:hi*t.cols])
}

// Activation formats quantizeRows writes.
const (
	quantQ8  = iota // Q8_0 values and scales into r.qx, r.qd (Q8_1 sums into r.qs)
	quantQ8K        // Q8_K values, scales and 16-value sums into r.kx, r.kd, r.kb
)

// quantMinRows is the number of activation rows from which quantizeRows
// splits the rows over the workers (a prefill chunk, a large batch); a
// decode row takes a microsecond or two, less than a parallel step.
const quantMinRows = 8

// quantizeRows quantises the activation rows x (of cols values each) to
// format at offset off of the runner's buffers, split over the workers
// when there are enough rows: the quantiser runs between the parallel
// matrix products, so on one thread it would hold the others idle.
func (r *runner) quantizeRows(format int, x []float32, cols, off int, sums bool) {
	t := &r.qt
	t.format, t.x, t.cols, t.off, t.sums = format, x, cols, off, sums
	n := len(x) / cols
	if n < quantMinRows {
		t.run(0, 0, n)
		return
	}
	r.w.parallel(n, t)
}

// quantTask is quantizeRows' parallel step: activation rows [lo, hi).
type quantTask struct {
	r         *runner
	format    int
	x         []float32
	cols, off int
	sums      bool
}

func (t *quantTask) run(_, lo, hi int) {
	r := t.r
	a, b := t.off+lo*t.cols, t.off+hi*t.cols
	x := t.x[lo*t.cols : hi*t.cols]
	if t.format == quantQ8K {
		quant := quantizeQ8KActs
		if r.k.quantQ8K != nil {
			quant = r.k.quantQ8K
		}
		quant(x, r.kx[a:b], r.kd[a/qkK:b/qkK], r.kb[a/16:b/16])
		return
	}
	var ss []float32
	if t.sums {
		ss = r.qs[a/32 : b/32]
	}
	quant := quantizeQ8ActsSums
	if r.k.quantQ8 != nil {
		quant = r.k.quantQ8
	}
	quant(x, r.qx[a:b], r.qd[a/32:b/32], ss)
}

// useQ8 reports whether w is multiplied by the integer Q8_0 kernel: at
// every batch size, prefill included, as llama.cpp quantises the
// activations of every Q8_0 product (decoding blocks to F32 for large
// batches instead would change the prompt's keys and values slightly, and
// with them close greedy choices).
//
// Q5_0, Q4_1 and Q5_1 weights take the integer kernel gemvQ8L with the
// same activations (Q4_1 and Q5_1 with their Q8_1 sums too). Q4_0 weights
// take the repacked kernel gemmQ40x8 over matrix.x8 when their rows are a
// multiple of 8, the matrices llama.cpp repacks on AVX2 and whose float
// order dotQ40Q8 follows; other Q4_0 matrices stay on the float path.
func (r *runner) useQ8(w *matrix, _ int) bool {
	if w.cols%32 != 0 {
		return false
	}
	switch w.typ {
	case TypeQ8_0:
		return r.k.gemvQ8 != nil
	case TypeQ4_0:
		return r.k.gemmQ40x8 != nil && w.x8 != nil && intQ8ByDefault(w.typ)
	}
	return r.k.gemvQ8L != nil && intQ8ByDefault(w.typ)
}

// useQK reports whether w is multiplied by the integer k-quant kernel
// (Q4_K, Q6_K), at every batch size for the same reason as useQ8.
func (r *runner) useQK(w *matrix) bool {
	return r.k.gemvQK != nil && intK(w.typ) && w.cols%qkK == 0
}

// matmulTask is matmul's parallel step: blocks [lo, hi) of its jobs.
type matmulTask struct {
	r     *runner
	n     int
	jobs  []mm
	first []int
	br    []int  // per job: weight rows per block (runner.blockRows)
	qoff  []int  // per job: offset of its quantised activations in r.qx, or -1
	koff  []int  // per job: offset of its Q8_K activations in r.kx, or -1
	sub   []bool // per activation row: repacked Q4_K in gemm order (absent: no)
}

func (t *matmulTask) run(w, lo, hi int) {
	j := 0
	for i := lo; i < hi; i++ {
		for j+1 < len(t.jobs) && i >= t.first[j+1] {
			j++
		}
		jb := t.jobs[j]
		br := t.br[j]
		r0 := (i - t.first[j]) * br
		r1 := min(r0+br, jb.w.rows)
		if off := t.qoff[j]; off >= 0 {
			t.r.mulBlockQ8(jb, t.n, r0, r1, off)
			continue
		}
		if off := t.koff[j]; off >= 0 {
			t.r.mulBlockQK(jb, t.n, r0, r1, off)
			continue
		}
		t.r.mulBlock(jb, t.n, r0, r1, &t.r.tmp[w])
	}
}

// blockRows is the number of weight rows per block: about 32 KiB of F32,
// a multiple of four (the gemv kernels take rows four at a time).
func blockRows(cols int) int { return max(4, (32<<10)/(4*cols)/4*4) }

// blockRows is blockRows(w.cols), rounded up to a multiple of 8 for a
// repacked Q4_0 matrix (its kernel takes rows eight at a time).
func (w *matrix) blockRows() int {
	br := blockRows(w.cols)
	if w.x8 != nil {
		br = (br + 7) &^ 7
	}
	return br
}

// blockRows is the number of rows per block of w in a matrix product:
// w.blockRows(), or for a k-quant matrix on the integer path (read as
// stored, no decoded copy to keep in cache) about 32 KiB of its stored
// rows, a multiple of 8, so a decode step of stories110M Q4_K_M makes a
// few hundred kernel calls instead of thousands (each checks its slices
// and picks its kernel): 7% less CPU time per decoded token. Q8_0 rows,
// twice the bytes, measured 5% slower that way.
func (r *runner) blockRows(w *matrix) int {
	br := w.blockRows()
	if r.useQK(w) {
		br = max(br, (32<<10)/w.typ.rowBytes(w.cols)&^7)
	}
	if r.useQ4Kx8(w) {
		br = max(8, br&^7) // gemmQ4Kx8 takes eight weight rows per pass
	}
	return br
}

// useQ4Kx8 reports whether w is multiplied by gemmQ4Kx8 over its repacked
// copy: Q4_K on the integer path with its rows a multiple of 8 (the
// matrices llama.cpp repacks, in their orders; repackQ4K repacks them
// when the runner is made).
func (r *runner) useQ4Kx8(w *matrix) bool {
	return r.k.gemmQ4Kx8 != nil && w.x8 != nil && w.typ == TypeQ4_K && w.rows%8 == 0 && r.useQK(w)
}

// fusedMaxRows is the number of activation rows below which quantised
// weights are multiplied by the fused kernels; from it on (prefill chunks,
// large batches) a row block is decoded to F32 once and shared by all rows,
// which repays the decoding. Measured on stories110M Q4_K_M, 2 threads:
// fused wins at 16 rows (135 vs 121 tok/s), decoding at 32 (174 vs 142) and
// at a 128-token prefill (292 vs 166 prompt tok/s, same minutes).
const fusedMaxRows = 32

// mulBlock computes rows r0..r1 of jb for all n activation rows.
func (r *runner) mulBlock(jb mm, n, r0, r1 int, tmp *[]float32) {
	w, cols, rows := jb.w, jb.w.cols, jb.w.rows
	if w.typ != TypeF32 && r.k.gemvQuant != nil && n < fusedMaxRows {
		rb := w.typ.rowBytes(cols)
		wq := w.raw[r0*rb : r1*rb]
		if r.k.gemvQuant(w.typ, wq, jb.x[:cols], jb.out[r0:r1], r1-r0, cols) {
			for b := 1; b < n; b++ {
				r.k.gemvQuant(w.typ, wq, jb.x[b*cols:(b+1)*cols], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
			}
			return
		}
	}
	var wb []float32
	if w.typ == TypeF32 {
		wb = w.f32[r0*cols : r1*cols]
	} else {
		rb := w.typ.rowBytes(cols)
		if len(*tmp) < (r1-r0)*cols {
			*tmp = make([]float32, blockRows(cols)*cols)
		}
		wb = (*tmp)[:(r1-r0)*cols]
		for j := r0; j < r1; j++ {
			r.k.dequant(w.typ, w.raw[j*rb:(j+1)*rb], wb[(j-r0)*cols:(j-r0+1)*cols])
		}
	}
	for b := 0; b < n; b++ {
		// F32 weights stream from memory for the first activation row only;
		// a decoded block is in cache from the start.
		if b == 0 && w.typ == TypeF32 {
			r.k.gemv(wb, jb.x[:cols], jb.out[r0:r1], r1-r0, cols)
			continue
		}
		if r.k.gemmCached2 != nil && b+2 <= n {
			r.k.gemmCached2(wb, jb.x[b*cols:(b+2)*cols], jb.out[b*rows+r0:], r1-r0, cols, rows)
			b++
			continue
		}
		r.k.gemvCached(wb, jb.x[b*cols:(b+1)*cols], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
	}
}

// mulBlockQ8 computes rows r0..r1 of Q8_0 (or intQ8) jb for all n
// activation rows, quantised at offset off of r.qx.
func (r *runner) mulBlockQ8(jb mm, n, r0, r1, off int) {
	cols, rows := jb.w.cols, jb.w.rows
	rb := jb.w.typ.rowBytes(cols)
	if jb.w.typ == TypeQ4_0 {
		m := n * cols
		r.k.gemmQ40x8(jb.w.x8[r0*rb:r1*rb], r.qx[off:off+m], r.qd[off/32:(off+m)/32], r.qi[off/32:(off+m)/32], jb.out[r0:], n, rows, r1-r0, cols)
		return
	}
	wq := jb.w.raw[r0*rb : r1*rb]
	if jb.w.typ != TypeQ8_0 {
		for b := range n {
			o := off + b*cols
			r.k.gemvQ8L(jb.w.typ, wq, r.qx[o:o+cols], r.qd[o/32:(o+cols)/32], r.qs[o/32:(o+cols)/32], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
		}
		return
	}
	b := 0
	if r.k.gemmQ8x4 != nil {
		// Four activation rows per pass over the block (prefill, batches).
		for ; b+4 <= n; b += 4 {
			o := off + b*cols
			r.k.gemmQ8x4(wq, r.qx[o:o+4*cols], r.qd[o/32:(o+4*cols)/32], jb.out[b*rows+r0:], r1-r0, cols, rows)
		}
	}
	for ; b < n; b++ {
		o := off + b*cols
		if r.k.gemvQ8C != nil {
			r.k.gemvQ8C(wq, r.qx[o:o+cols], r.qc[o/4:(o+cols)/4], r.qd[o/32:(o+cols)/32], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
			continue
		}
		gemv := r.k.gemvQ8Cached // rows after the first find the block in cache
		if b == 0 {
			gemv = r.k.gemvQ8
		}
		gemv(wq, r.qx[o:o+cols], r.qd[o/32:(o+cols)/32], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
	}
}

// mulBlockQK computes rows r0..r1 of Q4_K or Q6_K jb for all n activation
// rows, quantised to Q8_K at offset off of r.kx.
func (r *runner) mulBlockQK(jb mm, n, r0, r1, off int) {
	cols, rows := jb.w.cols, jb.w.rows
	rb := jb.w.typ.rowBytes(cols)
	wq := jb.w.raw[r0*rb : r1*rb]
	sub := r.mt.sub
	if r.useQ4Kx8(jb.w) {
		wx8 := jb.w.x8[r0*rb : r1*rb]
		isSub := func(b int) bool { return b < len(sub) && sub[b] }
		for b := 0; b < n; {
			o, ps, nact := off+b*cols, isSub(b), 1
			if b+4 <= n && isSub(b+1) == ps && isSub(b+2) == ps && isSub(b+3) == ps {
				nact = 4 // four activation rows in one order: one pass
			}
			r.k.gemmQ4Kx8(ps, wx8, r.kx[o:o+nact*cols], r.kd[o/qkK:(o+nact*cols)/qkK], r.kb[o/16:(o+nact*cols)/16], jb.out[b*rows+r0:], r1-r0, cols, nact, rows)
			b += nact
		}
		return
	}
	b := 0
	if jb.w.typ == TypeQ6_K && r.k.gemmQ6K != nil {
		for ; b+4 <= n; b += 4 { // four activation rows per pass (prefill, batches)
			o := off + b*cols
			r.k.gemmQ6K(wq, r.kx[o:o+4*cols], r.kd[o/qkK:(o+4*cols)/qkK], r.kb[o/16:(o+4*cols)/16], jb.out[b*rows+r0:], r1-r0, cols, rows)
		}
	}
	for ; b < n; b++ {
		o := off + b*cols
		order := qkOrderLanes
		if jb.w.typ == TypeQ4_K && rows%8 == 0 {
			order = qkOrderBlock
			if b < len(sub) && sub[b] {
				order = qkOrderSub
			}
		}
		r.k.gemvQK(jb.w.typ, order, wq, r.kx[o:o+cols], r.kd[o/qkK:(o+cols)/qkK], r.kb[o/16:(o+cols)/16], jb.out[b*rows+r0:b*rows+r1], r1-r0, cols)
	}
}

// attention computes causal grouped-query attention for every step and
// head against the step's sequence cache (positions 0..pos).
func (r *runner) attention(out, q []float32, steps []step, caches []*kvCache, l int) {
	t := &r.at
	t.out, t.q, t.steps, t.caches, t.l = out, q, steps, caches, l
	maxPos := 0
	for _, st := range steps {
		maxPos = max(maxPos, st.pos)
	}
	for w, sc := range r.scores {
		if cap(sc) < padScores(maxPos+1) {
			r.scores[w] = make([]float32, padScores(maxPos+1), 2*padScores(maxPos+1))
		}
	}
	r.w.parallel(len(steps)*r.m.Shape.Heads, t)
}

// attnTask is attention's parallel step: (step, head) pairs [lo, hi).
type attnTask struct {
	r      *runner
	out, q []float32
	steps  []step
	caches []*kvCache
	l      int
}

func (t *attnTask) run(w, lo, hi int) {
	s := t.r.m.Shape
	d, kvd, hd, group := s.Dim, s.KVDim(), s.HeadDim(), s.Heads/s.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	scoresK, valuesK, softmaxK := t.r.k.scores, t.r.k.values, t.r.k.softmax
	scores := t.r.scores[w]
	for i := lo; i < hi; i++ {
		si, h := i/s.Heads, i%s.Heads
		st := t.steps[si]
		kc, vc := t.caches[st.seq].k[t.l], t.caches[st.seq].v[t.l]
		off := (h / group) * hd
		qh := t.q[si*d+h*hd : si*d+(h+1)*hd]
		n := st.pos + 1
		sc := scores[:padScores(n)]
		scoresK(qh, kc[off:], kvd, scale, sc[:n])
		// llama.cpp's rows run over the whole KV cache window (a multiple
		// of 256 cells), the cells past pos masked to −Inf: their
		// exponentials are 0, which leaves the float sums of each 8 as
		// they are, and so does padding to a multiple of 8 here.
		for p := n; p < len(sc); p++ {
			sc[p] = float32(math.Inf(-1))
		}
		softmaxK(sc)
		lanes := 32
		if st.ubatch {
			lanes = 8
		}
		valuesK(sc[:n], vc[off:], kvd, lanes, t.out[si*d+h*hd:si*d+(h+1)*hd])
	}
}

// padScores is n rounded up to a multiple of 8, the softmax kernels' rows.
func padScores(n int) int { return (n + 7) &^ 7 }

// ropeTable fills the cos/sin of each rotary pair at pos the way ggml does
// (theta advanced by repeated float32 multiplication, glibc's cosf and
// sinf, which are not correctly rounded: see exact.go).
func (r *runner) ropeTable(pos int, cos, sin []float32) {
	m := r.m
	thetaScale := float32(math.Pow(m.Shape.RopeBase, -2/float64(m.ropeDim)))
	theta := float32(pos)
	for i := range cos {
		t := theta
		if m.ropeFreq != nil {
			t /= m.ropeFreq[i]
		}
		t *= m.ropeScale
		cos[i] = cosf(t)
		sin[i] = sinf(t)
		theta *= thetaScale
	}
}

// rope rotates one head: adjacent pairs (llama "normal" mode, as GGUF llama
// files store Q/K permuted for it) or split halves (NeoX mode, qwen2),
// with the fused multiply-adds GCC makes of ggml's rotate_pairs
// (x0·cos − x1·sin and x0·sin + x1·cos, the first product fused).
func (r *runner) rope(x, cos, sin []float32) {
	half := r.m.ropeDim / 2
	for i := 0; i < half; i++ {
		a, b := 2*i, 2*i+1
		if r.m.ropeNeox {
			a, b = i, i+half
		}
		x0, x1 := x[a], x[b]
		x[a] = fma32(x0, cos[i], -(x1 * sin[i]))
		x[b] = fma32(x0, sin[i], x1*cos[i])
	}
}

// rmsNorm normalises each of n rows of x by its root mean square and
// scales by w (the sum of squares is accumulated in float64, as ggml does).
func rmsNorm(out, x, w []float32, n int, eps float64) {
	d := len(w)
	for i := 0; i < n; i++ {
		row := x[i*d : (i+1)*d]
		var ss float64
		for _, v := range row {
			ss += float64(v * v)
		}
		// In float32 from the mean on, as ggml does (1.0f/sqrtf(mean + eps)):
		// a last-bit difference here moves activations across Q8_K rounding
		// boundaries.
		mean := float32(ss / float64(d))
		scale := 1 / float32(math.Sqrt(float64(mean+float32(eps))))
		o := out[i*d : (i+1)*d]
		for j, v := range row {
			o[j] = v * scale * w[j]
		}
	}
}

// swigluPortable sets g[i] = silu(g[i])·u[i] with silu(x) = x/(1+e^−x) in
// float32, e^x by expf, as ggml's ggml_vec_swiglu_f32 (ggml_v_silu) does.
func swigluPortable(g, u []float32) {
	u = u[:len(g)]
	for i, x := range g {
		g[i] = x / (1 + expf(0-x)) * u[i]
	}
}

// attnScoresPortable sets out[p] = scale·dotGGML(q, k[p·stride:]).
func attnScoresPortable(q, k []float32, stride int, scale float32, out []float32) {
	for p := range out {
		out[p] = dotGGML(q, k[p*stride:p*stride+len(q)]) * scale
	}
}

// attnValuesPortable sets out[j] = Σ_p a[p]·v[p·stride+j] as llama.cpp
// sums it: a[p]·v fused into chain p%lanes (in order of p), the chains
// then reduced by tinyBLAS's hsum (lanes 8) or GGML_F32x8_REDUCE (32).
// llama.cpp's rows run over a multiple of 256 cache cells, those past the
// last position with weight 0, which leave every chain as it is.
func attnValuesPortable(a, v []float32, stride, lanes int, out []float32) {
	for j := range out {
		var s [32]float32
		for p, w := range a {
			s[p%lanes] = fma32(w, v[p*stride+j], s[p%lanes])
		}
		if lanes == 8 {
			out[j] = hsum8((*[8]float32)(s[:8]))
		} else {
			out[j] = reduce32(&s)
		}
	}
}

func addInto(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

func addBias(x, b []float32, n int) {
	if b == nil {
		return
	}
	d := len(b)
	for i := 0; i < n; i++ {
		addInto(x[i*d:(i+1)*d], b)
	}
}
