package results

import (
	"time"

	"github.com/llenergymeasure/llem/config"
)

// StudyResult is the final record of a study. It lists result files by path
// rather than embedding them.
type StudyResult struct {
	// SchemaVersion is the version of this result format.
	SchemaVersion string `json:"schema_version"`
	// StudyID is the study directory's name.
	StudyID string `json:"study_id"`
	// StudyName is the study's name from its file.
	StudyName string `json:"study_name"`
	// StudyFile is the path of the study file the study was run from; empty when it had none.
	StudyFile string `json:"study_file,omitempty"`
	// StudyDesignHash identifies the set of configurations measured (config.StudyDesignHash): 16 hex characters.
	StudyDesignHash string `json:"study_design_hash"`
	// StartedAt is when the study's manifest was created (RFC 3339).
	StartedAt time.Time `json:"started_at"`
	// CompletedAt is when this result was written (RFC 3339).
	CompletedAt time.Time `json:"completed_at"`
	// Runner is what ran the runs: local, docker or slurm.
	Runner string `json:"runner"` // local | docker | slurm
	// MeasurementProtocol is the execution block as effectively used.
	MeasurementProtocol MeasurementProtocol `json:"measurement_protocol"`
	// Summary counts the study's runs by outcome.
	Summary StudySummary `json:"summary"`
	// Configurations summarises each configuration across its cycles, in study order.
	Configurations []ConfigSummary `json:"configurations"`
	// Skipped lists configurations the study left out, and why; empty when none.
	Skipped []config.SkippedConfig `json:"skipped"`
	// Failed lists runs that produced no result; empty when none.
	Failed []FailedRun `json:"failed"`
	// ResultFiles are paths relative to the study directory.
	ResultFiles []string `json:"result_files"`
	// Interrupted is set when the study stopped before every run was done.
	Interrupted bool `json:"interrupted,omitempty"`
	// StopReason says why the study stopped early (e.g. its wall-clock limit); empty when it did not.
	StopReason string `json:"stop_reason,omitempty"`
	// Warnings are study-level conditions that may affect the figures, such as high variance across cycles.
	Warnings []Warning `json:"warnings,omitempty"`
}

// MeasurementProtocol records how the study was executed.
type MeasurementProtocol struct {
	// NCycles is how many times each configuration was run.
	NCycles int `json:"n_cycles"`
	// CycleOrder is the order of configurations within a cycle (sequential by default).
	CycleOrder string `json:"cycle_order"`
	// ShuffleSeed is the seed of the shuffled cycle order; omitted unless the order is shuffled.
	ShuffleSeed int64 `json:"shuffle_seed,omitempty"`
	// ConfigGapSeconds is the pause between configurations, in seconds.
	ConfigGapSeconds float64 `json:"config_gap_seconds"`
	// CycleGapSeconds is the pause between cycles, in seconds.
	CycleGapSeconds float64 `json:"cycle_gap_seconds"`
	// GapMode is fixed, or temperature (wait until the device has cooled).
	GapMode string `json:"gap_mode"`
	// GapsSkipped is true when the gaps were skipped (--no-gaps).
	GapsSkipped bool `json:"gaps_skipped"`
	// ExperimentTimeoutSeconds is the per-run timeout, in seconds.
	ExperimentTimeoutSeconds float64 `json:"experiment_timeout_seconds"`
}

// StudySummary counts runs.
type StudySummary struct {
	// Generated is the number of runs the study defines, skipped ones included.
	Generated int `json:"generated"`
	// Ran is Completed plus Failed.
	Ran int `json:"ran"`
	// Completed is the number of runs that produced a result.
	Completed int `json:"completed"`
	// Skipped is the number of runs of skipped configurations (configurations × cycles).
	Skipped int `json:"skipped"`
	// Failed is the number of runs that failed.
	Failed int `json:"failed"`
	// Pending is the number of runs not yet done; above 0 means the study was interrupted.
	Pending int `json:"pending"`
}

// ConfigSummary aggregates one configuration across its cycles.
type ConfigSummary struct {
	// MeasurementConfigHash identifies the configuration (config.MeasurementConfigHash).
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Config is the configuration, defaults applied.
	Config config.ExperimentConfig `json:"config"`
	// Swept holds the values of the swept parameters for this configuration,
	// keyed by sweep key (e.g. "native.batch_size").
	Swept map[string]any `json:"swept,omitempty"`
	// Completed is the number of this configuration's runs with a result.
	Completed int `json:"completed"`
	// Failed is the number of this configuration's runs that failed.
	Failed int `json:"failed"`
	// EnergySource is the energy source of its runs, "mixed" when they differ; empty with no completed run.
	EnergySource string `json:"energy_source"`
	// EnergyPerOutputTokenJ summarises energy per output token across cycles, in joules.
	EnergyPerOutputTokenJ Stat `json:"energy_per_output_token_j"`
	// EnergyTotalJ summarises the measured window's total energy across cycles, in joules.
	EnergyTotalJ Stat `json:"energy_total_j"`
	// EnergyAdjustedJ summarises baseline-adjusted energy across cycles, in joules (may be negative).
	EnergyAdjustedJ Stat `json:"energy_adjusted_j"`
	// OutputTokensPerS summarises output throughput across cycles, in tokens/s.
	OutputTokensPerS Stat `json:"output_tokens_per_s"`
	// TTFTP50S summarises the median time to first token across cycles, in seconds.
	TTFTP50S Stat `json:"ttft_p50_s"`
	// ITLP50S summarises the median inter-token latency across cycles, in seconds.
	ITLP50S Stat `json:"itl_p50_s"`
	// E2EP50S summarises the median end-to-end latency across cycles, in seconds.
	E2EP50S Stat `json:"e2e_p50_s"`
	// AvgPowerW summarises average power across cycles, in watts.
	AvgPowerW Stat `json:"avg_power_w"`
}

// Stat is a sample summarised across cycles.
type Stat struct {
	// N is the number of values (cycles); 0, with every figure 0, when there are none.
	N int `json:"n"`
	// Mean is the values' mean.
	Mean float64 `json:"mean"`
	// Std is the values' sample standard deviation.
	Std float64 `json:"std"`
	// CILow is the lower end of the t-based 95% CI of the mean, clipped at 0 for non-negative quantities.
	CILow float64 `json:"ci95_low"`
	// CIHigh is the upper end of the t-based 95% CI of the mean.
	CIHigh float64 `json:"ci95_high"`
}

// FailedRun is a run that did not produce a result.
type FailedRun struct {
	// RunIndex is the run's index in the study's plan.
	RunIndex int `json:"run_index"`
	// Cycle is the run's cycle (1-based).
	Cycle int `json:"cycle"`
	// MeasurementConfigHash identifies the run's configuration.
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// Config is the run's configuration.
	Config config.ExperimentConfig `json:"config"`
	// ErrorType classifies the failure (e.g. timeout, panic).
	ErrorType string `json:"error_type"`
	// Message is the error in words.
	Message string `json:"message"`
}
