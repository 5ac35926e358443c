package results

import (
	"fmt"
	"time"
)

// RunState is the state of one run in a StudyManifest.
type RunState string

// Run states.
const (
	StatePending     RunState = "pending"
	StateRunning     RunState = "running"
	StateCompleted   RunState = "completed"
	StateFailed      RunState = "failed"
	StateSkipped     RunState = "skipped"
	StateInterrupted RunState = "interrupted"
)

// StudyManifest is the in-progress checkpoint of a study, rewritten
// atomically after every state change. It is distinct from StudyResult.
type StudyManifest struct {
	// SchemaVersion is the version of this manifest format.
	SchemaVersion string `json:"schema_version"`
	// StudyName is the study's name from its file.
	StudyName string `json:"study_name"`
	// StudyDesignHash identifies the set of configurations measured (config.StudyDesignHash).
	StudyDesignHash string `json:"study_design_hash"`
	// StudyFile is the path of the study file; empty when it had none.
	StudyFile string `json:"study_file,omitempty"`
	// CreatedAt is when the study was started (RFC 3339).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when a run's state last changed (RFC 3339).
	UpdatedAt time.Time `json:"updated_at"`
	// JournalSeq is the sequence number of the last journal entry folded
	// into this snapshot; entries of manifest.journal.jsonl with a higher
	// number are applied over it (see ReadManifest).
	JournalSeq int64 `json:"journal_seq"`
	// Runs has one entry per run in plan order; a run's index is its position.
	Runs []ManifestRun `json:"runs"`
}

// JournalEntry is one line of manifest.journal.jsonl: the full new entry
// of one run after a state change. Lines are appended and fsync'd one per
// change, so the cost of recording a change does not grow with the study.
type JournalEntry struct {
	// Seq is the entry's sequence number, increasing by one per change.
	Seq int64 `json:"seq"`
	// Time is when the change was recorded (RFC 3339).
	Time time.Time `json:"time"`
	// Run is the run's full entry after the change.
	Run ManifestRun `json:"run"`
}

// Apply folds a journal entry into the manifest: the run with the entry's
// index is replaced. Entries already folded in (Seq <= JournalSeq) are
// ignored, so replaying a journal twice is harmless.
func (m *StudyManifest) Apply(e JournalEntry) error {
	if e.Seq <= m.JournalSeq {
		return nil
	}
	i := e.Run.Index
	if i < 0 || i >= len(m.Runs) || m.Runs[i].Index != i {
		return fmt.Errorf("journal entry %d: run index %d not in the manifest's %d runs", e.Seq, i, len(m.Runs))
	}
	m.Runs[i] = e.Run
	m.JournalSeq = e.Seq
	if e.Time.After(m.UpdatedAt) {
		m.UpdatedAt = e.Time
	}
	return nil
}

// Counts returns how many runs are in each state.
func (m *StudyManifest) Counts() map[RunState]int {
	c := make(map[RunState]int)
	for _, r := range m.Runs {
		c[r.State]++
	}
	return c
}

// ManifestRun is one run's entry in the manifest.
type ManifestRun struct {
	// Index is the run's position in the study's plan (0-based).
	Index int `json:"index"`
	// Cycle is the study cycle the run belongs to (1-based).
	Cycle int `json:"cycle"`
	// Experiment is the index of the run's configuration in the resolved study's experiments.
	Experiment int `json:"experiment"`
	// MeasurementConfigHash identifies the run's configuration (config.MeasurementConfigHash).
	MeasurementConfigHash string `json:"measurement_config_hash"`
	// State is pending, running, completed, failed, skipped or interrupted.
	State RunState `json:"state"`
	// StartedAt is when the run started; omitted before it has.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// EndedAt is when the run ended; omitted before it has.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// ResultPath is relative to the study directory.
	ResultPath string `json:"result_path,omitempty"`
	// ResultSHA256 is the checksum of result.json when the run completed;
	// a resume re-measures a run whose result no longer matches it.
	ResultSHA256 string `json:"result_sha256,omitempty"`
	// Error is why a failed or interrupted run did not complete; empty otherwise.
	Error string `json:"error,omitempty"`
	// ErrorType classifies that error (e.g. timeout, panic, interrupted); empty otherwise.
	ErrorType string `json:"error_type,omitempty"`
	// LogTail is the last lines of the log of a run that did not complete; empty otherwise.
	LogTail string `json:"log_tail,omitempty"`
	// StartTempC and EndTempC are device temperatures around the run, when readable.
	StartTempC *float64 `json:"start_temp_c,omitempty"`
	// EndTempC is the device temperature after the run, in °C; omitted when unreadable.
	EndTempC *float64 `json:"end_temp_c,omitempty"`
	// GPUOriginal is what the GPU settings the run changes (gpu: in its
	// configuration) were before it started, recorded before the run
	// could change anything; omitted when the run sets none.
	GPUOriginal []GPUOriginal `json:"gpu_original,omitempty"`
	// GPURestorePending is true from before the run starts until the
	// study has put GPUOriginal back; a resume finding it true restores
	// them first.
	GPURestorePending bool `json:"gpu_restore_pending,omitempty"`
}

// GPUOriginal is one GPU's settings before a run changed them: what the
// study puts back after the run, however it ended.
type GPUOriginal struct {
	// Index is the GPU's NVML index.
	Index int `json:"index"`
	// PowerLimitMW is the power management limit in milliwatts to put
	// back; 0 when the run does not change it.
	PowerLimitMW uint32 `json:"power_limit_mw,omitempty"`
	// UnlockSMClock: the run locks the SM clock, which is then reset
	// (NVML cannot read a lock set before; llem assumes there was none).
	UnlockSMClock bool `json:"unlock_sm_clock,omitempty"`
	// UnlockMemoryClock: the run locks the memory clock, which is then reset.
	UnlockMemoryClock bool `json:"unlock_memory_clock,omitempty"`
}
