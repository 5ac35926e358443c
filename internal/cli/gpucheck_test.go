package cli

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// gpuCheckEnv is the environment scripts/gpu-check.sh runs under in these
// tests: this test binary as llem, and no user config or LLEM_* settings of
// the developer's own.
func gpuCheckEnv(t *testing.T, out string) []string {
	t.Helper()
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LLEM_") || strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "OUT=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, asLlemEnv+"=1", "LLEM="+os.Args[0], "OUT="+out, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// TestGPUCheckRehearsal runs scripts/gpu-check.sh --rehearse: every step of
// the GPU check (config, study, CPU run, report, summary) with the native
// engine in place of pytorch and without the pynvml log, so the script is
// known to work before a GPU machine is lent; its GPU study and its gpu:
// settings study are dry-run, so a configuration rule that would refuse
// them fails here. About 25 s, mostly the 5 s
// baselines.
func TestGPUCheckRehearsal(t *testing.T) {
	needTools(t, "bash", "python3", "tar", "timeout")
	out := t.TempDir()
	cmd := exec.Command("bash", "../../scripts/gpu-check.sh", "--rehearse")
	cmd.Env = gpuCheckEnv(t, out)
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gpu-check.sh --rehearse: %v\n%s", err, log)
	}

	// What comes back from the GPU machine: at most 8 plain files, names
	// of letters, digits, '.', '_' and '-'.
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	if len(entries) > 8 {
		t.Errorf("%d entries in OUT, at most 8 come back", len(entries))
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !safe.MatchString(e.Name()) {
			t.Errorf("OUT holds %q (%v): only plain files with safe names come back", e.Name(), e.Type())
		}
	}
	for _, f := range []string{"gpu-check.md", "gpu-check.json", "gpu-check.log", "config.json", "report.md", "results.tar.gz"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("OUT lacks %s: %v", f, err)
		}
	}

	var sum struct {
		Mode  string     `json:"mode"`
		Steps [][]string `json:"steps"`
		Runs  []struct {
			Backend      string   `json:"backend"`
			BatchSize    int      `json:"batch_size"`
			JPerToken    float64  `json:"j_per_output_token"`
			WindowS      *float64 `json:"window_s"`
			OutputTokens int      `json:"output_tokens"`
		} `json:"runs"`
	}
	readJSON(t, filepath.Join(out, "gpu-check.json"), &sum)
	status := map[string]string{}
	for _, s := range sum.Steps {
		status[s[0]] = s[1]
	}
	for step, want := range map[string]string{"config": "ok", "gpu-study": "ok", "study": "ok", "cpu": "ok", "report": "ok",
		"python": "skipped (rehearsal: no torch)", "powerlog": "skipped (rehearsal: no GPU)",
		"gpuknobs-dryrun": "ok", "gpuknobs": "skipped (rehearsal: no GPU)"} {
		if status[step] != want {
			t.Errorf("step %s: %q, want %q (steps %v)", step, status[step], want, sum.Steps)
		}
	}
	batches := map[int]bool{}
	for _, r := range sum.Runs {
		if r.Backend != "native" || r.OutputTokens == 0 || r.JPerToken <= 0 || r.WindowS == nil {
			t.Errorf("run %+v: want a native run with tokens, J/token and a window", r)
		}
		batches[r.BatchSize] = true
	}
	if len(sum.Runs) != 4 || !batches[1] || !batches[8] || !batches[32] {
		t.Errorf("runs: %+v, want the three study batch sizes (1, 8, 32) and the CPU run", sum.Runs)
	}
	md, err := os.ReadFile(filepath.Join(out, "gpu-check.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# llem gpu-check (rehearsal)", "## Steps", "## Energy: llem against the independent log",
		"## J per output token against batch size", "## Sampler overhead", "## Warnings", "`short_run`"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("gpu-check.md lacks %q:\n%s", want, md)
		}
	}
}

// TestGPUCheckSummaryAgreement feeds gpu-check-summary.py one GPU run and an
// independent log whose figures are known: 100 W throughout (110 W
// instantaneous) and a counter that rises 100 J/s. The run's window spans 10 s of which llem's batch
// windows cover 9.5 s, so the log's reference is 950 J.
func TestGPUCheckSummaryAgreement(t *testing.T) {
	needTools(t, "python3")
	dir := t.TempDir()
	run := filepath.Join(dir, "results", "run-0000")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	result := `{"started_at": "2026-01-01T00:00:00.5Z", "steady_state_window": {"start_s": 10, "end_s": 20},
	  "config": {"backend": "pytorch", "model": "llama-3.2-1b"}, "protocol": {"sampling_interval_seconds": 0.1},
	  "throughput": {"batch_size": 8, "output_tokens": 1000},
	  "energy": {"source": "nvml_energy_counter", "duration_s": 9.5, "energy_total_j": 969, "energy_per_output_token_j": 0.969,
	    "domains": [{"kind": "gpu", "index": 0, "source": "nvml_energy_counter", "energy_j": 969, "counter_j": 969, "integrated_j": 902.5}]},
	  "measurement_warnings": [{"code": "gpu_shared", "message": "another process"}]}`
	if err := os.WriteFile(filepath.Join(run, "result.json"), []byte(result), 0o644); err != nil {
		t.Fatal(err)
	}
	const t0 = 1767225600.0 // 2026-01-01T00:00:00Z
	var power strings.Builder
	for i := 0; i <= 300; i++ { // 30 s at 10 Hz from t0
		ts := t0 + float64(i)/10
		line, _ := json.Marshal(map[string]any{"t": ts, "gpu": 0, "power_w": 100.0, "energy_j": 5000 + 100*(ts-t0), "power_instant_w": 110.0})
		power.Write(line)
		power.WriteByte('\n')
	}
	power.WriteString(`{"end": true, "samples": 301, "hz": 10, "wall_s": 30, "cpu_s": 0.3}` + "\n")
	powerPath := filepath.Join(dir, "power.jsonl")
	if err := os.WriteFile(powerPath, []byte(power.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(dir, "s.json")
	cmd := exec.Command("python3", "../../scripts/gpu-check-summary.py", "--out", filepath.Join(dir, "s.md"),
		"--json", jsonPath, "--power", powerPath, filepath.Join(dir, "results"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpu-check-summary.py: %v\n%s", err, out)
	}
	var sum struct {
		Runs []struct {
			Coverage float64 `json:"coverage"`
			Domains  []struct {
				LogCounterJ     float64 `json:"log_counter_j"`
				LogPowerJ       float64 `json:"log_power_j"`
				LogInstantJ     float64 `json:"log_instant_power_j"`
				CounterVsLog    float64 `json:"counter_vs_log"`
				IntegratedVsLog float64 `json:"integrated_vs_log"`
			} `json:"domains"`
		} `json:"runs"`
	}
	readJSON(t, jsonPath, &sum)
	if len(sum.Runs) != 1 || len(sum.Runs[0].Domains) != 1 {
		t.Fatalf("summary: %+v", sum)
	}
	d := sum.Runs[0].Domains[0]
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"coverage", sum.Runs[0].Coverage, 0.95},
		{"log counter J", d.LogCounterJ, 950},
		{"log power J", d.LogPowerJ, 950},
		{"log instant power J", d.LogInstantJ, 1045},
		{"counter vs log", d.CounterVsLog, 0.02},
		{"integrated vs log", d.IntegratedVsLog, -0.05},
	} {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "s.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+2.00 %", "-5.00 %", "+10.00 %", "301 samples in 30.0 s", "`gpu_shared` another process"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
