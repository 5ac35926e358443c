package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// TestStudySummaryIsHonest checks the end-of-study summary: a
// configuration with no completed run says so instead of 0 J/tok [0, 0],
// and one with a single cycle shows no interval.
func TestStudySummaryIsHonest(t *testing.T) {
	cfg := config.DefaultExperiment()
	r := &results.StudyResult{StudyName: "s", Configurations: []results.ConfigSummary{
		{MeasurementConfigHash: "none", Config: cfg, EnergySource: "rapl"},
		{MeasurementConfigHash: "one", Config: cfg, EnergySource: "rapl",
			EnergyPerOutputTokenJ: results.Stat{N: 1, Mean: 0.5, CILow: 0.5, CIHigh: 0.5}, OutputTokensPerS: results.Stat{N: 1, Mean: 10}},
		{MeasurementConfigHash: "three", Config: cfg, EnergySource: "rapl",
			EnergyPerOutputTokenJ: results.Stat{N: 3, Mean: 0.5, CILow: 0.4, CIHigh: 0.6}, OutputTokensPerS: results.Stat{N: 3, Mean: 10}},
	}}
	var buf bytes.Buffer
	printStudySummary(&buf, r)
	lines := map[string]string{}
	for _, l := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	if l := lines["none"]; !strings.Contains(l, "no completed runs") || strings.Contains(l, "J/tok") {
		t.Errorf("no completed run: %q", l)
	}
	if l := lines["one"]; !strings.Contains(l, "0.5 J/tok") || strings.Contains(l, "[") {
		t.Errorf("one cycle: %q, want the mean without an interval", l)
	}
	if l := lines["three"]; !strings.Contains(l, "0.5 J/tok [0.4, 0.6]") {
		t.Errorf("three cycles: %q, want the mean and its interval", l)
	}
}
