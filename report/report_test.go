package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

var (
	update        = flag.Bool("update", false, "rewrite the golden files under testdata/golden and the generated files of ../schema this package owns")
	regenFixtures = flag.Bool("regen-fixtures", false, "regenerate the generated study fixtures under testdata/generated-*")
)

// fixtureExpect is testdata/<fixture>/expect.json: what a fixture was
// made to show, kept apart from exact numbers so a fixture from a real
// run can replace a generated one.
type fixtureExpect struct {
	// Dominant is the swept parameter the fixture makes dominant on purpose.
	Dominant string `json:"dominant"`
	Status   string `json:"status"`
}

func loadFixture(t *testing.T, name string) (*Study, *Report) {
	t.Helper()
	s, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	rep, err := Build(s)
	if err != nil {
		t.Fatalf("Build(%s): %v", name, err)
	}
	return s, rep
}

// fixtureNames lists the study fixtures committed under testdata.
func fixtureNames(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "expect.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no study fixtures with expect.json under testdata (%v)", err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./report -update after checking the change)\n--- got ---\n%s", path, got)
	}
}

func TestMarkdownGolden(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			_, rep := loadFixture(t, name)
			var buf bytes.Buffer
			if err := WriteMarkdown(&buf, rep); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".md", buf.Bytes())
		})
	}
}

func TestEffectRankingGolden(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			_, rep := loadFixture(t, name)
			b, err := json.MarshalIndent(struct {
				Swept       []string     `json:"swept_parameters"`
				Effects     []Effect     `json:"effects"`
				Interaction *Interaction `json:"interaction"`
			}{rep.Swept, rep.Effects, rep.Interaction}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".effects.json", append(b, '\n'))
		})
	}
}

// TestFixtureExpectations checks what each committed fixture was made to
// show, independent of its exact numbers.
func TestFixtureExpectations(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			var want fixtureExpect
			b, err := os.ReadFile(filepath.Join("testdata", name, "expect.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			_, rep := loadFixture(t, name)
			if rep.Status != want.Status {
				t.Errorf("status = %q (%s), want %q", rep.Status, rep.StatusNote, want.Status)
			}
			if want.Dominant != "" {
				if len(rep.Effects) == 0 || rep.Effects[0].Parameter != want.Dominant {
					t.Fatalf("effects ranked %v, want %s first", effectNames(rep.Effects), want.Dominant)
				}
			}
		})
	}
}

func effectNames(es []Effect) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Parameter)
	}
	return out
}

// TestRankingFollowsTheDominantParameter generates the same grid under two
// cost models, each making a different parameter dominant, and checks the
// ranking follows the data rather than the grid.
func TestRankingFollowsTheDominantParameter(t *testing.T) {
	tests := []struct {
		name     string
		model    costModel
		dominant string
		other    string
	}{
		{"batching amortises decode", batchDominant, "native.batch_size", "dataset.output_len"},
		{"output length amortises prefill", outputDominant, "dataset.output_len", "native.batch_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, dir, fixtureSpec{Name: tt.name, BatchSizes: []int{1, 2, 4}, OutputLens: []int{16, 64}, Cycles: 3, Source: "rapl", Model: tt.model})
			s, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Build(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := effectNames(rep.Effects); !slices.Equal(got, []string{tt.dominant, tt.other}) {
				t.Fatalf("ranking = %v, want [%s %s]", got, tt.dominant, tt.other)
			}
			top := rep.Effects[0]
			if m := top.Model; !top.Resolved || m == nil || m.CILow > m.Ratio || m.CIHigh < m.Ratio || m.CILow <= 1 {
				t.Errorf("top effect %+v resolved=%v: want a resolved interval around the ratio, above 1", m, top.Resolved)
			}
			for _, e := range rep.Effects {
				if e.Model.Simultaneous != (len(e.Levels) > 2) || (len(e.Levels) > 2) != strings.Contains(e.RatioText(), "(simultaneous)") {
					t.Errorf("%s: %d levels, simultaneous %v, shown %q", e.Parameter, len(e.Levels), e.Model.Simultaneous, e.RatioText())
				}
			}
			if len(top.Levels) != 2 && len(top.Levels) != 3 {
				t.Errorf("levels of %s = %d", top.Parameter, len(top.Levels))
			}
			if rep.Interaction == nil || rep.Interaction.A != tt.dominant || len(rep.Interaction.Means) != len(top.Levels) {
				t.Errorf("interaction = %+v, want the %s × %s table", rep.Interaction, tt.dominant, tt.other)
			}
		})
	}
}

