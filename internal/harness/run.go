// Package harness measures one experiment: environment snapshot, idle
// baseline, engine load, warm-up with a thermal floor, and the measured
// batches, each inside an energy window closed only after the engine reports
// the device idle. It turns what it saw into a complete ExperimentResult.
// The harness never reads YAML and never decides what runs next: it is
// handed one resolved ExperimentConfig.
package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/digest"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/envsnap"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/stats"
	"github.com/llenergymeasure/llem/results"
)

// shortRunSeconds is the measured duration under which a run is flagged (MEA-6).
const shortRunSeconds = 10

// Options configures one measured experiment.
type Options struct {
	// NewEngine builds the engine for the config's backend.
	NewEngine func(cfg config.ExperimentConfig) (engine.Engine, error)
	// Inspect, when set, is the engine's pre-load inspection: Run then
	// runs the pre-flight (Preflight) before the baseline, so a setting
	// that cannot take effect or a prompt that cannot fit fails in a
	// second rather than after the baseline and the load.
	Inspect func(cfg config.ExperimentConfig) (engine.ModelFacts, []*engine.SettingError)
	// OutDir receives timeseries.parquet; empty means no files are written.
	OutDir string
	// SamplingInterval for the recorder; 0 means 1 s.
	SamplingInterval time.Duration
	// Energy selects and configures the sensors.
	Energy energy.DetectOptions
	// Dataset configures where prompts come from.
	Dataset dataset.Options
	// Carbon context from user config; never part of the config hash.
	CarbonIntensity float64
	PUE             float64
	Location        string
	// Quick marks the short demonstration protocol (CLI-1), recorded in the
	// result with a warning.
	Quick bool
	// Run is the run's place in its study (its cycle counts from 1; 0
	// outside a study), recorded in the result and the time series.
	Run results.TimeseriesIdentity
	// Version is the llem version recorded in the environment snapshot.
	Version, Commit string
	// Machine, when set, is the host's snapshot taken once for the whole
	// study (envsnap.Take, by the parent): the run completes it with what
	// may change between runs (envsnap.Refresh) instead of taking the
	// whole snapshot again. Nil means the run takes it all itself.
	Machine *results.EnvironmentSnapshot
	// Observer receives progress events; nil means none.
	Observer func(Event)
	// Log receives diagnostics; nil means slog.Default().
	Log *slog.Logger
	// Sleep waits (thermal floor); nil means a context-aware time.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// GPU opens the NVML control of the GPUs for the gpu: settings; nil
	// means gpucontrol.Open (tests pass go-nvml's mock).
	GPU gpucontrol.Opener
	// ProgressInterval is how often a periodic progress event repeats the
	// last one with fresh sensor readings while the sensors run; 0 means
	// DefaultProgressInterval, negative none.
	ProgressInterval time.Duration
}

// DefaultProgressInterval is the default Options.ProgressInterval.
const DefaultProgressInterval = time.Second

// Event is a progress report (CLI-5): the public event.Progress, so the
// harness's reports reach library users and the CLI unconverted.
type Event = event.Progress

// Run measures one experiment and returns its complete result.
func Run(ctx context.Context, cfg config.ExperimentConfig, opts Options) (*results.ExperimentResult, error) {
	h := &run{cfg: cfg, opts: opts, began: time.Now()}
	if h.opts.Log == nil {
		h.opts.Log = slog.Default()
	}
	if h.opts.Sleep == nil {
		h.opts.Sleep = sleepCtx
	}
	return h.do(ctx)
}

type run struct {
	cfg   config.ExperimentConfig
	opts  Options
	began time.Time
	res   results.ExperimentResult

	// mu serialises the observer's calls and guards the live state the
	// periodic events repeat.
	mu sync.Mutex
	// rec is the running recorder, once the sensors are chosen.
	rec *energy.Recorder
	// last is the last step's event; deadline ends its Remaining.
	last     Event
	hasLast  bool
	deadline time.Time
	// outputTokens and requests are the run's completed work so far.
	outputTokens, requests int
	// enginePIDs are the engine's processes the estimate also counts.
	enginePIDs []int
	// gpu is the GPU settings as read back after they were applied.
	gpu []gpucontrol.Effective
}

