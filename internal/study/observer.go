package study

import (
	"context"
	"time"

	"github.com/llenergymeasure/llem/event"
)

// EventKind, Event and the kinds are the public progress events
// (package event).
type (
	EventKind = event.EventKind
	Event     = event.Event
)

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
