package energy_test

import (
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/energy/samplertest"
)

func TestConformanceRAPL(t *testing.T) {
	for _, tree := range []string{"powercap-intel", "powercap-amd"} {
		t.Run(tree, func(t *testing.T) {
			samplertest.Run(t, func(t *testing.T) energy.Sampler {
				s, err := energy.OpenRAPL(energy.RAPLOptions{Root: energy.CopyPowercap(t, tree)})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func TestConformanceEstimate(t *testing.T) {
	samplertest.Run(t, func(t *testing.T) energy.Sampler {
		s, err := energy.NewEstimateSampler(energy.EstimateOptions{CPUModel: "test CPU"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceFake(t *testing.T) {
	for _, src := range []energy.Source{energy.SourceNVMLCounter, energy.SourceEstimate} {
		t.Run(string(src), func(t *testing.T) {
			samplertest.Run(t, func(t *testing.T) energy.Sampler {
				return &samplertest.Fake{Src: src, PowerW: 100, DomainList: []energy.Domain{
					{Kind: energy.DomainGPU, Index: 0}, {Kind: energy.DomainGPU, Index: 1}}}
			})
		})
	}
}

// The fake's energy is exactly its power over the window.
func TestFakeEnergy(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := &samplertest.Fake{PowerW: 300, Now: clock}
	rec, err := energy.NewRecorder([]energy.Sampler{f}, energy.RecorderOptions{Interval: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	w := rec.OpenWindow()
	now = now.Add(4 * time.Second)
	res := w.Close()
	if d := res.Domains[0]; d.Energy != 1200*energy.Joule || d.IntegratedEnergy != 1200*energy.Joule || d.PathsDisagree {
		t.Errorf("window = %+v, want 1200 J on both paths", d)
	}
}
