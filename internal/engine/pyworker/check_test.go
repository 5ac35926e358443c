package pyworker

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
)

func TestCheckLocal(t *testing.T) {
	a := Check(context.Background(), config.BackendPyTorch, Runner{Python: "/nonexistent/python3", CacheDir: t.TempDir()})
	if a.OK() || !strings.Contains(a.Err().Error(), "/nonexistent/python3 not found") || !strings.Contains(a.Err().Error(), "install Python") {
		t.Errorf("missing interpreter: %v", a.Err())
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	if exec.Command("python3", "-c", "import torch").Run() == nil {
		t.Skip("torch is installed here: the missing-module case cannot be shown")
	}
	a = Check(context.Background(), config.BackendPyTorch, Runner{CacheDir: t.TempDir()})
	err := a.Err()
	if err == nil || !strings.Contains(err.Error(), "cannot import") || !strings.Contains(err.Error(), "torch (") ||
		!strings.Contains(err.Error(), "fix: pip install torch transformers accelerate") {
		t.Errorf("python without torch: %v", err)
	}
	if a.Versions["python"] == "" {
		t.Errorf("probe reported no python version: %+v", a)
	}

	// A configuration's own modules are probed too, each with its own fix.
	if exec.Command("python3", "-c", "import bitsandbytes").Run() == nil {
		t.Skip("bitsandbytes is installed here")
	}
	a = Check(context.Background(), config.BackendPyTorch, Runner{CacheDir: t.TempDir()}, "bitsandbytes")
	var found bool
	for _, p := range a.Problems {
		if strings.Contains(p.What, "the configuration needs bitsandbytes, which cannot be imported (ModuleNotFoundError") {
			found = p.Fix == "pip install bitsandbytes"
		}
		if strings.HasPrefix(p.What, "cannot import") && strings.Contains(p.What, "bitsandbytes") {
			t.Errorf("optional module folded into the base problem: %+v", p)
		}
	}
	if !found {
		t.Errorf("no bitsandbytes problem with its own fix: %+v", a.Problems)
	}
}

func TestConfigModules(t *testing.T) {
	yes, fa2, nf4 := true, "flash_attention_2", "int4_weight_only"
	tests := []struct {
		name string
		cfg  config.ExperimentConfig
		want []string
	}{
		{"plain pytorch", config.ExperimentConfig{Backend: config.BackendPyTorch}, nil},
		{"bitsandbytes", config.ExperimentConfig{Backend: config.BackendPyTorch, PyTorch: &config.PyTorchConfig{LoadIn8bit: &yes}}, []string{"bitsandbytes"}},
		{"torchao and flash attention", config.ExperimentConfig{Backend: config.BackendPyTorch,
			PyTorch: &config.PyTorchConfig{TorchaoQuantType: &nf4, AttnImplementation: &fa2}}, []string{"torchao", "flash_attn"}},
		{"lora", config.ExperimentConfig{Backend: config.BackendPyTorch, LoRA: &config.LoRAConfig{AdapterID: "a"}}, []string{"peft"}},
		{"vllm lora needs no peft", config.ExperimentConfig{Backend: config.BackendVLLM, LoRA: &config.LoRAConfig{AdapterID: "a"}}, nil},
	}
	for _, tt := range tests {
		got := ConfigModules(tt.cfg)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: ConfigModules = %v, want %v", tt.name, got, tt.want)
		}
		for _, m := range got {
			if optionalModules[m] == "" {
				t.Errorf("%s: module %s has no install command", tt.name, m)
			}
		}
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name string
		env  Hello
		want []string // substrings of the problems, in order; none means OK
	}{
		{"ready", Hello{Versions: map[string]string{"torch": "2.5.1", "cuda": "12.4"}, CUDA: "12.4", CUDAAvailable: true}, nil},
		{"cpu-only torch", Hello{Versions: map[string]string{"torch": "2.5.1+cpu"}}, []string{"CPU-only build"}},
		{"no GPU", Hello{Versions: map[string]string{"torch": "2.5.1"}, CUDA: "12.4"}, []string{"torch sees no CUDA device"}},
		{"optional module present", Hello{Versions: map[string]string{"torch": "2.5.1", "peft": "0.13.0"}, CUDA: "12.4", CUDAAvailable: true}, nil},
		{"optional module missing", Hello{Versions: map[string]string{"torch": "2.5.1"}, CUDA: "12.4", CUDAAvailable: true,
			Missing: map[string]string{"peft": "ModuleNotFoundError: No module named 'peft'"}}, []string{"the configuration needs peft"}},
		{"no vllm", Hello{Versions: map[string]string{"torch": "2.5.1"}, CUDA: "12.4", CUDAAvailable: true,
			Missing: map[string]string{"vllm": "ModuleNotFoundError: No module named 'vllm'"}}, []string{"cannot import vllm (ModuleNotFoundError"}},
	}
	for _, tt := range tests {
		req := requirements[config.BackendVLLM]
		req.optional = []string{"peft"}
		a := judge(Availability{Backend: config.BackendVLLM}, tt.env, req)
		if len(a.Problems) != len(tt.want) {
			t.Errorf("%s: problems = %+v, want %d", tt.name, a.Problems, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(a.Problems[i].What, w) || a.Problems[i].Fix == "" {
				t.Errorf("%s: problem %d = %+v, want %q with a fix", tt.name, i, a.Problems[i], w)
			}
		}
	}
}

func TestCheckContainerWithoutRuntime(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	a := Check(context.Background(), config.BackendVLLM, Runner{Image: DefaultImage(config.BackendVLLM)})
	if err := a.Err(); err == nil || !strings.Contains(err.Error(), "no container runtime at unix:///nonexistent/docker.sock") {
		t.Errorf("container check without a runtime: %v", err)
	}
}

func TestMixedBackends(t *testing.T) {
	img := Runner{Image: "x"}
	tests := []struct {
		name     string
		backends []config.Backend
		runners  map[config.Backend]Runner
		wantErr  string
	}{
		{"one python backend", []config.Backend{"pytorch", "pytorch", "native", "openai"}, nil, ""},
		{"no python backend", []config.Backend{"native", "openai"}, nil, ""},
		{"mixed, local", []config.Backend{"pytorch", "vllm"}, nil, "study mixes backends pytorch, vllm"},
		{"mixed, one local", []config.Backend{"pytorch", "vllm", "tensorrt"}, map[config.Backend]Runner{"pytorch": img, "vllm": img}, "no container image is set for tensorrt"},
		{"mixed, all containers", []config.Backend{"pytorch", "vllm"}, map[config.Backend]Runner{"pytorch": img, "vllm": img}, ""},
	}
	for _, tt := range tests {
		_, err := mixedBackendsNeedContainers(tt.backends, tt.runners)
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	err := CheckMixedBackends(context.Background(), []config.Backend{"pytorch", "vllm"}, map[config.Backend]Runner{"pytorch": img, "vllm": img})
	if err == nil || !strings.Contains(err.Error(), "no container runtime") {
		t.Errorf("mixed study without a runtime: %v", err)
	}
	if err := CheckMixedBackends(context.Background(), []config.Backend{"pytorch"}, nil); err != nil {
		t.Errorf("single backend: %v", err)
	}
}

func TestEngineCacheKey(t *testing.T) {
	one, two, lvl1, lvl5 := 1, 2, 1, 5
	base := config.ExperimentConfig{Model: "m", Precision: "fp16", TensorRT: &config.TensorRTConfig{TPSize: &one, BuilderOptLevel: &lvl1}}
	k := EngineCacheKey(base)
	opt := base
	opt.TensorRT = &config.TensorRTConfig{TPSize: &one, BuilderOptLevel: &lvl5}
	if EngineCacheKey(opt) != k {
		t.Error("builder_opt_level changed the engine cache key")
	}
	tp := base
	tp.TensorRT = &config.TensorRTConfig{TPSize: &two}
	prec := base
	prec.Precision = "int8"
	for _, other := range []config.ExperimentConfig{tp, prec} {
		if EngineCacheKey(other) == k {
			t.Errorf("%+v shares the engine cache key of %+v", other, base)
		}
	}
}
