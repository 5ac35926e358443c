package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
)

// RunRow is one row of a study's results.parquet: one completed run, its
// configuration flattened into columns and its main metrics. Backend knobs
// are nullable columns named {backend}_{knob}; config_json keeps the whole
// configuration for anything not flattened. Plain Parquet types only, so
// pandas, polars and DuckDB read it as is.
type RunRow struct {
	RunIndex              int32     `parquet:"run_index"`
	Cycle                 int32     `parquet:"cycle"`
	MeasurementConfigHash string    `parquet:"measurement_config_hash"`
	ResultPath            string    `parquet:"result_path"`
	StartedAt             time.Time `parquet:"started_at,timestamp(millisecond)"`
	CompletedAt           time.Time `parquet:"completed_at,timestamp(millisecond)"`

	Backend          string  `parquet:"backend"`
	Model            string  `parquet:"model"`
	Precision        string  `parquet:"precision"`
	Dataset          string  `parquet:"dataset"`
	N                int32   `parquet:"n"`
	MaxInputTokens   int32   `parquet:"max_input_tokens"`
	MaxOutputTokens  int32   `parquet:"max_output_tokens"`
	RandomSeed       int64   `parquet:"random_seed"`
	DecodingStrategy string  `parquet:"decoding_strategy"`
	Temperature      float64 `parquet:"temperature"`
	TopP             float64 `parquet:"top_p"`
	TopK             int32   `parquet:"top_k"`

	NativeBatchSize      *int32   `parquet:"native_batch_size,optional"`
	NativeThreads        *int32   `parquet:"native_threads,optional"`
	NativeKernels        *string  `parquet:"native_kernels,optional"`
	PyTorchBatchSize     *int32   `parquet:"pytorch_batch_size,optional"`
	VLLMMaxNumSeqs       *int32   `parquet:"vllm_max_num_seqs,optional"`
	TensorRTMaxBatchSize *int32   `parquet:"tensorrt_max_batch_size,optional"`
	OpenAIConcurrency    *int32   `parquet:"openai_concurrency,optional"`
	OpenAIRequestRate    *float64 `parquet:"openai_request_rate,optional"`
	ConfigJSON           string   `parquet:"config_json"`

	MeasurementMethodology string  `parquet:"measurement_methodology"`
	EnergySource           string  `parquet:"energy_source"`
	EnergyEstimated        bool    `parquet:"energy_estimated"`
	DurationS              float64 `parquet:"duration_s"`
	EnergyTotalJ           float64 `parquet:"energy_total_j"`
	EnergyAdjustedJ        float64 `parquet:"energy_adjusted_j"`
	EnergyPerOutputTokenJ  float64 `parquet:"energy_per_output_token_j"`
	EnergyPerTokenJ        float64 `parquet:"energy_per_token_j"`
	EnergyPerRequestJ      float64 `parquet:"energy_per_request_j"`
	BaselinePowerW         float64 `parquet:"baseline_power_w"`
	AvgPowerW              float64 `parquet:"avg_power_w"`
	PeakPowerW             float64 `parquet:"peak_power_w"`
	Requests               int32   `parquet:"requests"`
	InputTokens            int64   `parquet:"input_tokens"`
	OutputTokens           int64   `parquet:"output_tokens"`
	OutputTokensPerS       float64 `parquet:"output_tokens_per_s"`
	RequestsPerS           float64 `parquet:"requests_per_s"`
	TTFTMeanS              float64 `parquet:"ttft_mean_s"`
	TTFTP50S               float64 `parquet:"ttft_p50_s"`
	TTFTP99S               float64 `parquet:"ttft_p99_s"`
	ITLMeanS               float64 `parquet:"itl_mean_s"`
	ITLP50S                float64 `parquet:"itl_p50_s"`
	E2EMeanS               float64 `parquet:"e2e_mean_s"`
	E2EP50S                float64 `parquet:"e2e_p50_s"`
	E2EP99S                float64 `parquet:"e2e_p99_s"`
	FLOPsTotal             float64 `parquet:"flops_total"`
	// PeakMemoryMiB is in MiB (2^20 bytes), as the harness records it, and
	// null where nothing measured memory (a CPU run).
	PeakMemoryMiB *float64 `parquet:"peak_memory_mib,optional"`
	Warnings      int32    `parquet:"measurement_warnings"`
}

