package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// This file generates study directories shaped exactly as the study runner
// writes them (manifest.json, study.json, study_result.json, one run
// directory per run with result.json and timeseries.parquet), from the
// results types. The committed fixtures under testdata/generated-* are
// made by it (go test ./report -run TestGenerateFixtures
// -regen-fixtures) and are labelled GENERATED in their study name and in
// testdata/README.md: they stand in for a real `llem run` study until one
// is committed.

// costModel is a simple physical model of the native CPU engine: a batch
// of b sequences pays a prefill of PrefillS + PrefillPerSeqS·b seconds,
// then one decode step of StepS + StepPerSeqS·b seconds per output token,
// at a package power of PowerW + PowerPerSeqW·b watts.
type costModel struct {
	PrefillS, PrefillPerSeqS float64
	StepS, StepPerSeqS       float64
	PowerW, PowerPerSeqW     float64
	// Noise is the relative standard deviation of cycle-to-cycle variation.
	Noise float64
}

// batchDominant makes batching the dominant choice: a decode step's cost is
// mostly fixed (weights read once per step), so larger batches divide it.
var batchDominant = costModel{PrefillS: 0.05, PrefillPerSeqS: 0.064, StepS: 0.040, StepPerSeqS: 0.006, PowerW: 40, PowerPerSeqW: 2, Noise: 0.03}

// outputDominant makes output length dominant: per-sequence costs dominate
// (batching gains nothing) and a long prefill is amortised over the output.
var outputDominant = costModel{PrefillS: 0, PrefillPerSeqS: 0.25, StepS: 0.001, StepPerSeqS: 0.045, PowerW: 40, PowerPerSeqW: 0.1, Noise: 0.03}

// fixtureSpec describes a study to generate.
type fixtureSpec struct {
	Name       string
	BatchSizes []int
	OutputLens []int
	Cycles     int
	Source     string // rapl | estimated
	Model      costModel
	// Failed maps run indices to an error message.
	Failed map[int]string
	// Unfinished > 0 stops the study there: that run is running, later ones
	// pending, and no study_result.json is written.
	Unfinished int
	Skipped    []config.SkippedConfig
	// PrecisionByBatch, when set, makes precision change with the batch
	// size, as a grouped (dependent) sweep does: the two are confounded.
	PrecisionByBatch map[int]string
	// Expect is written to the committed fixture's expect.json.
	Expect fixtureExpect
}

const (
	fixturePrompts  = 8
	fixtureInputLen = 32
	fixtureBaseW    = 12.0
)

var fixtureStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func fixtureConfig(batch, outLen int) config.ExperimentConfig {
	b := batch
	return config.ExperimentConfig{
		Model:      "stories15M",
		Backend:    config.BackendNative,
		Dataset:    config.DatasetConfig{Name: "synthetic", N: fixturePrompts, InputLen: fixtureInputLen, OutputLen: outLen, Seed: 42, Order: "interleaved"},
		N:          fixturePrompts,
		RandomSeed: 42,
		Decoder:    config.DecoderConfig{DecodingStrategy: "greedy", TopP: 1, RepetitionPenalty: 1, IgnoreEOS: true},
		Warmup:     config.WarmupConfig{Enabled: true, NWarmup: 1},
		Baseline:   config.BaselineConfig{Enabled: true, DurationSeconds: 1},
		Native:     &config.NativeConfig{BatchSize: &b},
	}
}

