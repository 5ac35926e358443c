package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUserConfigPrecedence(t *testing.T) {
	xdg := t.TempDir()
	userFile := filepath.Join(xdg, "llem", "config.yaml")
	writeFile(t, userFile, `
results_dir: /data/results
datacenter_pue: 1.2
carbon_intensity_gco2_kwh: 300
config_gap_seconds: 20
baseline_duration_seconds: 15
runners:
  vllm: {image: vllm/vllm-openai:v0.8.5}
`)
	cases := []struct {
		name       string
		env        map[string]string
		flag       [3]string // key, value, source
		key        string
		wantValue  string
		wantSource string
	}{
		{"default", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, [3]string{}, "datacenter_pue", "1", "default"},
		{"user config over default", map[string]string{"XDG_CONFIG_HOME": xdg}, [3]string{}, "datacenter_pue", "1.2", "user config " + userFile},
		{"env over user config", map[string]string{"XDG_CONFIG_HOME": xdg, "LLEM_DATACENTER_PUE": "1.5"}, [3]string{}, "datacenter_pue", "1.5", "env LLEM_DATACENTER_PUE"},
		{"flag over env", map[string]string{"XDG_CONFIG_HOME": xdg, "LLEM_RESULTS_DIR": "/env"}, [3]string{"results_dir", "/flag", "flag --output"}, "results_dir", "/flag", "flag --output"},
		{"env results dir", map[string]string{"XDG_CONFIG_HOME": xdg, "LLEM_RESULTS_DIR": "/env"}, [3]string{}, "results_dir", "/env", "env LLEM_RESULTS_DIR"},
		{"env runner", map[string]string{"XDG_CONFIG_HOME": xdg, "LLEM_VLLM_PYTHON": "/venv/bin/python"}, [3]string{}, "runners.vllm", "python /venv/bin/python", "env LLEM_VLLM_PYTHON"},
		{"file runner", map[string]string{"XDG_CONFIG_HOME": xdg}, [3]string{}, "runners.vllm", "image vllm/vllm-openai:v0.8.5", "user config " + userFile},
		{"LLEM_CONFIG path", map[string]string{"LLEM_CONFIG": userFile, "XDG_CONFIG_HOME": t.TempDir()}, [3]string{}, "carbon_intensity_gco2_kwh", "300", "user config " + userFile},
		{"HOME fallback", map[string]string{"HOME": filepath.Dir(filepath.Dir(xdg))}, [3]string{}, "sampling_interval_seconds", "1", "default"},
		{"env sampling", map[string]string{"LLEM_SAMPLING_INTERVAL": "0.1"}, [3]string{}, "sampling_interval_seconds", "0.1", "env LLEM_SAMPLING_INTERVAL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := LoadUserConfig(envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if tc.flag[0] != "" {
				if err := u.Set(tc.flag[0], tc.flag[1], tc.flag[2]); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range u.Settings() {
				if s.Key == tc.key {
					if s.Value != tc.wantValue || s.Source != tc.wantSource {
						t.Errorf("%s = %q from %q, want %q from %q", s.Key, s.Value, s.Source, tc.wantValue, tc.wantSource)
					}
					return
				}
			}
			t.Errorf("no setting %s in %v", tc.key, u.Settings())
		})
	}
}

func TestStudyOverUserConfig(t *testing.T) {
	u, err := ParseUserConfig([]byte("config_gap_seconds: 20\ncycle_gap_seconds: 40\nbaseline_duration_seconds: 15\n"), "u.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The study file sets the config gap and one experiment's baseline:
	// those win; the rest comes from the user config.
	sc := mustParse(t, `
model: m
backend: native
experiments:
  - {n: 1}
  - {n: 2, baseline: {duration_seconds: 45}}
execution: {config_gap_seconds: 5}
`)
	ApplyUserConfig(sc, u)
	if *sc.Execution.ConfigGapSeconds != 5 || *sc.Execution.CycleGapSeconds != 40 {
		t.Errorf("gaps %v %v", *sc.Execution.ConfigGapSeconds, *sc.Execution.CycleGapSeconds)
	}
	if sc.Experiments[0].Baseline.DurationSeconds != 15 || sc.Experiments[1].Baseline.DurationSeconds != 45 {
		t.Errorf("baselines %v %v", sc.Experiments[0].Baseline, sc.Experiments[1].Baseline)
	}
}

func TestUserConfigErrors(t *testing.T) {
	_, err := ParseUserConfig([]byte("results_dri: x\ndatacenter_pue: 0.5\nrunners:\n  native: {python: p}\n  vllm: {python: p, image: i}\n"), "u.yaml")
	var ce Errors
	if !errors.As(err, &ce) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, want := range []string{
		`u.yaml:1:1: results_dri: unknown field "results_dri" (did you mean "results_dir"?)`,
		"u.yaml:2:17: datacenter_pue: must be at least 1.0",
		`u.yaml:4:3: runners.native: no runner is needed or possible for "native"`,
		"u.yaml:5:9: runners.vllm: set exactly one of python and image",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nshould contain\n%s", err, want)
		}
	}
	_, err = LoadUserConfig(envOf(map[string]string{"LLEM_CARBON_INTENSITY": "lots"}))
	if err == nil || !strings.Contains(err.Error(), `LLEM_CARBON_INTENSITY: carbon_intensity_gco2_kwh: expected a number, got "lots"`) {
		t.Errorf("bad env: %v", err)
	}
	_, err = LoadUserConfig(envOf(map[string]string{"LLEM_CONFIG": filepath.Join(t.TempDir(), "none.yaml")}))
	if err == nil || !strings.Contains(err.Error(), "cannot read the user config") {
		t.Errorf("an explicit LLEM_CONFIG must exist: %v", err)
	}
	u := DefaultUserConfig()
	if err := u.Set("carbon_intensty", "1", "flag"); err == nil || !strings.Contains(err.Error(), `did you mean "carbon_intensity_gco2_kwh"`) {
		t.Errorf("unknown key: %v", err)
	}
}