// NewRunRow flattens one run's result into a row. resultPath is the
// result.json path relative to the study directory.
func NewRunRow(runIndex int, r *ExperimentResult, resultPath string) (RunRow, error) {
	cfg := r.Config
	cj, err := json.Marshal(cfg)
	if err != nil {
		return RunRow{}, fmt.Errorf("results row for run %d: encode config: %w", runIndex, err)
	}
	row := RunRow{
		RunIndex:              int32(runIndex),
		Cycle:                 int32(r.Cycle),
		MeasurementConfigHash: r.MeasurementConfigHash,
		ResultPath:            resultPath,
		StartedAt:             r.StartedAt,
		CompletedAt:           r.CompletedAt,

		Backend:          string(cfg.Backend),
		Model:            cfg.Model,
		Precision:        cfg.Precision,
		Dataset:          cfg.Dataset.Name,
		N:                int32(cfg.N),
		MaxInputTokens:   int32(cfg.MaxInputTokens),
		MaxOutputTokens:  int32(cfg.MaxOutputTokens),
		RandomSeed:       cfg.RandomSeed,
		DecodingStrategy: cfg.Decoder.DecodingStrategy,
		Temperature:      cfg.Decoder.Temperature,
		TopP:             cfg.Decoder.TopP,
		TopK:             int32(cfg.Decoder.TopK),
		ConfigJSON:       string(cj),

		MeasurementMethodology: r.MeasurementMethodology,
		EnergySource:           r.Energy.Source,
		EnergyEstimated:        r.Energy.Estimated,
		DurationS:              r.Energy.DurationS,
		EnergyTotalJ:           r.Energy.TotalJ,
		EnergyAdjustedJ:        r.Energy.AdjustedJ,
		EnergyPerOutputTokenJ:  r.Energy.PerOutputTokenJ,
		EnergyPerTokenJ:        r.Energy.PerTokenJ,
		EnergyPerRequestJ:      r.Energy.PerRequestJ,
		BaselinePowerW:         r.Energy.BaselinePowerW,
		AvgPowerW:              r.Energy.AvgPowerW,
		PeakPowerW:             r.Energy.PeakPowerW,
		Requests:               int32(r.Throughput.Requests),
		InputTokens:            int64(r.Throughput.InputTokens),
		OutputTokens:           int64(r.Throughput.OutputTokens),
		OutputTokensPerS:       r.Throughput.OutputTokensPerS,
		RequestsPerS:           r.Throughput.RequestsPerS,
		TTFTMeanS:              r.Latency.TTFT.Mean,
		TTFTP50S:               r.Latency.TTFT.P50,
		TTFTP99S:               r.Latency.TTFT.P99,
		ITLMeanS:               r.Latency.ITL.Mean,
		ITLP50S:                r.Latency.ITL.P50,
		E2EMeanS:               r.Latency.E2E.Mean,
		E2EP50S:                r.Latency.E2E.P50,
		E2EP99S:                r.Latency.E2E.P99,
		FLOPsTotal:             r.Compute.FLOPsTotal,
		Warnings:               int32(len(r.MeasurementWarnings)),
	}
	if m := r.Compute.PeakMemoryMB; m > 0 {
		row.PeakMemoryMiB = &m
	}
	if n := cfg.Native; n != nil {
		row.NativeBatchSize = int32Ptr(n.BatchSize)
		row.NativeThreads = int32Ptr(n.Threads)
		row.NativeKernels = n.Kernels
	}
	if p := cfg.PyTorch; p != nil {
		row.PyTorchBatchSize = int32Ptr(p.BatchSize)
	}
	if v := cfg.VLLM; v != nil {
		row.VLLMMaxNumSeqs = int32Ptr(v.MaxNumSeqs)
	}
	if t := cfg.TensorRT; t != nil {
		row.TensorRTMaxBatchSize = int32Ptr(t.MaxBatchSize)
	}
	if o := cfg.OpenAI; o != nil {
		row.OpenAIConcurrency = int32Ptr(o.Concurrency)
		row.OpenAIRequestRate = o.RequestRate
	}
	return row, nil
}

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

// WriteRunsParquet writes rows as a Parquet file at path, atomically.
func WriteRunsParquet(path string, rows []RunRow) error {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// ReadRunsParquet reads the rows of a results.parquet.
func ReadRunsParquet(path string) ([]RunRow, error) {
	rows, err := parquet.ReadFile[RunRow](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}
