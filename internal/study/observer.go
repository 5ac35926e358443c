package study

import (
	"context"
	"time"

	"github.com/llenergymeasure/llem/config"
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

// Event is one thing a study reports while it runs. Fields not relevant to
// the Kind are zero.
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
	// Progress is the child's report (EventRunPhase).
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
	// Elapsed is the study's time so far; ETA the estimate of what remains
	// from the mean duration of the runs completed so far (0 until one has).
	Elapsed time.Duration `json:"elapsed"`
	ETA     time.Duration `json:"eta,omitempty"`
	// Message is a human sentence (warnings, study end).
	Message string `json:"message,omitempty"`
	// Counts at study end.
	Completed int `json:"completed,omitempty"`
	Failed    int `json:"failed,omitempty"`
}

// Observer receives a study's events, one call at a time (never
// concurrently). It must return quickly: the runner waits for it.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// Clock is the runner's time source; tests substitute one that does not
// really sleep.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then.
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TempReader reads the device temperature that gates temperature gaps
// (the GPU through NVML, else the CPU through thermal zones).
type TempReader interface {
	TemperatureC(ctx context.Context) (float64, error)
}
