package pyworker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/container"
	"github.com/llenergymeasure/llem/results"
)

// Problem is one thing missing for a backend, and how to get it.
type Problem = results.PythonProblem

// Availability is what Check found for one backend.
type Availability = results.PythonBackend

type requirement struct {
	modules []string
	install string
	// optional are modules a configuration needs beyond the base set
	// (see ConfigModules); each missing one gets its own fix.
	optional []string
}

// optionalModules maps each module a configuration may need to the command
// that installs it.
var optionalModules = map[string]string{
	"bitsandbytes": "pip install bitsandbytes",
	"torchao":      "pip install torchao",
	"peft":         "pip install peft",
	"flash_attn":   "pip install flash-attn --no-build-isolation",
}

// ConfigModules lists the optional Python modules cfg needs beyond its
// backend's own: bitsandbytes for load_in_4bit/8bit, torchao for
// torchao_quant_type, peft for a LoRA adapter and flash_attn for
// flash_attention_2 (all pytorch).
func ConfigModules(cfg config.ExperimentConfig) []string {
	if cfg.Backend != config.BackendPyTorch {
		return nil
	}
	var mods []string
	if p := cfg.PyTorch; p != nil {
		on := func(b *bool) bool { return b != nil && *b }
		if on(p.LoadIn4bit) || on(p.LoadIn8bit) {
			mods = append(mods, "bitsandbytes")
		}
		if p.TorchaoQuantType != nil {
			mods = append(mods, "torchao")
		}
		if p.AttnImplementation != nil && *p.AttnImplementation == "flash_attention_2" {
			mods = append(mods, "flash_attn")
		}
	}
	if cfg.LoRA != nil {
		mods = append(mods, "peft")
	}
	return mods
}

// requirements lists, per backend, the modules it imports and the command
// that installs them.
var requirements = map[config.Backend]requirement{
	config.BackendPyTorch:  {modules: []string{"torch", "transformers", "accelerate"}, install: "pip install torch transformers accelerate"},
	config.BackendVLLM:     {modules: []string{"torch", "vllm"}, install: "pip install vllm"},
	config.BackendTensorRT: {modules: []string{"torch", "tensorrt_llm"}, install: "pip install tensorrt_llm --extra-index-url https://pypi.nvidia.com"},
}

// probeTimeout bounds the environment probe (importing torch is slow).
const probeTimeout = 2 * time.Minute

// Check says whether backend can run with runner, naming exactly what is
// missing and how to get it: no Python, a module that does not import, no
// CUDA device, no container runtime or image. optional names further
// modules the planned configurations need (ConfigModules). `llem config`
// shows it and the run pre-flight fails on it.
func Check(ctx context.Context, backend config.Backend, runner Runner, optional ...string) Availability {
	a := Availability{Backend: backend, Versions: map[string]string{}}
	req, ok := requirements[backend]
	if !ok {
		a.Where = "none"
		a.Problems = append(a.Problems, Problem{What: fmt.Sprintf("%s: %v", backend, errNoBackend), Fix: "use backend pytorch, vllm or tensorrt"})
		return a
	}
	for _, m := range optional {
		if !slices.Contains(req.modules, m) && !slices.Contains(req.optional, m) {
			req.optional = append(req.optional, m)
		}
	}
	slices.Sort(req.optional)
	if runner.Image != "" {
		return checkContainer(ctx, a, runner, req)
	}
	python, err := resolvePython(runner.Python)
	if err != nil {
		a.Where = "python " + runner.Python
		a.Problems = append(a.Problems, Problem{What: err.Error(),
			Fix: "install Python 3.9 or newer (apt-get install python3), or set the backend's python (an interpreter or a virtual environment) in the user config"})
		return a
	}
	a.Where = "python " + python
	return probe(ctx, a, runner, req, probeHints{
		runFix:    "check that the interpreter works: " + python + " -c 'import json'",
		outputIn:  "probe",
		outputFix: "check the interpreter's site customisations (sitecustomize, PYTHONSTARTUP) print nothing",
	})
}

// probeHints are what a failed probe suggests, locally or in a container.
type probeHints struct {
	runFix    string // the probe did not run
	outputIn  string // names the probe in the not-JSON message
	outputFix string // the probe printed something else
}

// probe runs the environment probe with the runner's Python and judges
// what it reports.
func probe(ctx context.Context, a Availability, runner Runner, req requirement, h probeHints) Availability {
	dir, err := WriteScripts(runner.CacheDir)
	if err != nil {
		a.Problems = append(a.Problems, Problem{What: err.Error(), Fix: "make the user cache folder writable"})
		return a
	}
	out, err := runProbe(ctx, runner, dir, append(slices.Clone(req.modules), req.optional...))
	if err != nil {
		a.Problems = append(a.Problems, Problem{What: err.Error(), Fix: h.runFix})
		return a
	}
	var env Hello
	if err := json.Unmarshal(out, &env); err != nil {
		a.Problems = append(a.Problems, Problem{What: fmt.Sprintf("%s printed something that is not JSON: %q", h.outputIn, truncate(string(out), 200)),
			Fix: h.outputFix})
		return a
	}
	return judge(a, env, req)
}

