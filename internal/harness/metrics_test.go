package harness

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func ptr(x float64) *float64 { return &x }

func TestComputeMetricsKnownNumbers(t *testing.T) {
	// Two batches on one GPU domain: 100 J over 2 s, then 60 J over 1 s.
	// Baseline 10 W → adjusted = 160 − 10×3 = 130 J.
	batches := []batchWindow{
		{
			DurationS: 2,
			Domains:   []domainEnergy{{Kind: "gpu", Index: 0, Source: "nvml_energy_counter", TotalJ: 100, CounterJ: ptr(100), IntegratedJ: ptr(98)}},
			Completions: []engine.Completion{
				{PromptID: "a", PromptTokens: 10, OutputTokens: 30, TokenTimes: []time.Duration{ms(100), ms(200), ms(400)}, End: ms(1900)},
				{PromptID: "b", PromptTokens: 20, OutputTokens: 10, TokenTimes: []time.Duration{ms(300), ms(400)}, End: ms(2000)},
			},
		},
		{
			DurationS: 1,
			Domains:   []domainEnergy{{Kind: "gpu", Index: 0, Source: "nvml_energy_counter", TotalJ: 60, CounterJ: ptr(60), IntegratedJ: ptr(61)}},
			Completions: []engine.Completion{
				{PromptID: "c", PromptTokens: 10, OutputTokens: 20, TokenTimes: []time.Duration{ms(50)}, End: ms(1000)},
			},
		},
	}
	base := baselinePower{PerDomainW: map[string]float64{"gpu/0": 10}, TotalW: 10}
	em, tp, lat, reqs := computeMetrics(batches, base, 1)

	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("TotalJ", em.TotalJ, 160)
	near("AdjustedJ", em.AdjustedJ, 130)
	near("DurationS", em.DurationS, 3)
	near("PerOutputTokenJ", em.PerOutputTokenJ, 160.0/60)
	near("PerRequestJ", em.PerRequestJ, 160.0/3)
	near("PerTokenJ", em.PerTokenJ, 160.0/100)
	near("AvgPowerW", em.AvgPowerW, 160.0/3)
	if len(em.Domains) != 1 {
		t.Fatalf("domains: %+v", em.Domains)
	}
	near("domain counter", *em.Domains[0].CounterJ, 160)
	near("domain integrated", *em.Domains[0].IntegratedJ, 159)
	near("domain adjusted", em.Domains[0].AdjustedJ, 130)

	if tp.Requests != 3 || tp.InputTokens != 40 || tp.OutputTokens != 60 || tp.Batches != 2 || tp.BatchSize != 2 {
		t.Errorf("throughput counts: %+v", tp)
	}
	near("OutputTokensPerS", tp.OutputTokensPerS, 20)
	near("TotalTokensPerS", tp.TotalTokensPerS, 100.0/3)

	// TTFTs 0.1, 0.3, 0.05; ITLs 0.1, 0.2, 0.1.
	near("TTFT mean", lat.TTFT.Mean, 0.15)
	near("TTFT p50", lat.TTFT.P50, 0.1)
	near("ITL mean", lat.ITL.Mean, 0.4/3)
	near("E2E max", lat.E2E.Max, 2)
	// TPOT (E2E − TTFT)/(output − 1): a 1.8/29, b 1.7/9, c 0.95/19.
	near("req b TPOT", reqs[1].TPOTS, 1.7/9)
	near("TPOT mean", lat.TPOT.Mean, (1.8/29+1.7/9+0.95/19)/3)
	if lat.TPOT.N != 3 {
		t.Errorf("TPOT n = %d, want 3", lat.TPOT.N)
	}
	if lat.TTFT.CI != nil {
		t.Error("no CI expected below 30 samples")
	}

	// Request energy: batch 1 split 30:10 by output tokens.
	near("req a J", reqs[0].EnergyJ, 75)
	near("req b J", reqs[1].EnergyJ, 25)
	near("req c J", reqs[2].EnergyJ, 60)
	near("req a mean ITL", reqs[0].MeanITLS, 0.15)
}

