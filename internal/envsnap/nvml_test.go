//go:build cgo

package envsnap

import (
	"errors"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

func TestQueryNVMLMock(t *testing.T) {
	h100 := &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return "NVIDIA H100 80GB HBM3", nvml.SUCCESS },
		GetUUIDFunc: func() (string, nvml.Return) { return "GPU-1234", nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 80 << 30}, nvml.SUCCESS
		},
		GetPowerManagementLimitFunc: func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS },
		GetMaxClockInfoFunc: func(c nvml.ClockType) (uint32, nvml.Return) {
			return map[nvml.ClockType]uint32{nvml.CLOCK_SM: 1980, nvml.CLOCK_MEM: 2619}[c], nvml.SUCCESS
		},
		GetPersistenceModeFunc:        func() (nvml.EnableState, nvml.Return) { return nvml.FEATURE_DISABLED, nvml.SUCCESS },
		GetCudaComputeCapabilityFunc:  func() (int, int, nvml.Return) { return 9, 0, nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) { return 123, nvml.SUCCESS },
	}
	lib := &mock.Interface{
		InitFunc:                       func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:                   func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc:     func() (string, nvml.Return) { return "550.54.15", nvml.SUCCESS },
		SystemGetCudaDriverVersionFunc: func() (int, nvml.Return) { return 12040, nvml.SUCCESS },
		DeviceGetCountFunc:             func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc:     func(int) (nvml.Device, nvml.Return) { return h100, nvml.SUCCESS },
	}
	r, err := queryNVMLWith(lib)
	if err != nil {
		t.Fatal(err)
	}
	want := results.GPUInfo{Index: 0, Name: "NVIDIA H100 80GB HBM3", UUID: "GPU-1234", MemoryTotalMB: 81920, PowerLimitW: 700,
		SMClockMaxMHz: 1980, MemClockMaxMHz: 2619, PersistenceMode: "disabled", ComputeCap: "9.0"}
	if len(r.GPUs) != 1 || r.GPUs[0] != want {
		t.Errorf("GPUs = %+v, want %+v", r.GPUs, want)
	}
	if r.DriverVersion != "550.54.15" || r.CUDADriverVersion != "12.4" || len(r.EnergyCounter) != 1 || !r.EnergyCounter[0] {
		t.Errorf("report = %+v", r)
	}
	if len(lib.ShutdownCalls()) != 1 {
		t.Error("NVML not shut down")
	}

	notFound := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	if _, err := queryNVMLWith(notFound); !errors.Is(err, energy.ErrNoNVML) {
		t.Errorf("no library: err = %v", err)
	}
	// On this machine the real query must fail cleanly or succeed, never crash.
	if _, err := QueryNVML(t.Context()); err != nil && !errors.Is(err, energy.ErrNoNVML) {
		t.Errorf("real QueryNVML: %v", err)
	}
}
