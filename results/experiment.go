// Package results holds what llem writes: one ExperimentResult per run, the
// StudyManifest checkpoint of a study in progress, and the StudyResult of a
// finished study, with their readers and writers. Results are plain JSON and
// Parquet, readable without llem.
package results

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/llenergymeasure/llem/config"
)

// SchemaVersion is the version of the result schemas written by this llem.
const SchemaVersion = "2.0"

// ExperimentResult is the complete record of one measured run.
type ExperimentResult struct {
	// SchemaVersion is the version of this result format.
	SchemaVersion string `json:"schema_version"`
	// MeasurementConfigHash identifies what was measured: 16 hex characters of the SHA-256 of the canonical config (config.MeasurementConfigHash).
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Config is the experiment's configuration, defaults applied.
	Config config.ExperimentConfig `json:"config"`
	// Cycle is the study cycle this run belongs to (1-based), 0 outside a study.
	Cycle int `json:"cycle,omitempty"`
	// Effective holds the settings actually used, engine defaults resolved.
	Effective map[string]any `json:"effective,omitempty"`
	// StartedAt is when the run began (RFC 3339).
	StartedAt time.Time `json:"started_at"`
	// CompletedAt is when the run finished (RFC 3339).
	CompletedAt time.Time `json:"completed_at"`
	// Protocol notes how the methodology was applied (e.g. "quick demo: 5 s
	// baseline, 1 warm-up run, no thermal floor").
	Protocol Protocol `json:"protocol"`

	// Model describes the model that was loaded.
	Model ModelInfo `json:"model"`
	// Dataset describes the prompts used.
	Dataset DatasetInfo `json:"dataset"`

	// MeasurementMethodology is total, steady_state or windowed.
	MeasurementMethodology string `json:"measurement_methodology"`
	// SteadyStateWindow is the measured window, in seconds from the run's start; omitted when none was measured.
	SteadyStateWindow *TimeWindow `json:"steady_state_window,omitempty"`
	// Energy holds the measured window's energy, in joules unless named otherwise.
	Energy EnergyMetrics `json:"energy"`
	// Throughput holds token and request counts and rates over the measured window.
	Throughput ThroughputStats `json:"throughput"`
	// Latency holds per-request latency distributions, in seconds.
	Latency LatencyStats `json:"latency"`
	// Compute holds FLOP estimates, MFU and peak memory.
	Compute ComputeMetrics `json:"compute"`
	// Carbon converts the energy to emissions; omitted when no carbon intensity is set.
	Carbon *CarbonMetrics `json:"carbon,omitempty"`
	// Warmup describes the warm-up runs before measurement.
	Warmup WarmupStats `json:"warmup"`

	// MeasurementWarnings are conditions that may affect the figures; empty when none.
	MeasurementWarnings []Warning `json:"measurement_warnings"`
	// Environment describes the machine and software the run used.
	Environment EnvironmentSnapshot `json:"environment"`
	// TimeseriesPath is relative to the result's directory.
	TimeseriesPath string `json:"timeseries_path,omitempty"`
	// Requests holds per-request measurements (for bootstrap CIs and reports).
	Requests []RequestRecord `json:"requests,omitempty"`
}

// Protocol records how the measurement protocol was applied.
type Protocol struct {
	// Mode is full, or quick (shortened baseline and warm-up, no thermal floor).
	Mode string `json:"mode"` // full | quick
	// Note summarises a quick protocol in words; empty for full.
	Note string `json:"note,omitempty"`
	// BaselineSeconds is the idle-power baseline's duration; 0 when no baseline was taken.
	BaselineSeconds float64 `json:"baseline_seconds"`
	// WarmupRuns is the fixed number of warm-up runs; 0 when warm-up is off or convergence-based.
	WarmupRuns int `json:"warmup_runs"`
	// ThermalFloorSeconds is the minimum wait after warm-up before measuring; 0 when warm-up is off.
	ThermalFloorSeconds float64 `json:"thermal_floor_seconds"`
	// SamplingIntervalSeconds is the power sampling interval.
	SamplingIntervalSeconds float64 `json:"sampling_interval_seconds"`
	// WarmupConvergence holds convergence warm-up's settings when it was
	// used (then WarmupRuns is 0: the count is measured, in Warmup.Runs).
	WarmupConvergence *WarmupConvergence `json:"warmup_convergence,omitempty"`
}