// attributeEngineProcesses lets a CPU-time estimate count the processes an
// out-of-process engine runs inference in (a Python worker, a server llem
// started), from now on.
func (h *run) attributeEngineProcesses(eng engine.Engine, det *energy.Detected) {
	po, ok := eng.(engine.ProcessOwner)
	if !ok || len(po.PIDs()) == 0 {
		return
	}
	for _, s := range det.Samplers {
		if a, ok := s.(interface{ AddPIDs(...int) error }); ok {
			if err := a.AddPIDs(po.PIDs()...); err != nil {
				h.opts.Log.Warn("attribute engine processes to the estimate", "err", err)
				continue
			}
			h.enginePIDs = po.PIDs()
			h.opts.Log.Info("the CPU-time estimate counts the engine's processes", "pids", h.enginePIDs)
		}
	}
}

// emit reports a step: a phase starting or a batch done.
func (h *run) emit(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.last, h.hasLast, h.deadline = e, true, time.Time{}
	if e.Remaining > 0 {
		h.deadline = now.Add(e.Remaining)
	}
	h.sendLocked(e, now)
}

// sendLocked fills e's elapsed time, counts and readings and hands it to
// the observer; h.mu is held.
func (h *run) sendLocked(e Event, now time.Time) {
	if h.opts.Observer == nil {
		return
	}
	e.Elapsed = now.Sub(h.began)
	e.OutputTokens, e.Requests = h.outputTokens, h.requests
	if h.rec != nil {
		if s, ok := h.rec.Latest(); ok {
			e.Domains = domainReadings(s)
		}
	}
	h.opts.Observer(e)
}

// tick repeats the last step's event, marked periodic, with the remaining
// time and the readings brought up to date.
func (h *run) tick() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasLast {
		return
	}
	now := time.Now()
	e := h.last
	e.Periodic = true
	if !h.deadline.IsZero() {
		e.Remaining = max(h.deadline.Sub(now), 0)
	}
	h.sendLocked(e, now)
}

