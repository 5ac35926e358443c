package energy

import (
	"errors"
	"time"
)

// ErrNoNVML says NVML cannot be used: no NVIDIA driver, no GPU, or a build
// without cgo.
var ErrNoNVML = errors.New("NVML unavailable")

// nvmlSensorPeriod is taken as NVML's update period for energy and power
// (the driver refreshes them every few tens of milliseconds on recent
// boards; power may be a 1 s average on Ampere and later).
const nvmlSensorPeriod = 100 * time.Millisecond

// NVMLOptions configures the NVML sampler.
type NVMLOptions struct {
	// Devices selects GPUs by NVML index; all GPUs when empty.
	Devices []int
	// OwnPIDs are processes that belong to this run (the engine's child)
	// besides this one: they do not make a GPU "shared".
	OwnPIDs []int
}

func (o NVMLOptions) wants(index int) bool {
	if len(o.Devices) == 0 {
		return true
	}
	for _, d := range o.Devices {
		if d == index {
			return true
		}
	}
	return false
}
