package results

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
)

func TestRunsParquetRoundTrip(t *testing.T) {
	b, rate := 8, 2.5
	started := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	in := []*ExperimentResult{
		{MeasurementConfigHash: "aaaa", Cycle: 1, StartedAt: started,
			Config:  config.ExperimentConfig{Model: "tiny", Backend: config.BackendNative, Precision: "fp32", Native: &config.NativeConfig{BatchSize: &b}},
			Energy:  EnergyMetrics{Source: "rapl", PerOutputTokenJ: 0.25, TotalJ: 100},
			Latency: LatencyStats{TTFT: Distribution{P50: 0.01}}},
		{MeasurementConfigHash: "bbbb", Cycle: 2,
			Config:              config.ExperimentConfig{Model: "m", Backend: config.BackendOpenAI, OpenAI: &config.OpenAIConfig{RequestRate: &rate}},
			MeasurementWarnings: []Warning{{Code: WarnShortRun}}},
	}
	var rows []RunRow
	for i, r := range in {
		row, err := NewRunRow(i, r, "run/"+ResultFile)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	path := filepath.Join(t.TempDir(), ResultsParquetFile)
	if err := WriteRunsParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRunsParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d rows", len(got))
	}
	a, o := got[0], got[1]
	if a.Backend != "native" || a.NativeBatchSize == nil || *a.NativeBatchSize != 8 || a.OpenAIRequestRate != nil ||
		a.EnergyPerOutputTokenJ != 0.25 || a.TTFTP50S != 0.01 || !a.StartedAt.Equal(started) || a.ConfigJSON == "" {
		t.Errorf("native row %+v", a)
	}
	if o.Cycle != 2 || o.NativeBatchSize != nil || o.OpenAIRequestRate == nil || *o.OpenAIRequestRate != 2.5 || o.Warnings != 1 {
		t.Errorf("openai row %+v", o)
	}
}
