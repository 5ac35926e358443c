package envsnap

import (
	"context"
	"errors"
	"fmt"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

// ProbeOptions configures Probe.
type ProbeOptions struct {
	Options
	// Energy configures the detection of energy sources.
	Energy energy.DetectOptions
}

// Probe reports the machine and what llem would measure on it. The energy
// samplers it opens to find out are stopped before it returns.
func Probe(ctx context.Context, opts ProbeOptions) (results.MachineReport, error) {
	if opts.Energy.PowercapRoot == "" {
		opts.Energy.PowercapRoot = opts.PowercapRoot
	}
	snap, gpuErr := take(ctx, opts.Options)
	det, err := energy.Detect(ctx, opts.Energy)
	if err != nil {
		return results.MachineReport{}, fmt.Errorf("probe energy sensors: %w", err)
	}
	var stopErrs []error
	for _, s := range det.Samplers {
		stopErrs = append(stopErrs, s.Stop())
	}
	r := results.MachineReport{
		Environment:     snap,
		BestSource:      string(det.BestSource()),
		Estimated:       det.Estimated(),
		FallbackReasons: det.FallbackReasons,
	}
	for _, ds := range det.Sources {
		r.EnergySources = append(r.EnergySources, results.DomainSource{
			Domain: results.Domain{Kind: string(ds.Domain.Kind), Index: ds.Domain.Index, Name: ds.Domain.Name},
			Source: string(ds.Source),
		})
	}
	r.Hints = hints(opts, gpuErr, det)
	return r, errors.Join(stopErrs...)
}

// hints turns what is missing into actions.
func hints(opts ProbeOptions, gpuErr error, det *energy.Detected) []string {
	var hs []string
	switch {
	case opts.Energy.DisableNVML:
	case gpuErr != nil:
		hs = append(hs, "no NVIDIA driver or GPU ("+gpuErr.Error()+"): GPU energy unavailable; install the NVIDIA driver to measure GPU runs")
	}
	for _, ds := range det.Sources {
		if ds.Source == energy.SourceNVMLIntegration {
			hs = append(hs, fmt.Sprintf("GPU %d has no total energy counter (pre-Volta or unsupported): power samples are integrated; use a 100 ms or shorter sampling interval", ds.Domain.Index))
		}
	}
	_, raplErr := energy.OpenRAPL(energy.RAPLOptions{Root: opts.Energy.PowercapRoot, FS: opts.Energy.PowercapFS})
	switch {
	case raplErr == nil:
	case errors.Is(raplErr, energy.ErrRAPLPermission):
		hs = append(hs, "RAPL not readable: "+raplErr.Error())
	default:
		hs = append(hs, "RAPL not available ("+raplErr.Error()+"): CPU and DRAM energy cannot be measured on this machine")
	}
	if det.Estimated() {
		hint := "energy will be ESTIMATED from CPU time, not measured"
		if opts.Energy.CPUTDPWatts == 0 {
			hint += "; set cpu_tdp_watts in the user config to your CPU's TDP for a better estimate"
		}
		hs = append(hs, hint)
	}
	for _, w := range det.Warnings {
		if w.Code == results.WarnPersistenceOff || w.Code == results.WarnGPUShared {
			hs = append(hs, w.Message)
		}
	}
	return hs
}