func fakeHash(c config.ExperimentConfig) string {
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeFixture writes the study described by spec into dir.
func writeFixture(t testing.TB, dir string, spec fixtureSpec) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var exps []config.ExperimentConfig
	for _, b := range spec.BatchSizes {
		for _, o := range spec.OutputLens {
			cfg := fixtureConfig(b, o)
			cfg.Precision = spec.PrecisionByBatch[b]
			exps = append(exps, cfg)
		}
	}
	design := config.StudyConfig{
		Name:        spec.Name,
		Experiments: exps,
		Skipped:     spec.Skipped,
		Execution:   config.Execution{NCycles: spec.Cycles, CycleOrder: config.OrderInterleaved, ExperimentTimeoutSeconds: 600},
	}
	manifest := results.StudyManifest{
		SchemaVersion: results.SchemaVersion, StudyName: spec.Name, StudyDesignHash: "generated-fixture",
		CreatedAt: fixtureStart,
	}
	clock := fixtureStart
	var done []*results.ExperimentResult
	var resultFiles []string
	var failed []results.FailedRun
	for cycle := 1; cycle <= spec.Cycles; cycle++ {
		for e, cfg := range exps {
			idx := len(manifest.Runs)
			hash := fakeHash(cfg)
			mr := results.ManifestRun{Index: idx, Cycle: cycle, Experiment: e, MeasurementConfigHash: hash, State: results.StatePending}
			switch {
			case spec.Unfinished > 0 && idx > spec.Unfinished:
			case spec.Unfinished > 0 && idx == spec.Unfinished:
				mr.State = results.StateRunning
				mr.StartedAt = ptrTo(clock)
			case spec.Failed[idx] != "":
				mr.State, mr.ErrorType, mr.Error = results.StateFailed, "EngineError", spec.Failed[idx]
				mr.StartedAt, mr.EndedAt = ptrTo(clock), ptrTo(clock.Add(3*time.Second))
				failed = append(failed, results.FailedRun{RunIndex: idx, Cycle: cycle, MeasurementConfigHash: hash, Config: cfg, ErrorType: mr.ErrorType, Message: mr.Error})
				clock = clock.Add(10 * time.Second)
			default:
				runDir := results.RunDirName(idx, cycle, hash)
				res := fixtureResult(t, filepath.Join(dir, runDir), cfg, hash, cycle, clock, spec, rng)
				mr.State = results.StateCompleted
				mr.StartedAt, mr.EndedAt = ptrTo(res.StartedAt), ptrTo(res.CompletedAt)
				mr.ResultPath = runDir + "/" + results.ResultFile
				done = append(done, res)
				resultFiles = append(resultFiles, mr.ResultPath)
				clock = res.CompletedAt.Add(5 * time.Second)
			}
			manifest.Runs = append(manifest.Runs, mr)
		}
	}
	manifest.UpdatedAt = clock
	mustJSON(t, filepath.Join(dir, results.ManifestFile), manifest)
	mustJSON(t, filepath.Join(dir, results.StudyConfigFile), design)
	if spec.Unfinished > 0 {
		return
	}
	sr := results.StudyResult{
		SchemaVersion: results.SchemaVersion, StudyID: "generated-fixture", StudyName: spec.Name,
		StudyDesignHash: "generated-fixture", StartedAt: fixtureStart, CompletedAt: clock, Runner: "local",
		MeasurementProtocol: results.MeasurementProtocol{NCycles: spec.Cycles, CycleOrder: string(config.OrderInterleaved), GapMode: "fixed", ConfigGapSeconds: 5, ExperimentTimeoutSeconds: 600},
		Summary:             results.StudySummary{Generated: len(manifest.Runs), Ran: len(manifest.Runs), Completed: len(done), Failed: len(failed), Skipped: len(spec.Skipped)},
		Skipped:             spec.Skipped,
		Failed:              failed,
		ResultFiles:         resultFiles,
	}
	if sr.Skipped == nil {
		sr.Skipped = []config.SkippedConfig{}
	}
	if sr.Failed == nil {
		sr.Failed = []results.FailedRun{}
	}
	for _, cfg := range exps {
		sr.Configurations = append(sr.Configurations, configSummary(cfg, done, spec))
	}
	mustJSON(t, filepath.Join(dir, results.StudyResultFile), sr)
}

func configSummary(cfg config.ExperimentConfig, done []*results.ExperimentResult, spec fixtureSpec) results.ConfigSummary {
	hash := fakeHash(cfg)
	cs := results.ConfigSummary{MeasurementConfigHash: hash, Config: cfg, EnergySource: spec.Source,
		Swept: map[string]any{"native.batch_size": *cfg.Native.BatchSize, "dataset.output_len": cfg.Dataset.OutputLen}}
	var ept, tot, adj, tps, ttft, itl, e2e, pw []float64
	for _, r := range done {
		if r.MeasurementConfigHash != hash {
			continue
		}
		cs.Completed++
		ept, tot, adj = append(ept, r.Energy.PerOutputTokenJ), append(tot, r.Energy.TotalJ), append(adj, r.Energy.AdjustedJ)
		tps, ttft, itl = append(tps, r.Throughput.OutputTokensPerS), append(ttft, r.Latency.TTFT.P50), append(itl, r.Latency.ITL.P50)
		e2e, pw = append(e2e, r.Latency.E2E.P50), append(pw, r.Energy.AvgPowerW)
	}
	cs.Failed = spec.Cycles - cs.Completed
	st := func(xs []float64) results.Stat {
		s := stats.Summarize(xs)
		if s.N == 0 {
			return results.Stat{}
		}
		return results.Stat{N: s.N, Mean: s.Mean, Std: s.Std, CILow: s.CILow, CIHigh: s.CIHigh}
	}
	cs.EnergyPerOutputTokenJ, cs.EnergyTotalJ, cs.EnergyAdjustedJ = st(ept), st(tot), st(adj)
	cs.OutputTokensPerS, cs.TTFTP50S, cs.ITLP50S, cs.E2EP50S, cs.AvgPowerW = st(tps), st(ttft), st(itl), st(e2e), st(pw)
	return cs
}

