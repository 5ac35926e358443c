package energy

import (
	"fmt"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// NVML clock throttle reason bits that mean the GPU was slowed by power or
// heat (idle, application clocks, sync boost and display clocks are not).
const (
	throttleSwPowerCap         = 0x4
	throttleHwSlowdown         = 0x8
	throttleSwThermalSlowdown  = 0x20
	throttleHwThermalSlowdown  = 0x40
	throttleHwPowerBrakeSlowdn = 0x80

	// ThrottleMask selects the throttle reasons that count as throttling.
	ThrottleMask uint64 = throttleSwPowerCap | throttleHwSlowdown | throttleSwThermalSlowdown |
		throttleHwThermalSlowdown | throttleHwPowerBrakeSlowdn
)

// ThrottleReasonNames names the throttling bits of an NVML reason mask.
func ThrottleReasonNames(mask uint64) []string {
	names := []struct {
		bit  uint64
		name string
	}{
		{throttleSwPowerCap, "sw_power_cap"},
		{throttleHwSlowdown, "hw_slowdown"},
		{throttleSwThermalSlowdown, "sw_thermal_slowdown"},
		{throttleHwThermalSlowdown, "hw_thermal_slowdown"},
		{throttleHwPowerBrakeSlowdn, "hw_power_brake_slowdown"},
	}
	var out []string
	for _, n := range names {
		if mask&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// EstimatedWarning says energy is an estimate, never a measurement, and on
// what basis it was estimated.
func EstimatedWarning(basis string) results.Warning {
	return results.Warning{Code: results.WarnEnergyEstimated, Message: "energy is ESTIMATED, not measured: no NVML or readable RAPL sensor; " +
		"CPU time × power per logical CPU (" + basis + "); compare only with other estimates"}
}

// PersistenceOffWarning is raised when a GPU runs with persistence mode off
// (the driver may unload between runs, adding load latency and idle drift).
func PersistenceOffWarning(gpu int) results.Warning {
	return results.Warning{Code: results.WarnPersistenceOff,
		Message: fmt.Sprintf("GPU %d: persistence mode is off; enable it with `sudo nvidia-smi -i %d -pm 1` for stable measurements", gpu, gpu)}
}

// GPUSharedWarning is raised when other processes run on a measured GPU:
// their energy is in the GPU's counter.
func GPUSharedWarning(gpu int, pids []uint32) results.Warning {
	ps := make([]string, len(pids))
	for i, p := range pids {
		ps[i] = fmt.Sprint(p)
	}
	return results.Warning{Code: results.WarnGPUShared,
		Message: fmt.Sprintf("GPU %d is shared with other processes (PIDs %s): their energy is included in the GPU's figures", gpu, strings.Join(ps, ", "))}
}

// ThrottlingWarning is raised when a GPU was slowed by power or heat.
func ThrottlingWarning(gpu int, mask uint64) results.Warning {
	return results.Warning{Code: results.WarnThrottling,
		Message: fmt.Sprintf("GPU %d throttled during the run (%s): results depend on cooling and power limits", gpu, strings.Join(ThrottleReasonNames(mask), ", "))}
}

// SeriesWarnings returns the warnings the time series shows: throttling
// seen on any GPU during the measure phase (all phases when none is tagged).
func SeriesWarnings(samples []Sample) []results.Warning {
	measured := false
	for _, s := range samples {
		if s.Phase == PhaseMeasure {
			measured = true
			break
		}
	}
	seen := map[int]uint64{}
	var order []int
	for _, s := range samples {
		if measured && s.Phase != PhaseMeasure {
			continue
		}
		for _, d := range s.Domains {
			if d.Domain.Kind != DomainGPU || d.ThrottleReasons&ThrottleMask == 0 {
				continue
			}
			if _, ok := seen[d.Domain.Index]; !ok {
				order = append(order, d.Domain.Index)
			}
			seen[d.Domain.Index] |= d.ThrottleReasons & ThrottleMask
		}
	}
	var ws []results.Warning
	for _, gpu := range order {
		ws = append(ws, ThrottlingWarning(gpu, seen[gpu]))
	}
	return ws
}

// WindowWarnings returns the warnings of one measurement window: windows
// shorter than a sensor's update period and energy paths that disagree.
func WindowWarnings(w WindowResult) []results.Warning {
	var ws []results.Warning
	for _, d := range w.Domains {
		if d.TooShort {
			ws = append(ws, results.Warning{Code: results.WarnWindowTooShort,
				Message: fmt.Sprintf("%s: window of %v is shorter than the sensor's update period %v or the counter did not move; its energy (%v) is unreliable: measure longer batches",
					domainLabel(d.Domain), w.Duration, d.SensorPeriod, d.Energy)})
		}
		if d.PathsDisagree {
			ws = append(ws, results.Warning{Code: results.WarnEnergyMismatch,
				Message: fmt.Sprintf("%s: energy counter (%v) and integrated power (%v) differ by %.1f%% (tolerance %.1f%%)",
					domainLabel(d.Domain), d.CounterEnergy, d.IntegratedEnergy, 100*d.PathDifference, 100*w.Tolerance)})
		}
	}
	return ws
}

// BaselineWarnings returns baseline_unstable for each domain whose idle
// power varied more than the threshold.
//
// An estimate's idle figure is CPU time, near zero and jumpy by
// construction: its spread says nothing about the machine, so estimated
// domains raise none.
func BaselineWarnings(b Baseline) []results.Warning {
	var ws []results.Warning
	for _, d := range b.Domains {
		if !d.Stable && d.Source != SourceEstimate {
			ws = append(ws, results.Warning{Code: results.WarnBaselineUnstable,
				Message: fmt.Sprintf("%s: idle power %.1f ± %.1f W (CV %.1f%% > %.1f%%) over %v: the machine was not idle; adjusted energy is uncertain",
					domainLabel(d.Domain), d.PowerW, d.StdW, 100*d.CV, 100*b.CVThreshold, b.Duration)})
		}
	}
	return ws
}

// DedupeWarnings drops repeated warnings (same code and message), keeping
// the first occurrence's order.
func DedupeWarnings(ws []results.Warning) []results.Warning {
	seen := map[results.Warning]bool{}
	out := ws[:0:0]
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func domainLabel(d Domain) string {
	return fmt.Sprintf("%s %d", d.Kind, d.Index)
}

// PhaseWarning is raised when a batch's prefill or decode phase is shorter
// than the update period of a sensor whose energy is split between them:
// the split then falls between two readings and follows time, not energy.
func PhaseWarning(prefill, decode, period time.Duration) (results.Warning, bool) {
	if period <= 0 || min(prefill, decode) >= period {
		return results.Warning{}, false
	}
	return results.Warning{Code: results.WarnPhaseTooShort,
		Message: fmt.Sprintf("a batch's prefill (%v) or decode (%v) is shorter than the sensor's update period %v: its share of the batch's energy is interpolated between readings, in proportion to time; measure longer prompts or outputs to split by energy",
			prefill.Round(time.Microsecond), decode.Round(time.Microsecond), period)}, true
}
