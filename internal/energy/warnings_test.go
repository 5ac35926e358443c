package energy

import (
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/results"
)

func TestSeriesWarningsThrottling(t *testing.T) {
	gpu := func(i int, mask uint64) SampleDomain {
		return SampleDomain{Domain: Domain{Kind: DomainGPU, Index: i}, ThrottleReasons: mask}
	}
	tests := []struct {
		name    string
		samples []Sample
		want    []string
	}{
		{"idle bit is not throttling", []Sample{{Phase: PhaseMeasure, Domains: []SampleDomain{gpu(0, 0x1)}}}, nil},
		{"warm-up throttling ignored when measure exists", []Sample{
			{Phase: PhaseWarmup, Domains: []SampleDomain{gpu(0, 0x40)}},
			{Phase: PhaseMeasure, Domains: []SampleDomain{gpu(0, 0)}},
		}, nil},
		{"power cap and thermal merged per GPU", []Sample{
			{Phase: PhaseMeasure, Domains: []SampleDomain{gpu(1, 0x4), gpu(0, 0)}},
			{Phase: PhaseMeasure, Domains: []SampleDomain{gpu(1, 0x20|0x1)}},
		}, []string{"GPU 1 throttled during the run (sw_power_cap, sw_thermal_slowdown)"}},
		{"untagged series counts", []Sample{{Domains: []SampleDomain{gpu(2, 0x8)}}}, []string{"GPU 2 throttled during the run (hw_slowdown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := SeriesWarnings(tt.samples)
			if len(ws) != len(tt.want) {
				t.Fatalf("warnings = %v, want %v", ws, tt.want)
			}
			for i, w := range ws {
				if w.Code != results.WarnThrottling || !strings.HasPrefix(w.Message, tt.want[i]) {
					t.Errorf("warning %d = %+v, want %q", i, w, tt.want[i])
				}
			}
		})
	}
}

func TestWarningHelpers(t *testing.T) {
	tests := []struct {
		w    results.Warning
		code string
		has  string
	}{
		{PersistenceOffWarning(3), results.WarnPersistenceOff, "nvidia-smi -i 3 -pm 1"},
		{GPUSharedWarning(0, []uint32{12, 34}), results.WarnGPUShared, "PIDs 12, 34"},
		{EstimatedWarning("default 4 W"), results.WarnEnergyEstimated, "default 4 W"},
	}
	for _, tt := range tests {
		if tt.w.Code != tt.code || !strings.Contains(tt.w.Message, tt.has) {
			t.Errorf("%+v: want code %s containing %q", tt.w, tt.code, tt.has)
		}
	}
	ws := DedupeWarnings([]results.Warning{PersistenceOffWarning(0), PersistenceOffWarning(1), PersistenceOffWarning(0)})
	if len(ws) != 2 || ws[1] != PersistenceOffWarning(1) {
		t.Errorf("DedupeWarnings = %v", ws)
	}
}

// TestBaselineWarningsSkipEstimates: an estimated domain's idle spread is
// CPU-time noise, not the machine's; only measured domains warn.
func TestBaselineWarningsSkipEstimates(t *testing.T) {
	b := Baseline{CVThreshold: 0.1, Domains: []DomainBaseline{
		{Domain: Domain{Kind: DomainCPU}, Source: SourceEstimate, CV: 0.5},
		{Domain: Domain{Kind: DomainGPU}, Source: SourceNVMLCounter, CV: 0.5},
	}}
	ws := BaselineWarnings(b)
	if len(ws) != 1 || !strings.Contains(ws[0].Message, "gpu 0") {
		t.Errorf("warnings %v, want one for the measured GPU", ws)
	}
}