func TestPartialStudy(t *testing.T) {
	_, rep := loadFixture(t, "generated-partial")
	if rep.Status != "unfinished" || !strings.Contains(rep.StatusNote, "study_result.json is missing") {
		t.Errorf("status %q: %q", rep.Status, rep.StatusNote)
	}
	if rep.Runs.Completed != 6 || rep.Runs.Failed != 1 || rep.Runs.Running != 1 || rep.Runs.Pending != 4 {
		t.Errorf("run counts = %+v", rep.Runs)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].RunIndex != 5 || !strings.Contains(rep.Failed[0].Reason, "signal: killed") {
		t.Errorf("failed = %+v, want run 5 with its reason", rep.Failed)
	}
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Label, "precision=fp8") {
		t.Errorf("skipped = %+v, want the fp8 configuration named by its precision", rep.Skipped)
	}
	for _, c := range rep.Configs {
		if !c.Estimated || c.SourceLabel() != "≈ estimated" {
			t.Errorf("%s: source label %q, want ≈ estimated", c.ID, c.SourceLabel())
		}
		if c.Completed == 1 && c.Uncertainty.Dominant != "source (one cycle)" {
			t.Errorf("%s: one cycle, dominant %q", c.ID, c.Uncertainty.Dominant)
		}
		if u := c.Uncertainty; u.SourceBoundPct != 50 || math.Abs(u.SourceRelPct-50/math.Sqrt(3)) > 1e-12 {
			t.Errorf("%s: estimated source accuracy ±%g%% (u %g%%), want ±50%% (u 50/√3)", c.ID, u.SourceBoundPct, u.SourceRelPct)
		}
	}
}

// TestNothingCompletedYet renders a study whose only finished run failed.
func TestNothingCompletedYet(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, fixtureSpec{Name: "just started", BatchSizes: []int{1, 4}, OutputLens: []int{16}, Cycles: 2, Source: "rapl",
		Model: batchDominant, Failed: map[int]string{0: "engine load: model not found"}, Unfinished: 1})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Configs) != 0 || len(rep.Effects) != 0 || len(rep.Failed) != 1 || rep.Status != "unfinished" {
		t.Fatalf("configs %d, effects %d, failed %d, status %s", len(rep.Configs), len(rep.Effects), len(rep.Failed), rep.Status)
	}
	var md, page bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{md.String(), page.String()} {
		if !strings.Contains(out, "No configuration has a completed run yet") || !strings.Contains(out, "model not found") {
			t.Errorf("output does not say that nothing completed and why:\n%s", out)
		}
	}
}

