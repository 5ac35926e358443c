//go:build cgo

package energy

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/llenergymeasure/llem/results"
)

// fakeGPU is the state a test drives behind go-nvml's mock device.
type fakeGPU struct {
	mu          sync.Mutex
	energyMJ    uint64
	counterRet  nvml.Return
	powerMW     uint32
	persistence nvml.EnableState
	compute     []nvml.ProcessInfo
	graphics    []nvml.ProcessInfo
	throttle    uint64
}

func (g *fakeGPU) set(f func(g *fakeGPU)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

// device returns a mock device with every function the sampler calls set.
func (g *fakeGPU) device(name string) *mock.Device {
	lock := func() func() { g.mu.Lock(); return g.mu.Unlock }
	return &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return name, nvml.SUCCESS },
		GetTotalEnergyConsumptionFunc: func() (uint64, nvml.Return) {
			defer lock()()
			return g.energyMJ, g.counterRet
		},
		GetPowerUsageFunc: func() (uint32, nvml.Return) {
			defer lock()()
			return g.powerMW, nvml.SUCCESS
		},
		GetPersistenceModeFunc: func() (nvml.EnableState, nvml.Return) { return g.persistence, nvml.SUCCESS },
		GetComputeRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			defer lock()()
			return g.compute, nvml.SUCCESS
		},
		GetGraphicsRunningProcessesFunc: func() ([]nvml.ProcessInfo, nvml.Return) {
			defer lock()()
			return g.graphics, nvml.SUCCESS
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 61, nvml.SUCCESS },
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: 97, Memory: 40}, nvml.SUCCESS
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: 80 << 30, Used: 12 << 30}, nvml.SUCCESS
		},
		GetClockInfoFunc: func(nvml.ClockType) (uint32, nvml.Return) { return 1980, nvml.SUCCESS },
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) {
			defer lock()()
			return g.throttle, nvml.SUCCESS
		},
	}
}

