package envsnap

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

func noGPU(context.Context) (GPUReport, error) {
	return GPUReport{}, errors.New("NVML unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver)")
}

func noNVCC(context.Context) (string, error) { return "", errors.New("nvcc: not found") }

// raplTree builds a one-socket powercap tree in a temporary folder.
func raplTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for dir, name := range map[string]string{"intel-rapl:0": "package-0", "intel-rapl:0:0": "dram"} {
		p := filepath.Join(root, dir)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, v := range map[string]string{"name": name, "energy_uj": "1000", "max_energy_range_uj": "262143328850"} {
			if err := os.WriteFile(filepath.Join(p, file), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestTakeRealHost(t *testing.T) {
	t.Setenv("LLEM_HF_TOKEN", "hf_supersecretvalue")
	s := Take(t.Context(), Options{LlemVersion: "1.2.3", LlemCommit: "abc123", QueryGPUs: noGPU, NVCCVersion: noNVCC,
		CUDAHome: t.TempDir(), PowercapRoot: t.TempDir(), EngineVersions: map[string]string{"native": "1.2.3"}})
	if s.OS == "" || s.Kernel == "" || s.CPUThreads < 1 || s.MemoryTotalMB <= 0 || s.CPUModel == "" {
		t.Errorf("host facts missing: %+v", s)
	}
	if s.GoVersion != runtime.Version() || s.LlemVersion != "1.2.3" || s.LlemCommit != "abc123" || s.EngineVersions["native"] != "1.2.3" {
		t.Errorf("versions = %+v", s)
	}
	if s.GPUs == nil || len(s.GPUs) != 0 || s.GPUCount != 0 || s.CUDAVersion != "" || s.CUDAVersionSource != "" || len(s.EnergySensors) != 0 {
		t.Errorf("GPU-less machine: %+v", s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hf_supersecretvalue") {
		t.Error("snapshot JSON contains a secret from the environment")
	}
}

func TestTakeGPUsAndSensors(t *testing.T) {
	gpus := func(context.Context) (GPUReport, error) {
		return GPUReport{
			GPUs: []results.GPUInfo{
				{Index: 0, Name: "NVIDIA A100-SXM4-80GB", MemoryTotalMB: 81920, PowerLimitW: 400, PersistenceMode: "enabled", ComputeCap: "8.0"},
				{Index: 1, Name: "Tesla P100-PCIE-16GB", MemoryTotalMB: 16384, PersistenceMode: "disabled", ComputeCap: "6.0"},
			},
			DriverVersion: "550.54.15", CUDADriverVersion: "12.4", EnergyCounter: []bool{true, false},
		}, nil
	}
	s := Take(t.Context(), Options{QueryGPUs: gpus, NVCCVersion: noNVCC, CUDAHome: t.TempDir(), PowercapRoot: raplTree(t)})
	if s.GPUCount != 2 || s.GPUs[0].Name != "NVIDIA A100-SXM4-80GB" || s.DriverVersion != "550.54.15" {
		t.Errorf("GPUs = %+v", s)
	}
	if s.CUDAVersion != "12.4" || s.CUDAVersionSource != "nvml_driver" {
		t.Errorf("CUDA = %q from %q, want 12.4 from nvml_driver", s.CUDAVersion, s.CUDAVersionSource)
	}
	want := []string{"nvml gpu 0 (energy counter)", "nvml gpu 1 (power only)", "rapl package-0", "rapl dram-0"}
	if !slices.Equal(s.EnergySensors, want) {
		t.Errorf("sensors = %q, want %q", s.EnergySensors, want)
	}
}

func TestCUDAVersionSources(t *testing.T) {
	nvcc := func(context.Context) (string, error) {
		return "nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release 12.2, V12.2.140\nBuild cuda_12.2.r12.2/compiler.33191640_0\n", nil
	}
	tests := []struct {
		name      string
		framework string
		files     map[string]string
		nvcc      func(context.Context) (string, error)
		driver    string
		want, src string
	}{
		{name: "framework first", framework: "12.1", files: map[string]string{"version.txt": "CUDA Version 11.0.3"}, nvcc: nvcc, want: "12.1", src: "framework"},
		{name: "version.json", files: map[string]string{"version.json": `{"cuda":{"name":"CUDA SDK","version":"12.2.20230823"}}`, "version.txt": "CUDA Version 11.0.3"}, nvcc: nvcc, want: "12.2.20230823", src: "version.json"},
		{name: "version.txt", files: map[string]string{"version.txt": "CUDA Version 10.2.89\n"}, nvcc: nvcc, want: "10.2.89", src: "version.txt"},
		{name: "nvcc", nvcc: nvcc, driver: "12.4", want: "12.2", src: "nvcc"},
		{name: "driver last", nvcc: noNVCC, driver: "12.4", want: "12.4", src: "nvml_driver"},
		{name: "none", nvcc: noNVCC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			for f, c := range tt.files {
				if err := os.WriteFile(filepath.Join(home, f), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			v, src := cudaVersion(t.Context(), Options{FrameworkCUDA: tt.framework, CUDAHome: home, NVCCVersion: tt.nvcc}, tt.driver)
			if v != tt.want || src != tt.src {
				t.Errorf("cudaVersion = %q from %q, want %q from %q", v, src, tt.want, tt.src)
			}
		})
	}
}

func TestRecordedEnvScrubsSecrets(t *testing.T) {
	env := []string{
		"CUDA_VISIBLE_DEVICES=0,1",
		"OMP_NUM_THREADS=8",
		"LLEM_RESULTS_DIR=/data/results",
		"LLEM_HF_TOKEN=hf_abc",
		"LLEM_API_KEY=sk-123",
		"LLEM_OPENAI=sk-openai", // not an llem setting: the key of an api_key_env
		"CUDA_SERVER=sk-cuda",   // allow-listed family, but named as the key's variable
		"NVIDIA_DRIVER_CAPABILITIES=compute,utility",
		"VLLM_DB_PASSWORD=hunter2",
		"HF_TOKEN=hf_def",
		"AWS_SECRET_ACCESS_KEY=xyz",
		"HOME=/root",
		"PATH=/usr/bin",
		"malformed",
	}
	got := RecordedEnv(env, "CUDA_SERVER")
	want := map[string]string{
		"CUDA_VISIBLE_DEVICES":       "0,1",
		"OMP_NUM_THREADS":            "8",
		"LLEM_RESULTS_DIR":           "/data/results",
		"NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
		"VLLM_DB_PASSWORD":           "[redacted]",
	}
	if len(got) != len(want) {
		t.Errorf("RecordedEnv = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	b, _ := json.Marshal(got)
	for _, secret := range []string{"hf_abc", "sk-123", "sk-openai", "sk-cuda", "hunter2", "hf_def", "xyz"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("recorded env leaks %q", secret)
		}
	}
}

func TestDetectContainer(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"bare host", map[string]string{"proc/1/cgroup": "0::/init.scope\n"}, ""},
		{"docker", map[string]string{".dockerenv": ""}, "docker"},
		{"podman", map[string]string{"run/.containerenv": ""}, "podman"},
		{"kubernetes", map[string]string{"proc/1/cgroup": "0::/kubepods/besteffort/pod1234/abcd\n"}, "kubepods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for f, c := range tt.files {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := detectContainer(root); got != tt.want {
				t.Errorf("detectContainer = %q, want %q", got, tt.want)
			}
		})
	}
}

// denyFS makes one file unreadable, as RAPL counters are for non-root users.
type denyFS struct {
	fs.FS
	deny string
}

func (d denyFS) Open(name string) (fs.File, error) {
	if name == d.deny {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.FS.Open(name)
}

func TestProbe(t *testing.T) {
	noNVML := func(energy.NVMLOptions) (energy.Sampler, error) {
		return nil, errors.New("NVML unavailable: libnvidia-ml.so.1 not found (no NVIDIA driver): GPU energy unavailable")
	}
	base := Options{QueryGPUs: noGPU, NVCCVersion: noNVCC, CUDAHome: t.TempDir()}
	tree := raplTree(t)
	tests := []struct {
		name      string
		energy    energy.DetectOptions
		best      energy.Source
		estimated bool
		hints     []string
	}{
		{name: "nothing readable", energy: energy.DetectOptions{PowercapRoot: t.TempDir(), OpenNVML: noNVML, CPUModel: "x"}, best: energy.SourceEstimate, estimated: true,
			hints: []string{"no NVIDIA driver", "GPU energy unavailable", "RAPL not available", "ESTIMATED", "set cpu_tdp_watts"}},
		{name: "RAPL denied", energy: energy.DetectOptions{PowercapRoot: tree, PowercapFS: denyFS{os.DirFS(tree), "intel-rapl:0/energy_uj"}, OpenNVML: noNVML, CPUTDPWatts: 100},
			best: energy.SourceEstimate, estimated: true, hints: []string{"RAPL not readable", "sudo chmod a+r " + tree + "/intel-rapl:*/energy_uj", "ESTIMATED"}},
		{name: "RAPL readable", energy: energy.DetectOptions{PowercapRoot: tree, OpenNVML: noNVML}, best: energy.SourceRAPL,
			hints: []string{"no NVIDIA driver"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Probe(t.Context(), ProbeOptions{Options: base, Energy: tt.energy})
			if err != nil {
				t.Fatal(err)
			}
			if r.BestSource != string(tt.best) || r.Estimated != tt.estimated || len(r.EnergySources) == 0 || len(r.FallbackReasons) == 0 {
				t.Errorf("report = %+v", r)
			}
			all := strings.Join(r.Hints, "\n")
			for _, h := range tt.hints {
				if !strings.Contains(all, h) {
					t.Errorf("hints lack %q:\n%s", h, all)
				}
			}
			if tt.estimated == false && strings.Contains(all, "ESTIMATED") {
				t.Errorf("measured machine told it is estimated:\n%s", all)
			}
			if r.Environment.OS == "" || r.Engines != nil {
				t.Errorf("environment/engines = %+v / %v", r.Environment.OS, r.Engines)
			}
		})
	}
}

func TestRefreshKeepsHostFactsAndRetakesRunParts(t *testing.T) {
	machine := results.EnvironmentSnapshot{
		OS: "linux ubuntu 22.04", Kernel: "6.8.0 x86_64", Hostname: "node1", CPUModel: "EPYC", CPUCores: 64, CPUThreads: 128,
		MemoryTotalMB: 1 << 20, GPUs: []results.GPUInfo{{Index: 0, Name: "NVIDIA H100", PowerLimitW: 700, PersistenceMode: "enabled"}},
		GPUCount: 1, DriverVersion: "550.1", CUDAVersion: "12.4", CUDAVersionSource: "version.json",
		EnergySensors: []string{"nvml gpu 0 (energy counter)"}, LlemVersion: "parent", GoVersion: "go0", Container: "docker",
		Env: map[string]string{"CUDA_VISIBLE_DEVICES": "9"},
	}
	nvccRan := false
	nvcc := func(context.Context) (string, error) { nvccRan = true; return "", errors.New("not here") }
	now := func(context.Context) (GPUReport, error) {
		return GPUReport{GPUs: []results.GPUInfo{{Index: 0, Name: "NVIDIA H100", PowerLimitW: 500, PersistenceMode: "disabled"}}, DriverVersion: "550.2"}, nil
	}
	s := Refresh(t.Context(), machine, Options{LlemVersion: "child", LlemCommit: "c", QueryGPUs: now, NVCCVersion: nvcc, EngineVersions: map[string]string{"native": "1"}})
	if s.OS != machine.OS || s.Kernel != machine.Kernel || s.Hostname != "node1" || s.CPUThreads != 128 || s.MemoryTotalMB != machine.MemoryTotalMB ||
		s.CUDAVersion != "12.4" || s.CUDAVersionSource != "version.json" || s.Container != "docker" || len(s.EnergySensors) != 1 {
		t.Errorf("host facts not kept: %+v", s)
	}
	if g := s.GPUs[0]; g.PowerLimitW != 500 || g.PersistenceMode != "disabled" || s.DriverVersion != "550.2" || s.GPUCount != 1 {
		t.Errorf("GPU state not taken again: %+v", s)
	}
	if s.LlemVersion != "child" || s.LlemCommit != "c" || s.GoVersion != runtime.Version() || s.EngineVersions["native"] != "1" || s.Env != nil {
		t.Errorf("process parts = %+v", s)
	}
	if nvccRan {
		t.Error("Refresh ran nvcc: the CUDA toolkit version is a host fact")
	}
	if machine.GPUs[0].PowerLimitW != 700 {
		t.Error("Refresh changed the machine snapshot it was given")
	}
	s = Refresh(t.Context(), machine, Options{QueryGPUs: noGPU, FrameworkCUDA: "12.1"})
	if len(s.GPUs) != 1 || s.GPUs[0].PowerLimitW != 700 || s.DriverVersion != "550.1" {
		t.Errorf("a failed GPU query should keep the recorded GPUs: %+v", s.GPUs)
	}
	if s.CUDAVersion != "12.1" || s.CUDAVersionSource != "framework" {
		t.Errorf("framework CUDA = %q from %q", s.CUDAVersion, s.CUDAVersionSource)
	}
}