// WarmupConvergence is how convergence warm-up decided it was done.
type WarmupConvergence struct {
	// CVThreshold is the coefficient of variation of warm-up run latencies below which warm-up stops.
	CVThreshold float64 `json:"cv_threshold"`
	// WindowSize is how many recent warm-up runs the CV is computed over.
	WindowSize int `json:"window_size"`
	// MinRuns is the fewest warm-up runs before convergence may stop it.
	MinRuns int `json:"min_runs"`
	// MaxRuns is the most warm-up runs, converged or not.
	MaxRuns int `json:"max_runs"`
}

// ModelInfo describes the model as loaded.
type ModelInfo struct {
	// Name is the model as the engine names it.
	Name string `json:"name"`
	// Weights says where the weights came from: gguf, synthetic, hf, random_init or remote.
	Weights string `json:"weights"` // gguf | synthetic | hf | random_init | remote
	// Parameters is the model's parameter count; omitted when the engine does not report it.
	Parameters int64 `json:"parameters,omitempty"`
	// LoadSeconds is the time to load the model, in seconds.
	LoadSeconds float64 `json:"load_seconds"`
	// Device is where the model ran (e.g. cpu, cuda:0).
	Device string `json:"device"`
	// FLOPsPerToken is the engine's estimate of FLOPs per processed token; omitted when unknown.
	FLOPsPerToken float64 `json:"flops_per_token,omitempty"`
	// SHA256 is the model file's SHA-256 when the model is one file.
	SHA256 string `json:"sha256,omitempty"`
}

// DatasetInfo is the identity of the prompts measured.
type DatasetInfo struct {
	// Name is the dataset (builtin, a file kind or a hub dataset).
	Name string `json:"name"`
	// Revision is the hub commit the dataset was read at; empty for local datasets.
	Revision string `json:"revision,omitempty"`
	// SHA256 is the SHA-256 of the dataset's content.
	SHA256 string `json:"sha256,omitempty"`
	// Params records how prompts were selected: n, order, pool, seed, token caps and how many prompts they truncated.
	Params map[string]any `json:"params,omitempty"`
	// ExactOutputLength is false when the engine could not enforce the
	// requested output length (then output_len is a maximum).
	ExactOutputLength bool `json:"exact_output_length"`
}

// TimeWindow is a span in seconds from the start of measurement.
type TimeWindow struct {
	// StartS is the window's start, in seconds from the run's start.
	StartS float64 `json:"start_s"`
	// EndS is the window's end, in seconds from the run's start.
	EndS float64 `json:"end_s"`
}

