package harness

import (
	"math"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// TestInFlightSharesKnownNumbers: energy grows 1 J per ms; A (10 prompt
// tokens) has tokens at 100, 200, 300 ms and B (30) at 100…500 ms. Prefill
// (100 J) goes 1:3; the steps to 300 ms are shared, the last two are B's.
func TestInFlightSharesKnownNumbers(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	comps := []engine.Completion{
		{PromptID: "a", PromptTokens: 10, OutputTokens: 3, TokenTimes: []time.Duration{ms(100), ms(200), ms(300)}, End: ms(300)},
		{PromptID: "b", PromptTokens: 30, OutputTokens: 5, TokenTimes: []time.Duration{ms(100), ms(200), ms(300), ms(400), ms(500)}, End: ms(500)},
	}
	linear := func(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	shares, ok := inFlightShares(comps, time.Time{}, linear, 500)
	if !ok {
		t.Fatal("no shares")
	}
	near("A", shares[0], 25+50+50)
	near("B", shares[1], 75+50+50+100+100)
	// A tail after the last token is shared in proportion: 600 J.
	shares, _ = inFlightShares(comps, time.Time{}, linear, 600)
	near("A with tail", shares[0], 125*1.2)
	near("B with tail", shares[1], 375*1.2)
	// A request submitted 50 ms after the window opened (a server load)
	// has token times from its own submission: the same tokens, the same
	// shares.
	origin := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	comps[0].Start = origin
	comps[1].Start = origin.Add(ms(50))
	comps[1].TokenTimes = []time.Duration{ms(50), ms(150), ms(250), ms(350), ms(450)}
	shares, _ = inFlightShares(comps, origin, linear, 500)
	near("A, B staggered", shares[0], 125)
	if first, ok := firstToken(comps, origin); !ok || first != ms(100) {
		t.Errorf("first token at %v, want 100ms from the window's start", first)
	}
	comps[1].TokenTimes = nil
	if _, ok := inFlightShares(comps, time.Time{}, linear, 500); ok {
		t.Error("shares without token times")
	}

	reqs := []results.RequestRecord{{EnergyJ: 187.5, EnergyInFlightJ: new(125.0)}, {EnergyJ: 312.5, EnergyInFlightJ: new(375.0)}, {EnergyJ: 10}}
	s := summarizeAttribution(reqs)
	if s == nil || s.N != 2 {
		t.Fatalf("summary %+v", s)
	}
	near("mean difference", s.MeanAbsDifferencePct, (100.0/3+20)/2)
	near("max difference", s.MaxAbsDifferencePct, 100.0/3)
	if summarizeAttribution(reqs[2:]) != nil {
		t.Error("a summary without in-flight shares")
	}
}

// BenchmarkInFlightShares is the attribution's cost for a batch of 32
// requests of 256 tokens (what it adds to a run, once per batch).
func BenchmarkInFlightShares(b *testing.B) {
	comps := make([]engine.Completion, 32)
	for i := range comps {
		times := make([]time.Duration, 256)
		for k := range times {
			times[k] = time.Duration(k+1) * time.Millisecond
		}
		comps[i] = engine.Completion{PromptTokens: 64, OutputTokens: 256, TokenTimes: times, End: times[255]}
	}
	linear := func(t time.Duration) float64 { return t.Seconds() }
	for b.Loop() {
		if _, ok := inFlightShares(comps, time.Time{}, linear, 1); !ok {
			b.Fatal("no shares")
		}
	}
}
