package envsnap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

// DefaultCUDAHome is where the CUDA toolkit is usually installed.
const DefaultCUDAHome = "/usr/local/cuda"

// GPUReport is what the GPU query found.
type GPUReport struct {
	GPUs          []results.GPUInfo
	DriverVersion string
	// CUDADriverVersion is the newest CUDA the driver supports (NVML), e.g. "12.4".
	CUDADriverVersion string
	// EnergyCounter says, per GPU, whether NVML's total energy counter works.
	EnergyCounter []bool
}

// Options configures Take and Probe. Zero values query the real machine.
type Options struct {
	LlemVersion string
	LlemCommit  string
	// EngineVersions are the engine and library versions the caller knows.
	EngineVersions map[string]string
	// FrameworkCUDA is the CUDA version reported by the engine's framework
	// (e.g. torch.version.cuda), the preferred source.
	FrameworkCUDA string

	// QueryGPUs lists the GPUs; QueryNVML when nil.
	QueryGPUs func(ctx context.Context) (GPUReport, error)
	// CUDAHome holds version.json or version.txt; DefaultCUDAHome when empty.
	CUDAHome string
	// NVCCVersion returns the output of `nvcc --version`; runs nvcc when nil.
	NVCCVersion func(ctx context.Context) (string, error)
	// PowercapRoot is where RAPL is looked for; energy.DefaultPowercapRoot when empty.
	PowercapRoot string
	// Root is prepended to the container marker paths (tests); "/" when empty.
	Root string
}

func (o Options) queryGPUs(ctx context.Context) (GPUReport, error) {
	if o.QueryGPUs != nil {
		return o.QueryGPUs(ctx)
	}
	return QueryNVML(ctx)
}

// Take records the environment. It never fails: what cannot be read is
// left empty (a machine without a GPU has no GPUs, not an error).
func Take(ctx context.Context, opts Options) results.EnvironmentSnapshot {
	snap, _ := take(ctx, opts)
	return snap
}

// take also returns the GPU query's error, for Probe's hints.
func take(ctx context.Context, opts Options) (results.EnvironmentSnapshot, error) {
	s := results.EnvironmentSnapshot{
		OS:             runtime.GOOS,
		GPUs:           []results.GPUInfo{},
		LlemVersion:    opts.LlemVersion,
		LlemCommit:     opts.LlemCommit,
		GoVersion:      runtime.Version(),
		EngineVersions: opts.EngineVersions,
		Container:      detectContainer(opts.Root),
	}
	if osName, kernel, hostname := hostFacts(ctx, opts.Root); osName != "" {
		s.OS, s.Kernel, s.Hostname = osName, kernel, hostname
	}
	if infos, err := cpu.InfoWithContext(ctx); err == nil && len(infos) > 0 {
		s.CPUModel = infos[0].ModelName
	}
	if n, err := cpu.CountsWithContext(ctx, false); err == nil {
		s.CPUCores = n
	}
	if n, err := cpu.CountsWithContext(ctx, true); err == nil {
		s.CPUThreads = n
	}
	if s.CPUThreads == 0 {
		s.CPUThreads = runtime.NumCPU()
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		s.MemoryTotalMB = float64(vm.Total) / (1 << 20)
	}
	gr, gpuErr := opts.queryGPUs(ctx)
	if gpuErr == nil {
		s.GPUs = append(s.GPUs, gr.GPUs...)
		s.DriverVersion = gr.DriverVersion
	}
	s.GPUCount = len(s.GPUs)
	s.CUDAVersion, s.CUDAVersionSource = cudaVersion(ctx, opts, gr.CUDADriverVersion)
	s.EnergySensors = sensors(gr, opts.PowercapRoot)
	return s, gpuErr
}

// Refresh completes machine, a snapshot Take recorded earlier on this
// machine (once per study, by the parent process), for one run: it takes
// again what may change from one run to the next and what belongs to the
// measuring process, and keeps the host facts (OS, kernel, CPU, memory,
// container, CUDA toolkit, energy sensors) as recorded. Taken again: the
// GPUs and the driver through NVML (persistence mode and power limit are
// settings an administrator changes between runs; when the query fails the
// recorded GPUs stay), llem's version and commit, Go's version, the engine
// versions and a framework's CUDA version from opts. It starts no process
// (no lsb_release, no nvcc): a study's runs pay for the host facts once.
func Refresh(ctx context.Context, machine results.EnvironmentSnapshot, opts Options) results.EnvironmentSnapshot {
	s := machine
	s.GPUs = append([]results.GPUInfo{}, machine.GPUs...)
	s.EnergySensors = slices.Clone(machine.EnergySensors)
	s.LlemVersion, s.LlemCommit, s.GoVersion = opts.LlemVersion, opts.LlemCommit, runtime.Version()
	s.EngineVersions = opts.EngineVersions
	s.Env = nil
	if gr, err := opts.queryGPUs(ctx); err == nil {
		s.GPUs = append([]results.GPUInfo{}, gr.GPUs...)
		s.DriverVersion = gr.DriverVersion
	}
	s.GPUCount = len(s.GPUs)
	if opts.FrameworkCUDA != "" {
		s.CUDAVersion, s.CUDAVersionSource = opts.FrameworkCUDA, "framework"
	}
	return s
}

