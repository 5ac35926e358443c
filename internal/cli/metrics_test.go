package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess starts cmd and kills it (only it, by its PID) when the
// test ends.
func startProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		_ = cmd.Process.Kill()
		<-done
	})
}

// promQuery runs an instant query on the Prometheus HTTP API.
func promQuery(t *testing.T, base, q string) []struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
} {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s %s", q, err, r.Status, r.Error)
	}
	return r.Data.Result
}

func sampleValue(t *testing.T, v [2]any) float64 {
	t.Helper()
	s, _ := v[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("sample value %v: %v", v, err)
	}
	return f
}

// TestMetricsScrapedByPrometheus runs a real native study (its run in a
// child process) with --metrics while Debian's Prometheus scrapes it every
// 200 ms on loopback, then asks Prometheus what it stored: power per
// domain labelled with its source (the estimate here, no sensor being
// readable), output tokens, the phases and the run's identity.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("no prometheus binary on PATH (Debian's package `prometheus`; .ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("runs a real study for about 10 s")
	}
	dir := t.TempDir()
	promPort, llemPort := freePort(t), freePort(t)
	for promPort == llemPort {
		llemPort = freePort(t)
	}
	llemAddr := fmt.Sprintf("127.0.0.1:%d", llemPort)
	promBase := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	promCfg := fmt.Sprintf("global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n  - job_name: llem\n    static_configs:\n      - targets: ['%s']\n", llemAddr)
	if err := os.WriteFile(cfgFile, []byte(promCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var promLog bytes.Buffer
	pc := exec.Command(prom, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", promPort), "--log.level=warn")
	pc.Stdout, pc.Stderr = &promLog, &promLog
	startProcess(t, pc)
	ready := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(promBase + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = true
				break
			}
		}
	}
	if !ready {
		t.Fatalf("prometheus did not become ready:\n%s", promLog.String())
	}
	// Prometheus applies new scrape targets on a 5 s tick: wait until it
	// lists llem's endpoint as a target, or the baseline may pass unseen.
	scraping := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(promBase + "/api/v1/targets?state=active")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), llemAddr) {
			scraping = true
			break
		}
	}
	if !scraping {
		t.Fatalf("prometheus never listed %s as a target:\n%s", llemAddr, promLog.String())
	}

	// A declared study of one run: it runs in a child process, whose
	// progress reaches the exporter as JSON lines. A 5 s baseline and a
	// measurement of a second or more give Prometheus many scrapes.
	study := filepath.Join(dir, "study.yaml")
	src := `name: metrics-e2e
model: tiny
backend: native
dataset: {name: synthetic, input_len: 16, output_len: 64}
baseline: {enabled: true, duration_seconds: 5}
warmup: {enabled: false}
experiments:
  - n: 1000
    native: {batch_size: 8}
execution: {n_cycles: 1}
`
	if err := os.WriteFile(study, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	lc := exec.Command(os.Args[0], "run", study, "--output", filepath.Join(dir, "results"), "--metrics", llemAddr)
	lc.Env = append(os.Environ(), asLlemEnv+"=1")
	lc.Stdout, lc.Stderr = &out, &errOut
	start := time.Now()
	if err := lc.Run(); err != nil {
		t.Fatalf("llem run --metrics: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	t.Logf("the study took %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(errOut.String(), "Metrics: http://"+llemAddr+"/metrics") {
		t.Errorf("llem did not say where it serves its metrics:\n%s", errOut.String())
	}

	// The endpoint is gone with llem: the last values are looked up over
	// the last minute, not at the (stale) present.
	power := promQuery(t, promBase, "last_over_time(llem_power_watts[1m])")
	if len(power) == 0 {
		t.Fatalf("prometheus stored no llem_power_watts; its log:\n%s", promLog.String())
	}
	for _, s := range power {
		if s.Metric["source"] != results.SourceEstimated || s.Metric["domain"] != "cpu" {
			t.Errorf("power series %v: on this machine (no readable sensor) it must be the CPU estimate, labelled source=%q", s.Metric, results.SourceEstimated)
		}
		if s.Metric["job"] != "llem" {
			t.Errorf("power series %v not from the llem job", s.Metric)
		}
	}
	tokens := promQuery(t, promBase, "max_over_time(llem_output_tokens_total[1m])")
	if len(tokens) != 1 || sampleValue(t, tokens[0].Value) <= 0 {
		t.Errorf("llem_output_tokens_total: %v, want one series above 0", tokens)
	}
	energy := promQuery(t, promBase, `max_over_time(llem_energy_joules_total{source="estimated"}[1m])`)
	if len(energy) != 1 || sampleValue(t, energy[0].Value) <= 0 {
		t.Errorf("llem_energy_joules_total: %v, want the estimate's energy above 0", energy)
	}
	for _, phase := range []string{"baseline", "measuring"} {
		if r := promQuery(t, promBase, fmt.Sprintf(`max_over_time(llem_phase{phase=%q}[1m])`, phase)); len(r) != 1 || sampleValue(t, r[0].Value) != 1 {
			t.Errorf("llem_phase{phase=%q} never 1 in the scrapes: %v", phase, r)
		}
	}
	if r := promQuery(t, promBase, `count_over_time(llem_phase{phase="baseline"}[1m])`); len(r) != 1 || sampleValue(t, r[0].Value) < 5 {
		t.Errorf("%v scrapes stored, want several (every 200 ms over a study of seconds)", r)
	}
	info := promQuery(t, promBase, "last_over_time(llem_run_info[1m])")
	if len(info) != 1 || info[0].Metric["backend"] != "native" || info[0].Metric["model"] != "tiny" || info[0].Metric["config_hash"] == "" {
		t.Errorf("llem_run_info: %v", info)
	}
	// The run's end may fall after the last scrape (llem stops serving
	// when the study ends, docs/metrics.md), so only the plan is checked.
	if r := promQuery(t, promBase, "max_over_time(llem_runs_planned[1m])"); len(r) != 1 || sampleValue(t, r[0].Value) != 1 {
		t.Errorf("llem_runs_planned: %v, want 1", r)
	}
}

// TestMetricsBadAddress: a malformed address and a port in use are exit 2
// before anything runs.
func TestMetricsBadAddress(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "e.yaml")
	if err := os.WriteFile(file, []byte("model: tiny\nbackend: native\nn: 2\ndataset: {name: synthetic, input_len: 8, output_len: 4}\nbaseline: {enabled: false}\nwarmup: {enabled: false}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out := filepath.Join(dir, "results")
	for addr, want := range map[string]string{
		"9464":                 "want HOST:PORT",
		":9464":                "give the host",
		ln.Addr().String():     "address already in use",
		"127.0.0.1:notaport":   "not a number",
		"127.0.0.1:9464:extra": "want HOST:PORT",
	} {
		code, _, errOut := runCLI(t, nil, "run", file, "--output", out, "--metrics", addr)
		if code != ExitBadInput || !strings.Contains(errOut, want) {
			t.Errorf("--metrics %s: exit %d, %q; want exit %d saying %q", addr, code, errOut, ExitBadInput, want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused --metrics left a results directory: something ran")
	}
}
