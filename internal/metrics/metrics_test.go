package metrics

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/results"
)

func progress(p event.Progress) event.Event {
	return event.Event{Kind: event.RunPhase, Progress: &p}
}

func gpu(powerW, energyJ float64) event.DomainReading {
	return event.DomainReading{Kind: "gpu", Index: 0, Source: results.SourceNVMLCounter, PowerW: powerW, EnergyJ: energyJ}
}

func cpuEstimate(powerW, energyJ float64) event.DomainReading {
	return event.DomainReading{Kind: "cpu", Index: 0, Source: results.SourceEstimated, PowerW: powerW, EnergyJ: energyJ}
}

// twoRuns feeds a study of two runs: the second starts its cumulative
// figures from zero again.
func twoRuns(e *Exporter) {
	cfg := config.DefaultExperiment()
	cfg.Model, cfg.Backend = "tiny", config.BackendNative
	e.Observe(event.Event{Kind: event.StudyStart, Total: 2, ToRun: 2})
	e.Observe(event.Event{Kind: event.RunStart, RunIndex: 0, Cycle: 1, Config: &cfg})
	e.Observe(progress(event.Progress{Phase: event.PhaseBaseline, Domains: []event.DomainReading{gpu(50, 10), cpuEstimate(8, 2)}}))
	e.Observe(progress(event.Progress{Phase: event.PhaseMeasure, PromptsDone: 2, PromptsTotal: 4, TokensPerS: 100, OutputTokens: 30, Requests: 3,
		Domains: []event.DomainReading{gpu(200, 110), cpuEstimate(12, 5)}}))
	e.Observe(event.Event{Kind: event.RunEnd, RunIndex: 0, State: results.StateCompleted})
	e.Observe(event.Event{Kind: event.Gap, GapKind: "cycle", Remaining: 3 * time.Second})
	e.Observe(event.Event{Kind: event.RunStart, RunIndex: 1, Cycle: 2, Config: &cfg})
	e.Observe(progress(event.Progress{Phase: event.PhaseMeasure, PromptsDone: 1, PromptsTotal: 4, TokensPerS: 80, OutputTokens: 10, Requests: 1,
		Domains: []event.DomainReading{gpu(150, 40), cpuEstimate(10, 1.5)}}))
}

