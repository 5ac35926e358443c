package study

import (
	"context"
	"github.com/llenergymeasure/llem/event"
	"time"

	"github.com/llenergymeasure/llem/config"
)

// Gap modes of config.Execution.GapMode.
const (
	GapModeFixed       = "fixed"
	GapModeTemperature = "temperature"
)

// Defaults of temperature-gated gaps.
const (
	DefaultTemperatureBandC = 2.0
	DefaultMaxGap           = 300 * time.Second
	tempPollInterval        = time.Second
)

// GapDefaults are the machine-local gap lengths from the user config, used
// where the study's execution block leaves them unset.
type GapDefaults struct {
	ConfigGapSeconds float64
	CycleGapSeconds  float64
}

// GapKind says which gap separates prev from next in a study run in order:
// "cycle" between two passes over every configuration (the orders that run
// cycle by cycle), "config" otherwise. In sequential order the cycles of
// one configuration run back to back, so config gaps separate them.
func GapKind(order config.CycleOrder, prev, next config.Run) string {
	if order != config.OrderSequential && next.Cycle != prev.Cycle {
		return "cycle"
	}
	return "config"
}

// Gaps are the effective fixed gap lengths in seconds: the study's
// execution block where it sets them, else the user config's defaults.
func Gaps(ex config.Execution, d GapDefaults) (cfgGap, cycleGap float64) {
	cfgGap, cycleGap = d.ConfigGapSeconds, d.CycleGapSeconds
	if ex.ConfigGapSeconds != nil {
		cfgGap = *ex.ConfigGapSeconds
	}
	if ex.CycleGapSeconds != nil {
		cycleGap = *ex.CycleGapSeconds
	}
	return max(cfgGap, 0), max(cycleGap, 0)
}

// GapBefore is the one decision of the fixed gap before next, run after
// prev: its kind (GapKind) and length in seconds (Gaps). The runner, a
// scheduler's task and the dry-run estimate all use it.
func GapBefore(ex config.Execution, d GapDefaults, prev, next config.Run) (kind string, secs float64) {
	cfgGap, cycleGap := Gaps(ex, d)
	if kind = GapKind(ex.CycleOrder, prev, next); kind == "cycle" {
		return kind, cycleGap
	}
	return kind, cfgGap
}

// gap waits between prev and next, fixed or temperature-gated, reporting
// the countdown. startTemp is the temperature at prev's start, nil where
// none was read. It returns ctx.Err() when cancelled.
func (r *runner) gap(ctx context.Context, prev, next config.Run, startTemp *float64) error {
	if r.opts.NoGaps {
		return nil
	}
	kind, secs := GapBefore(r.sc.Execution, r.opts.UserGapDefaults, prev, next)
	fixed := time.Duration(secs * float64(time.Second))
	if r.sc.Execution.GapMode == GapModeTemperature {
		if r.opts.TempReader != nil && startTemp != nil {
			return r.temperatureGap(ctx, kind, *startTemp, fixed)
		}
		r.warnOnce("no device temperature can be read: temperature-gated gaps fall back to the fixed gaps")
	}
	return r.countdown(ctx, kind, GapModeFixed, fixed)
}

// countdown waits d, one event per second and one at the end.
func (r *runner) countdown(ctx context.Context, kind, mode string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	end := r.clock.Now().Add(d)
	for {
		left := end.Sub(r.clock.Now())
		if left < 0 {
			left = 0
		}
		r.emit(Event{Kind: event.Gap, GapKind: kind, GapMode: mode, Remaining: left, GapTotal: d})
		if left == 0 {
			return nil
		}
		step := left % time.Second
		if step == 0 {
			step = time.Second
		}
		if err := r.clock.Sleep(ctx, step); err != nil {
			return err
		}
	}
}

// temperatureGap waits until the device is back within the band of
// startTemp, at most the execution's MaxGapSeconds (DefaultMaxGap unset).
// A temperature that stops being readable falls back to the fixed gap.
func (r *runner) temperatureGap(ctx context.Context, kind string, startTemp float64, fixed time.Duration) error {
	band := r.sc.Execution.TemperatureBandC
	if band <= 0 {
		band = DefaultTemperatureBandC
	}
	capD := time.Duration(r.sc.Execution.MaxGapSeconds * float64(time.Second))
	if capD <= 0 {
		capD = DefaultMaxGap
	}
	target := startTemp + band
	begin := r.clock.Now()
	for {
		t, err := r.opts.TempReader.TemperatureC(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.warnOnce("device temperature stopped being readable (" + err.Error() + "): this gap falls back to the fixed gap")
			return r.countdown(ctx, kind, GapModeFixed, fixed-r.clock.Now().Sub(begin))
		}
		left := max(capD-r.clock.Now().Sub(begin), 0)
		done := t <= target || left == 0
		if done {
			left = 0
		}
		r.emit(Event{Kind: event.Gap, GapKind: kind, GapMode: GapModeTemperature, Remaining: left, GapTotal: capD, TempC: &t, TargetC: &target})
		if done {
			return nil
		}
		if err := r.clock.Sleep(ctx, min(tempPollInterval, left)); err != nil {
			return err
		}
	}
}

// readTemp reads the temperature for the manifest, nil where unreadable.
func (r *runner) readTemp(ctx context.Context) *float64 {
	if r.opts.TempReader == nil {
		return nil
	}
	t, err := r.opts.TempReader.TemperatureC(ctx)
	if err != nil {
		return nil
	}
	return &t
}
