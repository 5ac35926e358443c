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
	"github.com/llenergymeasure/llem/results"
)

// CheckPython checks each Python backend's environment (config.PythonBackends)
// as the user config selects it.
func CheckPython(ctx context.Context, user config.UserConfig) []results.PythonBackend {
	var out []results.PythonBackend
	runners := engines.Runners(user)
	for _, b := range config.PythonBackends() {
		out = append(out, pyworker.Check(ctx, b, runners[b]))
	}
	return out
}

// ProbeMachine reports this machine's GPUs, energy sensors and engines
// (the Python backends as python found them, the container runtime).
func ProbeMachine(ctx context.Context, user config.UserConfig, python []results.PythonBackend) (results.MachineReport, error) {
	bi := buildinfo.Get()
	opts := envsnap.ProbeOptions{Options: envsnap.Options{LlemVersion: bi.Version, LlemCommit: bi.Commit}}
	opts.Energy.CPUTDPWatts = user.CPUTDPWatts
	m, err := envsnap.Probe(ctx, opts)
	if err != nil {
		return m, fmt.Errorf("probe machine: %w", err)
	}
	m.Engines = append(m.Engines,
		results.EngineStatus{Name: "native", Available: true, Version: bi.Version, Hint: "built in: pure-Go CPU inference of GGUF files and synthetic-weight shapes"},
		results.EngineStatus{Name: "openai", Available: true, Hint: "needs a running OpenAI-compatible server (openai.base_url) or openai.server_command"},
	)
	for _, a := range python {
		st := results.EngineStatus{Name: string(a.Backend), Available: a.OK(), Version: a.Versions[string(a.Backend)]}
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
	m.Engines = append(m.Engines, results.EngineStatus{Name: "container runtime", Available: dockerOK, Hint: hint})
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