// TestUncertaintyCombinesInQuadrature checks the GUM budget by hand:
// standard uncertainties s/√n (ν = n − 1) and a/√3 (ν = ∞) in quadrature,
// expanded by t₀.₉₇₅ at the Welch–Satterthwaite ν_eff.
func TestUncertaintyCombinesInQuadrature(t *testing.T) {
	// rapl ±10% → 5.7735%; s = 0.1√3 on mean 2 over 3 cycles → 5%; the
	// counter step over 100 J is negligible (2.5e-5%).
	// ν_eff = u_c⁴ / (5⁴/2) with u_c² = 25 + 33.333 + tiny.
	uc := math.Sqrt(25 + 100.0/3 + math.Pow(1.0/(1<<14)/math.Sqrt(6)/100/math.Sqrt(3)*100, 2))
	nu := math.Pow(uc, 4) / (math.Pow(5, 4) / 2)
	tests := []struct {
		name     string
		row      ConfigRow
		combined float64
		dominant string
	}{
		{"source dominates", ConfigRow{EnergySource: "rapl", EnergyTotalJ: Metric{N: 3, Mean: 100},
			EnergyPerOutputTokenJ: Metric{N: 3, Mean: 2, Std: 0.1 * math.Sqrt(3)}},
			uc * stats.TQuantile(0.975, nu), "source"},
		{"cycles dominate", ConfigRow{EnergySource: "nvml_energy_counter", EnergyTotalJ: Metric{N: 4, Mean: 1},
			EnergyPerOutputTokenJ: Metric{N: 4, Mean: 1, Std: 0.2}},
			0, "cycles"},
		{"estimate, one cycle: Type B only, k = 1.96", ConfigRow{EnergySource: "rapl", Estimated: true,
			EnergyPerOutputTokenJ: Metric{N: 1, Mean: 1}}, 50 / math.Sqrt(3) * 1.959963984540054, "source (one cycle)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := uncertaintyOf(&tt.row)
			if tt.combined != 0 && math.Abs(u.CombinedRelPct-tt.combined) > 1e-9 {
				t.Errorf("expanded = %.12g%%, want %.12g%%", u.CombinedRelPct, tt.combined)
			}
			if math.Abs(u.CombinedRelPct-u.CoverageK*u.CombinedStdRelPct) > 1e-12 || u.CoverageK < 1.959 {
				t.Errorf("U = %g is not k = %g times u_c = %g", u.CombinedRelPct, u.CoverageK, u.CombinedStdRelPct)
			}
			if u.Dominant != tt.dominant {
				t.Errorf("dominant = %q, want %q", u.Dominant, tt.dominant)
			}
		})
	}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			_, rep := loadFixture(t, name)
			var buf bytes.Buffer
			if err := WriteHTML(&buf, rep); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			for _, bad := range []string{"http://", "https://", "<link", "src=\"/", "@import"} {
				if strings.Contains(page, bad) {
					t.Errorf("page contains %q: it must not need the network", bad)
				}
			}
			if n := strings.Count(page, `src="data:image/svg&#43;xml;base64,`); n < 4 {
				t.Errorf("%d embedded plots, want at least 4 (effects, one per parameter, Pareto, power)", n)
			}
			for _, want := range []string{"What matters most", "class=\"sortable\"", rep.Effects[0].Parameter, rep.Methods.Uncertainty[:40]} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if rep.AnyEstimated != strings.Contains(page, "≈ estimated energy") {
				t.Errorf("estimated=%v but the page's estimate banner presence differs", rep.AnyEstimated)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			_, rep := loadFixture(t, name)
			var buf bytes.Buffer
			if err := WriteJSON(&buf, rep); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if back.Status != rep.Status || len(back.Configs) != len(rep.Configs) || back.Effects[0].Parameter != rep.Effects[0].Parameter ||
				back.Configs[0].EnergyPerOutputTokenJ != rep.Configs[0].EnergyPerOutputTokenJ {
				t.Errorf("JSON round trip lost data: %+v", back)
			}
		})
	}
}

func TestWritePlots(t *testing.T) {
	_, rep := loadFixture(t, "generated-partial")
	if len(rep.Power) == 0 {
		t.Fatal("no power series read from the fixture's timeseries.parquet")
	}
	for _, p := range rep.Power {
		if !p.Estimated || !strings.Contains(p.Name(), "≈") {
			t.Errorf("power series %q of an estimated source is not marked", p.Name())
		}
	}
	dir := t.TempDir()
	paths, err := WritePlots(dir, rep)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".png":
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		case ".svg":
			if !bytes.Contains(data, []byte("<svg")) || !bytes.Contains(data, []byte("estimated")) {
				t.Errorf("%s: not an SVG marked as estimated", p)
			}
		}
	}
	for _, want := range []string{"effects.svg", "energy_vs_native.batch_size.png", "energy_vs_dataset.output_len.svg", "pareto.png", "power.svg"} {
		if !slices.Contains(names, want) {
			t.Errorf("plots %v lack %s", names, want)
		}
	}
}

func TestExport(t *testing.T) {
	s, _ := loadFixture(t, "generated-partial")
	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Export(&buf, s, "csv"); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1+len(s.Runs) {
			t.Fatalf("%d rows, want a header and %d runs", len(recs), len(s.Runs))
		}
		head := recs[0]
		col := func(name string) int {
			i := slices.Index(head, name)
			if i < 0 {
				t.Fatalf("no column %s in %v", name, head)
			}
			return i
		}
		bs, ept, st := col("native.batch_size"), col("energy_per_output_token_j"), col("state")
		if recs[1][bs] != "1" || recs[1][st] != "completed" || recs[1][ept] == "" {
			t.Errorf("first run row = %v", recs[1])
		}
		if recs[6][st] != "failed" || recs[6][ept] != "" || recs[6][col("error")] == "" {
			t.Errorf("failed run row = %v: want state failed, no metrics, the error", recs[6])
		}
	})
	t.Run("parquet", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Export(&buf, s, "parquet"); err != nil {
			t.Fatal(err)
		}
		type row struct {
			RunIndex  int64    `parquet:"run_index"`
			BatchSize *int64   `parquet:"native.batch_size,optional"`
			OutputLen *int64   `parquet:"dataset.output_len,optional"`
			EPT       *float64 `parquet:"energy_per_output_token_j,optional"`
			Estimated *bool    `parquet:"energy_estimated,optional"`
		}
		rows, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(s.Runs) {
			t.Fatalf("%d rows, want %d", len(rows), len(s.Runs))
		}
		r0 := rows[0]
		if r0.BatchSize == nil || *r0.BatchSize != 1 || r0.OutputLen == nil || *r0.OutputLen != 16 || r0.EPT == nil || *r0.EPT <= 0 || r0.Estimated == nil || !*r0.Estimated {
			t.Errorf("row 0 = %+v", r0)
		}
		if rows[5].EPT != nil {
			t.Errorf("failed run 5 has energy %v, want null", *rows[5].EPT)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if err := Export(&bytes.Buffer{}, s, "xlsx"); err == nil || !strings.Contains(err.Error(), "allowed: parquet, csv, jsonl") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "x.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ dir, want string }{
		{filepath.Join(empty, "missing"), "open study directory"},
		{file, "is not a directory"},
		{empty, "not a study directory"},
	}
	for _, tt := range tests {
		if _, err := Load(tt.dir); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", tt.dir, err, tt.want)
		}
	}
}