// ticking sends periodic events until the returned stop is called; stop
// waits for the last one.
func (h *run) ticking(ctx context.Context) (stop func()) {
	iv := h.opts.ProgressInterval
	if iv == 0 {
		iv = DefaultProgressInterval
	}
	if iv < 0 || h.opts.Observer == nil {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-t.C:
				h.tick()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// countWork adds completed requests and their output tokens.
func (h *run) countWork(comps []engine.Completion) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests += len(comps)
	for _, c := range comps {
		h.outputTokens += c.OutputTokens
	}
}

// domainReadings are a sample's domains as progress readings, the
// source kept with every figure.
func domainReadings(s energy.Sample) []event.DomainReading {
	out := make([]event.DomainReading, 0, len(s.Domains))
	for _, d := range s.Domains {
		out = append(out, event.DomainReading{
			Kind: string(d.Domain.Kind), Index: d.Domain.Index, Name: d.Domain.Name,
			Source: string(d.Source), PowerW: d.PowerW, EnergyJ: d.CumulativeEnergy.Joules(),
		})
	}
	return out
}

func (h *run) warn(code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, w := range h.res.MeasurementWarnings {
		if w.Code == code && w.Message == msg {
			return
		}
	}
	h.res.MeasurementWarnings = append(h.res.MeasurementWarnings, results.Warning{Code: code, Message: msg})
	h.opts.Log.Warn("measurement warning", "code", code, "message", msg)
}

// do runs the steps of one measurement in order: pre-flight, snapshot,
// detect, baseline, load, prompts, warm-up, measure, assemble.
func (h *run) do(ctx context.Context) (*results.ExperimentResult, error) {
	h.begin()
	if err := h.preflight(ctx); err != nil {
		return nil, err
	}
	restoreGPU, err := h.applyGPU()
	if err != nil {
		return nil, err
	}
	defer restoreGPU()
	h.snapshot(ctx)
	det, rec, err := h.detect(ctx)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.rec = rec
	h.mu.Unlock()
	stopTicking := h.ticking(ctx)
	defer stopTicking()
	recStopped := false
	defer func() {
		if !recStopped {
			_ = rec.Stop()
		}
	}()
	base, err := h.baseline(ctx, rec)
	if err != nil {
		return nil, err
	}
	eng, info, err := h.load(ctx, det)
	if eng != nil {
		defer eng.Close()
	}
	if err != nil {
		return nil, err
	}
	prompts, err := h.prompts(ctx, eng, info)
	if err != nil {
		return nil, err
	}
	params, batchSize := genParams(h.cfg), batchSizeOf(h.cfg)
	if err := h.warmUp(ctx, rec, eng, prompts, params, batchSize); err != nil {
		return nil, err
	}
	m, err := h.measure(ctx, rec, eng, prompts, params, batchSize)
	if err != nil {
		return nil, err
	}
	stopTicking()
	rec.Mark(energy.PhaseIdle)
	if err := rec.Stop(); err != nil {
		h.opts.Log.Warn("stop recorder", "err", err)
	}
	recStopped = true
	h.assemble(det, rec, base, info, m)
	if h.opts.OutDir != "" {
		path := filepath.Join(h.opts.OutDir, results.TimeseriesFile)
		id := h.opts.Run
		id.MeasurementConfigHash = h.res.MeasurementConfigHash
		if err := energy.WriteParquet(path, rec.Samples(), id); err != nil {
			return nil, fmt.Errorf("write time series: %w", err)
		}
		h.res.TimeseriesPath = results.TimeseriesFile
	}
	h.emit(Event{Phase: event.PhaseDone, PromptsDone: m.done, PromptsTotal: len(prompts), TokensPerS: h.res.Throughput.OutputTokensPerS, PowerW: h.res.Energy.AvgPowerW})
	return &h.res, nil
}

// begin starts the result: identity, configuration, start time.
func (h *run) begin() {
	h.res = results.ExperimentResult{
		SchemaVersion:          results.SchemaVersion,
		MeasurementConfigHash:  config.MeasurementConfigHash(h.cfg),
		Config:                 h.cfg,
		Cycle:                  h.opts.Run.Cycle,
		StartedAt:              h.began.UTC(),
		MeasurementMethodology: "total",
		MeasurementWarnings:    []results.Warning{},
	}
}

// snapshot records the environment; the API key's variable never is.
func (h *run) snapshot(ctx context.Context) {
	h.emit(Event{Phase: event.PhaseSnapshot})
	so := envsnap.Options{LlemVersion: h.opts.Version, LlemCommit: h.opts.Commit}
	if h.opts.Machine != nil {
		h.res.Environment = envsnap.Refresh(ctx, *h.opts.Machine, so)
	} else {
		h.res.Environment = envsnap.Take(ctx, so)
	}
	var keyEnv []string
	if o := h.cfg.OpenAI; o != nil && o.APIKeyEnv != nil {
		keyEnv = append(keyEnv, *o.APIKeyEnv)
	}
	h.res.Environment.Env = envsnap.RecordedEnv(os.Environ(), keyEnv...)
}

// detect chooses the energy sensors and starts the recorder that samples
// them for the rest of the run; the caller stops it.
func (h *run) detect(ctx context.Context) (*energy.Detected, *energy.Recorder, error) {
	eo := h.opts.Energy
	if eo.CPUModel == "" && h.opts.Machine != nil {
		// The study's snapshot names the CPU: no second read of every
		// CPU's cpuinfo and cpufreq files for the estimate's table.
		eo.CPUModel = h.opts.Machine.CPUModel
	}
	det, err := energy.Detect(ctx, eo)
	if err != nil {
		return nil, nil, fmt.Errorf("energy sensors: %w", err)
	}
	rec, err := energy.NewRecorder(det.Samplers, energy.RecorderOptions{Interval: h.opts.SamplingInterval})
	if err != nil {
		return nil, nil, fmt.Errorf("energy recorder: %w", err)
	}
	if err := rec.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("start energy recorder: %w", err)
	}
	h.res.Energy.FallbackReasons = det.FallbackReasons
	h.res.Protocol = h.protocol(rec.Interval())
	if h.opts.Quick {
		h.warn(results.WarnQuickProtocol, "quick demonstration protocol: %s; use an experiment file for the full methodology", h.res.Protocol.Note)
	}
	return det, rec, nil
}

