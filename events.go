package llem

import (
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/harness"
	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order a study emits them.
const (
	EventStudyStart EventKind = "study_start"
	EventRunStart   EventKind = "run_start"
	EventRunPhase   EventKind = "run_phase"
	EventGap        EventKind = "gap"
	EventRunEnd     EventKind = "run_end"
	EventCircuit    EventKind = "circuit_open"
	EventWarning    EventKind = "warning"
	EventStudyEnd   EventKind = "study_end"
)

// Phase is where a measured run is.
type Phase string

// Phases of a run, in order.
const (
	PhaseSnapshot Phase = Phase(harness.PhaseSnapshot)
	PhaseBaseline Phase = Phase(harness.PhaseBaseline)
	PhaseLoad     Phase = Phase(harness.PhaseLoad)
	PhaseWarmup   Phase = Phase(harness.PhaseWarmup)
	PhaseThermal  Phase = Phase(harness.PhaseThermal)
	PhaseMeasure  Phase = Phase(harness.PhaseMeasure)
	PhaseDone     Phase = Phase(harness.PhaseDone)
)

// Progress is a measured run's phase and progress (EventRunPhase).
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
	// Progress is the run's report (EventRunPhase).
	Progress *Progress `json:"progress,omitempty"`
	// Gap fields (EventGap, one event per second of the countdown and one
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

func progressOf(e harness.Event) study.Progress {
	return study.Progress{Phase: string(e.Phase), PromptsDone: e.PromptsDone, PromptsTotal: e.PromptsTotal,
		TokensPerS: e.TokensPerS, PowerW: e.PowerW, Message: e.Message, Remaining: e.Remaining}
}

func eventOf(e study.Event) Event {
	out := Event{
		Kind: EventKind(e.Kind), Time: e.Time, StudyDir: e.StudyDir, Total: e.Total, ToRun: e.ToRun,
		Position: e.Position, RunIndex: e.RunIndex, Cycle: e.Cycle, Config: e.Config, RunDir: e.RunDir,
		GapKind: e.GapKind, GapMode: e.GapMode, Remaining: e.Remaining, GapTotal: e.GapTotal, TempC: e.TempC, TargetC: e.TargetC,
		State: e.State, ErrorType: e.ErrorType, Error: e.Error, LogTail: e.LogTail,
		Elapsed: e.Elapsed, ETA: e.ETA, Message: e.Message, Completed: e.Completed, Failed: e.Failed,
	}
	if e.Progress != nil {
		p := publicProgress(*e.Progress)
		out.Progress = &p
	}
	return out
}

func publicProgress(p study.Progress) Progress {
	return Progress{Phase: Phase(p.Phase), PromptsDone: p.PromptsDone, PromptsTotal: p.PromptsTotal,
		TokensPerS: p.TokensPerS, PowerW: p.PowerW, Message: p.Message, Remaining: p.Remaining}
}