// joinNonEmpty joins the non-empty parts with spaces.
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// sensors lists the energy sensors present, e.g. "nvml gpu 0 (energy
// counter)", "rapl package-0".
func sensors(gr GPUReport, powercapRoot string) []string {
	var out []string
	for i, g := range gr.GPUs {
		kind := "power only"
		if i < len(gr.EnergyCounter) && gr.EnergyCounter[i] {
			kind = "energy counter"
		}
		out = append(out, fmt.Sprintf("nvml gpu %d (%s)", g.Index, kind))
	}
	if r, err := energy.OpenRAPL(energy.RAPLOptions{Root: powercapRoot}); err == nil {
		for _, d := range r.Domains() {
			out = append(out, "rapl "+d.Name)
		}
		_ = r.Stop()
	} else if errors.Is(err, energy.ErrRAPLPermission) {
		out = append(out, "rapl (present, not readable)")
	}
	return out
}

var (
	nvccRelease = regexp.MustCompile(`release (\d+\.\d+)`)
	txtVersion  = regexp.MustCompile(`CUDA Version (\d+\.\d+(?:\.\d+)?)`)
)

// cudaVersion returns the CUDA version and its source, best first: the
// framework, the toolkit's version.json or version.txt, nvcc, the driver.
func cudaVersion(ctx context.Context, opts Options, driverCUDA string) (string, string) {
	if opts.FrameworkCUDA != "" {
		return opts.FrameworkCUDA, "framework"
	}
	home := opts.CUDAHome
	if home == "" {
		home = DefaultCUDAHome
	}
	if b, err := os.ReadFile(filepath.Join(home, "version.json")); err == nil {
		var v struct {
			CUDA struct {
				Version string `json:"version"`
			} `json:"cuda"`
		}
		if json.Unmarshal(b, &v) == nil && v.CUDA.Version != "" {
			return v.CUDA.Version, "version.json"
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "version.txt")); err == nil {
		if m := txtVersion.FindSubmatch(b); m != nil {
			return string(m[1]), "version.txt"
		}
	}
	nvcc := opts.NVCCVersion
	if nvcc == nil {
		nvcc = runNVCC
	}
	if out, err := nvcc(ctx); err == nil {
		if m := nvccRelease.FindStringSubmatch(out); m != nil {
			return m[1], "nvcc"
		}
	}
	if driverCUDA != "" {
		return driverCUDA, "nvml_driver"
	}
	return "", ""
}

func runNVCC(ctx context.Context) (string, error) {
	path, err := exec.LookPath("nvcc")
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	return string(out), err
}

// detectContainer names the container runtime this process runs in, "" on
// a bare host.
func detectContainer(root string) string {
	if root == "" {
		root = "/"
	}
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(root, p)); return err == nil }
	switch {
	case exists(".dockerenv"):
		return "docker"
	case exists("run/.containerenv"):
		return "podman"
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc/1/cgroup")); err == nil {
		for _, name := range []string{"kubepods", "docker", "containerd", "lxc"} {
			if strings.Contains(string(b), name) {
				return name
			}
		}
	}
	return ""
}

// recordedEnvPrefixes are families of variables that configure the
// compute stack (devices, threads, kernels); recordedEnvNames are single
// variables, llem's own settings among them. Nothing outside these lists is
// recorded: an allow-list, so a new credential variable is never recorded
// because nobody thought to deny it.
var (
	recordedEnvPrefixes = []string{"CUDA_", "NVIDIA_", "OMP_", "MKL_", "PYTORCH_", "VLLM_", "NCCL_"}
	recordedEnvNames    = []string{
		"GOMAXPROCS", "GOGC", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM",
		"LLEM_RESULTS_DIR", "LLEM_CONFIG", "LLEM_SAMPLING_INTERVAL",
		"LLEM_BASELINE_DURATION", "LLEM_CONFIG_GAP_SECONDS", "LLEM_CYCLE_GAP_SECONDS",
		"LLEM_CPU_TDP_WATTS", "LLEM_CARBON_INTENSITY", "LLEM_DATACENTER_PUE",
		"LLEM_DATACENTER_LOCATION", "LLEM_VLLM_PYTHON",
	}
)

// secretName guards the prefix families: a variable among them whose name
// looks like a credential (VLLM_API_KEY) has its value replaced.
var secretName = regexp.MustCompile(`(?i)TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH`)

// RecordedEnv picks from environ ("NAME=value" pairs, as os.Environ) the
// allow-listed variables that shape a measurement (CUDA_VISIBLE_DEVICES,
// OMP_NUM_THREADS, llem's own LLEM_* settings, …). Nothing else is kept;
// the variables named in never (those an experiment reads an API key from,
// openai.api_key_env) are never recorded, whatever their name; and a kept
// variable whose name looks like a credential (TOKEN, KEY, SECRET,
// PASSWORD, CREDENTIAL, AUTH) has its value replaced by "[redacted]".
func RecordedEnv(environ []string, never ...string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || slices.Contains(never, name) {
			continue
		}
		keep := slices.Contains(recordedEnvNames, name)
		for _, p := range recordedEnvPrefixes {
			keep = keep || strings.HasPrefix(name, p)
		}
		if !keep {
			continue
		}
		if secretName.MatchString(name) {
			val = "[redacted]"
		}
		out[name] = val
	}
	return out
}
