// Package gpucontrol sets a run's GPU power limit and locked clocks
// (config gpu:) through NVML, reads them back, and puts the previous values
// back. Controller is the seam over the few NVML calls it makes: Open
// implements it over go-nvml, and tests drive go-nvml's mock under it.
//
// The harness applies the settings before the baseline and restores them
// when the run ends; a study's parent records the original values in the
// manifest before the run starts (Originals) and restores them after the
// run whatever happened to it, on interrupt and on resume (Restore).
package gpucontrol

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// Clock names a clock domain.
type Clock int

// The clocks llem can lock.
const (
	SMClock Clock = iota
	MemoryClock
)

func (c Clock) String() string {
	if c == MemoryClock {
		return "memory clock"
	}
	return "SM clock"
}

// field is the config field that sets the clock.
func (c Clock) field() string {
	if c == MemoryClock {
		return "gpu.memory_clock_mhz"
	}
	return "gpu.sm_clock_mhz"
}

// Errors a Controller wraps its NVML failures in.
var (
	// ErrUnavailable: no NVML library, no NVIDIA GPU, or a build without cgo.
	ErrUnavailable = errors.New("no NVIDIA GPU/NVML found")
	// ErrNoPermission: NVML refused the change (it needs root).
	ErrNoPermission = errors.New("insufficient permissions (changing GPU settings needs root)")
	// ErrNotSupported: the GPU does not support the call.
	ErrNotSupported = errors.New("not supported by this GPU")
)

// Controller is the seam over NVML: one open handle on the GPUs a run
// measures. Power limits are in milliwatts, clocks in MHz.
type Controller interface {
	// GPUs lists the controlled GPUs by NVML index.
	GPUs() []int
	// PowerLimit is the power management limit now in force.
	PowerLimit(gpu int) (uint32, error)
	// PowerLimitRange is the lowest and highest limit the card allows and its default.
	PowerLimitRange(gpu int) (min, max, def uint32, err error)
	// SetPowerLimit sets the power management limit.
	SetPowerLimit(gpu int, mw uint32) error
	// Clock is the clock's current frequency.
	Clock(gpu int, c Clock) (uint32, error)
	// MaxClock is the clock's highest frequency.
	MaxClock(gpu int, c Clock) (uint32, error)
	// LockClock locks the clock to one frequency.
	LockClock(gpu int, c Clock, mhz uint32) error
	// UnlockClock resets a clock lock.
	UnlockClock(gpu int, c Clock) error
	// Close releases NVML.
	Close() error
}

// Opener opens a Controller on the GPUs with the given NVML indices (all
// when empty); Open is the real one.
type Opener func(devices []int) (Controller, error)

// Settings is what a run asks for; a zero value leaves the setting alone.
type Settings struct {
	PowerLimitMW   uint32
	SMClockMHz     uint32
	MemoryClockMHz uint32
}

// FromConfig turns the gpu: section into Settings.
func FromConfig(g *config.GPUConfig) Settings {
	var s Settings
	if g == nil {
		return s
	}
	if g.PowerLimitWatts != nil && *g.PowerLimitWatts > 0 {
		s.PowerLimitMW = uint32(*g.PowerLimitWatts) * 1000
	}
	if g.SMClockMHz != nil && *g.SMClockMHz > 0 {
		s.SMClockMHz = uint32(*g.SMClockMHz)
	}
	if g.MemoryClockMHz != nil && *g.MemoryClockMHz > 0 {
		s.MemoryClockMHz = uint32(*g.MemoryClockMHz)
	}
	return s
}

// IsZero reports whether nothing is asked for.
func (s Settings) IsZero() bool { return s == Settings{} }

func (s Settings) clock(c Clock) uint32 {
	if c == MemoryClock {
		return s.MemoryClockMHz
	}
	return s.SMClockMHz
}

// Problem is a setting that cannot be applied, naming its config field.
type Problem struct {
	Field, Msg string
	Cause      error
}

func (p Problem) Error() string { return p.Field + ": " + p.Msg }

// Unavailable is the pre-flight's refusal of every field s sets when no
// Controller could be opened.
func Unavailable(s Settings, err error) []Problem {
	var out []Problem
	for _, f := range s.fields() {
		out = append(out, Problem{Field: f, Msg: fmt.Sprintf("cannot be applied: %v; remove it, or run on a machine with an NVIDIA GPU and its driver", err), Cause: err})
	}
	return out
}

