package native

import (
	"runtime"
	"sync/atomic"
	"time"
)

// task is the body of a data-parallel loop: run handles [lo, hi) on
// worker w (0 ≤ w < pool size), so a task can keep per-worker scratch.
// run may be called several times per loop on the same worker, with
// disjoint ranges. Tasks are interfaces rather than closures so that a
// caller can pass a pointer to a long-lived struct and the decode loop
// allocates nothing.
type task interface {
	run(w, lo, hi int)
}

// taskFunc adapts a function to task.
type taskFunc func(w, lo, hi int)

func (f taskFunc) run(w, lo, hi int) { f(w, lo, hi) }

// pool runs data-parallel loops on a fixed set of goroutines that live as
// long as the pool. A loop's range is cut into a few contiguous chunks per
// worker, which the caller and the helpers take in turn from an atomic
// counter, so a helper that starts late (woken by the OS, or preempted)
// takes fewer chunks instead of holding everyone up.
//
// Between loops the helpers spin on the loop counter for up to spinFor
// before parking on a channel. A forward pass has about 60 loops per token
// separated by microseconds of serial work (norms, quantising the
// activations, RoPE); a parked goroutine takes tens of microseconds to be
// woken by the OS, and the caller then waits for that helper's share at
// the end of the loop. Parking helpers after every loop (the previous
// pool: one channel send per helper per loop) held stories110M decode at
// two threads to the speed of one.
//
// The zero value and a pool of size 1 run everything inline. A pool is not
// safe for concurrent parallel calls.
type pool struct {
	n       int
	helpers []*helper
	closed  atomic.Bool

	// The current loop, published by parallel before it bumps seq.
	seq     atomic.Uint64
	t       task
	total   int
	grain   int
	next    atomic.Int64 // next chunk to take
	pending atomic.Int32 // helpers still working on the current loop
}

// helper is one helper goroutine's parking state.
type helper struct {
	parked atomic.Bool
	wake   chan struct{}
}

// spinFor is how long an idle helper polls for the next loop before
// parking. Longer than the serial work between the loops of a token, short
// enough that a finished generation frees the cores at once.
const spinFor = 200 * time.Microsecond

// chunksPerWorker is how many chunks a loop is cut into per worker.
const chunksPerWorker = 4

// newPool starts a pool of n workers (n-1 goroutines); close stops them.
func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	for i := range p.n - 1 {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.loop(i+1, h)
	}
	return p
}

// loop is helper w's life: wait for a loop (spinning, then parked), take
// chunks until none are left, report done.
func (p *pool) loop(w int, h *helper) {
	var seen uint64
	for {
		s := p.await(seen, h)
		if p.closed.Load() {
			return
		}
		seen = s
		p.work(w)
		p.pending.Add(-1)
	}
}

// await returns the loop counter once it differs from seen: polling for
// spinFor, then parked until parallel or close wakes h.
func (p *pool) await(seen uint64, h *helper) uint64 {
	start := time.Now()
	for i := 0; ; i++ {
		if s := p.seq.Load(); s != seen || p.closed.Load() {
			return s
		}
		if i%256 == 255 {
			if time.Since(start) > spinFor {
				break
			}
			runtime.Gosched()
		}
	}
	for {
		h.parked.Store(true)
		// Re-check after announcing the park: parallel bumps seq before it
		// looks at parked, so one of the two sees the other.
		if s := p.seq.Load(); s != seen || p.closed.Load() {
			if !h.parked.CompareAndSwap(true, false) {
				<-h.wake // parallel claimed the park and sent a wake-up
			}
			return s
		}
		<-h.wake
	}
}

// work runs chunks of the current loop on worker w until none are left.
func (p *pool) work(w int) {
	for {
		c := int(p.next.Add(1) - 1)
		lo := c * p.grain
		if lo >= p.total {
			return
		}
		p.t.run(w, lo, min(lo+p.grain, p.total))
	}
}

// size is the number of workers, at least 1.
func (p *pool) size() int {
	if p == nil || p.n < 1 {
		return 1
	}
	return p.n
}

// close stops the helper goroutines; the pool then runs loops inline.
func (p *pool) close() {
	if p == nil || p.closed.Swap(true) {
		return
	}
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.helpers, p.n = nil, 1
}

// parallel cuts [0, total) into contiguous chunks, runs t on each on the
// workers, and returns when all are done.
func (p *pool) parallel(total int, t task) {
	if p.size() <= 1 || total <= 1 {
		if total > 0 {
			t.run(0, 0, total)
		}
		return
	}
	chunks := min(total, p.n*chunksPerWorker)
	p.t, p.total, p.grain = t, total, (total+chunks-1)/chunks
	p.next.Store(0)
	p.pending.Store(int32(len(p.helpers)))
	p.seq.Add(1)
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.work(0)
	for i := 0; p.pending.Load() != 0; i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	p.t = nil
}