// EnergyMetrics are the energy figures of the measured window. Every figure
// carries its source through Sources; an estimate is labelled as such.
type EnergyMetrics struct {
	// Source is the best source used for the total (see energy.Source).
	Source string `json:"source"`
	// Estimated is true when any part of the total is an estimate.
	Estimated bool `json:"estimated"`
	// Domains is the energy of each measured domain (GPU, CPU package, DRAM, …).
	Domains []DomainEnergy `json:"domains"`
	// DurationS is the measured window's length in seconds, summed over batches.
	DurationS float64 `json:"duration_s"`
	// BaselinePowerW is the idle power of all domains, in watts, from the baseline; 0 without one.
	BaselinePowerW float64 `json:"baseline_power_w"`
	// BaselineStdW is the standard deviation of the baseline power, in watts.
	BaselineStdW float64 `json:"baseline_std_w,omitempty"`
	// TotalJ is the energy of all domains over the measured window, in joules.
	TotalJ float64 `json:"energy_total_j"`
	// AdjustedJ is TotalJ less baseline power × duration: the energy above idle, in joules.
	AdjustedJ float64 `json:"energy_adjusted_j"`
	// PerOutputTokenJ is TotalJ per generated token, in joules.
	PerOutputTokenJ float64 `json:"energy_per_output_token_j"`
	// PerRequestJ is TotalJ per request, in joules.
	PerRequestJ float64 `json:"energy_per_request_j"`
	// PerTokenJ is TotalJ per input plus output token, in joules.
	PerTokenJ float64 `json:"energy_per_token_j"` // per input+output token
	// AvgPowerW is TotalJ over the window's duration, in watts.
	AvgPowerW float64 `json:"avg_power_w"`
	// PeakPowerW is the highest power seen, in watts: a batch's mean total power or one domain's sampled peak.
	PeakPowerW float64 `json:"peak_power_w"`
	// PerOutputTokenCI is a 95% bootstrap CI of mean per-request joules per output token; omitted with too few requests.
	PerOutputTokenCI *ConfidenceInterval `json:"energy_per_output_token_ci,omitempty"`
	// FallbackReasons says why better sources were not used.
	FallbackReasons []string `json:"fallback_reasons,omitempty"`
	// Phases splits the energy into prefill and decode; absent when the
	// engine reported no token times.
	Phases *PhaseEnergy `json:"phases,omitempty"`
	// Attribution compares the two per-request attributions
	// (requests[].energy_j and energy_in_flight_j); absent without token
	// times.
	Attribution *AttributionSummary `json:"attribution,omitempty"`
	// SteadyState is the serving load's steady state (openai backend);
	// absent for other backends or when no batch reached a steady level of
	// at least 2 requests in flight.
	SteadyState *SteadyStateEnergy `json:"steady_state,omitempty"`
}

// SteadyStateEnergy is the energy of a serving load's steady state (the
// ML.ENERGY benchmark's rule), beside the whole measured window's: in each
// batch, from the first time the requests in flight reach their peak to the
// last time they fall from it, before the load drains.
type SteadyStateEnergy struct {
	// Concurrency is the peak number of requests in flight, the largest
	// over batches.
	Concurrency int `json:"concurrency"`
	// DurationS is the steady windows' summed duration.
	DurationS float64 `json:"duration_s"`
	// EnergyJ is their energy, read from each window's cumulative energy
	// curve.
	EnergyJ float64 `json:"energy_j"`
	// OutputTokens are the tokens that arrived inside them.
	OutputTokens int `json:"output_tokens"`
	// PerOutputTokenJ is EnergyJ per output token inside the steady
	// windows; compare with energy_per_output_token_j over the whole window.
	PerOutputTokenJ float64 `json:"energy_per_output_token_j"`
}

// AttributionSummary compares each request's energy by the work it had in
// flight with its energy pro-rated by output tokens.
type AttributionSummary struct {
	// N is the number of requests compared.
	N int `json:"n"`
	// MeanAbsDifferencePct is the mean over requests of |in flight −
	// pro-rated| / pro-rated, in percent.
	MeanAbsDifferencePct float64 `json:"mean_abs_difference_pct"`
	// MaxAbsDifferencePct is the largest of those differences, in percent.
	MaxAbsDifferencePct float64 `json:"max_abs_difference_pct"`
}

// PhaseEnergy splits a run's energy at each batch's first token: prefill
// from the batch's start to its first token, decode the rest. Each domain's
// window energy is divided where its cumulative energy, interpolated
// between the sensor's readings, stood at that instant.
type PhaseEnergy struct {
	// PrefillJ and DecodeJ sum to energy_total_j.
	PrefillJ float64 `json:"prefill_j"`
	DecodeJ  float64 `json:"decode_j"`
	// PrefillS and DecodeS are the phases' durations summed over batches.
	PrefillS float64 `json:"prefill_s"`
	DecodeS  float64 `json:"decode_s"`
	// PrefillPerInputTokenJ is prefill energy per prompt token.
	PrefillPerInputTokenJ float64 `json:"prefill_per_input_token_j"`
	// DecodePerOutputTokenJ is decode energy per output token after each
	// request's first (the first comes out of prefill).
	DecodePerOutputTokenJ float64 `json:"decode_per_output_token_j"`
	// SensorPeriodS is the longest update period of the sensors split: a
	// phase shorter than it falls between two readings and is split in
	// proportion to time (warning phase_shorter_than_sensor_period).
	SensorPeriodS float64 `json:"sensor_period_s"`
}

