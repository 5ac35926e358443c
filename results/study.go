package results

import (
	"time"

	"github.com/llenergymeasure/llem/config"
)

// StudyResult is the final record of a study. It lists result files by path
// rather than embedding them.
type StudyResult struct {
	SchemaVersion   string    `json:"schema_version"`
	StudyID         string    `json:"study_id"`
	StudyName       string    `json:"study_name"`
	StudyFile       string    `json:"study_file,omitempty"`
	StudyDesignHash string    `json:"study_design_hash"`
	StartedAt       time.Time `json:"started_at"`
	CompletedAt     time.Time `json:"completed_at"`
	Runner          string    `json:"runner"` // local | docker | slurm
	// MeasurementProtocol is the execution block as effectively used.
	MeasurementProtocol MeasurementProtocol    `json:"measurement_protocol"`
	Summary             StudySummary           `json:"summary"`
	Configurations      []ConfigSummary        `json:"configurations"`
	Skipped             []config.SkippedConfig `json:"skipped"`
	Failed              []FailedRun            `json:"failed"`
	// ResultFiles are paths relative to the study directory.
	ResultFiles []string `json:"result_files"`
	// Interrupted is set when the study stopped before every run was done.
	Interrupted bool      `json:"interrupted,omitempty"`
	StopReason  string    `json:"stop_reason,omitempty"`
	Warnings    []Warning `json:"warnings,omitempty"`
}

// MeasurementProtocol records how the study was executed.
type MeasurementProtocol struct {
	NCycles                  int     `json:"n_cycles"`
	CycleOrder               string  `json:"cycle_order"`
	ShuffleSeed              int64   `json:"shuffle_seed,omitempty"`
	ConfigGapSeconds         float64 `json:"config_gap_seconds"`
	CycleGapSeconds          float64 `json:"cycle_gap_seconds"`
	GapMode                  string  `json:"gap_mode"`
	GapsSkipped              bool    `json:"gaps_skipped"`
	ExperimentTimeoutSeconds float64 `json:"experiment_timeout_seconds"`
}

// StudySummary counts runs.
type StudySummary struct {
	Generated int `json:"generated"`
	Ran       int `json:"ran"`
	Completed int `json:"completed"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Pending   int `json:"pending"`
}

// ConfigSummary aggregates one configuration across its cycles.
type ConfigSummary struct {
	MeasurementConfigHash string                  `json:"measurement_config_hash"`
	Config                config.ExperimentConfig `json:"config"`
	// Swept holds the values of the swept parameters for this configuration,
	// keyed by sweep key (e.g. "native.batch_size").
	Swept                 map[string]any `json:"swept,omitempty"`
	Completed             int            `json:"completed"`
	Failed                int            `json:"failed"`
	EnergySource          string         `json:"energy_source"`
	EnergyPerOutputTokenJ Stat           `json:"energy_per_output_token_j"`
	EnergyTotalJ          Stat           `json:"energy_total_j"`
	EnergyAdjustedJ       Stat           `json:"energy_adjusted_j"`
	OutputTokensPerS      Stat           `json:"output_tokens_per_s"`
	TTFTP50S              Stat           `json:"ttft_p50_s"`
	ITLP50S               Stat           `json:"itl_p50_s"`
	E2EP50S               Stat           `json:"e2e_p50_s"`
	AvgPowerW             Stat           `json:"avg_power_w"`
}

// Stat is a sample summarised across cycles.
type Stat struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	CILow  float64 `json:"ci95_low"`
	CIHigh float64 `json:"ci95_high"`
}

// FailedRun is a run that did not produce a result.
type FailedRun struct {
	RunIndex              int                     `json:"run_index"`
	Cycle                 int                     `json:"cycle"`
	MeasurementConfigHash string                  `json:"measurement_config_hash"`
	Config                config.ExperimentConfig `json:"config"`
	ErrorType             string                  `json:"error_type"`
	Message               string                  `json:"message"`
}