// baseline measures idle power before the model loads (MEA-3).
func (h *run) baseline(ctx context.Context, rec *energy.Recorder) (energy.Baseline, error) {
	cfg := h.cfg
	if !cfg.Baseline.Enabled || cfg.Baseline.DurationSeconds <= 0 {
		h.warn(results.WarnNoBaseline, "baseline disabled: energy_adjusted_j equals energy_total_j")
		return energy.Baseline{}, nil
	}
	d := seconds(cfg.Baseline.DurationSeconds)
	h.emit(Event{Phase: event.PhaseBaseline, Remaining: d})
	base, err := energy.MeasureBaseline(ctx, rec, d)
	if err != nil {
		return base, fmt.Errorf("baseline: %w", err)
	}
	for _, w := range energy.BaselineWarnings(base) {
		h.warn(w.Code, "%s", w.Message)
	}
	return base, nil
}

// load builds the engine and loads the model, timed. The engine it
// returns, even with an error, is the caller's to close.
func (h *run) load(ctx context.Context, det *energy.Detected) (engine.Engine, engine.LoadInfo, error) {
	cfg := h.cfg
	h.emit(Event{Phase: event.PhaseLoad})
	eng, err := h.opts.NewEngine(cfg)
	if err != nil {
		return nil, engine.LoadInfo{}, err
	}
	loadStart := time.Now()
	info, err := eng.Load(ctx, cfg)
	if err != nil {
		return eng, info, fmt.Errorf("load %s on %s: %w", cfg.Model, cfg.Backend, err)
	}
	loadS := time.Since(loadStart).Seconds()
	h.res.Model = results.ModelInfo{Name: info.ModelName, Weights: info.Weights, Parameters: info.Parameters, LoadSeconds: loadS, Device: info.Device, FLOPsPerToken: info.FLOPsPerToken, SHA256: cfg.ModelSHA256}
	h.res.Effective = info.Effective
	for k, v := range info.Versions {
		if h.res.Environment.EngineVersions == nil {
			h.res.Environment.EngineVersions = map[string]string{}
		}
		h.res.Environment.EngineVersions[k] = v
	}
	for _, w := range info.Warnings {
		h.warn("engine", "%s", w)
	}
	h.attributeEngineProcesses(eng, det)
	return eng, info, nil
}

// prompts loads the data set, tokenised by the engine's own tokenizer
// where it has one.
func (h *run) prompts(ctx context.Context, eng engine.Engine, info engine.LoadInfo) ([]engine.Prompt, error) {
	cfg := h.cfg
	var tok engine.Tokenizer
	if tp, ok := eng.(engine.TokenizerProvider); ok {
		tok = tp.Tokenizer()
	}
	set, err := loadPrompts(ctx, cfg, tok, h.opts.Dataset)
	if err != nil {
		return nil, err // dataset errors name the dataset and file themselves
	}
	h.res.Dataset = set.Info
	h.res.Dataset.ExactOutputLength = info.ExactOutputLength
	if !info.ExactOutputLength {
		h.warn(results.WarnOutputLength, "%s cannot enforce exact output lengths: output_len is a maximum and token counts are as generated", cfg.Backend)
	}
	return set.Prompts, nil
}

// warmUp runs the warm-up (MEA-4), then waits out what remains of the
// thermal floor, a phase of its own in the time series.
func (h *run) warmUp(ctx context.Context, rec *energy.Recorder, eng engine.Engine, prompts []engine.Prompt, params engine.GenParams, batchSize int) error {
	cfg := h.cfg
	warmStart := time.Now()
	rec.Mark(energy.PhaseWarmup)
	if err := h.warmup(ctx, eng, prompts, params, batchSize); err != nil {
		return err
	}
	if floor := seconds(cfg.Warmup.ThermalFloorSeconds); cfg.Warmup.Enabled && floor > 0 {
		if wait := floor - time.Since(warmStart); wait > 0 {
			h.emit(Event{Phase: event.PhaseThermal, Remaining: wait})
			rec.Mark(energy.PhaseThermalFloor)
			if err := h.opts.Sleep(ctx, wait); err != nil {
				return err
			}
			h.res.Warmup.ThermalWaitS = wait.Seconds()
		}
	}
	h.res.Warmup.DurationS = time.Since(warmStart).Seconds()
	return nil
}

// measured is what the measured batches left for assemble.
type measured struct {
	windows    []batchWindow
	peakW      float64
	done       int
	start, end time.Time
}

