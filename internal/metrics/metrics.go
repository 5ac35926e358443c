// Package metrics serves a running study's live figures as a Prometheus
// exposition (`llem run --metrics ADDR`). An Exporter takes the study's
// events (event.Event, what llem.Options.OnEvent receives) and keeps its
// metrics on a private registry; Serve puts its /metrics on an address.
//
// Counters (_total) count across every run this process executes, so
// rate() and increase() work over a study: a run's cumulative figures are
// added as they grow. Gauges describe the current run. The energy source
// is a label on every energy and power series: source="estimated" is the
// CPU-time estimate, never a measurement. See docs/metrics.md.
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/results"
)

// Phases that llem_phase reports besides the measured run's own
// (event.Phase*): between runs.
const (
	// PhaseIdle is before the first run, after a run and after the study.
	PhaseIdle event.Phase = "idle"
	// PhaseGap is a thermal gap between runs or cycles.
	PhaseGap event.Phase = "gap"
)

// phases are llem_phase's label values, every one always exposed.
var phases = []event.Phase{PhaseIdle, event.PhaseSnapshot, event.PhaseBaseline, event.PhaseLoad,
	event.PhaseWarmup, event.PhaseThermal, event.PhaseMeasure, event.PhaseDone, PhaseGap}

// domainLabels label every per-domain series.
var domainLabels = []string{"domain", "index", "source"}

// Options configures an Exporter.
type Options struct {
	// Label names a configuration in llem_run_info's config_label; nil
	// uses the configuration's hash.
	Label func(config.ExperimentConfig) string
}

// Exporter turns a study's events into metrics. Its methods are safe for
// concurrent use.
type Exporter struct {
	opts Options
	reg  *prometheus.Registry

	power       *prometheus.GaugeVec
	runEnergy   *prometheus.GaugeVec
	energy      *prometheus.CounterVec
	tokens      prometheus.Counter
	requests    prometheus.Counter
	tokensPerS  prometheus.Gauge
	phase       *prometheus.GaugeVec
	runInfo     *prometheus.GaugeVec
	runElapsed  prometheus.Gauge
	runsPlanned prometheus.Gauge
	completed   prometheus.Counter
	failed      prometheus.Counter

	mu sync.Mutex
	// The current run's cumulative figures already counted.
	seenTokens, seenRequests int
	seenEnergy               map[domainKey]float64
}

type domainKey struct {
	kind   string
	index  int
	source string
}

func (k domainKey) labels() []string { return []string{k.kind, strconv.Itoa(k.index), k.source} }

// New returns an Exporter with every metric registered and the phase idle.
func New(opts Options) *Exporter {
	e := &Exporter{
		opts:       opts,
		reg:        prometheus.NewRegistry(),
		seenEnergy: map[domainKey]float64{},
		power: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "llem_power_watts",
			Help: "Latest power of each metered domain in the current run; source=\"estimated\" is an estimate, not a measurement."}, domainLabels),
		runEnergy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "llem_run_energy_joules",
			Help: "Energy of each domain since the current run's sensors started (baseline, warm-up and measurement included)."}, domainLabels),
		energy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llem_energy_joules_total",
			Help: "Energy of each domain over every run of this llem process."}, domainLabels),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{Name: "llem_output_tokens_total",
			Help: "Output tokens the engine generated, warm-up included, over every run of this llem process."}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "llem_requests_total",
			Help: "Requests the engine completed, warm-up included, over every run of this llem process."}),
		tokensPerS: prometheus.NewGauge(prometheus.GaugeOpts{Name: "llem_tokens_per_second",
			Help: "The current run's measured output throughput so far (0 outside the measurement)."}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "llem_phase",
			Help: "1 for the phase llem is in, 0 for the others."}, []string{"phase"}),
		runInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "llem_run_info",
			Help: "The current (or last) run's identity, value 1."}, []string{"run_index", "cycle", "config_hash", "config_label", "backend", "model"}),
		runElapsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "llem_run_elapsed_seconds",
			Help: "Time since the current run started."}),
		runsPlanned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "llem_runs_planned",
			Help: "Runs this invocation executes (fewer than the study's on resume)."}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{Name: "llem_runs_completed_total",
			Help: "Runs that completed."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "llem_runs_failed_total",
			Help: "Runs that did not complete (failed, timed out or interrupted)."}),
	}
	e.reg.MustRegister(e.power, e.runEnergy, e.energy, e.tokens, e.requests, e.tokensPerS, e.phase,
		e.runInfo, e.runElapsed, e.runsPlanned, e.completed, e.failed)
	e.setPhase(PhaseIdle)
	return e
}

