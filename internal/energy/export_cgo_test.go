//go:build cgo

package energy

import (
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// OpenMockNVML opens the NVML sampler over go-nvml's mock with one GPU
// whose counter grows with every read; counter false makes the counter
// unsupported so the sampler integrates power.
func OpenMockNVML(t *testing.T, counter bool) Sampler {
	t.Helper()
	g := &fakeGPU{powerMW: 250_000, persistence: nvml.FEATURE_ENABLED}
	if !counter {
		g.counterRet = nvml.ERROR_NOT_SUPPORTED
	}
	d := g.device("mock GPU")
	energy := d.GetTotalEnergyConsumptionFunc
	d.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) {
		g.set(func(g *fakeGPU) { g.energyMJ += 25 })
		return energy()
	}
	lib := mockNVML()
	lib.DeviceGetCountFunc = func() (int, nvml.Return) { return 1, nvml.SUCCESS }
	lib.DeviceGetHandleByIndexFunc = func(int) (nvml.Device, nvml.Return) { return d, nvml.SUCCESS }
	s, err := openNVMLWith(lib, NVMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