// measure runs the measured batches, each inside its own energy window.
func (h *run) measure(ctx context.Context, rec *energy.Recorder, eng engine.Engine, prompts []engine.Prompt, params engine.GenParams, batchSize int) (measured, error) {
	rec.Mark(energy.PhaseMeasure)
	m := measured{start: time.Now()}
	batching := batchingOf(h.cfg)
	if h.res.Effective == nil {
		h.res.Effective = map[string]any{}
	}
	h.res.Effective["batching_strategy"] = batching
	if h.gpu != nil {
		h.res.Effective["gpu"] = h.gpu
	}
	// The decoding settings as the engine received them.
	h.res.Effective["generation"] = params
	var windowWarnings []results.Warning
	defer func() { h.warnWindows(windowWarnings, len(m.windows)) }()
	for _, batch := range batchesOf(prompts, batchSize, batching) {
		w := rec.OpenWindow()
		comps, err := eng.Generate(ctx, batch, params)
		wr := w.Close()
		if err != nil {
			return m, fmt.Errorf("generate batch %d: %w", len(m.windows), err)
		}
		bw := batchWindow{Start: wr.Start, Completions: comps, DurationS: wr.Duration.Seconds()}
		var out int
		for _, c := range comps {
			out += c.OutputTokens
		}
		rec.AddTokens(out)
		h.countWork(comps)
		var period time.Duration
		for _, d := range wr.Domains {
			bw.Domains = append(bw.Domains, domainFromWindow(d))
			period = max(period, d.SensorPeriod)
		}
		bw.SensorPeriodS = period.Seconds()
		if first, ok := firstToken(comps, wr.Start); ok {
			if w, ok := energy.PhaseWarning(min(first, wr.Duration), max(wr.Duration-first, 0), period); ok {
				windowWarnings = append(windowWarnings, w)
			}
		}
		windowWarnings = append(windowWarnings, energy.WindowWarnings(wr)...)
		if p := wr.Total().Power(wr.Duration); p > m.peakW {
			m.peakW = p
		}
		for _, d := range wr.Domains {
			m.peakW = max(m.peakW, d.PeakPowerW)
		}
		m.windows = append(m.windows, bw)
		m.done += len(batch)
		el := time.Since(m.start).Seconds()
		h.emit(Event{Phase: event.PhaseMeasure, PromptsDone: m.done, PromptsTotal: len(prompts), TokensPerS: tokensSoFar(m.windows) / el, PowerW: wr.Total().Power(wr.Duration)})
	}
	m.end = time.Now()
	return m, nil
}

// warnWindows raises each kind of window warning once, with the first
// window's message and in how many of the batch windows it was seen (one
// warning per window would bury the others).
func (h *run) warnWindows(ws []results.Warning, windows int) {
	count := map[string]int{}
	var first []results.Warning
	for _, w := range ws {
		if count[w.Code] == 0 {
			first = append(first, w)
		}
		count[w.Code]++
	}
	for _, w := range first {
		if n := count[w.Code]; n > 1 {
			h.warn(w.Code, "%s (seen in %d of %d batch windows)", w.Message, n, windows)
			continue
		}
		h.warn(w.Code, "%s", w.Message)
	}
}

// assemble computes the result's figures from the measured windows, the
// baseline and the recorded series, and collects the warnings.
func (h *run) assemble(det *energy.Detected, rec *energy.Recorder, base energy.Baseline, info engine.LoadInfo, m measured) {
	bp := baselineFrom(base)
	em, tp, lat, reqs := computeMetrics(m.windows, bp, uint64(h.cfg.RandomSeed))
	em.FallbackReasons = h.res.Energy.FallbackReasons
	em.PeakPowerW = m.peakW
	em.Source, em.Estimated = bestSource(em.Domains)
	// A serving load's steady state, beside the whole window (ML.ENERGY).
	if h.cfg.Backend == config.BackendOpenAI {
		em.SteadyState = steadyState(m.windows)
	}
	h.res.Energy = em
	h.res.Throughput = tp
	h.res.Latency = lat
	h.res.Requests = reqs
	h.res.Compute = computeCompute(info, tp, em.DurationS)
	h.res.Compute.PeakMemoryMB = peakGPUMemory(rec.Samples(energy.PhaseMeasure), h.res.Energy.Domains)
	h.res.Carbon = computeCarbon(em.TotalJ, h.opts.PUE, h.opts.CarbonIntensity, h.opts.Location)
	h.res.SteadyStateWindow = &results.TimeWindow{StartS: m.start.Sub(h.began).Seconds(), EndS: m.end.Sub(h.began).Seconds()}
	h.res.Warmup.ExcludedSamples = len(rec.Samples(energy.PhaseWarmup, energy.PhaseThermalFloor))
	h.collectWarnings(det, em, rec.Samples(energy.PhaseMeasure))
	h.res.CompletedAt = time.Now().UTC()
}