// fixtureResult writes one run directory and returns its result.
func fixtureResult(t testing.TB, runDir string, cfg config.ExperimentConfig, hash string, cycle int, start time.Time, spec fixtureSpec, rng *rand.Rand) *results.ExperimentResult {
	t.Helper()
	m := spec.Model
	b := *cfg.Native.BatchSize
	out := cfg.Dataset.OutputLen
	noise := 1 + m.Noise*rng.NormFloat64()
	batches := (fixturePrompts + b - 1) / b
	prefill := (m.PrefillS + m.PrefillPerSeqS*float64(b)) * noise
	step := (m.StepS + m.StepPerSeqS*float64(b)) * noise
	batchS := prefill + float64(out)*step
	duration := float64(batches) * batchS
	power := (m.PowerW + m.PowerPerSeqW*float64(b)) * (1 + 0.01*rng.NormFloat64())
	total := power * duration
	outTokens := fixturePrompts * out
	inTokens := fixturePrompts * fixtureInputLen

	estimated := spec.Source == "estimated"
	res := &results.ExperimentResult{
		SchemaVersion: results.SchemaVersion, MeasurementConfigHash: hash, Config: cfg, Cycle: cycle,
		Effective: map[string]any{"native.batch_size": b, "native.threads": 2, "native.kernels": "simd"},
		StartedAt: start, CompletedAt: start.Add(time.Duration((duration + 2.5) * float64(time.Second))),
		Protocol: results.Protocol{Mode: "full", BaselineSeconds: 1, WarmupRuns: 1, SamplingIntervalSeconds: 0.1},
		Model:    results.ModelInfo{Name: "stories15M", Weights: "synthetic", Parameters: 15_200_000, LoadSeconds: 0.2, Device: "cpu"},
		Dataset: results.DatasetInfo{Name: "synthetic", Params: map[string]any{"input_len": fixtureInputLen, "output_len": out},
			ExactOutputLength: true},
		MeasurementMethodology: "total",
		Energy: results.EnergyMetrics{
			Source: spec.Source, Estimated: estimated, DurationS: duration, BaselinePowerW: fixtureBaseW,
			TotalJ: total, AdjustedJ: total - fixtureBaseW*duration,
			PerOutputTokenJ: total / float64(outTokens), PerRequestJ: total / fixturePrompts,
			PerTokenJ: total / float64(outTokens+inTokens), AvgPowerW: power, PeakPowerW: power * 1.08,
			Domains: []results.DomainEnergy{{Kind: "cpu_package", Index: 0, Source: spec.Source, TotalJ: total, BaselineW: fixtureBaseW, AdjustedJ: total - fixtureBaseW*duration}},
		},
		Throughput: results.ThroughputStats{Requests: fixturePrompts, InputTokens: inTokens, OutputTokens: outTokens,
			OutputTokensPerS: float64(outTokens) / duration, TotalTokensPerS: float64(outTokens+inTokens) / duration,
			RequestsPerS: fixturePrompts / duration, Batches: batches, BatchSize: b},
		Latency: results.LatencyStats{
			TTFT: dist(prefill, 0.05, fixturePrompts),
			ITL:  dist(step, 0.04, fixturePrompts*(out-1)),
			E2E:  dist(batchS, 0.02, fixturePrompts),
		},
		Warmup:              results.WarmupStats{Runs: 1, Converged: true, DurationS: batchS},
		MeasurementWarnings: []results.Warning{},
		Environment:         results.EnvironmentSnapshot{OS: "linux", CPUModel: "generated fixture CPU", CPUCores: 2, CPUThreads: 2, LlemVersion: "dev", GoVersion: "go1.26"},
		TimeseriesPath:      results.TimeseriesFile,
	}
	if estimated {
		res.MeasurementWarnings = append(res.MeasurementWarnings, results.Warning{Code: results.WarnEnergyEstimated, Message: "no energy sensor readable: CPU energy estimated from CPU time × TDP share"})
		res.Energy.Domains[0].Kind = "cpu"
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustJSON(t, filepath.Join(runDir, results.ResultFile), res)
	writeFixtureTimeseries(t, filepath.Join(runDir, results.TimeseriesFile), res, rng)
	return res
}

func dist(v, spread float64, n int) results.Distribution {
	return results.Distribution{N: n, Mean: v, P50: v, P90: v * (1 + spread), P99: v * (1 + 2*spread), Min: v * (1 - spread), Max: v * (1 + 2.5*spread)}
}

// fixtureTSRow is the subset of the recorder's timeseries.parquet columns
// the fixture writes (no unix_time_s, no GPU columns: a CPU-only machine).
type fixtureTSRow struct {
	TimestampS        float64  `parquet:"timestamp_s"`
	Phase             string   `parquet:"phase"`
	Domain            string   `parquet:"domain"`
	DomainIndex       int32    `parquet:"domain_index"`
	Source            string   `parquet:"source"`
	CumulativeEnergyJ float64  `parquet:"cumulative_energy_j"`
	TokensPerSec      float64  `parquet:"tokens_per_sec"`
	PowerW            *float64 `parquet:"power_w,optional"`
}

func writeFixtureTimeseries(t testing.TB, path string, res *results.ExperimentResult, rng *rand.Rand) {
	t.Helper()
	const dt = 0.1
	var rows []fixtureTSRow
	var cum float64
	measureStart, measureEnd := 1.5, 1.5+res.Energy.DurationS
	dom := res.Energy.Domains[0].Kind
	for ts := 0.0; ts <= measureEnd+0.5+1e-9; ts += dt {
		phase, w, tps := "baseline", fixtureBaseW, 0.0
		switch {
		case ts >= 1 && ts < measureStart:
			phase, w = "warmup", res.Energy.AvgPowerW
		case ts >= measureStart && ts < measureEnd:
			phase, w, tps = "measuring", res.Energy.AvgPowerW, res.Throughput.OutputTokensPerS
		case ts >= measureEnd:
			phase = "cooldown"
		}
		w *= 1 + 0.03*rng.NormFloat64()
		cum += w * dt
		rows = append(rows, fixtureTSRow{TimestampS: math.Round(ts*10) / 10, Phase: phase, Domain: dom, Source: res.Energy.Source,
			CumulativeEnergyJ: cum, TokensPerSec: tps, PowerW: ptrTo(w)})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ptrTo[T any](v T) *T { return &v }

func mustJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// committedFixtures are the generated studies under testdata/.
func committedFixtures() map[string]fixtureSpec {
	return map[string]fixtureSpec{
		"generated-study": {
			Name: "GENERATED fixture: native batch_size × output_len", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64},
			Cycles: 3, Source: "rapl", Model: batchDominant,
			Expect: fixtureExpect{Dominant: "native.batch_size", Status: "complete"},
		},
		"generated-partial": {
			Name: "GENERATED fixture: partly failed, still running", BatchSizes: []int{1, 4}, OutputLens: []int{16, 64},
			Cycles: 3, Source: "estimated", Model: batchDominant,
			Expect:     fixtureExpect{Dominant: "native.batch_size", Status: "unfinished"},
			Failed:     map[int]string{5: "experiment child exited: signal: killed (out of memory? peak RSS 1.9 GiB)"},
			Unfinished: 7,
			Skipped: []config.SkippedConfig{{Config: withPrecision(fixtureConfig(4, 64), "fp8"),
				Reason: "backend native does not support precision fp8 (supported: auto, fp32, fp16, int8, int4)"}},
		},
	}
}

func withPrecision(c config.ExperimentConfig, p string) config.ExperimentConfig {
	c.Precision = p
	return c
}

// TestGenerateFixtures rewrites the committed generated fixtures. It runs
// only with -regen-fixtures; a fixture from a real `llem run` replacing
// one of them must be removed from committedFixtures first.
func TestGenerateFixtures(t *testing.T) {
	if !*regenFixtures {
		t.Skip("run with -regen-fixtures to rewrite testdata/generated-*")
	}
	for name, spec := range committedFixtures() {
		dir := filepath.Join("testdata", name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFixture(t, dir, spec)
		mustJSON(t, filepath.Join(dir, "expect.json"), spec.Expect)
		t.Logf("wrote %s", dir)
	}
}
