//go:build cgo

package gpucontrol

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Open initialises NVML and returns a Controller over the GPUs with the
// given NVML indices (all when empty). Without an NVIDIA driver or GPU the
// error wraps ErrUnavailable.
func Open(devices []int) (Controller, error) {
	c, err := OpenWith(nvml.New(), devices)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// OpenWith opens the Controller over lib: go-nvml's library, or its mock
// in tests.
func OpenWith(lib nvml.Interface, devices []int) (*NVML, error) {
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND {
			return nil, fmt.Errorf("%w (libnvidia-ml.so.1 not found)", ErrUnavailable)
		}
		return nil, fmt.Errorf("%w (NVML init: %s)", ErrUnavailable, ret.Error())
	}
	n, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		lib.Shutdown()
		return nil, fmt.Errorf("%w (count GPUs: %s)", ErrUnavailable, ret.Error())
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	c := &NVML{lib: lib, devs: map[int]nvml.Device{}}
	for _, i := range Selected(all, devices) {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			lib.Shutdown()
			return nil, fmt.Errorf("GPU %d: get handle: %w", i, wrap(ret))
		}
		c.devs[i] = dev
		c.gpus = append(c.gpus, i)
	}
	if len(c.gpus) == 0 {
		lib.Shutdown()
		return nil, fmt.Errorf("%w (NVML found no GPU)", ErrUnavailable)
	}
	return c, nil
}

// NVML is the Controller over go-nvml.
type NVML struct {
	lib  nvml.Interface
	devs map[int]nvml.Device
	gpus []int
}

var _ Controller = (*NVML)(nil)

// wrap turns an NVML return code into an error, ErrNoPermission or
// ErrNotSupported where it is one of those.
func wrap(ret nvml.Return) error {
	switch ret {
	case nvml.SUCCESS:
		return nil
	case nvml.ERROR_NO_PERMISSION:
		return fmt.Errorf("%w (NVML: %s)", ErrNoPermission, ret.Error())
	case nvml.ERROR_NOT_SUPPORTED:
		return fmt.Errorf("%w (NVML: %s)", ErrNotSupported, ret.Error())
	}
	return fmt.Errorf("NVML: %s", ret.Error())
}

func (c *NVML) dev(gpu int) (nvml.Device, error) {
	d, ok := c.devs[gpu]
	if !ok {
		return nil, fmt.Errorf("GPU %d is not controlled here", gpu)
	}
	return d, nil
}

func clockType(k Clock) nvml.ClockType {
	if k == MemoryClock {
		return nvml.CLOCK_MEM
	}
	return nvml.CLOCK_SM
}

// GPUs lists the controlled GPUs.
func (c *NVML) GPUs() []int { return c.gpus }

// PowerLimit reads nvmlDeviceGetPowerManagementLimit.
func (c *NVML) PowerLimit(gpu int) (uint32, error) {
	d, err := c.dev(gpu)
	if err != nil {
		return 0, err
	}
	mw, ret := d.GetPowerManagementLimit()
	return mw, wrap(ret)
}

// PowerLimitRange reads the limit's constraints and default.
func (c *NVML) PowerLimitRange(gpu int) (uint32, uint32, uint32, error) {
	d, err := c.dev(gpu)
	if err != nil {
		return 0, 0, 0, err
	}
	lo, hi, ret := d.GetPowerManagementLimitConstraints()
	if ret != nvml.SUCCESS {
		return 0, 0, 0, wrap(ret)
	}
	def, ret := d.GetPowerManagementDefaultLimit()
	return lo, hi, def, wrap(ret)
}

// SetPowerLimit calls nvmlDeviceSetPowerManagementLimit.
func (c *NVML) SetPowerLimit(gpu int, mw uint32) error {
	d, err := c.dev(gpu)
	if err != nil {
		return err
	}
	return wrap(d.SetPowerManagementLimit(mw))
}

// Clock reads nvmlDeviceGetClockInfo.
func (c *NVML) Clock(gpu int, k Clock) (uint32, error) {
	d, err := c.dev(gpu)
	if err != nil {
		return 0, err
	}
	mhz, ret := d.GetClockInfo(clockType(k))
	return mhz, wrap(ret)
}

// MaxClock reads nvmlDeviceGetMaxClockInfo.
func (c *NVML) MaxClock(gpu int, k Clock) (uint32, error) {
	d, err := c.dev(gpu)
	if err != nil {
		return 0, err
	}
	mhz, ret := d.GetMaxClockInfo(clockType(k))
	return mhz, wrap(ret)
}

// LockClock calls nvmlDeviceSetGpuLockedClocks or
// nvmlDeviceSetMemoryLockedClocks with min = max = mhz.
func (c *NVML) LockClock(gpu int, k Clock, mhz uint32) error {
	d, err := c.dev(gpu)
	if err != nil {
		return err
	}
	if k == MemoryClock {
		return wrap(d.SetMemoryLockedClocks(mhz, mhz))
	}
	return wrap(d.SetGpuLockedClocks(mhz, mhz))
}

// UnlockClock calls nvmlDeviceResetGpuLockedClocks or
// nvmlDeviceResetMemoryLockedClocks.
func (c *NVML) UnlockClock(gpu int, k Clock) error {
	d, err := c.dev(gpu)
	if err != nil {
		return err
	}
	if k == MemoryClock {
		return wrap(d.ResetMemoryLockedClocks())
	}
	return wrap(d.ResetGpuLockedClocks())
}

// Close shuts NVML down.
func (c *NVML) Close() error { return wrap(c.lib.Shutdown()) }