// preflight runs the engine's inspection and Preflight, and checks that a
// model file is still the one the configuration was resolved against.
func (h *run) preflight(ctx context.Context) error {
	cfg := h.cfg
	if cfg.ModelSHA256 != "" {
		sum, err := digest.File(cfg.Model)
		if err != nil {
			return fmt.Errorf("model %s: %w", cfg.Model, err)
		}
		if sum != cfg.ModelSHA256 {
			return fmt.Errorf("model %s changed since the configuration was resolved (SHA-256 %s, was %s): it is not the model the study planned", cfg.Model, sum, cfg.ModelSHA256)
		}
	}
	if h.opts.Inspect == nil {
		return nil
	}
	facts, errs := h.opts.Inspect(cfg)
	if len(errs) == 0 {
		errs = preflight(ctx, cfg, facts, h.opts.Dataset, h.gpuOpener(), h.opts.Energy.NVMLDevices)
	}
	if len(errs) == 0 {
		return nil
	}
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return fmt.Errorf("pre-flight: %w", errors.Join(joined...))
}

func (h *run) gpuOpener() gpucontrol.Opener {
	if h.opts.GPU != nil {
		return h.opts.GPU
	}
	return gpucontrol.Open
}

// applyGPU sets the gpu: settings before the baseline, so that idle power
// is measured at them too, and reads them back: a card that did not take
// them fails the run. The returned function puts the previous settings
// back (a study's parent does so again, also after a crash).
func (h *run) applyGPU() (restore func(), err error) {
	s := gpucontrol.FromConfig(h.cfg.GPU)
	if s.IsZero() {
		return func() {}, nil
	}
	ctl, err := h.gpuOpener()(h.opts.Energy.NVMLDevices)
	if err != nil {
		return nil, fmt.Errorf("gpu settings: %w", err)
	}
	orig, err := gpucontrol.Originals(ctl, s)
	if err == nil {
		h.gpu, err = gpucontrol.Apply(ctl, s, orig)
	}
	if err != nil {
		_ = ctl.Close()
		return nil, fmt.Errorf("gpu settings: %w", err)
	}
	h.opts.Log.Info("GPU settings applied", "effective", h.gpu)
	return func() {
		if err := gpucontrol.Restore(ctl, orig); err != nil {
			h.opts.Log.Error("put the GPU settings back", "err", err)
		}
		_ = ctl.Close()
	}, nil
}

func (h *run) protocol(interval time.Duration) results.Protocol {
	c := h.cfg
	p := results.Protocol{Mode: "full", SamplingIntervalSeconds: interval.Seconds()}
	if c.Baseline.Enabled {
		p.BaselineSeconds = c.Baseline.DurationSeconds
	}
	if w := c.Warmup; w.Enabled {
		p.ThermalFloorSeconds = w.ThermalFloorSeconds
		if w.Convergence {
			p.WarmupConvergence = &results.WarmupConvergence{CVThreshold: w.CVThreshold, WindowSize: w.WindowSize, MinRuns: w.MinPrompts, MaxRuns: w.MaxPrompts}
		} else {
			p.WarmupRuns = w.NWarmup
		}
	}
	if h.opts.Quick {
		p.Mode = "quick"
		p.Note = fmt.Sprintf("%.0f s baseline, %d warm-up run(s), no thermal floor", p.BaselineSeconds, p.WarmupRuns)
	}
	return p
}

