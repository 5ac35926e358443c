package study

import (
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/results"
)

func TestCycleVarianceWarning(t *testing.T) {
	for _, tc := range []struct {
		name string
		stat results.Stat
		want bool
	}{
		{"steady", results.Stat{N: 3, Mean: 1.0, Std: 0.05}, false},
		{"noisy", results.Stat{N: 3, Mean: 1.0, Std: 0.25}, true},
		{"one cycle", results.Stat{N: 1, Mean: 1.0, Std: 0}, false},
	} {
		w, ok := cycleVarianceWarning(results.ConfigSummary{MeasurementConfigHash: "abc", EnergyPerOutputTokenJ: tc.stat})
		if ok != tc.want {
			t.Errorf("%s: warned %v, want %v", tc.name, ok, tc.want)
		}
		if ok && (w.Code != results.WarnHighCycleVariance || !strings.Contains(w.Message, "25%") || !strings.Contains(w.Message, "abc")) {
			t.Errorf("%s: warning %+v", tc.name, w)
		}
	}
}