// DomainEnergy is the energy of one domain over the measured window.
type DomainEnergy struct {
	// Kind is the domain: gpu, cpu_package, dram or cpu (an estimate).
	Kind string `json:"kind"`
	// Index numbers domains of one kind (GPU or socket index).
	Index int `json:"index"`
	// Name is the device's name, where known.
	Name string `json:"name,omitempty"`
	// Source is how the energy was measured: nvml_energy_counter, nvml_power_integration, rapl or estimated.
	Source string `json:"source"`
	// TotalJ is the domain's energy over the measured window, in joules.
	TotalJ float64 `json:"energy_j"`
	// CounterJ and IntegratedJ are the two paths on GPUs: the counter delta and
	// the integral of sampled power over the same windows.
	CounterJ *float64 `json:"counter_j,omitempty"`
	// IntegratedJ is the integral of sampled power over the same windows, in joules; omitted when not sampled.
	IntegratedJ *float64 `json:"integrated_j,omitempty"`
	// BaselineW is the domain's idle power from the baseline, in watts.
	BaselineW float64 `json:"baseline_power_w"`
	// AdjustedJ is TotalJ less BaselineW × duration, in joules.
	AdjustedJ float64 `json:"energy_adjusted_j"`
	// PeakMemoryMB is the device's peak memory used in the window, in MB; omitted when not sampled.
	PeakMemoryMB float64 `json:"peak_memory_mb,omitempty"`
}

// ConfidenceInterval is a 95% interval and how it was computed.
type ConfidenceInterval struct {
	// Low is the interval's lower bound, in the statistic's unit.
	Low float64 `json:"low"`
	// High is the interval's upper bound, in the statistic's unit.
	High float64 `json:"high"`
	// Method says how the interval was computed.
	Method string `json:"method"`
	// N is the sample size the interval is from.
	N int `json:"n"`
}

// ThroughputStats counts tokens and rates over the measured window.
type ThroughputStats struct {
	// Requests is the number of requests measured.
	Requests int `json:"requests"`
	// InputTokens is the prompt tokens of all measured requests.
	InputTokens int `json:"input_tokens"`
	// OutputTokens is the generated tokens of all measured requests.
	OutputTokens int `json:"output_tokens"`
	// OutputTokensPerS is OutputTokens over the measured duration, in tokens/s.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// TotalTokensPerS is input plus output tokens over the measured duration, in tokens/s.
	TotalTokensPerS float64 `json:"input_plus_output_tokens_per_s"`
	// RequestsPerS is Requests over the measured duration, in requests/s.
	RequestsPerS float64 `json:"requests_per_s"`
	// Batches is the number of measured batches.
	Batches int `json:"batches"`
	// BatchSize is the largest number of requests in one batch.
	BatchSize int `json:"batch_size"`
}

// LatencyStats summarises per-request latencies in seconds.
type LatencyStats struct {
	// TTFT is the time to first token of each request.
	TTFT Distribution `json:"ttft_s"`
	// ITL is every gap between consecutive tokens of a request.
	ITL Distribution `json:"itl_s"`
	// TPOT is each request's time per output token after the first:
	// (E2E − TTFT) / (output tokens − 1), as vLLM's benchmark defines it;
	// requests of one output token have none.
	TPOT Distribution `json:"tpot_s"`
	// E2E is each request's time from submission to its last token.
	E2E Distribution `json:"e2e_s"`
}

// Distribution is a summary of a sample.
type Distribution struct {
	// N is the number of values; 0 (and all figures 0) when there are none.
	N int `json:"n"`
	// Mean is the values' mean, in seconds.
	Mean float64 `json:"mean"`
	// P50 is the median, in seconds.
	P50 float64 `json:"p50"`
	// P90 is the 90th percentile, in seconds.
	P90 float64 `json:"p90"`
	// P99 is the 99th percentile, in seconds.
	P99 float64 `json:"p99"`
	// Min is the smallest value, in seconds.
	Min float64 `json:"min"`
	// Max is the largest value, in seconds.
	Max float64 `json:"max"`
	// CI is a 95% bootstrap CI of the mean; omitted when the sample is too small.
	CI *ConfidenceInterval `json:"ci,omitempty"`
}

