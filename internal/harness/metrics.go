package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// bootstrapMinN is the smallest sample for which per-request bootstrap CIs
// are computed (UPSTREAM: only when n ≥ 30).
const bootstrapMinN = 30

// bootstrapResamples is the number of bootstrap resamples (UPSTREAM: 1,000).
const bootstrapResamples = 1000

// domainEnergy is one domain's energy over one measured batch window.
type domainEnergy struct {
	Kind, Name  string
	Index       int
	Source      string
	TotalJ      float64
	CounterJ    *float64
	IntegratedJ *float64
	// Cumulative is the domain's energy at the readings inside the window
	// (energy.DomainWindow.Cumulative).
	Cumulative []energy.EnergyPoint
}

// batchWindow is one measured batch: what the engine returned and the energy
// of the window around it.
type batchWindow struct {
	// Start is when the window opened: the origin of the split and the
	// attribution (completions' token times are offsets from their own
	// submission).
	Start       time.Time
	Completions []engine.Completion
	DurationS   float64
	Domains     []domainEnergy
	// SensorPeriodS is the longest update period of the window's sensors.
	SensorPeriodS float64
}

// baselinePower is the idle power per domain measured before the model loaded.
type baselinePower struct {
	// PerDomainW is keyed by domainKey(kind, index).
	PerDomainW map[string]float64
	TotalW     float64
	StdW       float64
}

func domainKey(kind string, index int) string { return fmt.Sprintf("%s/%d", kind, index) }

// computeMetrics turns measured batch windows into the result's energy,
// throughput, latency and per-request records. It is a pure function of its
// inputs so it is tested with known numbers.
func computeMetrics(batches []batchWindow, base baselinePower, seed uint64) (results.EnergyMetrics, results.ThroughputStats, results.LatencyStats, []results.RequestRecord) {
	var (
		em       results.EnergyMetrics
		tp       results.ThroughputStats
		lat      results.LatencyStats
		requests []results.RequestRecord
		ttft     []float64
		itl      []float64
		tpot     []float64
		e2e      []float64
	)
	domains := map[string]*results.DomainEnergy{}
	var order []string
	for bi, b := range batches {
		em.DurationS += b.DurationS
		var batchJ float64
		for _, d := range b.Domains {
			k := domainKey(d.Kind, d.Index)
			de, ok := domains[k]
			if !ok {
				de = &results.DomainEnergy{Kind: d.Kind, Index: d.Index, Name: d.Name, Source: d.Source}
				domains[k] = de
				order = append(order, k)
			}
			de.TotalJ += d.TotalJ
			de.CounterJ = addOptional(de.CounterJ, d.CounterJ)
			de.IntegratedJ = addOptional(de.IntegratedJ, d.IntegratedJ)
			batchJ += d.TotalJ
		}
		tp.Batches++
		if len(b.Completions) > tp.BatchSize {
			tp.BatchSize = len(b.Completions)
		}
		// A request's energy is its share of the batch window by output
		// tokens: the decode steps it kept the batch busy for; and by the
		// work it had in flight (attribution.go).
		var batchOut int
		for _, c := range b.Completions {
			batchOut += c.OutputTokens
		}
		inFlight, hasInFlight := inFlightShares(b.Completions, b.Start, energyCurve(b), batchJ)
		for ci, c := range b.Completions {
			tp.Requests++
			tp.InputTokens += c.PromptTokens
			tp.OutputTokens += c.OutputTokens
			rec := results.RequestRecord{
				PromptID:     c.PromptID,
				Batch:        bi,
				InputTokens:  c.PromptTokens,
				OutputTokens: c.OutputTokens,
				E2ES:         c.End.Seconds(),
			}
			if batchOut > 0 {
				rec.EnergyJ = batchJ * float64(c.OutputTokens) / float64(batchOut)
			}
			if hasInFlight {
				rec.EnergyInFlightJ = new(inFlight[ci])
			}
			if len(c.TokenIDs) > 0 {
				rec.OutputIDsSHA256 = results.TokenIDsSHA256(c.TokenIDs)
				rec.OutputTokenIDs = slices.Clone(c.TokenIDs[:min(len(c.TokenIDs), results.MaxRecordedTokenIDs)])
			}
			if c.Text != "" {
				sum := sha256.Sum256([]byte(c.Text))
				rec.OutputTextSHA256 = hex.EncodeToString(sum[:])
			}
			e2e = append(e2e, c.End.Seconds())
			if len(c.TokenTimes) > 0 {
				rec.TokenTimes = results.EncodeTokenTimes(c.TokenTimes)
				rec.TTFTS = c.TokenTimes[0].Seconds()
				ttft = append(ttft, rec.TTFTS)
				var gaps []float64
				for i := 1; i < len(c.TokenTimes); i++ {
					gaps = append(gaps, (c.TokenTimes[i] - c.TokenTimes[i-1]).Seconds())
				}
				itl = append(itl, gaps...)
				if len(gaps) > 0 {
					rec.MeanITLS = stats.Mean(gaps)
				}
				// TPOT as vLLM's benchmark defines it: the time after the
				// first token, per output token after the first.
				if c.OutputTokens > 1 {
					rec.TPOTS = (c.End - c.TokenTimes[0]).Seconds() / float64(c.OutputTokens-1)
					tpot = append(tpot, rec.TPOTS)
				}
			}
			requests = append(requests, rec)
		}
	}

	for _, k := range order {
		de := domains[k]
		de.BaselineW = base.PerDomainW[k]
		de.AdjustedJ = de.TotalJ - de.BaselineW*em.DurationS
		em.Domains = append(em.Domains, *de)
		em.TotalJ += de.TotalJ
	}
	em.BaselinePowerW = base.TotalW
	em.BaselineStdW = base.StdW
	em.AdjustedJ = em.TotalJ - base.TotalW*em.DurationS
	if em.DurationS > 0 {
		em.AvgPowerW = em.TotalJ / em.DurationS
		tp.OutputTokensPerS = float64(tp.OutputTokens) / em.DurationS
		tp.TotalTokensPerS = float64(tp.InputTokens+tp.OutputTokens) / em.DurationS
		tp.RequestsPerS = float64(tp.Requests) / em.DurationS
	}
	if tp.OutputTokens > 0 {
		em.PerOutputTokenJ = em.TotalJ / float64(tp.OutputTokens)
	}
	if tp.Requests > 0 {
		em.PerRequestJ = em.TotalJ / float64(tp.Requests)
	}
	if n := tp.InputTokens + tp.OutputTokens; n > 0 {
		em.PerTokenJ = em.TotalJ / float64(n)
	}
	if len(requests) >= bootstrapMinN {
		perTok := make([]float64, 0, len(requests))
		for _, r := range requests {
			if r.OutputTokens > 0 {
				perTok = append(perTok, r.EnergyJ/float64(r.OutputTokens))
			}
		}
		if len(perTok) >= bootstrapMinN {
			lo, hi := stats.BootstrapMeanCI95(perTok, bootstrapResamples, seed)
			em.PerOutputTokenCI = &results.ConfidenceInterval{Low: lo, High: hi, Method: "bootstrap percentile, 1000 resamples of per-request J/output token", N: len(perTok)}
		}
	}

	em.Phases = phaseEnergy(batches, em.TotalJ, tp)
	em.Attribution = summarizeAttribution(requests)

	lat.TTFT = distribution(ttft, seed)
	lat.ITL = distribution(itl, seed)
	lat.TPOT = distribution(tpot, seed)
	lat.E2E = distribution(e2e, seed)
	return em, tp, lat, requests
}

