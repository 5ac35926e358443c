//go:build cgo

package gpucontrol_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/gpucontrol/gpumock"
)

func card(t *testing.T, mod func(*gpumock.State)) (*gpumock.Card, gpucontrol.Controller) {
	t.Helper()
	c := gpumock.NewH100(t, mod)
	ctl, err := c.Opener()(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ctl.Close() })
	return c, ctl
}

func state(t *testing.T, c *gpumock.Card) gpumock.State {
	t.Helper()
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ptr(v int) *int { return &v }

func TestFromConfig(t *testing.T) {
	s := gpucontrol.FromConfig(&config.GPUConfig{PowerLimitWatts: ptr(300), SMClockMHz: ptr(1500)})
	if s != (gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1500}) {
		t.Fatalf("settings %+v", s)
	}
	if !gpucontrol.FromConfig(nil).IsZero() {
		t.Fatal("no gpu section must ask for nothing")
	}
}

// TestCheckRefusesOutsideTheRangeAndWithoutPermission: the pre-flight
// names the field, the card's range, and root; it changes nothing.
func TestCheckRefusesOutsideTheRangeAndWithoutPermission(t *testing.T) {
	c, ctl := card(t, nil)
	probs := gpucontrol.Check(ctl, gpucontrol.Settings{PowerLimitMW: 1_000_000, SMClockMHz: 2500, MemoryClockMHz: 2619})
	if len(probs) != 2 {
		t.Fatalf("problems %v, want power limit and SM clock", probs)
	}
	if p := probs[0]; p.Field != "gpu.power_limit_watts" || !strings.Contains(p.Msg, "1000 W is outside GPU 0's allowed range 200–700 W (default 700 W)") {
		t.Errorf("power limit: %v", p)
	}
	if p := probs[1]; p.Field != "gpu.sm_clock_mhz" || !strings.Contains(p.Msg, "up to 1980 MHz") {
		t.Errorf("SM clock: %v", p)
	}
	if probs := gpucontrol.Check(ctl, gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1500}); len(probs) != 0 {
		t.Errorf("settings within range refused: %v", probs)
	}
	if st := state(t, c); st.PowerLimitMW != 700_000 || st.LockedSMMHz != 0 {
		t.Errorf("the check changed the card: %+v", st)
	}

	c, ctl = card(t, func(s *gpumock.State) { s.Denied = true })
	probs = gpucontrol.Check(ctl, gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1500})
	if len(probs) != 2 || probs[0].Field != "gpu.power_limit_watts" || probs[1].Field != "gpu.sm_clock_mhz" {
		t.Fatalf("without permission: %v", probs)
	}
	for _, p := range probs {
		if !strings.Contains(p.Msg, "root") || !strings.Contains(p.Msg, "ERROR_NO_PERMISSION") {
			t.Errorf("%v: want the permission named", p)
		}
	}
	if st := state(t, c); st.Sets != 0 {
		t.Errorf("denied card changed %d times", st.Sets)
	}
}

// TestApplyReadsBackThenRestoreThePrevious: applied settings are read
// back into the effective record; Restore puts the originals back.
func TestApplyReadsBackThenRestoreThePrevious(t *testing.T) {
	c, ctl := card(t, nil)
	s := gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1500, MemoryClockMHz: 2619}
	orig, err := gpucontrol.Originals(ctl, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(orig) != 1 || orig[0].PowerLimitMW != 700_000 || !orig[0].UnlockSMClock || !orig[0].UnlockMemoryClock {
		t.Fatalf("originals %+v", orig)
	}
	eff, err := gpucontrol.Apply(ctl, s, orig)
	if err != nil {
		t.Fatal(err)
	}
	if len(eff) != 1 || *eff[0].PowerLimitW != 300 || *eff[0].SMClockMHz != 1500 || *eff[0].MemoryClockMHz != 2619 {
		t.Fatalf("effective %+v", eff)
	}
	if st := state(t, c); st.PowerLimitMW != 300_000 || st.LockedSMMHz != 1500 || st.LockedMemMHz != 2619 {
		t.Fatalf("card after apply %+v", st)
	}
	if err := gpucontrol.Restore(ctl, orig); err != nil {
		t.Fatal(err)
	}
	if st := state(t, c); st.PowerLimitMW != 700_000 || st.LockedSMMHz != 0 || st.LockedMemMHz != 0 {
		t.Fatalf("card after restore %+v", st)
	}
}

// TestApplyRefusesWhatTheCardDidNotTake: a setting that reads back
// different fails with the field named, and the card is put back.
func TestApplyRefusesWhatTheCardDidNotTake(t *testing.T) {
	for name, tc := range map[string]struct {
		mod   func(*gpumock.State)
		s     gpucontrol.Settings
		field string
		msg   string
	}{
		"power limit ignored": {func(s *gpumock.State) { s.IgnorePowerLimit = true }, gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1500}, "gpu.power_limit_watts", "reads 700 W after being set to 300 W"},
		"clock rounded":       {func(s *gpumock.State) { s.ClockStepMHz = 100 }, gpucontrol.Settings{PowerLimitMW: 300_000, SMClockMHz: 1455}, "gpu.sm_clock_mhz", "runs at 1400 MHz after being locked at 1455 MHz"},
		"not root":            {func(s *gpumock.State) { s.Denied = true }, gpucontrol.Settings{MemoryClockMHz: 2619}, "gpu.memory_clock_mhz", "ERROR_NO_PERMISSION"},
	} {
		t.Run(name, func(t *testing.T) {
			c, ctl := card(t, tc.mod)
			orig, err := gpucontrol.Originals(ctl, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			_, err = gpucontrol.Apply(ctl, tc.s, orig)
			var p gpucontrol.Problem
			if !errors.As(err, &p) || p.Field != tc.field || !strings.Contains(p.Msg, tc.msg) {
				t.Fatalf("error %v, want %s: ...%s", err, tc.field, tc.msg)
			}
			if st := state(t, c); st.PowerLimitMW != 700_000 || st.LockedSMMHz != 0 || st.LockedMemMHz != 0 {
				t.Errorf("card not put back after the refusal: %+v", st)
			}
		})
	}
}

func TestOpenWithoutNVML(t *testing.T) {
	ctl, err := gpucontrol.Open(nil)
	if err == nil {
		_ = ctl.Close()
		t.Skip("this machine has an NVIDIA GPU")
	}
	if !errors.Is(err, gpucontrol.ErrUnavailable) {
		t.Fatalf("Open without a GPU: %v, want ErrUnavailable", err)
	}
}