// ComputeMetrics are reference metadata about the work done.
type ComputeMetrics struct {
	// FLOPsTotal is FLOPsPerToken × input plus output tokens (attention over context ignored).
	FLOPsTotal float64 `json:"flops_total"`
	// FLOPsPerToken is the estimated FLOPs of one forward pass per token; 0 when unknown.
	FLOPsPerToken float64 `json:"flops_per_token"`
	// FLOPsMethod names how FLOPsPerToken was estimated; empty when unknown.
	FLOPsMethod string `json:"flops_method,omitempty"`
	// MFU is model FLOPs utilisation: FLOPsTotal / duration / the device's peak FLOP/s; omitted when the peak is unknown.
	MFU float64 `json:"mfu,omitempty"`
	// PeakMemoryMB is the highest GPU memory used during measurement, in MB; omitted when not sampled.
	PeakMemoryMB float64 `json:"peak_memory_mb,omitempty"`
}

// CarbonMetrics is emitted carbon, given user-config context.
type CarbonMetrics struct {
	// EnergyKWh is the total energy in kWh.
	EnergyKWh float64 `json:"energy_kwh"`
	// PUE is the power usage effectiveness applied (1 when unset).
	PUE float64 `json:"pue"`
	// CarbonIntensityGKWh is the grid carbon intensity, in gCO2 per kWh.
	CarbonIntensityGKWh float64 `json:"carbon_intensity_gco2_per_kwh"`
	// Location is the user-given location of the grid; empty when unset.
	Location string `json:"location,omitempty"`
	// EmissionsG is EnergyKWh × PUE × CarbonIntensityGKWh, in grams of CO2.
	EmissionsG float64 `json:"emissions_gco2"`
}

// WarmupStats describes the warm-up that preceded measurement.
type WarmupStats struct {
	// Runs is the number of warm-up runs done.
	Runs int `json:"runs"`
	// Converged is true when convergence-based warm-up reached its CV threshold.
	Converged bool `json:"converged"`
	// FinalCV is the coefficient of variation of the last warm-up run latencies.
	FinalCV float64 `json:"final_cv"`
	// DurationS is the warm-up's duration in seconds, thermal wait included.
	DurationS float64 `json:"duration_s"`
	// ThermalWaitS is the time waited after warm-up to reach the thermal floor, in seconds.
	ThermalWaitS float64 `json:"thermal_wait_s"`
	// ExcludedSamples is how many time-series samples fell in warm-up or the
	// thermal floor after it.
	ExcludedSamples int `json:"warmup_excluded_samples"`
}

