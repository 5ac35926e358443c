//go:build cgo

// Package gpumock is a GPU for tests: go-nvml's mock library over a card
// whose settings live in a JSON file, so that a study's parent and its
// child processes (the test binary re-executed) see one card, and a test
// can kill a child that changed it and check what the parent put back.
package gpumock

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/llenergymeasure/llem/internal/gpucontrol"
)

// State is the card: its limits, what is set now, and how it misbehaves.
type State struct {
	// PowerLimitMW is the limit in force; MinMW, MaxMW and DefaultMW its constraints.
	PowerLimitMW, MinMW, MaxMW, DefaultMW uint32
	// IdleSMMHz and IdleMemMHz are the clocks when unlocked; MaxSMMHz and MaxMemMHz the highest.
	IdleSMMHz, IdleMemMHz, MaxSMMHz, MaxMemMHz uint32
	// LockedSMMHz and LockedMemMHz are the locks in force (0: none).
	LockedSMMHz, LockedMemMHz uint32
	// ClockStepMHz, when set, rounds a lock down to a multiple of it (a
	// card's supported clocks).
	ClockStepMHz uint32
	// Denied makes every change fail with ERROR_NO_PERMISSION (not root).
	Denied bool
	// IgnorePowerLimit makes the card accept a power limit and keep the old one.
	IgnorePowerLimit bool
	// Sets counts the successful changes (power limit writes, locks, resets).
	Sets int
}

// H100 is a card like an H100 SXM: 200–700 W, default 700 W.
func H100() State {
	return State{PowerLimitMW: 700_000, MinMW: 200_000, MaxMW: 700_000, DefaultMW: 700_000,
		IdleSMMHz: 345, IdleMemMHz: 2619, MaxSMMHz: 1980, MaxMemMHz: 2619}
}

// Card is one mock GPU whose state is kept in a file.
type Card struct{ Path string }

// New writes st to path and returns the card.
func New(path string, st State) (*Card, error) {
	c := &Card{Path: path}
	return c, c.Write(st)
}

// NewH100 is an H100 (changed by mod, when set) in a file of tb's
// temporary directory, for a test.
func NewH100(tb testing.TB, mod func(*State)) *Card {
	tb.Helper()
	st := H100()
	if mod != nil {
		mod(&st)
	}
	c, err := New(filepath.Join(tb.TempDir(), "card.json"), st)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// State reads the card's state.
func (c *Card) State() (State, error) {
	var st State
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// Write replaces the card's state.
func (c *Card) Write(st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(c.Path, b, 0o644)
}

// update applies f to the state; an unreadable file is ERROR_UNKNOWN.
func (c *Card) update(f func(*State) nvml.Return) nvml.Return {
	st, err := c.State()
	if err != nil {
		return nvml.ERROR_UNKNOWN
	}
	ret := f(&st)
	if ret == nvml.SUCCESS {
		st.Sets++
	}
	if err := c.Write(st); err != nil {
		return nvml.ERROR_UNKNOWN
	}
	return ret
}

func (c *Card) read(f func(State) uint32) (uint32, nvml.Return) {
	st, err := c.State()
	if err != nil {
		return 0, nvml.ERROR_UNKNOWN
	}
	return f(st), nvml.SUCCESS
}

// Device is the card as go-nvml's mock device.
func (c *Card) Device() *mock.Device {
	lock := func(field *uint32, mhz uint32, st *State) {
		if st.ClockStepMHz > 0 {
			mhz -= mhz % st.ClockStepMHz
		}
		*field = mhz
	}
	return &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return "mock H100", nvml.SUCCESS },
		GetPowerManagementLimitFunc: func() (uint32, nvml.Return) {
			return c.read(func(s State) uint32 { return s.PowerLimitMW })
		},
		GetPowerManagementDefaultLimitFunc: func() (uint32, nvml.Return) {
			return c.read(func(s State) uint32 { return s.DefaultMW })
		},
		GetPowerManagementLimitConstraintsFunc: func() (uint32, uint32, nvml.Return) {
			st, err := c.State()
			if err != nil {
				return 0, 0, nvml.ERROR_UNKNOWN
			}
			return st.MinMW, st.MaxMW, nvml.SUCCESS
		},
		SetPowerManagementLimitFunc: func(mw uint32) nvml.Return {
			return c.update(func(st *State) nvml.Return {
				switch {
				case st.Denied:
					return nvml.ERROR_NO_PERMISSION
				case mw < st.MinMW || mw > st.MaxMW:
					return nvml.ERROR_INVALID_ARGUMENT
				case !st.IgnorePowerLimit:
					st.PowerLimitMW = mw
				}
				return nvml.SUCCESS
			})
		},
		GetClockInfoFunc: func(t nvml.ClockType) (uint32, nvml.Return) {
			return c.read(func(s State) uint32 {
				if t == nvml.CLOCK_MEM {
					return pick(s.LockedMemMHz, s.IdleMemMHz)
				}
				return pick(s.LockedSMMHz, s.IdleSMMHz)
			})
		},
		GetMaxClockInfoFunc: func(t nvml.ClockType) (uint32, nvml.Return) {
			return c.read(func(s State) uint32 {
				if t == nvml.CLOCK_MEM {
					return s.MaxMemMHz
				}
				return s.MaxSMMHz
			})
		},
		SetGpuLockedClocksFunc: func(lo, hi uint32) nvml.Return {
			return c.update(func(st *State) nvml.Return {
				if st.Denied {
					return nvml.ERROR_NO_PERMISSION
				}
				lock(&st.LockedSMMHz, hi, st)
				return nvml.SUCCESS
			})
		},
		SetMemoryLockedClocksFunc: func(lo, hi uint32) nvml.Return {
			return c.update(func(st *State) nvml.Return {
				if st.Denied {
					return nvml.ERROR_NO_PERMISSION
				}
				lock(&st.LockedMemMHz, hi, st)
				return nvml.SUCCESS
			})
		},
		ResetGpuLockedClocksFunc: func() nvml.Return {
			return c.update(func(st *State) nvml.Return {
				if st.Denied {
					return nvml.ERROR_NO_PERMISSION
				}
				st.LockedSMMHz = 0
				return nvml.SUCCESS
			})
		},
		ResetMemoryLockedClocksFunc: func() nvml.Return {
			return c.update(func(st *State) nvml.Return {
				if st.Denied {
					return nvml.ERROR_NO_PERMISSION
				}
				st.LockedMemMHz = 0
				return nvml.SUCCESS
			})
		},
	}
}

func pick(locked, idle uint32) uint32 {
	if locked > 0 {
		return locked
	}
	return idle
}

// Lib is go-nvml's mock library with the card as its one GPU.
func (c *Card) Lib() *mock.Interface {
	d := c.Device()
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i != 0 {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return d, nvml.SUCCESS
		},
	}
}

// Opener opens gpucontrol's NVML controller over the card.
func (c *Card) Opener() gpucontrol.Opener {
	return func(devices []int) (gpucontrol.Controller, error) {
		ctl, err := gpucontrol.OpenWith(c.Lib(), devices)
		if err != nil {
			return nil, fmt.Errorf("mock card: %w", err)
		}
		return ctl, nil
	}
}
