package enginetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Harness is one engine's setup for the suite.
type Harness struct {
	// New returns a fresh, unloaded engine.
	New func() engine.Engine
	// Config is what Load is given.
	Config config.ExperimentConfig
	// MaxNewTokens is the output length of the ordinary batches; 6 when 0.
	MaxNewTokens int
	// LongOutput is the output length of each prompt in the batch that is
	// cancelled mid-flight: long enough that the batch runs well past
	// cancelAfter. 512 when 0.
	LongOutput int
	// LongBatch is the number of prompts in that batch; 4 when 0. Together
	// with LongOutput it should make the batch run some seconds uncancelled,
	// so a faster machine still cancels it mid-flight.
	LongBatch int
}

// cancelAfter is when the mid-flight cancellation fires; returnBound is how
// soon after it Generate must have returned.
const (
	cancelAfter = 50 * time.Millisecond
	returnBound = 2 * time.Second
)

// Run runs the conformance suite as sub-tests of t.
func Run(t *testing.T, h Harness) {
	if h.MaxNewTokens == 0 {
		h.MaxNewTokens = 6
	}
	if h.LongOutput == 0 {
		h.LongOutput = 512
	}
	if h.LongBatch == 0 {
		h.LongBatch = 4
	}
	t.Run("GenerateBeforeLoad", h.testGenerateBeforeLoad)
	t.Run("CloseWithoutLoad", h.testCloseWithoutLoad)
	t.Run("CloseTwice", h.testCloseTwice)
	t.Run("Completions", h.testCompletions)
	t.Run("ExactOutputLength", h.testExactOutputLength)
	t.Run("Cancel", h.testCancel)
}

// prompts is a batch whose ids are not in sorted order, so an engine that
// sorts, maps or reorders its completions is caught. The second prompt asks
// for fewer tokens than the batch.
func (h Harness) prompts() []engine.Prompt {
	ids := []string{"q2", "a0", "z9", "m1"}
	out := make([]engine.Prompt, len(ids))
	for i, id := range ids {
		out[i] = engine.Prompt{ID: id, Text: fmt.Sprintf("Prompt %s number %d asks about the energy of inference", id, i)}
	}
	out[1].MaxNewTokens = max(1, h.MaxNewTokens/2)
	return out
}

// load returns a loaded engine, closed when the test ends.
func (h Harness) load(t *testing.T) (engine.Engine, engine.LoadInfo) {
	t.Helper()
	e := h.New()
	info, err := e.Load(context.Background(), h.Config)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e, info
}

func (h Harness) testGenerateBeforeLoad(t *testing.T) {
	e := h.New()
	out, err := e.Generate(context.Background(), h.prompts(), engine.GenParams{MaxNewTokens: h.MaxNewTokens})
	if err == nil {
		t.Fatalf("Generate before Load returned %d completions and no error", len(out))
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close after a refused Generate: %v", err)
	}
}

func (h Harness) testCloseWithoutLoad(t *testing.T) {
	e := h.New()
	for i := range 2 {
		if err := e.Close(); err != nil {
			t.Fatalf("Close %d without Load: %v", i+1, err)
		}
	}
}

