package llem

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/buildinfo"
	"github.com/llenergymeasure/llem/internal/container"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/engine/native"
	"github.com/llenergymeasure/llem/internal/engine/pyworker"
	"github.com/llenergymeasure/llem/internal/envsnap"
)

// PythonProblem is one thing a Python backend lacks, with its fix.
type PythonProblem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
}

// PythonBackend is what this machine offers one Python backend.
type PythonBackend struct {
	Backend config.Backend `json:"backend"`
	// Where names the Python: an interpreter path or a container image.
	Where    string            `json:"where"`
	Versions map[string]string `json:"versions,omitempty"`
	GPUs     []string          `json:"gpus,omitempty"`
	Problems []PythonProblem   `json:"problems,omitempty"`
}

// OK reports whether the backend can run.
func (p PythonBackend) OK() bool { return len(p.Problems) == 0 }

// CheckPython checks each Python backend's environment (config.PythonBackends)
// as the user config selects it.
func CheckPython(ctx context.Context, user config.UserConfig) []PythonBackend {
	var out []PythonBackend
	runners := engines.Runners(user)
	for _, b := range config.PythonBackends() {
		a := pyworker.Check(ctx, b, runners[b])
		p := PythonBackend{Backend: a.Backend, Where: a.Where, Versions: a.Versions, GPUs: a.GPUs}
		for _, pr := range a.Problems {
			p.Problems = append(p.Problems, PythonProblem{What: pr.What, Fix: pr.Fix})
		}
		out = append(out, p)
	}
	return out
}

// MachineReport is what `llem config` shows: the machine, its energy
// sensors and engines.
type MachineReport = envsnap.MachineReport

// ProbeMachine reports this machine's GPUs, energy sensors and engines
// (the Python backends as python found them, the container runtime).
func ProbeMachine(ctx context.Context, user config.UserConfig, python []PythonBackend) (MachineReport, error) {
	bi := buildinfo.Get()
	opts := envsnap.ProbeOptions{Options: envsnap.Options{LlemVersion: bi.Version, LlemCommit: bi.Commit}}
	opts.Energy.CPUTDPWatts = user.CPUTDPWatts
	m, err := envsnap.Probe(ctx, opts)
	if err != nil {
		return m, fmt.Errorf("probe machine: %w", err)
	}
	m.Engines = append(m.Engines,
		envsnap.EngineStatus{Name: "native", Available: true, Version: bi.Version, Hint: "built in: pure-Go CPU inference of GGUF files and synthetic-weight shapes"},
		envsnap.EngineStatus{Name: "openai", Available: true, Hint: "needs a running OpenAI-compatible server (openai.base_url) or openai.server_command"},
	)
	for _, a := range python {
		st := envsnap.EngineStatus{Name: string(a.Backend), Available: a.OK(), Version: a.Versions[string(a.Backend)]}
		if !a.OK() {
			var fixes []string
			for _, p := range a.Problems {
				fixes = append(fixes, p.What+" → "+p.Fix)
			}
			st.Hint = strings.Join(fixes, "; ")
		}
		m.Engines = append(m.Engines, st)
	}
	dockerOK := container.Ping(ctx) == nil
	hint := "reachable at " + container.Host()
	if !dockerOK {
		hint = "no Docker Engine API at " + container.Host() + ": studies mixing Python backends need one (Docker, or podman's service: scripts/podman-service.sh)"
	}
	m.Engines = append(m.Engines, envsnap.EngineStatus{Name: "container runtime", Available: dockerOK, Hint: hint})
	return m, nil
}

// ModelShapes lists the synthetic-weight model shapes the native engine
// knows (stories15M, …).
func ModelShapes() []string { return native.Shapes() }

// ModelTensorTypes lists the tensor types SynthesizeModel writes.
func ModelTensorTypes() []string { return slices.Clone(native.WritableTypes) }

// DefaultWeightsSeed is the seed of synthetic weights when none is given.
const DefaultWeightsSeed = native.DefaultWeightsSeed

// SynthesizeModel writes a synthetic-weight model of a named shape as a
// GGUF file at path (whole or not at all).
func SynthesizeModel(path, shape string, seed int64, tensorType string) error {
	if _, ok := native.LookupShape(shape); !ok {
		return fmt.Errorf("unknown synthetic shape %q (allowed: %s)", shape, strings.Join(native.Shapes(), ", "))
	}
	if !slices.Contains(native.WritableTypes, tensorType) {
		return fmt.Errorf("unknown tensor type %q (allowed: %s)", tensorType, strings.Join(native.WritableTypes, ", "))
	}
	return native.SynthesizeGGUFFile(path, shape, seed, tensorType)
}