// TestLoadWithoutManifest reads a study known only from its study result.
func TestLoadWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	writeFixture(t, dir, fixtureSpec{Name: "no manifest", BatchSizes: []int{1, 4}, OutputLens: []int{16}, Cycles: 2, Source: "rapl", Model: batchDominant})
	for _, f := range []string{"manifest.json", "study.json"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Configs) != 2 || rep.Configs[0].Completed != 2 || len(rep.Effects) != 1 || rep.Effects[0].Parameter != "native.batch_size" {
		t.Errorf("configs %d, effects %v", len(rep.Configs), effectNames(rep.Effects))
	}
	for i, r := range s.Runs {
		if r.Index != i || r.Cycle != 1+i/2 || r.Result == nil {
			t.Errorf("run %d: index %d cycle %d result %v, want the index and cycle of its directory name", i, r.Index, r.Cycle, r.Result != nil)
		}
	}
}

// TestReadTimeseriesUpstreamLayout reads a GPU-only file with the upstream
// columns and none of llem's domain columns.
func TestReadTimeseriesUpstreamLayout(t *testing.T) {
	type upstream struct {
		TimestampS float64 `parquet:"timestamp_s"`
		GPUIndex   int32   `parquet:"gpu_index"`
		GPUPowerW  float64 `parquet:"gpu_power_w"`
		GPUTempC   float64 `parquet:"gpu_temp_c"`
	}
	path := filepath.Join(t.TempDir(), "timeseries.parquet")
	rows := []upstream{{0, 0, 100, 40}, {0, 1, 90, 41}, {0.1, 0, 250, 42}, {0.1, 1, 240, 42}}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	series, err := readTimeseries(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Domain != "gpu0" || series[1].Domain != "gpu1" || !slices.Equal(series[0].PowerW, []float64{100, 250}) {
		t.Errorf("series = %+v", series)
	}
}

// TestReadTimeseriesRecorderLayout reads a file written by the energy
// recorder itself, so the two stay compatible.
func TestReadTimeseriesRecorderLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "timeseries.parquet")
	var samples []energy.Sample
	for i := range 3 {
		samples = append(samples, energy.Sample{
			Elapsed: time.Duration(i) * 100 * time.Millisecond, Phase: "measuring",
			Domains: []energy.SampleDomain{
				{Domain: energy.Domain{Kind: energy.DomainGPU, Index: 0}, Source: energy.SourceNVMLCounter, PowerW: 200 + float64(i), HasPower: true},
				{Domain: energy.Domain{Kind: energy.DomainCPUPackage, Index: 0}, Source: energy.SourceRAPL, PowerW: 50, HasPower: true},
				{Domain: energy.Domain{Kind: energy.DomainDRAM, Index: 0}, Source: energy.SourceRAPL}, // no power: skipped
			},
		})
	}
	if err := energy.WriteParquet(path, samples, results.TimeseriesIdentity{}); err != nil {
		t.Fatal(err)
	}
	series, err := readTimeseries(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Domain != "gpu0" || series[1].Domain != "cpu_package0" ||
		!slices.Equal(series[0].PowerW, []float64{200, 201, 202}) || !slices.Equal(series[0].TimeS, []float64{0, 0.1, 0.2}) ||
		series[1].Source != "rapl" || series[0].Estimated {
		t.Errorf("series = %+v", series)
	}
}
