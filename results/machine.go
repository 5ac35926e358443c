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
	Environment EnvironmentSnapshot `json:"environment"`
	// EnergySources is the source each domain would use.
	EnergySources []DomainSource `json:"energy_sources"`
	// BestSource is the best of them (SourceRanking); Estimated is true when
	// energy would be estimated rather than measured.
	BestSource      string   `json:"best_source"`
	Estimated       bool     `json:"estimated"`
	FallbackReasons []string `json:"fallback_reasons,omitempty"`
	// Hints say how to get better measurements, one action each.
	Hints   []string       `json:"hints,omitempty"`
	Engines []EngineStatus `json:"engines,omitempty"`
}

// Domain names one measured domain: a GPU, a CPU package, DRAM.
type Domain struct {
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	Name  string `json:"name,omitempty"`
}

// DomainSource is the energy source one domain would be measured with.
type DomainSource struct {
	Domain Domain `json:"domain"`
	Source string `json:"source"`
}

// EngineStatus is one engine's availability on this machine.
type EngineStatus struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Version   string `json:"version,omitempty"`
	Hint      string `json:"hint,omitempty"`
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

// PythonProblem is one thing a Python backend lacks, with its fix.
type PythonProblem struct {
	What string `json:"what"`
	Fix  string `json:"fix"`
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