// mockNVML is a mock library over gpus.
func mockNVML(gpus ...*fakeGPU) *mock.Interface {
	devs := make([]*mock.Device, len(gpus))
	for i, g := range gpus {
		devs[i] = g.device("NVIDIA H100 80GB HBM3")
	}
	return &mock.Interface{
		InitFunc:           func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:       func() nvml.Return { return nvml.SUCCESS },
		DeviceGetCountFunc: func() (int, nvml.Return) { return len(devs), nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(i int) (nvml.Device, nvml.Return) {
			if i < 0 || i >= len(devs) {
				return nil, nvml.ERROR_INVALID_ARGUMENT
			}
			return devs[i], nvml.SUCCESS
		},
	}
}

// fakeClock is a settable clock for the recorder.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// recordWindow opens a window, lets step change the GPUs over d, closes it.
func recordWindow(t *testing.T, s Sampler, clock *fakeClock, d time.Duration, step func()) WindowResult {
	t.Helper()
	rec, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	w := rec.OpenWindow()
	clock.Add(d)
	step()
	res := w.Close()
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if errs := rec.ReadErrors(); len(errs) > 0 {
		t.Fatalf("read errors: %v", errs)
	}
	return res
}

func TestNVMLCounterSupported(t *testing.T) {
	gpu := &fakeGPU{energyMJ: 5_000_000, powerMW: 200_000, persistence: nvml.FEATURE_ENABLED}
	s, err := openNVMLWith(mockNVML(gpu), NVMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.FallbackReason() != nil {
		t.Errorf("FallbackReason = %v, want nil with a counter", s.FallbackReason())
	}
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	d := r.Domains[0]
	if d.Source != SourceNVMLCounter || !d.HasEnergy || d.EnergyUJ != 5_000_000_000 || d.MaxEnergyUJ != 0 ||
		d.PowerW != 200 || d.TempC != 61 || d.UtilizationPct != 97 || d.MemoryUsedMB != 12*1024 || d.SMClockMHz != 1980 {
		t.Errorf("reading = %+v", d)
	}
	clock := newClock()
	res := recordWindow(t, s, clock, 10*time.Second, func() {
		gpu.set(func(g *fakeGPU) { g.energyMJ += 2_000_000 }) // 2000 J at 200 W over 10 s
	})
	dw := res.Domains[0]
	if dw.Energy != 2000*Joule || dw.CounterEnergy != 2000*Joule || dw.IntegratedEnergy != 2000*Joule || !dw.HasIntegrated {
		t.Errorf("window = %+v", dw)
	}
	if dw.PathsDisagree || dw.TooShort || dw.AvgPowerW != 200 || dw.PeakPowerW != 200 {
		t.Errorf("window flags = %+v", dw)
	}
	if ws := s.Warnings(); len(ws) != 0 {
		t.Errorf("warnings = %v, want none", ws)
	}
}

func TestNVMLCounterUnsupportedIntegrates(t *testing.T) {
	gpu := &fakeGPU{counterRet: nvml.ERROR_NOT_SUPPORTED, powerMW: 100_000, persistence: nvml.FEATURE_DISABLED}
	s, err := openNVMLWith(mockNVML(gpu), NVMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reason := s.FallbackReason()
	if reason == nil || !strings.Contains(reason.Error(), "GPU 0: total energy counter unavailable (ERROR_NOT_SUPPORTED)") {
		t.Fatalf("FallbackReason = %v", reason)
	}
	clock := newClock()
	res := recordWindow(t, s, clock, 10*time.Second, func() {
		gpu.set(func(g *fakeGPU) { g.powerMW = 300_000 })
	})
	dw := res.Domains[0]
	if dw.Source != SourceNVMLIntegration || dw.HasCounter || !dw.HasIntegrated || dw.Energy != 2000*Joule || dw.PeakPowerW != 300 {
		t.Errorf("window = %+v, want 2000 J integrated from 100→300 W over 10 s", dw)
	}
	ws := s.Warnings()
	if len(ws) != 1 || ws[0].Code != results.WarnPersistenceOff {
		t.Errorf("warnings = %v, want persistence_mode_off", ws)
	}

	det, err := Detect(t.Context(), DetectOptions{
		OpenNVML:     func(o NVMLOptions) (Sampler, error) { return openNVMLWith(mockNVML(gpu), o) },
		PowercapRoot: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(det.FallbackReasons, "\n")
	if det.BestSource() != SourceNVMLIntegration || !strings.Contains(all, "nvml: GPU 0: total energy counter unavailable") ||
		!strings.Contains(all, "cpu: CPU and DRAM energy not included") {
		t.Errorf("detect: best %q, reasons:\n%s", det.BestSource(), all)
	}
}

func TestNVMLPathsDisagree(t *testing.T) {
	gpu := &fakeGPU{energyMJ: 1, powerMW: 300_000, persistence: nvml.FEATURE_ENABLED}
	s, err := openNVMLWith(mockNVML(gpu), NVMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := recordWindow(t, s, newClock(), 10*time.Second, func() {
		gpu.set(func(g *fakeGPU) { g.energyMJ += 2_000_000; g.throttle = 0x1 | 0x4 })
	})
	dw := res.Domains[0]
	if !dw.PathsDisagree || dw.Energy != 2000*Joule || dw.IntegratedEnergy != 3000*Joule {
		t.Fatalf("window = %+v, want counter 2000 J vs integral 3000 J flagged", dw)
	}
	ws := WindowWarnings(res)
	if len(ws) != 1 || ws[0].Code != results.WarnEnergyMismatch || !strings.Contains(ws[0].Message, "33.3%") {
		t.Errorf("warnings = %v", ws)
	}
}

func TestNVMLForeignProcessWarns(t *testing.T) {
	me := uint32(os.Getpid())
	gpu := &fakeGPU{energyMJ: 1, powerMW: 1000, persistence: nvml.FEATURE_ENABLED,
		compute:  []nvml.ProcessInfo{{Pid: me}, {Pid: 4242}, {Pid: 777}},
		graphics: []nvml.ProcessInfo{{Pid: 4242}, {Pid: 31337}}}
	s, err := openNVMLWith(mockNVML(gpu), NVMLOptions{OwnPIDs: []int{777}})
	if err != nil {
		t.Fatal(err)
	}
	ws := s.Warnings()
	if len(ws) != 1 || ws[0].Code != results.WarnGPUShared {
		t.Fatalf("warnings = %v, want one gpu_shared", ws)
	}
	if !strings.Contains(ws[0].Message, "PIDs 4242, 31337") {
		t.Errorf("message %q should name the foreign PIDs only", ws[0].Message)
	}
}

func TestNVMLDeviceFilterAndNoGPU(t *testing.T) {
	a, b := &fakeGPU{energyMJ: 1, powerMW: 1}, &fakeGPU{energyMJ: 1, powerMW: 1}
	s, err := openNVMLWith(mockNVML(a, b), NVMLOptions{Devices: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if ds := s.Domains(); len(ds) != 1 || ds[0].Index != 1 {
		t.Errorf("domains = %v, want GPU 1 only", ds)
	}
	if _, err := openNVMLWith(mockNVML(), NVMLOptions{}); !errors.Is(err, ErrNoNVML) {
		t.Errorf("no GPU: err = %v, want ErrNoNVML", err)
	}
}

func TestNVMLLibraryNotFound(t *testing.T) {
	lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
	_, err := openNVMLWith(lib, NVMLOptions{})
	if !errors.Is(err, ErrNoNVML) || !strings.Contains(err.Error(), "no NVIDIA driver") {
		t.Fatalf("err = %v", err)
	}
	// The real library on a machine without a driver says the same.
	if _, err := OpenNVML(NVMLOptions{}); err != nil && !errors.Is(err, ErrNoNVML) {
		t.Fatalf("real OpenNVML: %v", err)
	}
}