// warmup runs full-length batches until the fixed count is done or, with
// convergence on, the latency CV over the window drops below the threshold.
func (h *run) warmup(ctx context.Context, eng engine.Engine, prompts []engine.Prompt, p engine.GenParams, batchSize int) error {
	w := h.cfg.Warmup
	if !w.Enabled || len(prompts) == 0 {
		return nil
	}
	target, maxRuns := w.NWarmup, w.NWarmup
	if w.Convergence {
		target, maxRuns = max(w.MinPrompts, w.WindowSize), max(w.MaxPrompts, w.MinPrompts)
	}
	var lat []float64
	for i := 0; i < maxRuns; i++ {
		start := (i * batchSize) % len(prompts)
		batch := prompts[start:min(start+batchSize, len(prompts))]
		h.emit(Event{Phase: event.PhaseWarmup, PromptsDone: i, PromptsTotal: maxRuns})
		t0 := time.Now()
		comps, err := eng.Generate(ctx, batch, p)
		if err != nil {
			return fmt.Errorf("warm-up run %d: %w", i+1, err)
		}
		h.countWork(comps)
		lat = append(lat, time.Since(t0).Seconds())
		h.res.Warmup.Runs = i + 1
		win := lat[max(0, len(lat)-max(w.WindowSize, 2)):]
		h.res.Warmup.FinalCV = stats.CV(win)
		if w.Convergence && len(lat) >= target && len(win) >= 2 && h.res.Warmup.FinalCV < w.CVThreshold {
			h.res.Warmup.Converged = true
			return nil
		}
		if !w.Convergence && len(lat) >= target {
			return nil
		}
	}
	return nil
}

func (h *run) collectWarnings(det *energy.Detected, em results.EnergyMetrics, series []energy.Sample) {
	if em.DurationS < shortRunSeconds {
		h.warn(results.WarnShortRun, "measured run lasted %.1f s (< %d s): idle power and sensor resolution weigh heavily; use more prompts", em.DurationS, shortRunSeconds)
	}
	for _, w := range det.Warnings {
		h.warn(w.Code, "%s", w.Message)
	}
	for _, w := range energy.SeriesWarnings(series) {
		h.warn(w.Code, "%s", w.Message)
	}
	if em.Estimated && !h.hasWarning(results.WarnEnergyEstimated) {
		h.warn(results.WarnEnergyEstimated, "energy is ESTIMATED, not measured: %s", strings.Join(em.FallbackReasons, "; "))
	}
	if em.Estimated && h.cfg.Backend != config.BackendNative && len(h.enginePIDs) == 0 {
		// The estimate counts CPU time of processes llem knows; a remote
		// server or a container worker does its inference elsewhere.
		h.warn(results.WarnEnergyEstimated, "the CPU-time estimate covers llem's own process only, not the %s engine's worker or server, so it understates the energy: measure with NVML or RAPL", h.cfg.Backend)
	}
	// Beyond rounding, a negative adjusted energy means idle drew more than load.
	if em.AdjustedJ < -0.01*em.TotalJ {
		h.warn(results.WarnBaselineUnstable, "adjusted energy is negative (%.3g J): the idle baseline (%.3g W) exceeds the measured power (%.3g W)", em.AdjustedJ, em.BaselinePowerW, em.AvgPowerW)
	}
	for _, s := range det.Samplers {
		if ws, ok := s.(interface{ Warnings() []results.Warning }); ok {
			for _, w := range ws.Warnings() {
				h.warn(w.Code, "%s", w.Message)
			}
		}
	}
}