// RequestRecord is one measured request.
type RequestRecord struct {
	// PromptID identifies the prompt in the dataset.
	PromptID string `json:"prompt_id"`
	// Batch is the 0-based index of the measured batch the request ran in.
	Batch int `json:"batch"`
	// InputTokens is the prompt's length in tokens.
	InputTokens int `json:"input_tokens"`
	// OutputTokens is the number of tokens generated.
	OutputTokens int `json:"output_tokens"`
	// TTFTS is the time to first token, in seconds; 0 when the engine reports no token times.
	TTFTS float64 `json:"ttft_s"`
	// E2ES is the time from submission to the last token, in seconds.
	E2ES float64 `json:"e2e_s"`
	// MeanITLS is the mean gap between consecutive tokens, in seconds; 0 with fewer than two token times.
	MeanITLS float64 `json:"mean_itl_s"`
	// TPOTS is the time per output token after the first (LatencyStats.TPOT).
	TPOTS float64 `json:"tpot_s,omitempty"`
	// EnergyJ is the request's share of its batch window's energy,
	// pro-rated by output tokens (the ML.ENERGY benchmark's rule).
	EnergyJ float64 `json:"energy_j"`
	// EnergyInFlightJ is its share by the work it had in flight: the
	// window cut at every token arrival, each piece going to the tokens
	// arriving at its end, a first token weighing its prompt (prefill) and
	// a later one a decode step; absent when the engine reports no token
	// times.
	EnergyInFlightJ *float64 `json:"energy_in_flight_j,omitempty"`
	// OutputIDsSHA256 is the SHA-256 of the generated token ids written as
	// decimal numbers joined by commas ("12,7,9"), so a reader can check
	// that a decoding setting changed what was generated; empty when the
	// engine returns no ids.
	OutputIDsSHA256 string `json:"output_ids_sha256,omitempty"`
	// OutputTextSHA256 is the SHA-256 of the generated text (UTF-8).
	OutputTextSHA256 string `json:"output_text_sha256,omitempty"`
	// OutputTokenIDs are the first MaxRecordedTokenIDs generated ids.
	OutputTokenIDs []int `json:"output_token_ids,omitempty"`
	// TokenTimes are the request's token arrival times, exactly and
	// compactly (EncodeTokenTimes), so every TTFT and ITL percentile can be
	// recomputed from the result; empty when the engine reports none.
	TokenTimes string `json:"token_times,omitempty"`
}

// EncodeTokenTimes writes token arrival times (offsets from submission)
// as the first offset then the gap to each next token, in nanoseconds,
// each a zigzag varint, the bytes in standard base64: about five
// characters a token, exact to the nanosecond.
func EncodeTokenTimes(times []time.Duration) string {
	var buf []byte
	prev := time.Duration(0)
	for _, t := range times {
		buf = binary.AppendVarint(buf, int64(t-prev))
		prev = t
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// DecodeTokenTimes reads what EncodeTokenTimes wrote.
func DecodeTokenTimes(s string) ([]time.Duration, error) {
	buf, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("token times: %w", err)
	}
	var out []time.Duration
	prev := time.Duration(0)
	for len(buf) > 0 {
		d, n := binary.Varint(buf)
		if n <= 0 {
			return nil, fmt.Errorf("token times: bad varint at token %d", len(out))
		}
		prev += time.Duration(d)
		out = append(out, prev)
		buf = buf[n:]
	}
	return out, nil
}

// MaxRecordedTokenIDs caps RequestRecord.OutputTokenIDs, so a result stays
// small; the digest covers every id.
const MaxRecordedTokenIDs = 64

// TokenIDsSHA256 is the digest RequestRecord.OutputIDsSHA256 holds.
func TokenIDsSHA256(ids []int) string {
	h := sha256.New()
	for i, id := range ids {
		if i > 0 {
			h.Write([]byte{','})
		}
		h.Write(strconv.AppendInt(nil, int64(id), 10))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Warning is a measurement warning (MEA-6): data, stored with the result.
type Warning struct {
	// Code identifies the kind of warning.
	Code string `json:"code"`
	// Message explains the warning in words.
	Message string `json:"message"`
}

// Warning codes.
const (
	WarnShortRun          = "short_run"
	WarnPersistenceOff    = "persistence_mode_off"
	WarnGPUShared         = "gpu_shared"
	WarnThrottling        = "throttling"
	WarnEnergyEstimated   = "energy_estimated"
	WarnBaselineUnstable  = "baseline_unstable"
	WarnHighCycleVariance = "high_cycle_variance"
	WarnEnergyMismatch    = "energy_paths_disagree"
	WarnWindowTooShort    = "window_shorter_than_sensor_period"
	WarnPhaseTooShort     = "phase_shorter_than_sensor_period"
	WarnOutputLength      = "output_length_not_enforced"
	WarnQuickProtocol     = "quick_protocol"
	WarnNoBaseline        = "no_baseline"
	// WarnAdjustedNegative is raised by the report, not the run: the
	// baseline-adjusted energy was below 0 (idle power above the run's
	// average) and adjusted energy per output token counts it as 0.
	WarnAdjustedNegative = "adjusted_energy_negative"
)
