package energy

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/results"
)

func TestWriteParquetReadsBack(t *testing.T) {
	clock := newTestClock()
	gpu := &scriptSampler{domain: Domain{Kind: DomainGPU, Index: 0}, source: SourceNVMLCounter, counter: true, uj: 0, power: true, powerW: 150}
	cpu := &scriptSampler{domain: Domain{Kind: DomainCPUPackage, Index: 0}, source: SourceRAPL, counter: true, uj: 0, max: 1 << 40}
	rec := newRecorder(t, clock, gpu, cpu)
	rec.Mark(PhaseMeasure)
	clock.Add(time.Second)
	gpu.set(func(s *scriptSampler) { s.uj = 150_000_000 })
	cpu.set(func(s *scriptSampler) { s.uj = 30_000_000 })
	rec.AddTokens(25)
	rec.Sample()

	path := filepath.Join(t.TempDir(), "timeseries.parquet")
	id := results.TimeseriesIdentity{RunIndex: 4, MeasurementConfigHash: "abc", StudyName: "s", Cycle: 2}
	if err := WriteParquet(path, rec.Samples(), id); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range pf.Schema().Fields() {
		cols = append(cols, c.Name())
	}
	var want []string
	for _, c := range results.TimeseriesColumns() {
		want = append(want, c.Name)
	}
	if !slices.Equal(cols, want) {
		t.Errorf("columns %v, want the time-series table's %v", cols, want)
	}

	rows, err := results.ReadTimeseries(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 2 samples × 2 domains", len(rows))
	}
	g, c := rows[2], rows[3]
	if g.Domain != "gpu" || g.GPUIndex == nil || *g.GPUIndex != 0 || g.GPUPowerW == nil || *g.GPUPowerW != 150 ||
		g.CumulativeEnergyJ != 150 || g.ElapsedS != 1 || g.TokensPerS != 25 || g.Phase != "measure" || g.Source != "nvml_energy_counter" || g.PowerDerived {
		t.Errorf("gpu row = %+v", g)
	}
	if c.Domain != "cpu_package" || c.GPUIndex != nil || c.GPUPowerW != nil || c.PowerW == nil || *c.PowerW != 30 ||
		!c.PowerDerived || c.CumulativeEnergyJ != 30 || c.Source != "rapl" {
		t.Errorf("cpu row = %+v", c)
	}
	for _, r := range rows {
		if r.RunIndex != 4 || r.MeasurementConfigHash != "abc" || r.StudyName != "s" || r.Cycle != 2 || r.Time.IsZero() {
			t.Errorf("row identity or time = %+v, want run 4 abc s cycle 2", r)
		}
	}
	if rows[1].PowerW != nil {
		t.Errorf("first CPU row has power %v before any delta", *rows[1].PowerW)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWriteParquetBadDir(t *testing.T) {
	if err := WriteParquet(filepath.Join(t.TempDir(), "missing", "ts.parquet"), nil, results.TimeseriesIdentity{}); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}
