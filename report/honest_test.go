package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestExportMemoryIsMiBAndEmptyWhenUnmeasured checks the export's memory
// column: it is named for its unit (the harness records MiB, 2^20 bytes)
// and is empty, not 0, on a run where no GPU memory was measured.
func TestExportMemoryIsMiBAndEmptyWhenUnmeasured(t *testing.T) {
	s, _ := loadFixture(t, "generated-partial") // a CPU study: nothing measures memory
	s.Runs[1].Result.Compute.PeakMemoryMB = 1536
	var buf bytes.Buffer
	if err := Export(&buf, s, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(recs[0], "peak_memory_mb") {
		t.Errorf("header %v names MiB as MB", recs[0])
	}
	col := slices.Index(recs[0], "peak_memory_mib")
	if col < 0 {
		t.Fatalf("no peak_memory_mib column in %v", recs[0])
	}
	if got := recs[1][col]; got != "" {
		t.Errorf("run 0 (no memory measured): peak_memory_mib = %q, want empty", got)
	}
	if got := recs[2][col]; got != "1536" {
		t.Errorf("run 1: peak_memory_mib = %q, want 1536", got)
	}

	buf.Reset()
	if err := Export(&buf, s, "parquet"); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Mem *float64 `parquet:"peak_memory_mib,optional"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Mem != nil {
		t.Errorf("parquet run 0: peak_memory_mib = %g, want null", *rows[0].Mem)
	}
	if rows[1].Mem == nil || *rows[1].Mem != 1536 {
		t.Errorf("parquet run 1: peak_memory_mib = %v, want 1536", rows[1].Mem)
	}
}

// buildFixture writes a generated study into a temporary directory and
// builds its report.
func buildFixture(t *testing.T, spec fixtureSpec) *Report {
	t.Helper()
	dir := t.TempDir()
	writeFixture(t, dir, spec)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// renderAll renders a report as Markdown, HTML and JSON.
func renderAll(t *testing.T, rep *Report) (md, page, js string) {
	t.Helper()
	var a, b, c bytes.Buffer
	if err := WriteMarkdown(&a, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&c, rep); err != nil {
		t.Fatal(err)
	}
	return a.String(), b.String(), c.String()
}

// TestConfigurationWithNoCompletedRun checks that a configuration whose
// every run failed is listed as having no completed runs in every
// renderer, and never shown with figures of 0.
func TestConfigurationWithNoCompletedRun(t *testing.T) {
	// Two configurations × 2 cycles; both runs of native.batch_size=4 fail.
	rep := buildFixture(t, fixtureSpec{Name: "one configuration never ran", BatchSizes: []int{1, 4}, OutputLens: []int{16}, Cycles: 2,
		Source: "rapl", Model: batchDominant, Failed: map[int]string{1: "engine: out of memory", 3: "engine: out of memory"}})
	if len(rep.Configs) != 1 {
		t.Fatalf("%d configurations with results, want 1", len(rep.Configs))
	}
	if len(rep.NoResults) != 1 || rep.NoResults[0].Label != "native.batch_size=4" || rep.NoResults[0].Failed != 2 {
		t.Fatalf("configurations without results = %+v, want native.batch_size=4 with 2 failed runs", rep.NoResults)
	}
	md, page, js := renderAll(t, rep)
	for name, out := range map[string]string{"markdown": md, "HTML": page} {
		if !strings.Contains(out, "native.batch_size=4") || !strings.Contains(out, "no completed runs") {
			t.Errorf("%s does not say native.batch_size=4 has no completed runs", name)
		}
	}
	var back struct {
		NoResults []NoResultRow `json:"configurations_without_completed_runs"`
	}
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.NoResults) != 1 || back.NoResults[0].Label != "native.batch_size=4" {
		t.Errorf("JSON configurations_without_completed_runs = %+v, want native.batch_size=4", back.NoResults)
	}
	for _, bad := range []string{"0 [0, 0]", "| 0 |"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown shows %q for a configuration without results:\n%s", bad, md)
		}
	}
	// Nothing completed at all: the same, beside the "nothing yet" line.
	rep = buildFixture(t, fixtureSpec{Name: "nothing ran", BatchSizes: []int{1, 4}, OutputLens: []int{16}, Cycles: 1,
		Source: "rapl", Model: batchDominant, Failed: map[int]string{0: "engine: model not found", 1: "engine: model not found"}})
	md, page, _ = renderAll(t, rep)
	for name, out := range map[string]string{"markdown": md, "HTML": page} {
		if strings.Count(out, "no completed runs") < 2 {
			t.Errorf("%s does not list both configurations as having no completed runs:\n%s", name, out)
		}
	}
}

// TestOneCycleHasNoInterval checks that a figure from one completed cycle
// is shown without an interval or spread in every renderer.
func TestOneCycleHasNoInterval(t *testing.T) {
	rep := buildFixture(t, fixtureSpec{Name: "one cycle", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: 1,
		Source: "rapl", Model: batchDominant})
	md, page, js := renderAll(t, rep)
	c := rep.Configs[0]
	mean := fmtNum(c.EnergyPerOutputTokenJ.Mean)
	if strings.Contains(md, mean+" [") || strings.Contains(page, mean+` <span class="ci">`) {
		t.Errorf("an interval is shown for a one-cycle mean %s", mean)
	}
	var back struct {
		Raw         []map[string]any `json:"configurations"`
		Effects     []map[string]any `json:"effects"`
		Interaction map[string]any   `json:"interaction"`
	}
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatal(err)
	}
	ept := back.Raw[0]["energy_per_output_token_j"].(map[string]any)
	for _, k := range []string{"ci95_low", "ci95_high", "std"} {
		if v, ok := ept[k]; !ok || v != nil {
			t.Errorf("JSON energy_per_output_token_j.%s = %v, want null for n = 1", k, v)
		}
	}
	model, ok := back.Effects[0]["blocked_model"].(map[string]any)
	if !ok {
		t.Fatalf("JSON effect has no blocked model: one cycle of four configurations leaves 1 residual degree of freedom")
	}
	for _, k := range []string{"ratio_ci95_low", "ratio_ci95_high"} {
		if v, ok := model[k]; !ok || v != nil {
			t.Errorf("JSON effect blocked_model.%s = %v, want null: every configuration has one cycle", k, v)
		}
	}
	if strings.Contains(rep.Effects[0].RatioText(), "[") {
		t.Errorf("markdown shows an effect interval from one cycle per configuration: %s", rep.Effects[0].RatioText())
	}
	if back.Interaction == nil {
		t.Fatal("no interaction in the JSON: the fixture should have two crossed parameters")
	}
	if m, ok := back.Interaction["blocked_model"].(map[string]any); ok && (m["ci95_low"] != nil || m["ci95_high"] != nil) {
		t.Errorf("JSON interaction interval = [%v, %v], want null", m["ci95_low"], m["ci95_high"])
	}
	for name, out := range map[string]string{"markdown": md, "HTML": page} {
		if strings.Contains(out, "Interaction contrast:") && strings.Contains(out, "95% CI [") {
			t.Errorf("%s shows an interaction interval from one cycle per configuration", name)
		}
	}
}

// TestIntervalsOfNonNegativeQuantitiesStopAtZero checks that no interval
// of energy, power, time or throughput goes below 0, and that the methods
// say how the intervals are bounded.
func TestIntervalsOfNonNegativeQuantitiesStopAtZero(t *testing.T) {
	noisy := batchDominant
	noisy.Noise = 0.3 // two noisy cycles: t(1) = 12.7 takes t-intervals below 0
	rep := buildFixture(t, fixtureSpec{Name: "noisy", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: 2,
		Source: "rapl", Model: noisy})
	clipped := 0
	for _, c := range rep.Configs {
		for name, m := range map[string]Metric{"energy/token": c.EnergyPerOutputTokenJ, "total": c.EnergyTotalJ, "adjusted": c.EnergyAdjustedJ,
			"tokens/s": c.OutputTokensPerS, "ttft p50": c.TTFTP50S, "ttft p99": c.TTFTP99S, "itl p50": c.ITLP50S, "itl p99": c.ITLP99S,
			"e2e p50": c.E2EP50S, "power": c.AvgPowerW} {
			if m.CILow < 0 {
				t.Errorf("%s %s: interval [%g, %g] goes below 0", c.ID, name, m.CILow, m.CIHigh)
			}
			if m.LowClipped {
				clipped++
			}
		}
	}
	if clipped == 0 {
		t.Fatal("no interval needed clipping: the fixture does not exercise the bound")
	}
	md, page, _ := renderAll(t, rep)
	for name, out := range map[string]string{"markdown": md, "HTML": page} {
		if !strings.Contains(out, "clipped at 0") {
			t.Errorf("%s methods do not say intervals are clipped at 0", name)
		}
	}
}

// TestResolvedNeedsThreeCycles checks that an effect is called resolved
// only with at least 3 completed cycles per configuration at the compared
// levels, and that the headline says why when there are fewer.
func TestResolvedNeedsThreeCycles(t *testing.T) {
	for _, cycles := range []int{2, 3} {
		rep := buildFixture(t, fixtureSpec{Name: "cycles", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: cycles,
			Source: "rapl", Model: batchDominant})
		top := rep.Effects[0]
		if top.Model == nil || top.Model.PHolm >= 0.05 {
			t.Fatalf("%d cycles: the fixture's dominant effect should pass the Holm-adjusted test: %+v", cycles, top.Model)
		}
		if top.Resolved != (cycles >= 3) {
			t.Errorf("%d cycles: resolved = %v", cycles, top.Resolved)
		}
		md, page, _ := renderAll(t, rep)
		for name, out := range map[string]string{"markdown": md, "HTML": page} {
			says := strings.Contains(out, "at least 3 completed cycles per level")
			if cycles < 3 && !says {
				t.Errorf("%d cycles: %s headline does not say an effect needs at least 3 completed cycles per level", cycles, name)
			}
		}
	}
}

// TestDependentGroupIsOneFactor checks that parameters that always change
// together (a grouped sweep: precision follows the batch size) are ranked
// as one factor, not once per field with the same effect.
func TestDependentGroupIsOneFactor(t *testing.T) {
	rep := buildFixture(t, fixtureSpec{Name: "grouped", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: 3,
		Source: "rapl", Model: batchDominant, PrecisionByBatch: map[int]string{1: "fp32", 4: "fp16"}})
	if got, want := effectNames(rep.Effects), []string{"native.batch_size+precision", "dataset.output_len"}; !slices.Equal(got, want) {
		t.Fatalf("effects ranked %v, want %v: precision and batch size change together", got, want)
	}
	top := rep.Effects[0]
	if !slices.Equal(top.Parameters, []string{"native.batch_size", "precision"}) {
		t.Errorf("factor parameters = %v", top.Parameters)
	}
	var levels []string
	for _, l := range top.Levels {
		levels = append(levels, l.Value)
	}
	if !slices.Equal(levels, []string{"1+fp32", "4+fp16"}) || top.Low != "4+fp16" || top.High != "1+fp32" {
		t.Errorf("levels %v, low %q, high %q, want the pairs 1+fp32 and 4+fp16", levels, top.Low, top.High)
	}
	if rep.Interaction == nil || rep.Interaction.A != top.Parameter || rep.Interaction.B != "dataset.output_len" {
		t.Errorf("interaction = %+v, want the grouped factor against dataset.output_len", rep.Interaction)
	}
	// Configurations are still named by every field.
	if !strings.Contains(rep.Configs[0].Label, "precision=fp32") || !strings.Contains(rep.Configs[0].Label, "native.batch_size=1") {
		t.Errorf("label %q does not name both fields", rep.Configs[0].Label)
	}
	md, page, _ := renderAll(t, rep)
	for name, out := range map[string]string{"markdown": md, "HTML": html.UnescapeString(page)} {
		if !strings.Contains(out, "native.batch_size+precision") {
			t.Errorf("%s does not show the grouped factor", name)
		}
	}

	// Independent parameters stay separate factors.
	rep = buildFixture(t, fixtureSpec{Name: "crossed", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64}, Cycles: 2,
		Source: "rapl", Model: batchDominant})
	if got := effectNames(rep.Effects); len(got) != 2 || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "+") }) {
		t.Errorf("crossed design ranked %v, want two separate parameters", got)
	}
}
