// Package energy reads energy and power from the machine's sensors (NVML for
// NVIDIA GPUs, RAPL powercap for CPU package and DRAM, a labelled estimate
// where nothing can be read), records them as a time series, and turns
// counter readings into energy over measurement windows. The Go process owns
// all measurement: engines never measure themselves.
//
// The pieces, in the order the harness uses them:
//
//   - Samplers ([RAPLSampler], [NVMLSampler], [EstimateSampler]) return raw
//     cumulative counters and instantaneous values; they never compute deltas.
//   - [Detect] walks the fallback chain NVML energy counter → NVML power
//     integration → RAPL → estimate and returns the samplers to use, the
//     source of every domain and why better sources were not used.
//   - A [Recorder] samples every chosen sampler on its own goroutine, keeps
//     the series in memory (tagged by [Phase]), and opens measurement
//     [Window]s that read the counters at open and close and report energy by
//     both paths: counter delta and integral of sampled power.
//   - [MeasureBaseline] measures idle power; [AdjustedEnergy] subtracts it.
//   - [WriteParquet] writes the series as one row per sample and domain.
//   - Warnings ([WindowWarnings], [SeriesWarnings], [BaselineWarnings]) turn
//     what was seen into results.Warning values (MEA-6).
//
// Pure functions do the arithmetic: [CounterDelta] (with wrap-around at
// max_energy_range_uj), [Integrate] (trapezoid over a window) and the
// baseline helpers. [Energy] is a unit type in microjoules, like
// time.Duration, so joules and millijoules never mix.
//
// The estimate source is never a measurement: its readings carry
// SourceEstimate and the sampler always raises results.WarnEnergyEstimated.
// Its formula is documented on [EstimateSampler] and in docs/energy.md.
package energy
