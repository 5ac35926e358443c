// Package event holds the progress events of a run and of a study: what
// llem.Options.OnEvent receives, what a child process reports to its
// runner, and what the command line prints. The llem package re-exports
// these types; the study runner and the harness produce them.
package event

import (
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order a study emits them.
const (
	StudyStart EventKind = "study_start"
	RunStart   EventKind = "run_start"
	RunPhase   EventKind = "run_phase"
	Gap        EventKind = "gap"
	RunEnd     EventKind = "run_end"
	Circuit    EventKind = "circuit_open"
	Warning    EventKind = "warning"
	StudyEnd   EventKind = "study_end"
)

// Phase is where a measured run is.
type Phase string

// Phases of a run, in order.
const (
	PhaseSnapshot Phase = "snapshot"
	PhaseBaseline Phase = "baseline"
	PhaseLoad     Phase = "load"
	PhaseWarmup   Phase = "warm-up"
	PhaseThermal  Phase = "thermal floor"
	PhaseMeasure  Phase = "measuring"
	PhaseDone     Phase = "done"
)

// Progress is a measured run's phase and progress (RunPhase events),
// reported by a child process to its runner as JSON lines.
type Progress struct {
	Phase        Phase   `json:"phase"`
	PromptsDone  int     `json:"prompts_done,omitempty"`
	PromptsTotal int     `json:"prompts_total,omitempty"`
	TokensPerS   float64 `json:"tokens_per_s,omitempty"`
	PowerW       float64 `json:"power_w,omitempty"`
	Message      string  `json:"message,omitempty"`
	// Remaining is the phase's remaining time where known (baseline,
	// thermal floor).
	Remaining time.Duration `json:"remaining,omitempty"`
	// Elapsed is the run's time so far.
	Elapsed time.Duration `json:"elapsed,omitempty"`
	// OutputTokens and Requests count what the engine completed in this
	// run so far, warm-up included (PromptsDone counts only the measured
	// prompts, or the warm-up runs during the warm-up).
	OutputTokens int `json:"output_tokens,omitempty"`
	Requests     int `json:"requests,omitempty"`
	// Domains are the energy sensors' latest readings, one per metered
	// domain, once the sensors are chosen.
	Domains []DomainReading `json:"domains,omitempty"`
	// Periodic marks a report sent between steps (about once a second
	// while the sensors run): it repeats the last step's fields with the
	// time, the remaining time and the readings brought up to date.
	Periodic bool `json:"periodic,omitempty"`
}

// DomainReading is one metered domain's latest reading in a run.
type DomainReading struct {
	// Kind is gpu, cpu_package, dram or cpu (the CPU-time estimate);
	// Index numbers domains of a kind; Name is the device's where known.
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	Name  string `json:"name,omitempty"`
	// Source is where the figures come from (results.Source* names);
	// "estimated" is an estimate, never a measurement.
	Source string `json:"source"`
	// PowerW is the latest power; EnergyJ the domain's energy since the
	// run's sensors started (baseline, warm-up and measurement included).
	PowerW  float64 `json:"power_w,omitempty"`
	EnergyJ float64 `json:"energy_j,omitempty"`
}

// Event is one thing a run or a study reports while it runs. Fields not
// relevant to the Kind are zero.
type Event struct {
	Kind EventKind `json:"kind"`
	Time time.Time `json:"time"`
	// StudyDir is the study's output directory.
	StudyDir string `json:"study_dir,omitempty"`
	// Total is the number of runs in the study; ToRun those this
	// invocation executes (fewer on resume).
	Total int `json:"total"`
	ToRun int `json:"to_run,omitempty"`
	// Position is 1-based among the runs this invocation executes.
	Position int `json:"position,omitempty"`
	// RunIndex, Cycle and Config identify the run (run events).
	RunIndex int                      `json:"run_index,omitempty"`
	Cycle    int                      `json:"cycle,omitempty"`
	Config   *config.ExperimentConfig `json:"config,omitempty"`
	// RunDir is the run's directory, holding its run.log (run events).
	RunDir string `json:"run_dir,omitempty"`
	// Progress is the run's report (RunPhase).
	Progress *Progress `json:"progress,omitempty"`
	// Gap fields (Gap, one event per second of the countdown and one
	// with Remaining 0 at its end). GapKind is config, cycle or cooldown;
	// GapMode fixed or temperature.
	GapKind   string        `json:"gap_kind,omitempty"`
	GapMode   string        `json:"gap_mode,omitempty"`
	Remaining time.Duration `json:"remaining,omitempty"`
	GapTotal  time.Duration `json:"gap_total,omitempty"`
	TempC     *float64      `json:"temp_c,omitempty"`
	TargetC   *float64      `json:"target_c,omitempty"`
	// Run end: the state, and for failures the reason.
	State     results.RunState `json:"state,omitempty"`
	ErrorType string           `json:"error_type,omitempty"`
	Error     string           `json:"error,omitempty"`
	LogTail   string           `json:"log_tail,omitempty"`
	// Elapsed is the study's (or the run's) time so far; ETA the estimate
	// of what remains from the mean duration of the runs completed so far
	// (0 until one has).
	Elapsed time.Duration `json:"elapsed"`
	ETA     time.Duration `json:"eta,omitempty"`
	// Message is a human sentence (warnings, study end).
	Message string `json:"message,omitempty"`
	// Counts at study end.
	Completed int `json:"completed,omitempty"`
	Failed    int `json:"failed,omitempty"`
}