// judge turns a probe's report into problems.
func judge(a Availability, env Hello, req requirement) Availability {
	a.Versions = env.Versions
	a.GPUs = env.GPUs
	var missing []string
	for m, why := range env.Missing {
		if !slices.Contains(req.optional, m) {
			missing = append(missing, m+" ("+why+")")
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		a.Problems = append(a.Problems, Problem{What: "cannot import " + strings.Join(missing, ", "), Fix: req.install})
	}
	for _, m := range req.optional {
		if why, ok := env.Missing[m]; ok {
			a.Problems = append(a.Problems, Problem{What: fmt.Sprintf("the configuration needs %s, which cannot be imported (%s)", m, why), Fix: optionalModules[m]})
		}
	}
	if _, ok := env.Versions["torch"]; ok && !env.CUDAAvailable {
		what := "torch sees no CUDA device"
		if env.CUDA == "" {
			what = "torch " + env.Versions["torch"] + " is a CPU-only build"
		}
		a.Problems = append(a.Problems, Problem{What: what,
			Fix: "install a CUDA build of torch (pip install torch --index-url https://download.pytorch.org/whl/cu124) on a machine with an NVIDIA GPU and driver (nvidia-smi must work)"})
	}
	return a
}

func checkContainer(ctx context.Context, a Availability, runner Runner, req requirement) Availability {
	a.Where = "container image " + runner.Image + " via " + container.Host()
	if err := container.Ping(ctx); err != nil {
		a.Problems = append(a.Problems, Problem{What: err.Error(),
			Fix: "start Docker (with the NVIDIA container toolkit for GPUs) or `podman system service`, and point DOCKER_HOST at its socket"})
		return a
	}
	ok, err := container.ImagePresent(ctx, runner.Image)
	switch {
	case err != nil:
		a.Problems = append(a.Problems, Problem{What: err.Error(), Fix: "check the container runtime's logs"})
		return a
	case !ok:
		a.Problems = append(a.Problems, Problem{What: "image " + runner.Image + " is not present", Fix: "docker pull " + runner.Image})
		return a
	}
	return probe(ctx, a, runner, req, probeHints{
		runFix:    "check that the image has python3, and for GPUs that the NVIDIA container toolkit is installed (docker run --gpus all IMAGE nvidia-smi)",
		outputIn:  "probe in " + runner.Image,
		outputFix: "check the image's python3",
	})
}

// runProbe runs llem_protocol.py's environment probe with the runner's
// Python (local or in its container) and returns what it printed.
func runProbe(ctx context.Context, runner Runner, dir string, modules []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	runner.WorkerScript = ""
	stderr := newTail(4<<10, nil)
	l := launch{scriptDir: dir, script: filepath.Join(dir, "workers", "llem_protocol.py"), args: append([]string{"probe"}, modules...)}
	p, err := runner.start(ctx, l, stderr)
	if err != nil {
		return nil, err
	}
	p.stdin.Close()
	type read struct {
		out []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		out, err := io.ReadAll(p.stdout)
		done <- read{out, err}
	}()
	var r read
	select {
	case r = <-done:
	case <-ctx.Done():
		p.kill()
		r.err = ctx.Err()
	}
	waitErr := p.wait()
	if p.release != nil {
		// The probe's outcome is already known; a failed removal changes nothing.
		_ = p.release()
	}
	if r.err == nil && waitErr != nil {
		r.err = waitErr
	}
	if r.err != nil {
		return nil, fmt.Errorf("llem's environment probe failed: %v: %s", r.err, lastLine(stderr.String()))
	}
	return r.out, nil
}

// CheckMixedBackends is the pre-flight rule for a study (SPEC ENG-4):
// backends that need different Python environments (more than one of
// pytorch, vllm, tensorrt) must each run in a container, so every one of
// them needs a runner with an Image and a container runtime must answer.
// runners maps each backend to its Runner; native and openai need none.
func CheckMixedBackends(ctx context.Context, backends []config.Backend, runners map[config.Backend]Runner) error {
	python, err := mixedBackendsNeedContainers(backends, runners)
	if err != nil || len(python) < 2 {
		return err
	}
	if err := container.Ping(ctx); err != nil {
		return fmt.Errorf("study mixes backends %s, which run in containers: %w", strings.Join(python, ", "), err)
	}
	return nil
}

// mixedBackendsNeedContainers returns the distinct Python backends and an
// error naming those without a container image when there are several.
func mixedBackendsNeedContainers(backends []config.Backend, runners map[config.Backend]Runner) ([]string, error) {
	seen := map[config.Backend]bool{}
	var python, local []string
	for _, b := range backends {
		if _, ok := requirements[b]; !ok || seen[b] {
			continue
		}
		seen[b] = true
		python = append(python, string(b))
		if runners[b].Image == "" {
			local = append(local, string(b))
		}
	}
	if len(python) < 2 || len(local) == 0 {
		return python, nil
	}
	return python, fmt.Errorf("study mixes backends %s, which need different Python environments, so each runs in its own container; "+
		"no container image is set for %s: set the backend's image in the user config (defaults: %s)",
		strings.Join(python, ", "), strings.Join(local, ", "), defaultImages(local))
}

func defaultImages(backends []string) string {
	var out []string
	for _, b := range backends {
		out = append(out, b+"="+DefaultImage(config.Backend(b)))
	}
	return strings.Join(out, ", ")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
