package harness

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/openai"
	"github.com/llenergymeasure/llem/results"
)

// TestInFlightSharesKnownNumbers: energy grows 1 J per ms; A (10 prompt
// tokens) has tokens at 100, 200, 300 ms and B (30) at 100…500 ms. The
// piece to the first tokens (prefill, 100 J) goes 1:3 by prompt; the steps
// to 300 ms are shared, the last two are B's.
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
	// An engine that prefills its prompts one after the other: B's first
	// token comes 100 ms after A's, and that piece is B's prefill, not A's
	// decode. Equal requests, equal shares.
	seq := []engine.Completion{
		{PromptTokens: 10, OutputTokens: 3, TokenTimes: []time.Duration{ms(100), ms(300), ms(400)}, End: ms(400)},
		{PromptTokens: 10, OutputTokens: 3, TokenTimes: []time.Duration{ms(200), ms(300), ms(400)}, End: ms(400)},
	}
	shares, _ = inFlightShares(seq, time.Time{}, linear, 400)
	near("A, sequential prefill", shares[0], 200)
	near("B, sequential prefill", shares[1], 200)
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

// TestSteadyWindow: three requests submitted at 0, 100 and 200 ms, ending
// at 600, 700 and 800 ms: three in flight from 200 to 600 ms, the steady
// state; 1 J per ms gives 400 J over the tokens that arrived inside.
func TestSteadyWindow(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	origin := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var comps []engine.Completion
	for i := range 3 {
		var times []time.Duration
		for k := 1; k <= 6; k++ {
			times = append(times, ms(100*k))
		}
		comps = append(comps, engine.Completion{Start: origin.Add(ms(100 * i)), TokenTimes: times, End: ms(600), OutputTokens: 6})
	}
	from, to, level, ok := steadyWindow(comps, origin)
	if !ok || from != ms(200) || to != ms(600) || level != 3 {
		t.Fatalf("steady window %v–%v at %d (%v), want 200ms–600ms at 3", from, to, level, ok)
	}
	b := batchWindow{Start: origin, Completions: comps, DurationS: 0.8,
		Domains: []domainEnergy{{TotalJ: 800, Cumulative: []energy.EnergyPoint{{At: 0, Energy: 0}, {At: ms(800), Energy: 800 * energy.Joule}}}}}
	s := steadyState([]batchWindow{b})
	// Tokens arrive 100 ms apart from each request's submission + 100 ms;
	// in (200, 600] each request has those at 300, 400, 500 and 600 ms.
	if s == nil || math.Abs(s.EnergyJ-400) > 1e-6 || s.DurationS != 0.4 || s.Concurrency != 3 || s.OutputTokens != 12 || math.Abs(s.PerOutputTokenJ-400.0/12) > 1e-9 {
		t.Fatalf("steady state %+v", s)
	}
	// One request at a time never reaches a steady level of 2.
	if _, _, _, ok := steadyWindow(comps[:1], origin); ok {
		t.Error("a steady window for one request")
	}
}

// TestSteadyStateOnLlamaServer: a serving load on a real llama-server (4
// slots, 4 requests in flight at a time) has a steady state beside the
// whole window, and every request both attributions.
func TestSteadyStateOnLlamaServer(t *testing.T) {
	bin := os.Getenv("LLEM_TEST_LLAMACPP")
	if bin == "" {
		t.Skip("LLEM_TEST_LLAMACPP is not set (a llama.cpp build; .ci/run builds one)")
	}
	dir := t.TempDir()
	base := startLlamaServer(t, bin, dir, 4)
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend, cfg.N = "stories15M", config.BackendOpenAI, 16
	cfg.Dataset.InputLen, cfg.Dataset.OutputLen = 16, 32
	conc := 4
	cfg.OpenAI = &config.OpenAIConfig{BaseURL: base + "/v1", Concurrency: &conc}
	cfg.Baseline.Enabled, cfg.Warmup.Enabled = false, false
	config.ApplyDefaults(&cfg)
	res, err := Run(context.Background(), cfg, Options{
		NewEngine:        func(config.ExperimentConfig) (engine.Engine, error) { return openai.New(), nil },
		SamplingInterval: 50 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Energy
	s := e.SteadyState
	if s == nil || s.Concurrency < 2 || s.Concurrency > 4 || s.EnergyJ <= 0 || s.EnergyJ > e.TotalJ || s.OutputTokens <= 0 || s.PerOutputTokenJ <= 0 || s.DurationS > e.DurationS {
		t.Fatalf("steady state %+v of a %v J, %v s window", s, e.TotalJ, e.DurationS)
	}
	if e.Attribution == nil || e.Attribution.N != 16 || e.Phases == nil {
		t.Errorf("attribution %+v, phases %+v", e.Attribution, e.Phases)
	}
	t.Logf("whole window %.4g J/token, steady state %.4g J/token over %.2f of %.2f s at %d in flight",
		e.PerOutputTokenJ, s.PerOutputTokenJ, s.DurationS, e.DurationS, s.Concurrency)
}