// TestTokenTimesRecomputeLatency checks that the token times stored per
// request give back, exactly, every TTFT and ITL figure of the run.
func TestTokenTimesRecomputeLatency(t *testing.T) {
	batches := make([]batchWindow, 1)
	batches[0].DurationS = 5
	for i := range 40 {
		var times []time.Duration
		at := time.Duration(50+i*7)*time.Millisecond + time.Duration(i*i)*time.Nanosecond
		for k := range 1 + i%9 {
			at += time.Duration(3+(i*k)%11)*time.Millisecond + time.Duration(k)*time.Microsecond
			times = append(times, at)
		}
		batches[0].Completions = append(batches[0].Completions, engine.Completion{PromptID: fmt.Sprint(i), OutputTokens: len(times), TokenTimes: times, End: at})
	}
	_, _, lat, reqs := computeMetrics(batches, baselinePower{}, 3)
	var ttft, itl []float64
	for i, r := range reqs {
		times, err := results.DecodeTokenTimes(r.TokenTimes)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if !slices.Equal(times, batches[0].Completions[i].TokenTimes) {
			t.Fatalf("request %d: decoded %v, recorded %v", i, times, batches[0].Completions[i].TokenTimes)
		}
		ttft = append(ttft, times[0].Seconds())
		for k := 1; k < len(times); k++ {
			itl = append(itl, (times[k] - times[k-1]).Seconds())
		}
	}
	for _, c := range []struct {
		name string
		d    results.Distribution
		xs   []float64
	}{{"TTFT", lat.TTFT, ttft}, {"ITL", lat.ITL, itl}} {
		for _, p := range []struct {
			q         float64
			got, want float64
		}{{50, stats.Percentile(c.xs, 50), c.d.P50}, {90, stats.Percentile(c.xs, 90), c.d.P90}, {99, stats.Percentile(c.xs, 99), c.d.P99}} {
			if p.got != p.want {
				t.Errorf("%s p%g from stored token times %v, in the result %v", c.name, p.q, p.got, p.want)
			}
		}
		if len(c.xs) != c.d.N {
			t.Errorf("%s: %d values from token times, result has n = %d", c.name, len(c.xs), c.d.N)
		}
	}
	if s := reqs[0].TokenTimes; len(s) > 8*len(batches[0].Completions[0].TokenTimes)+4 {
		t.Errorf("token times %q take %d characters for %d tokens: not compact", s, len(s), len(batches[0].Completions[0].TokenTimes))
	}
}

func TestComputeMetricsBootstrapFromThirtyRequests(t *testing.T) {
	var comps []engine.Completion
	for i := range 40 {
		comps = append(comps, engine.Completion{PromptID: "p", PromptTokens: 5, OutputTokens: 10 + i%3, TokenTimes: []time.Duration{ms(10 + i)}, End: ms(100 + i)})
	}
	batches := []batchWindow{{DurationS: 4, Completions: comps, Domains: []domainEnergy{{Kind: "cpu", Source: "estimated", TotalJ: 40}}}}
	em, _, lat, _ := computeMetrics(batches, baselinePower{}, 7)
	if em.PerOutputTokenCI == nil || lat.TTFT.CI == nil {
		t.Fatal("expected bootstrap CIs with 40 requests")
	}
	if !(em.PerOutputTokenCI.Low <= em.PerOutputTokenJ && em.PerOutputTokenJ <= em.PerOutputTokenCI.High*1.05) {
		t.Errorf("CI %+v far from point estimate %v", em.PerOutputTokenCI, em.PerOutputTokenJ)
	}
	if !(lat.TTFT.CI.Low <= lat.TTFT.Mean && lat.TTFT.Mean <= lat.TTFT.CI.High) {
		t.Errorf("TTFT CI %+v does not contain mean %v", lat.TTFT.CI, lat.TTFT.Mean)
	}
}

