package results

import (
	"errors"
	"fmt"
	"strings"

	"github.com/llenergymeasure/llem/config"
)

// MachineReport is what `llem config` shows: the machine, the energy source
// each domain would use, and the engines it can run.
type MachineReport struct {
	// Environment describes this machine and its software.
	Environment EnvironmentSnapshot `json:"environment"`
	// EnergySources is the source each domain would use.
	EnergySources []DomainSource `json:"energy_sources"`
	// BestSource is the best of them (SourceRanking); Estimated is true when
	// energy would be estimated rather than measured.
	BestSource string `json:"best_source"`
	// Estimated is true when energy would be estimated rather than measured.
	Estimated bool `json:"estimated"`
	// FallbackReasons say why better energy sources are not available.
	FallbackReasons []string `json:"fallback_reasons,omitempty"`
	// Hints say how to get better measurements, one action each.
	Hints []string `json:"hints,omitempty"`
	// Engines lists each engine and whether it can run here.
	Engines []EngineStatus `json:"engines,omitempty"`
}

// Domain names one measured domain: a GPU, a CPU package, DRAM.
type Domain struct {
	// Kind is gpu, cpu_package, dram or cpu (an estimate).
	Kind string `json:"kind"`
	// Index numbers domains of one kind (GPU or socket index).
	Index int `json:"index"`
	// Name is the device's name, where known.
	Name string `json:"name,omitempty"`
}

// DomainSource is the energy source one domain would be measured with.
type DomainSource struct {
	// Domain is the measured domain.
	Domain Domain `json:"domain"`
	// Source is nvml_energy_counter, nvml_power_integration, rapl or estimated.
	Source string `json:"source"`
}

// EngineStatus is one engine's availability on this machine.
type EngineStatus struct {
	// Name is the engine's name.
	Name string `json:"name"`
	// Available is true when the engine can run on this machine.
	Available bool `json:"available"`
	// Version is the engine's version, where known.
	Version string `json:"version,omitempty"`
	// Hint says how to make an unavailable engine available.
	Hint string `json:"hint,omitempty"`
}

// PythonBackend is what this machine offers one Python backend.
type PythonBackend struct {
	// Backend is the Python backend: pytorch, vllm or tensorrt.
	Backend config.Backend `json:"backend"`
	// Where names the Python: an interpreter path or a container image.
	Where string `json:"where"`
	// Versions are the versions of the packages found, by package name.
	Versions map[string]string `json:"versions,omitempty"`
	// GPUs are the GPUs the backend sees, by name.
	GPUs []string `json:"gpus,omitempty"`
	// Problems are what the backend lacks; empty when it can run.
	Problems []PythonProblem `json:"problems,omitempty"`
}

// PythonProblem is one thing a Python backend lacks, with its fix.
type PythonProblem struct {
	// What is the missing or broken thing.
	What string `json:"what"`
	// Fix says how to fix it.
	Fix string `json:"fix"`
}

// OK reports whether the backend can run.
func (p PythonBackend) OK() bool { return len(p.Problems) == 0 }

// Err is nil when the backend can run, otherwise an error listing every
// problem with its fix.
func (p PythonBackend) Err() error {
	if p.OK() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "backend %s cannot run (%s):", p.Backend, p.Where)
	for _, pr := range p.Problems {
		fmt.Fprintf(&b, "\n  - %s; fix: %s", pr.What, pr.Fix)
	}
	return errors.New(b.String())
}
