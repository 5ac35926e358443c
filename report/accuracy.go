package report

import (
	"math"
	"strings"

	"github.com/llenergymeasure/llem/results"
)

// SourceAccuracy is the nominal relative accuracy of one energy source: the
// systematic error a reading may carry however many cycles are run.
type SourceAccuracy struct {
	// Source is the energy source, as the tables label it.
	Source string `json:"source"`
	// RelPct is the nominal accuracy as ± percent of the reading, taken as
	// a 95% bound when combined with the cycle spread.
	RelPct float64 `json:"rel_pct"`
	// ResolutionJ is the energy counter's step (0 without a counter): a
	// window's energy is a difference of two readings, each off by up to
	// half a step.
	ResolutionJ float64 `json:"resolution_j"`
	// Basis says where the figure comes from.
	Basis string `json:"basis"`
}

// resolutionOf is the largest counter step among a "+"-joined list of
// sources.
func resolutionOf(sources string, estimated bool) float64 {
	worst := 0.0
	for _, s := range strings.Split(sources, "+") {
		worst = math.Max(worst, accuracyOf(s, estimated).ResolutionJ)
	}
	return worst
}

// sourceAccuracies is llem's one table of nominal energy-source accuracies.
// The figures are nominal: vendors publish bounds for power readings, not
// for energy over a measured window, and a given board may do better or
// worse. Keys are the energy.Source names written in results.
func sourceAccuracies() []SourceAccuracy {
	return []SourceAccuracy{
		{
			Source:      results.SourceNVMLCounter,
			RelPct:      5,
			ResolutionJ: 1e-3, // nvmlDeviceGetTotalEnergyConsumption counts millijoules
			Basis: "NVML API reference, nvmlDeviceGetPowerUsage: readings \"accurate to within +/- 5% of current power draw\"; " +
				"the same sensor feeds nvmlDeviceGetTotalEnergyConsumption, for which no separate bound is published",
		},
		{
			Source: results.SourceNVMLIntegration,
			RelPct: 10,
			Basis: "the NVML ±5% power bound plus the error of integrating a power signal sampled at the sensor's update period; " +
				"10% is llem's conservative nominal figure",
		},
		{
			Source:      results.SourceRAPL,
			RelPct:      10,
			ResolutionJ: 1.0 / (1 << 14), // the common energy status unit, 2⁻¹⁴ J ≈ 61 µJ
			Basis: "Intel publishes no accuracy for RAPL; validation studies against external meters (e.g. Khan et al., " +
				"\"RAPL in Action\", ACM TOMPECS 2018) find close agreement on recent CPUs, with model-based older CPUs worse; " +
				"10% is llem's conservative nominal figure",
		},
		{
			Source: results.SourceEstimated,
			RelPct: 50,
			Basis: "a model (CPU time × TDP share, as CodeCarbon does), not a measurement; no accuracy can be claimed, " +
				"50% is a nominal order-of-magnitude bound",
		},
	}
}

// accuracyOf returns the nominal accuracy of a source. An estimated total
// (even one only partly estimated) takes the estimate's accuracy.
func accuracyOf(source string, estimated bool) SourceAccuracy {
	if estimated {
		source = results.SourceEstimated
	}
	for _, a := range sourceAccuracies() {
		if a.Source == source {
			return a
		}
	}
	return SourceAccuracy{Source: source, RelPct: 50, Basis: "source not in llem's accuracy table; treated like an estimate"}
}
