//go:build cgo

package energy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/llenergymeasure/llem/results"
)

// NVMLSampler reads NVIDIA GPUs through NVML: the total energy counter
// (mJ, Volta and later) where the GPU supports it, else instantaneous
// power (mW) for the recorder to integrate; and per GPU temperature,
// utilisation, memory used, SM clock and clock event (throttle) reasons.
// It also looks for processes on the GPUs that are not this run's.
type NVMLSampler struct {
	lib      nvml.Interface
	gpus     []nvmlGPU
	ownPIDs  []int
	fallback error

	mu       sync.Mutex
	foreign  map[int][]uint32 // GPU index → foreign PIDs seen
	warnings []results.Warning
}

var (
	_ Sampler          = (*NVMLSampler)(nil)
	_ SensorPeriodic   = (*NVMLSampler)(nil)
	_ Warner           = (*NVMLSampler)(nil)
	_ FallbackReporter = (*NVMLSampler)(nil)
)

type nvmlGPU struct {
	index   int
	name    string
	dev     nvml.Device
	counter bool
}

// OpenNVML initialises NVML and selects, per GPU, the energy counter or
// power integration. Without an NVIDIA driver it returns ErrNoNVML with the
// reason; it never crashes.
func OpenNVML(opts NVMLOptions) (Sampler, error) {
	s, err := openNVMLWith(nvml.New(), opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func nvmlErr(what string, ret nvml.Return) error {
	return fmt.Errorf("%s: %s", what, ret.Error())
}

// openNVMLWith opens the sampler over lib (go-nvml's mock in tests).
func openNVMLWith(lib nvml.Interface, opts NVMLOptions) (*NVMLSampler, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return nil, fmt.Errorf("%w: libnvidia-ml.so.1 not found (no NVIDIA driver): GPU energy unavailable", ErrNoNVML)
		}
		return nil, fmt.Errorf("%w: %w", ErrNoNVML, nvmlErr("NVML init", ret))
	}
	s := &NVMLSampler{lib: lib, ownPIDs: append([]int{os.Getpid()}, opts.OwnPIDs...), foreign: map[int][]uint32{}}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		lib.Shutdown()
		return nil, fmt.Errorf("%w: %w", ErrNoNVML, nvmlErr("count GPUs", ret))
	}
	var reasons, excluded []error
	for i := 0; i < n; i++ {
		if !opts.wants(i) {
			continue
		}
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			excluded = append(excluded, nvmlErr(fmt.Sprintf("GPU %d: get handle", i), ret))
			continue
		}
		g := nvmlGPU{index: i, dev: dev}
		g.name, _ = dev.GetName()
		if _, ret := dev.GetTotalEnergyConsumption(); ret == nvml.SUCCESS {
			g.counter = true
		} else if _, pret := dev.GetPowerUsage(); pret == nvml.SUCCESS {
			reasons = append(reasons, fmt.Errorf("GPU %d: total energy counter unavailable (%s): using power samples integrated", i, ret.Error()))
		} else {
			excluded = append(excluded, fmt.Errorf("GPU %d: neither energy counter (%s) nor power (%s) readable", i, ret.Error(), pret.Error()))
			continue
		}
		if mode, ret := dev.GetPersistenceMode(); ret == nvml.SUCCESS && mode == nvml.FEATURE_DISABLED {
			s.warnings = append(s.warnings, PersistenceOffWarning(i))
		}
		s.gpus = append(s.gpus, g)
	}
	if len(s.gpus) == 0 {
		lib.Shutdown()
		if n == 0 {
			return nil, fmt.Errorf("%w: NVML found no GPU", ErrNoNVML)
		}
		return nil, fmt.Errorf("%w: no usable GPU among %d: %w", ErrNoNVML, n, errors.Join(excluded...))
	}
	s.fallback = errors.Join(append(reasons, excluded...)...)
	s.checkProcesses()
	return s, nil
}

// Name returns "nvml".
func (s *NVMLSampler) Name() string { return "nvml" }