func addOptional(sum, v *float64) *float64 {
	if v == nil {
		return sum
	}
	if sum == nil {
		x := *v
		return &x
	}
	x := *sum + *v
	return &x
}

// distribution summarises a latency sample; CIs of the mean only when the
// sample is large enough for the bootstrap to mean something.
func distribution(xs []float64, seed uint64) results.Distribution {
	if len(xs) == 0 {
		return results.Distribution{}
	}
	d := results.Distribution{
		N:    len(xs),
		Mean: stats.Mean(xs),
		P50:  stats.Percentile(xs, 50),
		P90:  stats.Percentile(xs, 90),
		P99:  stats.Percentile(xs, 99),
		Min:  stats.Percentile(xs, 0),
		Max:  stats.Percentile(xs, 100),
	}
	if len(xs) >= bootstrapMinN {
		lo, hi := stats.BootstrapMeanCI95(xs, bootstrapResamples, seed)
		d.CI = &results.ConfidenceInterval{Low: lo, High: hi, Method: "bootstrap percentile, 1000 resamples", N: len(xs)}
	}
	return d
}

// computeCompute fills FLOPs reference metadata and MFU where the device
// peak is known.
func computeCompute(info engine.LoadInfo, tp results.ThroughputStats, durationS float64) results.ComputeMetrics {
	cm := results.ComputeMetrics{FLOPsPerToken: info.FLOPsPerToken, FLOPsMethod: info.FLOPsMethod}
	// Every processed token (prompt and generated) costs one forward pass
	// worth of FLOPs at zero context; attention over the context is ignored,
	// as the method name says.
	cm.FLOPsTotal = info.FLOPsPerToken * float64(tp.InputTokens+tp.OutputTokens)
	if info.PeakFLOPS > 0 && durationS > 0 {
		cm.MFU = cm.FLOPsTotal / durationS / info.PeakFLOPS
	}
	return cm
}

// computeCarbon converts energy to emissions given user-config context:
// kWh × PUE × gCO2/kWh. It returns nil when no carbon intensity is set.
func computeCarbon(totalJ, pue, intensity float64, location string) *results.CarbonMetrics {
	if intensity <= 0 {
		return nil
	}
	if pue <= 0 {
		pue = 1
	}
	kwh := totalJ / 3.6e6
	return &results.CarbonMetrics{
		EnergyKWh:           kwh,
		PUE:                 pue,
		CarbonIntensityGKWh: intensity,
		Location:            location,
		EmissionsG:          kwh * pue * intensity,
	}
}

// phaseEnergy sums the batches' prefill and decode energy, each batch split
// at its first token on its energy curve, or is nil when a batch has no
// split (no token times).
func phaseEnergy(batches []batchWindow, totalJ float64, tp results.ThroughputStats) *results.PhaseEnergy {
	if len(batches) == 0 {
		return nil
	}
	var ph results.PhaseEnergy
	firstTokens := 0
	for _, b := range batches {
		first, ok := firstToken(b.Completions, b.Start)
		if !ok {
			return nil
		}
		prefillS := min(first.Seconds(), b.DurationS)
		ph.PrefillS += prefillS
		ph.DecodeS += b.DurationS - prefillS
		ph.SensorPeriodS = max(ph.SensorPeriodS, b.SensorPeriodS)
		ph.PrefillJ += energyCurve(b)(first)
		for _, c := range b.Completions {
			if c.OutputTokens > 0 {
				firstTokens++
			}
		}
	}
	ph.DecodeJ = totalJ - ph.PrefillJ
	if tp.InputTokens > 0 {
		ph.PrefillPerInputTokenJ = ph.PrefillJ / float64(tp.InputTokens)
	}
	if n := tp.OutputTokens - firstTokens; n > 0 {
		ph.DecodePerOutputTokenJ = ph.DecodeJ / float64(n)
	}
	return &ph
}
