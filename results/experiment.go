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
	SchemaVersion         string                  `json:"schema_version"`
	MeasurementConfigHash string                  `json:"measurement_config_hash"`
	Config                config.ExperimentConfig `json:"config"`
	// Cycle is the study cycle this run belongs to (1-based), 0 outside a study.
	Cycle int `json:"cycle,omitempty"`
	// Effective holds the settings actually used, engine defaults resolved.
	Effective   map[string]any `json:"effective,omitempty"`
	StartedAt   time.Time      `json:"started_at"`
	CompletedAt time.Time      `json:"completed_at"`
	// Protocol notes how the methodology was applied (e.g. "quick demo: 5 s
	// baseline, 1 warm-up run, no thermal floor").
	Protocol Protocol `json:"protocol"`

	Model   ModelInfo   `json:"model"`
	Dataset DatasetInfo `json:"dataset"`

	// MeasurementMethodology is total, steady_state or windowed.
	MeasurementMethodology string          `json:"measurement_methodology"`
	SteadyStateWindow      *TimeWindow     `json:"steady_state_window,omitempty"`
	Energy                 EnergyMetrics   `json:"energy"`
	Throughput             ThroughputStats `json:"throughput"`
	Latency                LatencyStats    `json:"latency"`
	Compute                ComputeMetrics  `json:"compute"`
	Carbon                 *CarbonMetrics  `json:"carbon,omitempty"`
	Warmup                 WarmupStats     `json:"warmup"`

	MeasurementWarnings []Warning           `json:"measurement_warnings"`
	Environment         EnvironmentSnapshot `json:"environment"`
	// TimeseriesPath is relative to the result's directory.
	TimeseriesPath string `json:"timeseries_path,omitempty"`
	// Requests holds per-request measurements (for bootstrap CIs and reports).
	Requests []RequestRecord `json:"requests,omitempty"`
}

// Protocol records how the measurement protocol was applied.
type Protocol struct {
	Mode                    string  `json:"mode"` // full | quick
	Note                    string  `json:"note,omitempty"`
	BaselineSeconds         float64 `json:"baseline_seconds"`
	WarmupRuns              int     `json:"warmup_runs"`
	ThermalFloorSeconds     float64 `json:"thermal_floor_seconds"`
	SamplingIntervalSeconds float64 `json:"sampling_interval_seconds"`
	// WarmupConvergence holds convergence warm-up's settings when it was
	// used (then WarmupRuns is 0: the count is measured, in Warmup.Runs).
	WarmupConvergence *WarmupConvergence `json:"warmup_convergence,omitempty"`
}

// WarmupConvergence is how convergence warm-up decided it was done.
type WarmupConvergence struct {
	CVThreshold float64 `json:"cv_threshold"`
	WindowSize  int     `json:"window_size"`
	MinRuns     int     `json:"min_runs"`
	MaxRuns     int     `json:"max_runs"`
}

// ModelInfo describes the model as loaded.
type ModelInfo struct {
	Name          string  `json:"name"`
	Weights       string  `json:"weights"` // gguf | synthetic | hf | random_init | remote
	Parameters    int64   `json:"parameters,omitempty"`
	LoadSeconds   float64 `json:"load_seconds"`
	Device        string  `json:"device"`
	FLOPsPerToken float64 `json:"flops_per_token,omitempty"`
	// SHA256 is the model file's SHA-256 when the model is one file.
	SHA256 string `json:"sha256,omitempty"`
}