func TestComputeCarbon(t *testing.T) {
	if computeCarbon(3.6e6, 1.5, 0, "") != nil {
		t.Error("no intensity should give no carbon figure")
	}
	c := computeCarbon(3.6e6, 1.5, 400, "GB")
	if c.EnergyKWh != 1 || c.EmissionsG != 600 || c.Location != "GB" {
		t.Errorf("carbon %+v", c)
	}
}

func TestPeakGPUMemory(t *testing.T) {
	gpu := func(i int, mb float64) energy.SampleDomain {
		return energy.SampleDomain{Domain: energy.Domain{Kind: energy.DomainGPU, Index: i}, HasGPUStats: true, MemoryUsedMB: mb}
	}
	cpu := energy.SampleDomain{Domain: energy.Domain{Kind: energy.DomainCPU}}
	samples := []energy.Sample{
		{Domains: []energy.SampleDomain{gpu(0, 1000), gpu(1, 500), cpu}},
		{Domains: []energy.SampleDomain{gpu(0, 1200), gpu(1, 700), cpu}},
		{Domains: []energy.SampleDomain{gpu(0, 1100), gpu(1, 900), cpu}},
	}
	domains := []results.DomainEnergy{{Kind: "gpu", Index: 0}, {Kind: "gpu", Index: 1}, {Kind: "cpu"}}
	if got := peakGPUMemory(samples, domains); got != 2000 {
		t.Errorf("peak total %v, want 2000 (1100+900 at the third sample)", got)
	}
	if domains[0].PeakMemoryMB != 1200 || domains[1].PeakMemoryMB != 900 || domains[2].PeakMemoryMB != 0 {
		t.Errorf("per-domain peaks %+v", domains)
	}
}

// TestPhaseEnergyKnownNumbers: prefill and decode energy sum to the total,
// per input token and per output token after each request's first.
func TestPhaseEnergyKnownNumbers(t *testing.T) {
	// Each domain's cumulative energy has a reading at its batch's first
	// token (0.5 s, then 0.25 s): 40 of 100 J, 5 of 20 J, then 10 of 60 J.
	curve := func(first, end time.Duration, atFirst, total float64) []energy.EnergyPoint {
		return []energy.EnergyPoint{{At: 0}, {At: first, Energy: energy.Energy(atFirst * float64(energy.Joule))}, {At: end, Energy: energy.Energy(total * float64(energy.Joule))}}
	}
	batches := []batchWindow{
		{DurationS: 2, SensorPeriodS: 0.1, Domains: []domainEnergy{
			{Kind: "gpu", TotalJ: 100, Cumulative: curve(ms(500), 2*time.Second, 40, 100)},
			{Kind: "cpu_package", TotalJ: 20, Cumulative: curve(ms(500), 2*time.Second, 5, 20)}},
			Completions: []engine.Completion{{PromptTokens: 10, OutputTokens: 11, TokenTimes: []time.Duration{ms(500)}}, {PromptTokens: 20, OutputTokens: 6, TokenTimes: []time.Duration{ms(600)}}}},
		{DurationS: 1, SensorPeriodS: 0.01, Domains: []domainEnergy{{Kind: "gpu", TotalJ: 60, Cumulative: curve(ms(250), time.Second, 10, 60)}},
			Completions: []engine.Completion{{PromptTokens: 30, OutputTokens: 4, TokenTimes: []time.Duration{ms(250)}}}},
	}
	tp := results.ThroughputStats{InputTokens: 60, OutputTokens: 21}
	ph := phaseEnergy(batches, 180, tp)
	if ph == nil {
		t.Fatal("no phases")
	}
	want := results.PhaseEnergy{PrefillJ: 55, DecodeJ: 125, PrefillS: 0.75, DecodeS: 2.25,
		PrefillPerInputTokenJ: 55.0 / 60, DecodePerOutputTokenJ: 125.0 / 18, SensorPeriodS: 0.1}
	if *ph != want {
		t.Errorf("phases = %+v, want %+v", *ph, want)
	}
	batches[1].Completions[0].TokenTimes = nil // no token times: no split at all
	if ph := phaseEnergy(batches, 180, tp); ph != nil {
		t.Errorf("phases without token times = %+v, want none", *ph)
	}
}