func TestMetricsFromSyntheticEvents(t *testing.T) {
	e := New(Options{Label: func(config.ExperimentConfig) string { return "tiny-native" }})
	twoRuns(e)
	hash := config.MeasurementConfigHash(func() config.ExperimentConfig {
		c := config.DefaultExperiment()
		c.Model, c.Backend = "tiny", config.BackendNative
		return c
	}())
	want := `
# HELP llem_energy_joules_total Energy of each domain over every run of this llem process.
# TYPE llem_energy_joules_total counter
llem_energy_joules_total{domain="cpu",index="0",source="estimated"} 6.5
llem_energy_joules_total{domain="gpu",index="0",source="nvml_energy_counter"} 150
# HELP llem_output_tokens_total Output tokens the engine generated, warm-up included, over every run of this llem process.
# TYPE llem_output_tokens_total counter
llem_output_tokens_total 40
# HELP llem_power_watts Latest power of each metered domain in the current run; source="estimated" is an estimate, not a measurement.
# TYPE llem_power_watts gauge
llem_power_watts{domain="cpu",index="0",source="estimated"} 10
llem_power_watts{domain="gpu",index="0",source="nvml_energy_counter"} 150
# HELP llem_requests_total Requests the engine completed, warm-up included, over every run of this llem process.
# TYPE llem_requests_total counter
llem_requests_total 4
# HELP llem_run_energy_joules Energy of each domain since the current run's sensors started (baseline, warm-up and measurement included).
# TYPE llem_run_energy_joules gauge
llem_run_energy_joules{domain="cpu",index="0",source="estimated"} 1.5
llem_run_energy_joules{domain="gpu",index="0",source="nvml_energy_counter"} 40
# HELP llem_run_info The current (or last) run's identity, value 1.
# TYPE llem_run_info gauge
llem_run_info{backend="native",config_hash="` + hash + `",config_label="tiny-native",cycle="2",model="tiny",run_index="1"} 1
# HELP llem_runs_completed_total Runs that completed.
# TYPE llem_runs_completed_total counter
llem_runs_completed_total 1
# HELP llem_runs_failed_total Runs that did not complete (failed, timed out or interrupted).
# TYPE llem_runs_failed_total counter
llem_runs_failed_total 0
# HELP llem_runs_planned Runs this invocation executes (fewer than the study's on resume).
# TYPE llem_runs_planned gauge
llem_runs_planned 2
# HELP llem_tokens_per_second The current run's measured output throughput so far (0 outside the measurement).
# TYPE llem_tokens_per_second gauge
llem_tokens_per_second 80
`
	names := []string{"llem_energy_joules_total", "llem_output_tokens_total", "llem_power_watts", "llem_requests_total",
		"llem_run_energy_joules", "llem_run_info", "llem_runs_completed_total", "llem_runs_failed_total", "llem_runs_planned", "llem_tokens_per_second"}
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// One phase at 1, the measurement's; every phase exposed.
	for _, p := range phases {
		want := 0.0
		if p == event.PhaseMeasure {
			want = 1
		}
		if got := testutil.ToFloat64(e.phase.WithLabelValues(string(p))); got != want {
			t.Errorf("llem_phase{phase=%q} = %v, want %v", p, got, want)
		}
	}
	// A failed run counts; its power series go (no stale readings).
	e.Observe(event.Event{Kind: event.RunEnd, RunIndex: 1, State: results.StateFailed})
	if got := testutil.ToFloat64(e.failed); got != 1 {
		t.Errorf("llem_runs_failed_total = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(e.power); n != 0 {
		t.Errorf("%d power series after the run ended, want none", n)
	}
	if got := testutil.ToFloat64(e.phase.WithLabelValues(string(PhaseIdle))); got != 1 {
		t.Error("llem_phase{phase=\"idle\"} is not 1 after the run")
	}
}

// TestMetricsServedAndParsed scrapes a served exporter over loopback and
// parses the exposition with Prometheus's own text parser.
func TestMetricsServedAndParsed(t *testing.T) {
	e := New(Options{})
	twoRuns(e)
	s, err := Serve("127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	pw := fams["llem_power_watts"]
	if pw == nil || len(pw.Metric) != 2 {
		t.Fatalf("llem_power_watts: %v", pw)
	}
	sources := map[string]bool{}
	for _, m := range pw.Metric {
		for _, l := range m.Label {
			if l.GetName() == "source" {
				sources[l.GetValue()] = true
			}
		}
	}
	if !sources[results.SourceEstimated] || !sources[results.SourceNVMLCounter] {
		t.Errorf("power sources %v, want the estimate labelled as such beside the NVML counter", sources)
	}
	if got := fams["llem_output_tokens_total"].GetMetric()[0].GetCounter().GetValue(); got != 40 {
		t.Errorf("llem_output_tokens_total = %v, want 40", got)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Error("still serving after Close")
	}
}

func TestMetricsAddressChecks(t *testing.T) {
	for _, bad := range []string{"9464", ":9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "localhost:"} {
		if err := CheckAddr(bad); err == nil {
			t.Errorf("CheckAddr(%q) accepted a bad address", bad)
		}
	}
	for _, good := range []string{"127.0.0.1:9464", "[::1]:0", "localhost:9464"} {
		if err := CheckAddr(good); err != nil {
			t.Errorf("CheckAddr(%q): %v", good, err)
		}
	}
	// A port in use is an error of Serve, not a server that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if s, err := Serve(ln.Addr().String(), New(Options{})); err == nil {
		_ = s.Close()
		t.Errorf("Serve on %s, a port in use, succeeded", ln.Addr())
	} else if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Serve on a port in use: %v, want it to say so", err)
	}
}

// BenchmarkObserve is the cost of one progress event (llem sends about one
// a second per run).
func BenchmarkObserve(b *testing.B) {
	e := New(Options{})
	twoRuns(e)
	p := event.Progress{Phase: event.PhaseMeasure, TokensPerS: 100, Domains: []event.DomainReading{gpu(200, 0), cpuEstimate(10, 0)}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.OutputTokens, p.Requests = i, i
		p.Domains[0].EnergyJ, p.Domains[1].EnergyJ = float64(i), float64(i)/10
		e.Observe(progress(p))
	}
}

// BenchmarkScrape is the cost of one scrape of the exposition.
func BenchmarkScrape(b *testing.B) {
	e := New(Options{})
	twoRuns(e)
	h := e.Handler()
	req, _ := http.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