// DatasetInfo is the identity of the prompts measured.
type DatasetInfo struct {
	Name     string         `json:"name"`
	Revision string         `json:"revision,omitempty"`
	SHA256   string         `json:"sha256,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	// ExactOutputLength is false when the engine could not enforce the
	// requested output length (then output_len is a maximum).
	ExactOutputLength bool `json:"exact_output_length"`
}

// TimeWindow is a span in seconds from the start of measurement.
type TimeWindow struct {
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// EnergyMetrics are the energy figures of the measured window. Every figure
// carries its source through Sources; an estimate is labelled as such.
type EnergyMetrics struct {
	// Source is the best source used for the total (see energy.Source).
	Source string `json:"source"`
	// Estimated is true when any part of the total is an estimate.
	Estimated        bool                `json:"estimated"`
	Domains          []DomainEnergy      `json:"domains"`
	DurationS        float64             `json:"duration_s"`
	BaselinePowerW   float64             `json:"baseline_power_w"`
	BaselineStdW     float64             `json:"baseline_std_w,omitempty"`
	TotalJ           float64             `json:"energy_total_j"`
	AdjustedJ        float64             `json:"energy_adjusted_j"`
	PerOutputTokenJ  float64             `json:"energy_per_output_token_j"`
	PerRequestJ      float64             `json:"energy_per_request_j"`
	PerTokenJ        float64             `json:"energy_per_token_j"` // per input+output token
	AvgPowerW        float64             `json:"avg_power_w"`
	PeakPowerW       float64             `json:"peak_power_w"`
	PerOutputTokenCI *ConfidenceInterval `json:"energy_per_output_token_ci,omitempty"`
	// FallbackReasons says why better sources were not used.
	FallbackReasons []string `json:"fallback_reasons,omitempty"`
}

// DomainEnergy is the energy of one domain over the measured window.
type DomainEnergy struct {
	Kind   string  `json:"kind"`
	Index  int     `json:"index"`
	Name   string  `json:"name,omitempty"`
	Source string  `json:"source"`
	TotalJ float64 `json:"energy_j"`
	// CounterJ and IntegratedJ are the two paths on GPUs: the counter delta and
	// the integral of sampled power over the same windows.
	CounterJ     *float64 `json:"counter_j,omitempty"`
	IntegratedJ  *float64 `json:"integrated_j,omitempty"`
	BaselineW    float64  `json:"baseline_power_w"`
	AdjustedJ    float64  `json:"energy_adjusted_j"`
	PeakMemoryMB float64  `json:"peak_memory_mb,omitempty"`
}

// ConfidenceInterval is a 95% interval and how it was computed.
type ConfidenceInterval struct {
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	Method string  `json:"method"`
	N      int     `json:"n"`
}

// ThroughputStats counts tokens and rates over the measured window.
type ThroughputStats struct {
	Requests         int     `json:"requests"`
	InputTokens      int     `json:"input_tokens"`
	OutputTokens     int     `json:"output_tokens"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	TotalTokensPerS  float64 `json:"input_plus_output_tokens_per_s"`
	RequestsPerS     float64 `json:"requests_per_s"`
	Batches          int     `json:"batches"`
	BatchSize        int     `json:"batch_size"`
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
	N    int                 `json:"n"`
	Mean float64             `json:"mean"`
	P50  float64             `json:"p50"`
	P90  float64             `json:"p90"`
	P99  float64             `json:"p99"`
	Min  float64             `json:"min"`
	Max  float64             `json:"max"`
	CI   *ConfidenceInterval `json:"ci,omitempty"`
}

// ComputeMetrics are reference metadata about the work done.
type ComputeMetrics struct {
	FLOPsTotal    float64 `json:"flops_total"`
	FLOPsPerToken float64 `json:"flops_per_token"`
	FLOPsMethod   string  `json:"flops_method,omitempty"`
	MFU           float64 `json:"mfu,omitempty"`
	PeakMemoryMB  float64 `json:"peak_memory_mb,omitempty"`
}

// CarbonMetrics is emitted carbon, given user-config context.
type CarbonMetrics struct {
	EnergyKWh           float64 `json:"energy_kwh"`
	PUE                 float64 `json:"pue"`
	CarbonIntensityGKWh float64 `json:"carbon_intensity_gco2_per_kwh"`
	Location            string  `json:"location,omitempty"`
	EmissionsG          float64 `json:"emissions_gco2"`
}

// WarmupStats describes the warm-up that preceded measurement.
type WarmupStats struct {
	Runs         int     `json:"runs"`
	Converged    bool    `json:"converged"`
	FinalCV      float64 `json:"final_cv"`
	DurationS    float64 `json:"duration_s"`
	ThermalWaitS float64 `json:"thermal_wait_s"`
	// ExcludedSamples is how many time-series samples fell in warm-up or the
	// thermal floor after it.
	ExcludedSamples int `json:"warmup_excluded_samples"`
}

// RequestRecord is one measured request.
type RequestRecord struct {
	PromptID     string  `json:"prompt_id"`
	Batch        int     `json:"batch"`
	InputTokens  int     `json:"input_tokens"`
	OutputTokens int     `json:"output_tokens"`
	TTFTS        float64 `json:"ttft_s"`
	E2ES         float64 `json:"e2e_s"`
	MeanITLS     float64 `json:"mean_itl_s"`
	// TPOTS is the time per output token after the first (LatencyStats.TPOT).
	TPOTS float64 `json:"tpot_s,omitempty"`
	// EnergyJ is the request's share of its batch window's energy.
	EnergyJ float64 `json:"energy_j"`
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
	Code    string `json:"code"`
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
	WarnOutputLength      = "output_length_not_enforced"
	WarnQuickProtocol     = "quick_protocol"
	WarnNoBaseline        = "no_baseline"
	// WarnAdjustedNegative is raised by the report, not the run: the
	// baseline-adjusted energy was below 0 (idle power above the run's
	// average) and adjusted energy per output token counts it as 0.
	WarnAdjustedNegative = "adjusted_energy_negative"
)