// Registry is the exporter's own registry (never the global default).
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Handler serves the exposition.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg})
}

// Observe takes one event of the study.
func (e *Exporter) Observe(ev event.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev.Kind {
	case event.StudyStart:
		e.runsPlanned.Set(float64(ev.ToRun))
	case event.RunStart:
		e.startRun(ev)
	case event.RunPhase:
		if ev.Progress != nil {
			e.progress(*ev.Progress)
		}
	case event.Gap:
		e.setPhase(PhaseGap)
		if ev.Remaining <= 0 {
			e.setPhase(PhaseIdle)
		}
	case event.RunEnd:
		if ev.State == results.StateCompleted {
			e.completed.Inc()
		} else {
			e.failed.Inc()
		}
		e.power.Reset()
		e.tokensPerS.Set(0)
		e.setPhase(PhaseIdle)
	case event.StudyEnd:
		e.setPhase(PhaseIdle)
	}
}

// startRun resets the current run's gauges and what was counted of it.
func (e *Exporter) startRun(ev event.Event) {
	e.seenTokens, e.seenRequests = 0, 0
	clear(e.seenEnergy)
	e.power.Reset()
	e.runEnergy.Reset()
	e.tokensPerS.Set(0)
	e.runElapsed.Set(0)
	e.runInfo.Reset()
	var hash, label, backend, model string
	if c := ev.Config; c != nil {
		hash = config.MeasurementConfigHash(*c)
		label = hash
		if e.opts.Label != nil {
			label = e.opts.Label(*c)
		}
		backend, model = string(c.Backend), c.Model
	}
	e.runInfo.WithLabelValues(strconv.Itoa(ev.RunIndex), strconv.Itoa(ev.Cycle), hash, label, backend, model).Set(1)
	e.setPhase(PhaseIdle)
}

// progress folds a run's report in: counters grow by what its cumulative
// figures grew since the last report.
func (e *Exporter) progress(p event.Progress) {
	e.setPhase(p.Phase)
	e.runElapsed.Set(p.Elapsed.Seconds())
	if p.Phase == event.PhaseMeasure || p.Phase == event.PhaseDone {
		e.tokensPerS.Set(p.TokensPerS)
	} else {
		e.tokensPerS.Set(0)
	}
	if d := p.OutputTokens - e.seenTokens; d > 0 {
		e.tokens.Add(float64(d))
		e.seenTokens = p.OutputTokens
	}
	if d := p.Requests - e.seenRequests; d > 0 {
		e.requests.Add(float64(d))
		e.seenRequests = p.Requests
	}
	for _, r := range p.Domains {
		k := domainKey{r.Kind, r.Index, r.Source}
		l := k.labels()
		e.power.WithLabelValues(l...).Set(r.PowerW)
		e.runEnergy.WithLabelValues(l...).Set(r.EnergyJ)
		if d := r.EnergyJ - e.seenEnergy[k]; d > 0 {
			e.energy.WithLabelValues(l...).Add(d)
			e.seenEnergy[k] = r.EnergyJ
		}
	}
}

func (e *Exporter) setPhase(p event.Phase) {
	for _, q := range phases {
		v := 0.0
		if q == p {
			v = 1
		}
		e.phase.WithLabelValues(string(q)).Set(v)
	}
}
