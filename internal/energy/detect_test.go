package energy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/results"
)

func noNVML(NVMLOptions) (Sampler, error) {
	return nil, errors.New("NVML unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver): GPU energy unavailable")
}

func TestDetectFallsBackToEstimate(t *testing.T) {
	det, err := Detect(context.Background(), DetectOptions{
		PowercapRoot: t.TempDir() + "/none", OpenNVML: noNVML, CPUModel: "AMD EPYC 7763 64-Core Processor",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(det.Samplers) != 1 || det.Samplers[0].Name() != "estimate" {
		t.Fatalf("samplers = %v, want only the estimate", det.Samplers)
	}
	if !det.Estimated() || det.BestSource() != SourceEstimate {
		t.Errorf("Estimated() = %v, BestSource() = %q", det.Estimated(), det.BestSource())
	}
	want := []string{"gpu: NVML unavailable", "cpu: RAPL unavailable: no RAPL package zones", "estimate: no NVML GPU and no readable RAPL", "TDP 280 W"}
	all := strings.Join(det.FallbackReasons, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("fallback reasons lack %q:\n%s", w, all)
		}
	}
	if len(det.Warnings) != 1 || det.Warnings[0].Code != results.WarnEnergyEstimated {
		t.Errorf("warnings = %v, want energy_estimated", det.Warnings)
	}
}

// On this machine (no GPU driver, no powercap tree) the real chain must end
// at the estimate and say why, without crashing in NVML.
func TestDetectRealMachine(t *testing.T) {
	det, err := Detect(context.Background(), DetectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sources %v; reasons:\n%s", det.Sources, strings.Join(det.FallbackReasons, "\n"))
	if len(det.Samplers) == 0 {
		t.Fatal("no sampler chosen")
	}
	if det.Estimated() && len(det.FallbackReasons) < 2 {
		t.Errorf("estimate chosen but reasons are missing: %v", det.FallbackReasons)
	}
}

func TestDetectPrefersRAPL(t *testing.T) {
	root := copyPowercap(t, "powercap-intel")
	det, err := Detect(context.Background(), DetectOptions{PowercapRoot: root, DisableNVML: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(det.Samplers) != 1 || det.Samplers[0].Name() != "rapl" {
		t.Fatalf("samplers = %v, want rapl only", det.Samplers)
	}
	if det.Estimated() || det.BestSource() != SourceRAPL || len(det.Sources) != 4 {
		t.Errorf("sources = %v", det.Sources)
	}
	if got := strings.Join(det.FallbackReasons, "\n"); got != "gpu: NVML disabled by configuration" {
		t.Errorf("reasons = %q", got)
	}
}
