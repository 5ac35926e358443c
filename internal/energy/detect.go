package energy

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/llenergymeasure/llem/results"
)

// DetectOptions configures Detect. The zero value detects everything on
// the real machine.
type DetectOptions struct {
	// PowercapRoot is the RAPL powercap folder; DefaultPowercapRoot when empty.
	PowercapRoot string
	// PowercapFS, when set, is read instead of PowercapRoot (tests).
	PowercapFS fs.FS
	// DisableNVML skips NVML (CPU-only runs, or to force RAPL).
	DisableNVML bool
	// NVMLDevices selects GPUs by NVML index; all when empty.
	NVMLDevices []int
	// CPUTDPWatts is the user config's cpu_tdp_watts, for the estimate.
	CPUTDPWatts float64
	// CPUModel is the CPU model name for the estimate's TDP table; read
	// from the machine when empty.
	CPUModel string
	// PIDs are this run's other processes (an engine's child): their CPU
	// time counts in the estimate, and on a GPU they are not "foreign".
	PIDs []int
	// OpenNVML opens the NVML sampler; the package's OpenNVML when nil
	// (tests pass a function over go-nvml's mock).
	OpenNVML func(NVMLOptions) (Sampler, error)
}

// DomainSource says which source measures a domain.
type DomainSource struct {
	Domain Domain `json:"domain"`
	Source Source `json:"source"`
}

// Detected is the outcome of Detect: what to sample and why.
type Detected struct {
	// Samplers to record, best source first.
	Samplers []Sampler
	// Sources names the source of every domain, in sampler order.
	Sources []DomainSource
	// FallbackReasons says why better sources were not used, one line each
	// (the result's energy.fallback_reasons).
	FallbackReasons []string
	// Warnings raised by the choice (e.g. energy_estimated, gpu_shared).
	Warnings []results.Warning
}

// Estimated is true when any domain is estimated.
func (d *Detected) Estimated() bool {
	for _, s := range d.Sources {
		if s.Source == SourceEstimate {
			return true
		}
	}
	return false
}

// BestSource is the best source among the domains ("" when there are none).
func (d *Detected) BestSource() Source {
	for _, o := range results.SourceRanking() {
		for _, s := range d.Sources {
			if string(s.Source) == o {
				return Source(o)
			}
		}
	}
	return ""
}

// Detect walks the fallback chain NVML energy counter → NVML power
// integration → RAPL → estimate. GPUs are measured by NVML and CPU package
// and DRAM by RAPL, each where available; the estimate is used only when
// neither measures anything, so a figure is never half measured and half
// guessed. Every source not used leaves its reason in FallbackReasons.
func Detect(ctx context.Context, opts DetectOptions) (*Detected, error) {
	det := &Detected{}
	if opts.DisableNVML {
		det.FallbackReasons = append(det.FallbackReasons, "gpu: NVML disabled by configuration")
	} else {
		open := opts.OpenNVML
		if open == nil {
			open = OpenNVML
		}
		s, err := open(NVMLOptions{Devices: opts.NVMLDevices, OwnPIDs: opts.PIDs})
		if err != nil {
			det.FallbackReasons = append(det.FallbackReasons, "gpu: "+err.Error())
		} else {
			det.add(s)
		}
	}
	rapl, err := OpenRAPL(RAPLOptions{Root: opts.PowercapRoot, FS: opts.PowercapFS})
	if err != nil {
		det.FallbackReasons = append(det.FallbackReasons, "cpu: RAPL unavailable: "+err.Error())
	} else {
		det.add(rapl)
	}
	if len(det.Samplers) > 0 {
		if rapl == nil {
			det.FallbackReasons = append(det.FallbackReasons, "cpu: CPU and DRAM energy not included (no RAPL)")
		}
		return det, nil
	}
	model := opts.CPUModel
	if model == "" {
		if infos, err := cpu.InfoWithContext(ctx); err == nil && len(infos) > 0 {
			model = infos[0].ModelName
		}
	}
	est, err := NewEstimateSampler(EstimateOptions{TDPWatts: opts.CPUTDPWatts, CPUModel: model, PIDs: opts.PIDs})
	if err != nil {
		return nil, fmt.Errorf("no energy source: every sensor failed and the estimate too: %w", err)
	}
	det.FallbackReasons = append(det.FallbackReasons, "estimate: no NVML GPU and no readable RAPL: energy estimated from CPU time ("+est.Basis()+")")
	det.add(est)
	return det, nil
}

// add records sampler s with its domains' sources, fallback reasons and
// warnings.
func (d *Detected) add(s Sampler) {
	d.Samplers = append(d.Samplers, s)
	src := samplerSources(s)
	for i, dom := range s.Domains() {
		d.Sources = append(d.Sources, DomainSource{Domain: dom, Source: src[i]})
	}
	if f, ok := s.(FallbackReporter); ok && f.FallbackReason() != nil {
		for _, e := range unjoin(f.FallbackReason()) {
			d.FallbackReasons = append(d.FallbackReasons, s.Name()+": "+e.Error())
		}
	}
	if w, ok := s.(Warner); ok {
		d.Warnings = append(d.Warnings, w.Warnings()...)
	}
}

// samplerSources reads each domain's source from one reading; a sampler
// whose read fails is labelled by its name.
func samplerSources(s Sampler) []Source {
	ds := s.Domains()
	out := make([]Source, len(ds))
	if r, err := s.Read(); err == nil && len(r.Domains) == len(ds) {
		for i, d := range r.Domains {
			out[i] = d.Source
		}
		return out
	}
	for i := range out {
		out[i] = Source(s.Name())
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