func (h *run) hasWarning(code string) bool {
	for _, w := range h.res.MeasurementWarnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

func domainFromWindow(d energy.DomainWindow) domainEnergy {
	de := domainEnergy{Kind: string(d.Domain.Kind), Index: d.Domain.Index, Name: d.Domain.Name, Source: string(d.Source), TotalJ: d.Energy.Joules(), Cumulative: d.Cumulative}
	if d.HasCounter {
		v := d.CounterEnergy.Joules()
		de.CounterJ = &v
	}
	if d.HasIntegrated {
		v := d.IntegratedEnergy.Joules()
		de.IntegratedJ = &v
	}
	return de
}

func baselineFrom(b energy.Baseline) baselinePower {
	bp := baselinePower{PerDomainW: map[string]float64{}, TotalW: b.TotalPowerW(), StdW: b.TotalStdW()}
	for _, d := range b.Domains {
		bp.PerDomainW[domainKey(string(d.Domain.Kind), d.Domain.Index)] = d.PowerW
	}
	return bp
}

// bestSource names the result's energy source: the best one used by any
// domain, and whether any part of the total is an estimate.
func bestSource(ds []results.DomainEnergy) (string, bool) {
	best, estimated := "", false
	for _, d := range ds {
		if d.Source == results.SourceEstimated {
			estimated = true
		}
		if best == "" || results.SourceRank(d.Source) < results.SourceRank(best) {
			best = d.Source
		}
	}
	if best == "" {
		best = "none"
	}
	return best, estimated
}

func tokensSoFar(ws []batchWindow) float64 {
	var n int
	for _, w := range ws {
		for _, c := range w.Completions {
			n += c.OutputTokens
		}
	}
	return float64(n)
}

func genParams(cfg config.ExperimentConfig) engine.GenParams {
	d := cfg.Decoder
	p := engine.GenParams{
		MaxNewTokens:      cfg.Dataset.OutputLen,
		MinNewTokens:      d.MinNewTokens,
		IgnoreEOS:         d.IgnoreEOS,
		Strategy:          d.DecodingStrategy,
		Temperature:       d.Temperature,
		TopP:              d.TopP,
		TopK:              d.TopK,
		RepetitionPenalty: d.RepetitionPenalty,
		NumBeams:          d.NumBeams,
		Seed:              cfg.RandomSeed,
		StopSequences:     d.StopSequences,
	}
	if cfg.MaxOutputTokens > 0 {
		p.MaxNewTokens = cfg.MaxOutputTokens
	}
	// Synthetic prompts measure a fixed output length: every request
	// generates exactly output_len tokens (energy per token is comparable).
	if cfg.Dataset.Name == "synthetic" || cfg.Dataset.Name == "" {
		p.IgnoreEOS = true
	}
	return p
}

func batchSizeOf(cfg config.ExperimentConfig) int {
	if bs, ok := config.BatchSize(cfg); ok && bs > 0 {
		return bs
	}
	return 1
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// UserOptions are the measurement options the user config sets: sampling
// interval, carbon context and CPU TDP, with newEngine building engines,
// dataset access from getenv (HF_* variables) and version for the snapshot.
// Callers add OutDir, Observer, Log and the rest.
func UserOptions(user config.UserConfig, newEngine func(config.ExperimentConfig) (engine.Engine, error), getenv func(string) string, version, commit string) Options {
	o := Options{
		NewEngine:        newEngine,
		Inspect:          engines.Inspect,
		SamplingInterval: seconds(user.SamplingIntervalSeconds),
		Dataset:          dataset.OptionsFromEnv(getenv),
		CarbonIntensity:  user.CarbonIntensity,
		PUE:              user.DatacenterPUE,
		Location:         user.DatacenterLocation,
		Version:          version,
		Commit:           commit,
	}
	o.Energy.CPUTDPWatts = user.CPUTDPWatts
	return o
}

// peakGPUMemory is the highest GPU memory in use during measurement (the
// inference window only, load excluded), in total and per GPU domain.
func peakGPUMemory(samples []energy.Sample, domains []results.DomainEnergy) float64 {
	var peak float64
	for _, s := range samples {
		var total float64
		for _, d := range s.Domains {
			if !d.HasGPUStats {
				continue
			}
			total += d.MemoryUsedMB
			for i := range domains {
				if domains[i].Kind == string(d.Domain.Kind) && domains[i].Index == d.Domain.Index {
					domains[i].PeakMemoryMB = max(domains[i].PeakMemoryMB, d.MemoryUsedMB)
				}
			}
		}
		peak = max(peak, total)
	}
	return peak
}

// firstToken is the earliest first-token time of a batch's requests, from
// origin (the window's start): where prefill ends and decode begins. ok is
// false when no request reported token times.
func firstToken(comps []engine.Completion, origin time.Time) (first time.Duration, ok bool) {
	for _, c := range comps {
		if len(c.TokenTimes) == 0 {
			continue
		}
		if at := sinceOrigin(c, origin) + c.TokenTimes[0]; !ok || at < first {
			first, ok = at, true
		}
	}
	return first, ok
}
