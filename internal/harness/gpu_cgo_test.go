//go:build cgo

package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/gpucontrol/gpumock"
)

func cardState(t *testing.T, c *gpumock.Card) gpumock.State {
	t.Helper()
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestGPUSettingsHoldFromTheBaselineAndAreRestored: on the mock card the
// settings are in force when the baseline starts and while measuring, are
// read back into effective.gpu, and are put back after the run.
func TestGPUSettingsHoldFromTheBaselineAndAreRestored(t *testing.T) {
	card := gpumock.NewH100(t, nil)
	cfg := tinyExperiment()
	cfg.Baseline.Enabled = true
	pl, sm := 300, 1500
	cfg.GPU = &config.GPUConfig{PowerLimitWatts: &pl, SMClockMHz: &sm}
	seen := map[event.Phase]gpumock.State{}
	res, err := Run(context.Background(), cfg, Options{
		NewEngine:        nativeEngine,
		Inspect:          engines.Inspect,
		SamplingInterval: 50 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
		GPU:              card.Opener(),
		ProgressInterval: -1,
		Observer: func(e Event) {
			if _, ok := seen[e.Phase]; !ok {
				seen[e.Phase] = cardState(t, card)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range []event.Phase{event.PhaseBaseline, event.PhaseMeasure} {
		st, ok := seen[ph]
		if !ok || st.PowerLimitMW != 300_000 || st.LockedSMMHz != 1500 {
			t.Errorf("card during %s: %+v (seen %v), want 300 W and SM locked at 1500 MHz", ph, st, ok)
		}
	}
	eff, ok := res.Effective["gpu"].([]gpucontrol.Effective)
	if !ok || len(eff) != 1 || *eff[0].PowerLimitW != 300 || *eff[0].SMClockMHz != 1500 || eff[0].MemoryClockMHz != nil {
		t.Errorf("effective.gpu = %#v", res.Effective["gpu"])
	}
	if st := cardState(t, card); st.PowerLimitMW != 700_000 || st.LockedSMMHz != 0 {
		t.Errorf("card after the run %+v, want 700 W and no lock", st)
	}
}

// TestGPUSettingsRefused: the pre-flight names the field and the card's
// range, or root; a card that does not take a setting fails the run
// before the baseline and is put back.
func TestGPUSettingsRefused(t *testing.T) {
	pl := 900
	cfg := tinyExperiment()
	cfg.GPU = &config.GPUConfig{PowerLimitWatts: &pl}
	errs := preflight(context.Background(), cfg, engine.ModelFacts{}, dataset.Options{}, gpumock.NewH100(t, nil).Opener(), nil)
	if len(errs) != 1 || errs[0].Field != "gpu.power_limit_watts" || !strings.Contains(errs[0].Msg, "200–700 W") {
		t.Errorf("out of range: %v", errs)
	}
	pl = 300
	errs = preflight(context.Background(), cfg, engine.ModelFacts{}, dataset.Options{}, gpumock.NewH100(t, func(s *gpumock.State) { s.Denied = true }).Opener(), nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, "root") {
		t.Errorf("without permission: %v", errs)
	}

	card := gpumock.NewH100(t, func(s *gpumock.State) { s.IgnorePowerLimit = true })
	var phases []event.Phase
	_, err := Run(context.Background(), cfg, Options{
		NewEngine: nativeEngine, Inspect: engines.Inspect,
		Energy:   energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
		GPU:      card.Opener(),
		Observer: func(e Event) { phases = append(phases, e.Phase) },
	})
	if err == nil || !strings.Contains(err.Error(), "gpu.power_limit_watts: GPU 0 did not take the power limit") {
		t.Fatalf("run on a card that ignores the limit: %v", err)
	}
	if len(phases) != 0 {
		t.Errorf("phases %v ran although the card did not take the setting", phases)
	}
}
