package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/llenergymeasure/llem/event"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/energy/samplertest"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
	"github.com/llenergymeasure/llem/results"
)

// tinyExperiment is a real experiment on the native engine's tiny shape,
// with a protocol short enough for a unit test.
func tinyExperiment() config.ExperimentConfig {
	cfg := config.DefaultExperiment()
	cfg.Model = "tiny"
	cfg.Backend = config.BackendNative
	cfg.N = 6
	cfg.Dataset.InputLen, cfg.Dataset.OutputLen = 8, 8
	bs := 2
	cfg.Native = &config.NativeConfig{BatchSize: &bs}
	cfg.Warmup.NWarmup = 1
	cfg.Warmup.ThermalFloorSeconds = 0
	cfg.Baseline.DurationSeconds = 0.3
	config.ApplyDefaults(&cfg)
	return cfg
}

func nativeEngine(config.ExperimentConfig) (engine.Engine, error) { return native.New(), nil }

func TestRunNativeTinyEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var phases []event.Phase
	res, err := Run(context.Background(), tinyExperiment(), Options{
		NewEngine:        nativeEngine,
		OutDir:           dir,
		SamplingInterval: 50 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
		Observer:         func(e Event) { phases = append(phases, e.Phase) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SchemaVersion != results.SchemaVersion || res.MeasurementConfigHash != config.MeasurementConfigHash(tinyExperiment()) {
		t.Errorf("identity: %q %q", res.SchemaVersion, res.MeasurementConfigHash)
	}
	tp := res.Throughput
	if tp.Requests != 6 || tp.OutputTokens != 48 || tp.Batches != 3 || tp.BatchSize != 2 {
		t.Errorf("throughput counts %+v, want 6 requests × 8 tokens in 3 batches of 2", tp)
	}
	if tp.InputTokens < 48 {
		t.Errorf("input tokens %d, want at least 6 × 8", tp.InputTokens)
	}
	if res.Effective["batching_strategy"] != BatchingStatic {
		t.Errorf("effective batching_strategy = %v, want static", res.Effective["batching_strategy"])
	}
	if res.Model.Weights != "synthetic" || res.Model.Parameters <= 0 || res.Model.FLOPsPerToken <= 0 {
		t.Errorf("model info %+v", res.Model)
	}
	e := res.Energy
	// Prefill and decode split the total, both with energy and time.
	if ph := e.Phases; ph == nil || ph.PrefillJ <= 0 || ph.DecodeJ <= 0 || math.Abs(ph.PrefillJ+ph.DecodeJ-e.TotalJ) > 1e-9*e.TotalJ ||
		ph.PrefillS <= 0 || ph.DecodeS <= 0 || ph.PrefillPerInputTokenJ <= 0 || ph.DecodePerOutputTokenJ <= 0 || ph.SensorPeriodS <= 0 {
		t.Errorf("phases = %+v of %v J", ph, e.TotalJ)
	}
	// Both attributions per request, each summing to the total.
	var proRated, inFlight float64
	for _, r := range res.Requests {
		if r.EnergyInFlightJ == nil {
			t.Fatalf("request %s has no in-flight energy", r.PromptID)
		}
		proRated += r.EnergyJ
		inFlight += *r.EnergyInFlightJ
	}
	if math.Abs(proRated-e.TotalJ) > 1e-9*e.TotalJ || math.Abs(inFlight-e.TotalJ) > 1e-9*e.TotalJ || e.Attribution == nil || e.Attribution.N != len(res.Requests) {
		t.Errorf("attributions sum to %v and %v of %v J; summary %+v", proRated, inFlight, e.TotalJ, e.Attribution)
	}
	// No GPU and an empty powercap tree: the estimate, labelled as such.
	if e.Source != string(energy.SourceEstimate) || !e.Estimated {
		t.Errorf("energy source %q estimated=%v, want the labelled estimate", e.Source, e.Estimated)
	}
	if e.TotalJ <= 0 || e.DurationS <= 0 || e.PerOutputTokenJ <= 0 {
		t.Errorf("energy %+v", e)
	}
	if got := e.TotalJ / float64(tp.OutputTokens); got != e.PerOutputTokenJ {
		t.Errorf("per output token %v != total/tokens %v", e.PerOutputTokenJ, got)
	}
	if len(e.FallbackReasons) == 0 {
		t.Error("the estimate must say why better sources were not used")
	}
	codes := map[string]bool{}
	for _, w := range res.MeasurementWarnings {
		codes[w.Code] = true
	}
	for _, want := range []string{results.WarnEnergyEstimated, results.WarnShortRun} {
		if !codes[want] {
			t.Errorf("missing warning %s in %+v", want, res.MeasurementWarnings)
		}
	}
	if res.Latency.TTFT.N != 6 || res.Latency.ITL.N != 6*7 || res.Latency.TTFT.P50 <= 0 {
		t.Errorf("latency %+v", res.Latency)
	}
	if res.Warmup.Runs != 1 {
		t.Errorf("warm-up runs %d", res.Warmup.Runs)
	}
	if res.Protocol.BaselineSeconds != 0.3 || res.Protocol.Mode != "full" {
		t.Errorf("protocol %+v", res.Protocol)
	}
	if len(res.Requests) != 6 {
		t.Errorf("request records %d", len(res.Requests))
	}
	want := []event.Phase{event.PhaseSnapshot, event.PhaseBaseline, event.PhaseLoad, event.PhaseWarmup, event.PhaseMeasure, event.PhaseDone}
	for _, p := range want {
		if !slices.Contains(phases, p) {
			t.Errorf("no %q event in %v", p, phases)
		}
	}

	validateAgainstResultSchema(t, res)

	// The time series reads back with the documented columns.
	path := filepath.Join(dir, res.TimeseriesPath)
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
	if pf.NumRows() < 3 {
		t.Errorf("time series has %d rows", pf.NumRows())
	}
	for _, col := range results.TimeseriesColumns() {
		if _, ok := pf.Schema().Lookup(col.Name); !ok {
			t.Errorf("time series lacks column %s", col.Name)
		}
	}
}

func TestRunQuickProtocolIsRecorded(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Baseline.Enabled = false
	res, err := Run(context.Background(), cfg, Options{NewEngine: nativeEngine, Quick: true, Energy: energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Protocol.Mode != "quick" || res.Protocol.Note == "" {
		t.Errorf("protocol %+v", res.Protocol)
	}
	codes := map[string]bool{}
	for _, w := range res.MeasurementWarnings {
		codes[w.Code] = true
	}
	if !codes[results.WarnQuickProtocol] || !codes[results.WarnNoBaseline] {
		t.Errorf("warnings %+v", res.MeasurementWarnings)
	}
	if res.Energy.AdjustedJ != res.Energy.TotalJ {
		t.Errorf("no baseline: adjusted %v should equal total %v", res.Energy.AdjustedJ, res.Energy.TotalJ)
	}
	if res.TimeseriesPath != "" {
		t.Error("no OutDir: no time series file expected")
	}
}

// A study's run completes the machine snapshot its parent took instead of
// taking the host facts again.
func TestRunCompletesTheStudyMachineSnapshot(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Baseline.Enabled = false
	machine := results.EnvironmentSnapshot{OS: "linux parentos 1.0", Kernel: "k x86_64", Hostname: "parent", CPUModel: "cpu", CPUThreads: 3, GPUs: []results.GPUInfo{}, Container: "docker"}
	t.Setenv("OMP_NUM_THREADS", "3")
	res, err := Run(context.Background(), cfg, Options{NewEngine: nativeEngine, Machine: &machine, Version: "9.9.9",
		Energy: energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Environment
	if e.OS != machine.OS || e.Hostname != "parent" || e.CPUThreads != 3 || e.Container != "docker" {
		t.Errorf("host facts not the parent's: %+v", e)
	}
	if e.LlemVersion != "9.9.9" || e.EngineVersions["native"] == "" || e.Env["OMP_NUM_THREADS"] != "3" {
		t.Errorf("per-run parts missing: %+v", e)
	}
	if machine.Env != nil || machine.EngineVersions != nil {
		t.Errorf("the run changed the study's machine snapshot: %+v", machine)
	}
}

func TestRunFailsClearlyOnUnknownModel(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Model = "no-such-shape"
	cfg.Baseline.Enabled = false
	_, err := Run(context.Background(), cfg, Options{NewEngine: nativeEngine, Energy: energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()}})
	if err == nil {
		t.Fatal("expected an error for an unknown model")
	}
	t.Log(err)
}

// validateAgainstResultSchema checks a result, as written to result.json,
// against the generated schema/result.schema.json.
func validateAgainstResultSchema(t *testing.T, res *results.ExperimentResult) {
	t.Helper()
	schemaData, err := os.ReadFile("../../schema/result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaData))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("result.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("result.json does not validate against schema/result.schema.json: %v", err)
	}
}

// TestRunEnergyAccountingOnAFakeGPU runs the real engine with a fake NVML
// GPU drawing a constant 100 W behind the NVML seam: the whole accounting
// (windows, baseline, adjusted, per token, source labels) must give the
// numbers physics says.
func TestRunEnergyAccountingOnAFakeGPU(t *testing.T) {
	cfg := tinyExperiment()
	cfg.N = 8
	gpu := &samplertest.Fake{PowerW: 100}
	res, err := Run(context.Background(), cfg, Options{
		NewEngine:        nativeEngine,
		SamplingInterval: 20 * time.Millisecond,
		Energy: energy.DetectOptions{
			PowercapRoot: t.TempDir(),
			OpenNVML:     func(energy.NVMLOptions) (energy.Sampler, error) { return gpu, nil },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Energy
	if e.Source != string(energy.SourceNVMLCounter) || e.Estimated {
		t.Fatalf("source %q estimated=%v, want the NVML counter, measured", e.Source, e.Estimated)
	}
	for _, w := range res.MeasurementWarnings {
		if w.Code == results.WarnEnergyEstimated {
			t.Errorf("a measured source must not carry the estimate warning: %+v", w)
		}
	}
	if math.Abs(e.TotalJ-100*e.DurationS) > 0.01*e.TotalJ {
		t.Errorf("total %v J over %v s, want 100 W × duration = %v J", e.TotalJ, e.DurationS, 100*e.DurationS)
	}
	if math.Abs(e.BaselinePowerW-100) > 1 {
		t.Errorf("baseline %v W, want 100", e.BaselinePowerW)
	}
	if math.Abs(e.AdjustedJ) > 0.02*e.TotalJ {
		t.Errorf("adjusted %v J, want ≈ 0 (idle power equals load power)", e.AdjustedJ)
	}
	if len(e.Domains) != 1 || e.Domains[0].Kind != "gpu" || e.Domains[0].CounterJ == nil {
		t.Fatalf("domains %+v", e.Domains)
	}
	if math.Abs(e.AvgPowerW-100) > 1 {
		t.Errorf("average power %v W", e.AvgPowerW)
	}
	if got := e.TotalJ / float64(res.Throughput.OutputTokens); math.Abs(got-e.PerOutputTokenJ) > 1e-12 {
		t.Errorf("per output token %v, want %v", e.PerOutputTokenJ, got)
	}
}
