package results

import "slices"

// Energy sources: where an energy figure came from, stored with every
// figure (EnergyMetrics.Source, each domain, each time-series row). This
// is the one list of their names; the energy package's Source constants
// and every reader compare against these. SourceEstimated is never
// presented as a measurement.
const (
	SourceNVMLCounter     = "nvml_energy_counter"
	SourceNVMLIntegration = "nvml_power_integration"
	SourceRAPL            = "rapl"
	SourceEstimated       = "estimated"
)

// SourceRanking lists the energy sources best first: the order of the
// fallback chain and of "the best source used".
func SourceRanking() []string {
	return []string{SourceNVMLCounter, SourceNVMLIntegration, SourceRAPL, SourceEstimated}
}

// SourceRank is source's position in SourceRanking (0 best), or
// len(SourceRanking()) for a name not in it.
func SourceRank(source string) int {
	if i := slices.Index(SourceRanking(), source); i >= 0 {
		return i
	}
	return len(SourceRanking())
}