func (s Settings) fields() []string {
	var out []string
	if s.PowerLimitMW > 0 {
		out = append(out, "gpu.power_limit_watts")
	}
	if s.SMClockMHz > 0 {
		out = append(out, SMClock.field())
	}
	if s.MemoryClockMHz > 0 {
		out = append(out, MemoryClock.field())
	}
	return out
}

// Check is the pre-flight: on every GPU, the power limit is within the
// card's constraints and the clocks at most the card's highest, and NVML
// lets this process change settings (the current power limit is written
// back unchanged, which needs the same permission). It changes nothing.
func Check(ctl Controller, s Settings) []Problem {
	var out []Problem
	add := func(field, format string, args ...any) {
		for _, p := range out {
			if p.Field == field {
				return // the first GPU's problem is enough
			}
		}
		out = append(out, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, gpu := range ctl.GPUs() {
		if mw := s.PowerLimitMW; mw > 0 {
			lo, hi, def, err := ctl.PowerLimitRange(gpu)
			switch {
			case err != nil:
				add("gpu.power_limit_watts", "GPU %d: cannot read the allowed power limits: %v", gpu, err)
			case mw < lo || mw > hi:
				add("gpu.power_limit_watts", "%d W is outside GPU %d's allowed range %s–%s W (default %s W)", mw/1000, gpu, watts(lo), watts(hi), watts(def))
			}
		}
		for _, c := range []Clock{SMClock, MemoryClock} {
			mhz := s.clock(c)
			if mhz == 0 {
				continue
			}
			hi, err := ctl.MaxClock(gpu, c)
			switch {
			case err != nil:
				add(c.field(), "GPU %d: cannot read the highest %s: %v", gpu, c, err)
			case mhz > hi:
				add(c.field(), "%d MHz is outside GPU %d's range: its %s goes up to %d MHz", mhz, gpu, c, hi)
			}
		}
		cur, err := ctl.PowerLimit(gpu)
		if err == nil {
			err = ctl.SetPowerLimit(gpu, cur)
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrNoPermission):
			for _, f := range s.fields() {
				add(f, "NVML refused to change GPU %d's settings: %v; run llem as root (sudo) or remove it", gpu, err)
			}
		case errors.Is(err, ErrNotSupported) && s.PowerLimitMW == 0:
			// Only the power limit cannot be set here; the clocks are
			// checked when they are applied (and read back).
		default:
			if s.PowerLimitMW > 0 {
				add("gpu.power_limit_watts", "GPU %d cannot have its power limit set: %v", gpu, err)
			}
		}
	}
	return out
}

func watts(mw uint32) string { return fmt.Sprintf("%g", float64(mw)/1000) }

// Originals reads, on every GPU, the settings s will change: what must be
// put back after the run.
func Originals(ctl Controller, s Settings) ([]results.GPUOriginal, error) {
	if s.IsZero() {
		return nil, nil
	}
	var out []results.GPUOriginal
	for _, gpu := range ctl.GPUs() {
		o := results.GPUOriginal{Index: gpu, UnlockSMClock: s.SMClockMHz > 0, UnlockMemoryClock: s.MemoryClockMHz > 0}
		if s.PowerLimitMW > 0 {
			mw, err := ctl.PowerLimit(gpu)
			if err != nil {
				return nil, fmt.Errorf("GPU %d: read the power limit: %w", gpu, err)
			}
			o.PowerLimitMW = mw
		}
		out = append(out, o)
	}
	return out, nil
}

// Restore puts the originals back: clock locks reset, power limits
// written. It tries every GPU and every setting, and returns what failed.
func Restore(ctl Controller, orig []results.GPUOriginal) error {
	var errs []error
	for _, o := range orig {
		if o.UnlockSMClock {
			if err := ctl.UnlockClock(o.Index, SMClock); err != nil {
				errs = append(errs, fmt.Errorf("GPU %d: reset the SM clock lock: %w", o.Index, err))
			}
		}
		if o.UnlockMemoryClock {
			if err := ctl.UnlockClock(o.Index, MemoryClock); err != nil {
				errs = append(errs, fmt.Errorf("GPU %d: reset the memory clock lock: %w", o.Index, err))
			}
		}
		if o.PowerLimitMW > 0 {
			if err := ctl.SetPowerLimit(o.Index, o.PowerLimitMW); err != nil {
				errs = append(errs, fmt.Errorf("GPU %d: put the power limit back to %s W: %w", o.Index, watts(o.PowerLimitMW), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Effective is one GPU's settings as read back after they were applied:
// the result's effective.gpu.
type Effective struct {
	Index          int      `json:"index"`
	PowerLimitW    *float64 `json:"power_limit_w,omitempty"`
	SMClockMHz     *uint32  `json:"sm_clock_mhz,omitempty"`
	MemoryClockMHz *uint32  `json:"memory_clock_mhz,omitempty"`
}

// readBackTries and readBackWait bound how long Apply waits for a locked
// clock to settle at its new frequency.
const (
	readBackTries = 10
	readBackWait  = 100 * time.Millisecond
)

// Apply sets s on every GPU and reads each setting back. If a setting
// cannot be made or the card does not run at it, Apply puts orig back and
// returns an error naming the field: the run must not go on at other
// settings than asked.
func Apply(ctl Controller, s Settings, orig []results.GPUOriginal) ([]Effective, error) {
	eff, err := apply(ctl, s)
	if err != nil {
		if rerr := Restore(ctl, orig); rerr != nil {
			err = errors.Join(err, fmt.Errorf("and putting the original settings back failed: %w", rerr))
		}
		return nil, err
	}
	return eff, nil
}

func apply(ctl Controller, s Settings) ([]Effective, error) {
	var out []Effective
	for _, gpu := range ctl.GPUs() {
		e := Effective{Index: gpu}
		if mw := s.PowerLimitMW; mw > 0 {
			if err := ctl.SetPowerLimit(gpu, mw); err != nil {
				return nil, Problem{Field: "gpu.power_limit_watts", Msg: fmt.Sprintf("GPU %d: set the power limit to %s W: %v", gpu, watts(mw), err), Cause: err}
			}
			got, err := ctl.PowerLimit(gpu)
			if err != nil {
				return nil, Problem{Field: "gpu.power_limit_watts", Msg: fmt.Sprintf("GPU %d: read the power limit back: %v", gpu, err), Cause: err}
			}
			if got != mw {
				return nil, Problem{Field: "gpu.power_limit_watts", Msg: fmt.Sprintf("GPU %d did not take the power limit: it reads %s W after being set to %s W", gpu, watts(got), watts(mw))}
			}
			w := float64(got) / 1000
			e.PowerLimitW = &w
		}
		for _, c := range []Clock{SMClock, MemoryClock} {
			mhz := s.clock(c)
			if mhz == 0 {
				continue
			}
			if err := ctl.LockClock(gpu, c, mhz); err != nil {
				return nil, Problem{Field: c.field(), Msg: fmt.Sprintf("GPU %d: lock the %s at %d MHz: %v", gpu, c, mhz, err), Cause: err}
			}
			got, err := readClock(ctl, gpu, c, mhz)
			if err != nil {
				return nil, Problem{Field: c.field(), Msg: fmt.Sprintf("GPU %d: read the %s back: %v", gpu, c, err), Cause: err}
			}
			if got != mhz {
				return nil, Problem{Field: c.field(), Msg: fmt.Sprintf("GPU %d did not take the %s: it runs at %d MHz after being locked at %d MHz (use one of the card's supported clocks: nvidia-smi -q -d SUPPORTED_CLOCKS)", gpu, c, got, mhz)}
			}
			if c == SMClock {
				e.SMClockMHz = &got
			} else {
				e.MemoryClockMHz = &got
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// readClock reads the clock until it runs at want or the tries run out
// (a new lock may take a moment to show).
func readClock(ctl Controller, gpu int, c Clock, want uint32) (uint32, error) {
	var got uint32
	for i := range readBackTries {
		var err error
		if got, err = ctl.Clock(gpu, c); err != nil || got == want {
			return got, err
		}
		if i < readBackTries-1 {
			time.Sleep(readBackWait)
		}
	}
	return got, nil
}

// Selected filters gpus by the NVML indices in devices (all when empty).
func Selected(gpus, devices []int) []int {
	if len(devices) == 0 {
		return gpus
	}
	return slices.DeleteFunc(slices.Clone(gpus), func(g int) bool { return !slices.Contains(devices, g) })
}
