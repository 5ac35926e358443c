//go:build cgo

package envsnap

import (
	"context"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

// QueryNVML lists the GPUs through NVML. Without an NVIDIA driver it
// returns energy.ErrNoNVML with the reason.
func QueryNVML(ctx context.Context) (GPUReport, error) {
	return queryNVMLWith(nvml.New())
}

// queryNVMLWith queries lib (go-nvml's mock in tests).
func queryNVMLWith(lib nvml.Interface) (GPUReport, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return GPUReport{}, fmt.Errorf("%w: libnvidia-ml.so.1 not found (no NVIDIA driver)", energy.ErrNoNVML)
		}
		return GPUReport{}, fmt.Errorf("%w: NVML init: %s", energy.ErrNoNVML, ret.Error())
	}
	defer lib.Shutdown()
	var r GPUReport
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		r.DriverVersion = v
	}
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS && v > 0 {
		r.CUDADriverVersion = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return GPUReport{}, fmt.Errorf("%w: count GPUs: %s", energy.ErrNoNVML, ret.Error())
	}
	for i := 0; i < n; i++ {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		g := results.GPUInfo{Index: i, PersistenceMode: "unknown"}
		g.Name, _ = dev.GetName()
		g.UUID, _ = dev.GetUUID()
		if m, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			g.MemoryTotalMB = float64(m.Total) / (1 << 20)
		}
		if mw, ret := dev.GetPowerManagementLimit(); ret == nvml.SUCCESS {
			g.PowerLimitW = float64(mw) / 1000
		}
		if c, ret := dev.GetMaxClockInfo(nvml.CLOCK_SM); ret == nvml.SUCCESS {
			g.SMClockMaxMHz = c
		}
		if c, ret := dev.GetMaxClockInfo(nvml.CLOCK_MEM); ret == nvml.SUCCESS {
			g.MemClockMaxMHz = c
		}
		if p, ret := dev.GetPersistenceMode(); ret == nvml.SUCCESS {
			g.PersistenceMode = map[nvml.EnableState]string{nvml.FEATURE_ENABLED: "enabled", nvml.FEATURE_DISABLED: "disabled"}[p]
		}
		if major, minor, ret := dev.GetCudaComputeCapability(); ret == nvml.SUCCESS {
			g.ComputeCap = fmt.Sprintf("%d.%d", major, minor)
		}
		_, eret := dev.GetTotalEnergyConsumption()
		r.GPUs = append(r.GPUs, g)
		r.EnergyCounter = append(r.EnergyCounter, eret == nvml.SUCCESS)
	}
	return r, nil
}