func (h Harness) testCloseTwice(t *testing.T) {
	e := h.New()
	if _, err := e.Load(context.Background(), h.Config); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// testCompletions checks what holds for every engine and every setting:
// one completion per prompt, in order, with times inside the request.
func (h Harness) testCompletions(t *testing.T) {
	e, _ := h.load(t)
	batch := h.prompts()
	p := engine.GenParams{MaxNewTokens: h.MaxNewTokens, Strategy: "greedy", RepetitionPenalty: 1, Seed: 1}
	out := h.generate(t, e, batch, p)
	for i, c := range out {
		if n := asked(batch[i], p); c.OutputTokens > n {
			t.Errorf("%s: %d output tokens, more than the %d asked", c.PromptID, c.OutputTokens, n)
		}
	}
}

// testExactOutputLength checks that an engine claiming exact output
// lengths gives each prompt exactly what it asked, whether the batch asks
// through IgnoreEOS or MinNewTokens, and when a prompt's own MaxNewTokens
// is below the batch's MinNewTokens.
func (h Harness) testExactOutputLength(t *testing.T) {
	e, info := h.load(t)
	if !info.ExactOutputLength {
		t.Skip("the engine does not claim exact output lengths (LoadInfo.ExactOutputLength false)")
	}
	n := h.MaxNewTokens
	for _, tt := range []struct {
		name string
		p    engine.GenParams
	}{
		{"IgnoreEOS", engine.GenParams{MaxNewTokens: n, IgnoreEOS: true}},
		{"MinNewTokens", engine.GenParams{MaxNewTokens: n, MinNewTokens: n}},
		{"IgnoreEOSSampling", engine.GenParams{MaxNewTokens: n, IgnoreEOS: true, Strategy: "sampling", Temperature: 1, TopP: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p.Strategy == "" {
				p.Strategy = "greedy"
			}
			p.RepetitionPenalty, p.Seed = 1, 7
			batch := h.prompts()
			out := h.generate(t, e, batch, p)
			for i, c := range out {
				if want := asked(batch[i], p); c.OutputTokens != want {
					t.Errorf("%s: %d output tokens, want exactly %d (finish reason %q)", c.PromptID, c.OutputTokens, want, c.FinishReason)
				}
			}
		})
	}
}

// asked is the output length a prompt asks for.
func asked(pr engine.Prompt, p engine.GenParams) int {
	if pr.MaxNewTokens > 0 {
		return pr.MaxNewTokens
	}
	return p.MaxNewTokens
}

// generate runs one batch and checks the invariants every completion
// holds: same ids in the same order, positive prompt and output counts,
// one id per output token where ids are returned, and token times
// non-decreasing inside [Start, Start+End] with Start inside the call.
func (h Harness) generate(t *testing.T, e engine.Engine, batch []engine.Prompt, p engine.GenParams) []engine.Completion {
	t.Helper()
	before := time.Now()
	out, err := e.Generate(context.Background(), batch, p)
	after := time.Now()
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(out) != len(batch) {
		t.Fatalf("%d completions for %d prompts", len(out), len(batch))
	}
	for i, c := range out {
		if c.PromptID != batch[i].ID {
			t.Errorf("completion %d is for prompt %q, want %q (same order as the batch)", i, c.PromptID, batch[i].ID)
		}
		if c.PromptTokens <= 0 {
			t.Errorf("%s: PromptTokens = %d, want > 0", c.PromptID, c.PromptTokens)
		}
		if c.OutputTokens <= 0 {
			t.Errorf("%s: OutputTokens = %d, want > 0", c.PromptID, c.OutputTokens)
		}
		if c.TokenIDs != nil && len(c.TokenIDs) != c.OutputTokens {
			t.Errorf("%s: %d token ids for %d output tokens", c.PromptID, len(c.TokenIDs), c.OutputTokens)
		}
		checkTimes(t, c, before, after)
	}
	return out
}

// checkTimes checks one completion's times against the call's bounds.
func checkTimes(t *testing.T, c engine.Completion, before, after time.Time) {
	t.Helper()
	if c.Start.Before(before) || c.Start.After(after) {
		t.Errorf("%s: Start %v is outside the Generate call [%v, %v]", c.PromptID, c.Start, before, after)
	}
	if end := c.Start.Add(c.End); c.End <= 0 || end.After(after) {
		t.Errorf("%s: End %v is not after Start, or ends after Generate returned (%v past it)", c.PromptID, c.End, end.Sub(after))
	}
	if c.OutputTokens > 0 && len(c.TokenTimes) == 0 {
		t.Errorf("%s: %d output tokens but no token times (no TTFT)", c.PromptID, c.OutputTokens)
	}
	if len(c.TokenTimes) > c.OutputTokens {
		t.Errorf("%s: %d token times for %d output tokens", c.PromptID, len(c.TokenTimes), c.OutputTokens)
	}
	for j, d := range c.TokenTimes {
		if d <= 0 || d > c.End || (j > 0 && d < c.TokenTimes[j-1]) {
			t.Errorf("%s: token time %d = %v: want 0 < times ≤ End (%v), non-decreasing; all: %v", c.PromptID, j, d, c.End, c.TokenTimes)
			return
		}
	}
}

// testCancel checks that a cancelled context ends Generate promptly with
// an error that wraps context.Canceled, both when it is cancelled before
// the call (the engine then still works) and in the middle of a long
// batch, and that Close still works after either.
func (h Harness) testCancel(t *testing.T) {
	t.Run("Before", func(t *testing.T) {
		e, _ := h.load(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		h.expectCancelled(t, e, ctx, time.Now())
		// Nothing was started, so nothing needs undoing: the engine
		// still serves the next batch.
		h.generate(t, e, h.prompts(), engine.GenParams{MaxNewTokens: h.MaxNewTokens, Strategy: "greedy", RepetitionPenalty: 1})
	})
	t.Run("MidFlight", func(t *testing.T) {
		e, _ := h.load(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		timer := time.AfterFunc(cancelAfter, cancel)
		defer timer.Stop()
		h.expectCancelled(t, e, ctx, start.Add(cancelAfter))
	})
}

// expectCancelled runs the long batch under ctx and wants it to end with
// context.Canceled within returnBound of cancelledAt.
func (h Harness) expectCancelled(t *testing.T, e engine.Engine, ctx context.Context, cancelledAt time.Time) {
	t.Helper()
	batch := make([]engine.Prompt, h.LongBatch)
	for i := range batch {
		batch[i] = engine.Prompt{ID: fmt.Sprint("long", i), Text: fmt.Sprintf("Long prompt number %d asks about the energy of inference", i), MaxNewTokens: h.LongOutput}
	}
	p := engine.GenParams{MaxNewTokens: h.LongOutput, IgnoreEOS: true, Strategy: "greedy", RepetitionPenalty: 1}
	type res struct {
		out []engine.Completion
		err error
	}
	done := make(chan res, 1)
	go func() {
		out, err := e.Generate(ctx, batch, p)
		done <- res{out, err}
	}()
	var r res
	select {
	case r = <-done:
	case <-time.After(time.Until(cancelledAt) + returnBound):
		// The goroutine still runs Generate: wait for it so Close (in
		// cleanup) does not race it, but fail now.
		t.Errorf("Generate had not returned %v after its context was cancelled", returnBound)
		r = <-done
		t.Fatalf("Generate returned after all, %v after the cancel: %v", time.Since(cancelledAt), r.err)
	}
	if late := time.Since(cancelledAt); late > returnBound {
		t.Errorf("Generate returned %v after its context was cancelled, want < %v", late, returnBound)
	}
	if r.err == nil {
		t.Fatalf("Generate under a cancelled context returned %d completions and no error; if the batch simply finished before the cancel, raise Harness.LongOutput or LongBatch", len(r.out))
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Generate's error does not wrap context.Canceled: %v", r.err)
	}
}