// Domains lists one GPU domain per selected GPU.
func (s *NVMLSampler) Domains() []Domain {
	ds := make([]Domain, len(s.gpus))
	for i, g := range s.gpus {
		ds[i] = Domain{Kind: DomainGPU, Index: g.index, Name: g.name}
	}
	return ds
}

// SensorPeriod is NVML's update period.
func (s *NVMLSampler) SensorPeriod() time.Duration { return nvmlSensorPeriod }

// FallbackReason says which GPUs use power integration, or were left out,
// and why; nil when every GPU has its energy counter.
func (s *NVMLSampler) FallbackReason() error { return s.fallback }

// Start looks for foreign processes on the GPUs.
func (s *NVMLSampler) Start(context.Context) error {
	s.checkProcesses()
	return nil
}

// Stop looks for foreign processes again and shuts NVML down.
func (s *NVMLSampler) Stop() error {
	s.checkProcesses()
	if ret := s.lib.Shutdown(); ret != nvml.SUCCESS {
		return nvmlErr("NVML shutdown", ret)
	}
	return nil
}

// checkProcesses records compute and graphics processes on each GPU that
// are not this run's.
func (s *NVMLSampler) checkProcesses() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.gpus {
		var procs []nvml.ProcessInfo
		if ps, ret := g.dev.GetComputeRunningProcesses(); ret == nvml.SUCCESS {
			procs = append(procs, ps...)
		}
		if ps, ret := g.dev.GetGraphicsRunningProcesses(); ret == nvml.SUCCESS {
			procs = append(procs, ps...)
		}
		for _, p := range procs {
			if !slices.Contains(s.ownPIDs, int(p.Pid)) && !slices.Contains(s.foreign[g.index], p.Pid) {
				s.foreign[g.index] = append(s.foreign[g.index], p.Pid)
			}
		}
	}
}

// Warnings returns persistence-mode and shared-GPU warnings.
func (s *NVMLSampler) Warnings() []results.Warning {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := append([]results.Warning(nil), s.warnings...)
	for _, g := range s.gpus {
		if pids := s.foreign[g.index]; len(pids) > 0 {
			ws = append(ws, GPUSharedWarning(g.index, pids))
		}
	}
	return ws
}

// Read returns each GPU's energy counter (µJ) or power, and its state.
// A GPU whose energy or power cannot be read fails the read; the other
// figures are best effort.
func (s *NVMLSampler) Read() (Reading, error) {
	r := Reading{Time: time.Now(), Domains: make([]DomainReading, len(s.gpus))}
	for i, g := range s.gpus {
		d := DomainReading{Domain: Domain{Kind: DomainGPU, Index: g.index, Name: g.name}, Source: SourceNVMLIntegration}
		if g.counter {
			mj, ret := g.dev.GetTotalEnergyConsumption()
			if ret != nvml.SUCCESS {
				return Reading{}, nvmlErr(fmt.Sprintf("GPU %d: read energy counter", g.index), ret)
			}
			d.Source, d.EnergyUJ, d.HasEnergy = SourceNVMLCounter, mj*uint64(Millijoule), true
		}
		mw, ret := g.dev.GetPowerUsage()
		switch {
		case ret == nvml.SUCCESS:
			d.PowerW, d.HasPower = float64(mw)/1000, true
		case !g.counter:
			return Reading{}, nvmlErr(fmt.Sprintf("GPU %d: read power", g.index), ret)
		}
		if t, ret := g.dev.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			d.TempC, d.HasTemp = float64(t), true
		}
		if u, ret := g.dev.GetUtilizationRates(); ret == nvml.SUCCESS {
			d.UtilizationPct, d.HasGPUStats = float64(u.Gpu), true
		}
		if m, ret := g.dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			d.MemoryUsedMB, d.HasGPUStats = float64(m.Used)/(1<<20), true
		}
		if c, ret := g.dev.GetClockInfo(nvml.CLOCK_SM); ret == nvml.SUCCESS {
			d.SMClockMHz = c
		}
		if reasons, ret := g.dev.GetCurrentClocksEventReasons(); ret == nvml.SUCCESS {
			d.ThrottleReasons = reasons
		}
		r.Domains[i] = d
	}
	return r, nil
}
