package native

import (
	"sync"
)

// task is the body of a data-parallel loop: run handles [lo, hi) on
// worker w (0 ≤ w < pool size), so a task can keep per-worker scratch.
// Tasks are interfaces rather than closures so that a caller can pass a
// pointer to a long-lived struct and the decode loop allocates nothing.
type task interface {
	run(w, lo, hi int)
}

// taskFunc adapts a function to task.
type taskFunc func(w, lo, hi int)

func (f taskFunc) run(w, lo, hi int) { f(w, lo, hi) }

// span is one worker's share of a parallel loop.
type span struct {
	t      task
	lo, hi int
}

// pool runs data-parallel loops on a fixed set of goroutines that live as
// long as the pool: the caller runs the first chunk itself and n-1 helpers
// wait on their own channel for the others, so a parallel step costs a
// channel send and a wake-up per helper instead of a goroutine launch
// (a forward pass of stories15M has about 60 parallel steps per token).
// The zero value and a pool of size 1 run everything inline. A pool is not
// safe for concurrent parallel calls.
//
// A spin-then-park pool (helpers polling an atomic job counter before
// parking) was tried and measured slower on the 2-core development VM
// (BenchmarkPoolStep, 2 workers: 500 ns a step against 300 ns for the
// channels, 2026-11-30, both cores busy with other jobs): Go's scheduler
// already hands a readied goroutine to a spinning idle P, and 60 steps
// cost 1–2% of a stories15M Q8_0 token either way.
type pool struct {
	n    int
	jobs []chan span // one per helper goroutine
	wg   sync.WaitGroup
}

// newPool starts a pool of n workers (n-1 goroutines); close stops them.
func newPool(n int) *pool {
	p := &pool{n: max(n, 1)}
	for range p.n - 1 {
		ch := make(chan span, 1)
		p.jobs = append(p.jobs, ch)
		go p.loop(len(p.jobs), ch)
	}
	return p
}

func (p *pool) loop(w int, ch chan span) {
	for s := range ch {
		s.t.run(w, s.lo, s.hi)
		p.wg.Done()
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
	if p == nil {
		return
	}
	for _, ch := range p.jobs {
		close(ch)
	}
	p.jobs, p.n = nil, 1
}

// parallel splits [0, total) into at most size() contiguous chunks and runs
// t on each, returning when all are done.
func (p *pool) parallel(total int, t task) {
	n := min(p.size(), total)
	if n <= 1 {
		if total > 0 {
			t.run(0, 0, total)
		}
		return
	}
	chunk := (total + n - 1) / n
	k := 0
	for lo := chunk; lo < total; lo += chunk {
		p.wg.Add(1)
		p.jobs[k] <- span{t, lo, min(lo+chunk, total)}
		k++
	}
	t.run(0, 0, chunk)
	p.wg.Wait()
}
