package pyworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/container"
)

// Runner says where a backend's Python comes from. The zero value runs
// python3 from PATH.
type Runner struct {
	// Python is an interpreter path or name, or a virtual environment's
	// folder (its bin/python3 is used). Empty means python3 on PATH.
	// Ignored when Image is set.
	Python string
	// Image, when set, runs the worker in this container image through the
	// Docker Engine API (DOCKER_HOST), with GPUs passed through and the
	// worker scripts and Hugging Face cache mounted.
	Image string
	// GPUs passed to a container: "" or "all" for every GPU, device
	// indices "0,1", or "none". Local workers see what CUDA_VISIBLE_DEVICES
	// allows.
	GPUs string
	// Log receives the worker's stderr (its logs and tracebacks); nil
	// discards it. The last 16 KiB are kept for error messages either way.
	Log io.Writer
	// CacheDir is where the worker scripts are written; empty means
	// os.UserCacheDir()/llem/workers.
	CacheDir string
	// HFCache is the host's Hugging Face cache folder, mounted into
	// containers; empty means $HF_HOME or ~/.cache/huggingface.
	HFCache string
	// Env holds extra KEY=VALUE pairs for the worker.
	Env []string
	// WorkerScript, when set, is run instead of the backend's embedded
	// script (a development copy, or the protocol test worker). It can
	// import llem_protocol like the embedded scripts do.
	WorkerScript string
}

// DefaultImage is the container image a backend runs in when the user
// config names none: each engine's official image.
func DefaultImage(b config.Backend) string {
	switch b {
	case config.BackendPyTorch:
		return "huggingface/transformers-pytorch-gpu:latest"
	case config.BackendVLLM:
		return "vllm/vllm-openai:v0.10.1.1"
	case config.BackendTensorRT:
		return "nvcr.io/nvidia/tensorrt-llm/release:1.0.0"
	}
	return ""
}

// In-container locations of what llem mounts.
const (
	ctrWorkers    = "/llem/workers"
	ctrHFCache    = "/llem/hf-cache"
	ctrEngines    = "/llem/trt-engines"
	ctrModel      = "/llem/model"
	ctrLoRA       = "/llem/lora"
	ctrScriptFile = "/llem/worker-script.py"
)

// passEnv are passed through to containers when set; Spec.String never
// shows their values (HF_TOKEN is a secret).
var passEnv = []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "TRANSFORMERS_OFFLINE"}

// hfCache is the host's Hugging Face home, as huggingface_hub finds it.
func (r Runner) hfCache() string {
	if r.HFCache != "" {
		return r.HFCache
	}
	if h := os.Getenv("HF_HOME"); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// launch describes one worker start: host paths that the worker needs and
// the script to run.
type launch struct {
	scriptDir string // host folder from WriteScripts
	script    string // host path of the script
	args      []string
	engineDir string // host TensorRT engine cache root ("" if unused)
	// mounts maps further host paths (a local model, a LoRA folder) to
	// their in-container paths.
	mounts map[string]string
}

// start runs the worker for one launch.
func (r Runner) start(ctx context.Context, l launch, stderr *tail) (*proc, error) {
	if r.Image != "" {
		return r.startContainer(ctx, l, stderr)
	}
	python, err := resolvePython(r.Python)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), r.Env...)
	env = append(env, "PYTHONUNBUFFERED=1", "PYTHONPATH="+joinPath(filepath.Join(l.scriptDir, "workers"), os.Getenv("PYTHONPATH")))
	return startLocal(python, append([]string{"-u", l.script}, l.args...), env, stderr)
}

func (r Runner) startContainer(ctx context.Context, l launch, stderr *tail) (*proc, error) {
	spec := container.Spec{
		Image:      r.Image,
		Entrypoint: []string{"python3", "-u"},
		Cmd:        append([]string{r.workerPath(l, l.script)}, l.args...),
		Env:        []string{"PYTHONUNBUFFERED=1", "PYTHONPATH=" + ctrWorkers + "/workers", "HF_HOME=" + ctrHFCache},
		Mounts:     []container.Mount{{Source: l.scriptDir, Target: ctrWorkers, ReadOnly: true}},
		GPUs:       r.GPUs,
		Stderr:     stderr,
	}
	switch spec.GPUs {
	case "":
		spec.GPUs = "all"
	case "none":
		spec.GPUs = ""
	}
	if r.WorkerScript != "" {
		abs, err := filepath.Abs(r.WorkerScript)
		if err != nil {
			return nil, err
		}
		spec.Mounts = append(spec.Mounts, container.Mount{Source: abs, Target: ctrScriptFile, ReadOnly: true})
	}
	if hf := r.hfCache(); hf != "" {
		if err := os.MkdirAll(hf, 0o755); err == nil {
			spec.Mounts = append(spec.Mounts, container.Mount{Source: hf, Target: ctrHFCache})
		}
	}
	if l.engineDir != "" {
		spec.Mounts = append(spec.Mounts, container.Mount{Source: l.engineDir, Target: ctrEngines})
	}
	for host, ctr := range l.mounts {
		spec.Mounts = append(spec.Mounts, container.Mount{Source: host, Target: ctr, ReadOnly: true})
	}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			spec.Env = append(spec.Env, k+"="+v)
		}
	}
	spec.Env = append(spec.Env, r.Env...)
	c, err := container.Start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("start %s worker container: %w", r.Image, err)
	}
	return &proc{
		stdin:  c.Stdin,
		stdout: c.Stdout,
		wait: func() error {
			code, err := c.Wait(context.Background())
			if err != nil {
				return err
			}
			if code != 0 {
				return fmt.Errorf("exit status %d", code)
			}
			return nil
		},
		kill: func() {
			kctx, cancel := context.WithTimeout(context.Background(), defaultGrace)
			defer cancel()
			// Killing a container that has already stopped fails; that is fine.
			_ = c.Kill(kctx)
		},
		release: c.Close,
		stderr:  stderr,
	}, nil
}

// workerPath is where the worker sees a host path: unchanged locally,
// rewritten to its mount point in a container.
func (r Runner) workerPath(l launch, host string) string {
	if r.Image == "" || host == "" {
		return host
	}
	if r.WorkerScript != "" && host == l.script {
		return ctrScriptFile
	}
	rewrites := map[string]string{l.scriptDir: ctrWorkers}
	if l.engineDir != "" {
		rewrites[l.engineDir] = ctrEngines
	}
	for h, c := range l.mounts {
		rewrites[h] = c
	}
	for h, c := range rewrites {
		if host == h {
			return c
		}
		if rel, err := filepath.Rel(h, host); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(filepath.Join(c, rel))
		}
	}
	return host
}

func joinPath(first, rest string) string {
	if rest == "" {
		return first
	}
	return first + string(os.PathListSeparator) + rest
}

// errNoBackend is returned for backends without a Python worker.
var errNoBackend = errors.New("backend has no Python worker (pytorch, vllm and tensorrt have)")
