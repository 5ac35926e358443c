package energy

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/llenergymeasure/llem/results"
)

// DefaultWattsPerCPU is the estimate's power per busy logical CPU when
// neither the user's cpu_tdp_watts nor the CPU model table gives a TDP:
// CodeCarbon's 85 W fallback TDP spread over a typical 20-thread CPU,
// rounded to 4 W.
const DefaultWattsPerCPU = 4.0

// estimateSensorPeriod is the resolution of /proc/<pid>/stat CPU time
// (USER_HZ = 100 ticks per second).
const estimateSensorPeriod = 10 * time.Millisecond

// cpuTDPTable holds the TDP of common CPUs, matched by substring of the
// model name. It only has to be right in magnitude: the estimate is labelled.
var cpuTDPTable = []struct {
	model string
	watts float64
}{
	{"EPYC 9654", 360},
	{"EPYC 7763", 280},
	{"EPYC 7742", 225},
	{"Xeon(R) Platinum 8480", 350},
	{"Xeon(R) Platinum 8380", 270},
	{"Xeon(R) Gold 6338", 205},
	{"i9-13900K", 125},
	{"i7-12700", 65},
}

// EstimateOptions configures the estimate sampler.
type EstimateOptions struct {
	// TDPWatts is the CPU's TDP from user config (cpu_tdp_watts); 0 looks
	// the model up in a table, then falls back to DefaultWattsPerCPU.
	TDPWatts float64
	// CPUModel is the CPU's model name, for the table.
	CPUModel string
	// LogicalCPUs is the number of logical CPUs; 0 means runtime.NumCPU().
	LogicalCPUs int
	// PIDs are other processes (an engine's child) whose CPU time is
	// attributed to the run, besides this process.
	PIDs []int
	// ProcRoot is the proc filesystem for PIDs; "/proc" when empty.
	ProcRoot string
}

// EstimateSampler synthesises a cumulative energy counter for the CPU from
// CPU time, for machines where nothing can be read. Its figures are
// estimates: every reading carries SourceEstimate and Warnings always
// returns results.WarnEnergyEstimated.
//
// The formula:
//
//	energy(t) = cpu_seconds(t) × W_cpu
//	W_cpu     = TDP / logical CPUs   (TDP from cpu_tdp_watts, else the model table)
//	          = DefaultWattsPerCPU   (when no TDP is known)
//
// where cpu_seconds is user+system CPU time of this process (getrusage)
// plus that of the PIDs given. It is the power a fully loaded CPU draws,
// shared per busy logical CPU; idle power, memory and the rest of the
// machine are not in it.
type EstimateSampler struct {
	wattsPerCPU float64
	basis       string
	cpuTime     func() (time.Duration, error)

	procRoot string

	mu   sync.Mutex
	pfs  *procfs.FS
	pids []int
	last map[int]time.Duration // last CPU time seen per PID, so exits never go backwards
	base map[int]time.Duration // CPU time a PID had already used when it was added
}

var (
	_ Sampler        = (*EstimateSampler)(nil)
	_ SensorPeriodic = (*EstimateSampler)(nil)
	_ Warner         = (*EstimateSampler)(nil)
)

// NewEstimateSampler returns the estimate sampler for opts.
func NewEstimateSampler(opts EstimateOptions) (*EstimateSampler, error) {
	n := opts.LogicalCPUs
	if n <= 0 {
		n = runtime.NumCPU()
	}
	s := &EstimateSampler{last: map[int]time.Duration{}, base: map[int]time.Duration{}, procRoot: opts.ProcRoot}
	s.wattsPerCPU, s.basis = wattsPerCPU(opts.TDPWatts, opts.CPUModel, n)
	if s.procRoot == "" {
		s.procRoot = procfs.DefaultMountPoint
	}
	if len(opts.PIDs) > 0 {
		if err := s.openProc(); err != nil {
			return nil, err
		}
		s.pids = append([]int(nil), opts.PIDs...)
	}
	s.cpuTime = s.processCPUTime
	return s, nil
}

func (s *EstimateSampler) openProc() error {
	if s.pfs != nil {
		return nil
	}
	pfs, err := procfs.NewFS(s.procRoot)
	if err != nil {
		return fmt.Errorf("estimate sampler: open %s: %w", s.procRoot, err)
	}
	s.pfs = &pfs
	return nil
}

// AddPIDs attributes the CPU time of more processes to the estimate from
// now on (an engine's worker or server started after sampling began): the
// CPU time they used before being added is not counted, so the cumulative
// figure never jumps.
func (s *EstimateSampler) AddPIDs(pids ...int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.openProc(); err != nil {
		return err
	}
	for _, pid := range pids {
		if _, ok := s.base[pid]; ok || slices.Contains(s.pids, pid) {
			continue
		}
		s.base[pid] = s.procCPULocked(pid)
		s.pids = append(s.pids, pid)
	}
	return nil
}

// procCPULocked reads a PID's CPU time, keeping the last value once it exits.
func (s *EstimateSampler) procCPULocked(pid int) time.Duration {
	if p, err := s.pfs.Proc(pid); err == nil {
		if st, err := p.Stat(); err == nil {
			s.last[pid] = time.Duration(st.CPUTime() * float64(time.Second))
		}
	}
	return s.last[pid]
}

// wattsPerCPU resolves the per-logical-CPU power and says where it came from.
func wattsPerCPU(tdp float64, model string, logical int) (float64, string) {
	if tdp > 0 {
		return tdp / float64(logical), fmt.Sprintf("cpu_tdp_watts %g W from user config / %d logical CPUs", tdp, logical)
	}
	for _, e := range cpuTDPTable {
		if strings.Contains(model, e.model) {
			return e.watts / float64(logical), fmt.Sprintf("TDP %g W of %q from llem's table / %d logical CPUs", e.watts, e.model, logical)
		}
	}
	return DefaultWattsPerCPU, fmt.Sprintf("default %g W per logical CPU (CPU model %q not in llem's table; set cpu_tdp_watts in the user config)", DefaultWattsPerCPU, model)
}

// processCPUTime is this process's CPU time plus that of the attributed
// PIDs since they were added; a PID that has exited keeps its last value.
func (s *EstimateSampler) processCPUTime() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("estimate sampler: getrusage: %w", err)
	}
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pid := range s.pids {
		total += s.procCPULocked(pid) - s.base[pid]
	}
	return total, nil
}

// WattsPerCPU is the power charged per second of CPU time.
func (s *EstimateSampler) WattsPerCPU() float64 { return s.wattsPerCPU }

// Basis says where WattsPerCPU came from.
func (s *EstimateSampler) Basis() string { return s.basis }

// Name returns "estimate".
func (s *EstimateSampler) Name() string { return "estimate" }

// Domains is the one estimated CPU domain.
func (s *EstimateSampler) Domains() []Domain {
	return []Domain{{Kind: DomainCPU, Index: 0, Name: "cpu-estimate"}}
}

// SensorPeriod is the resolution of process CPU time.
func (s *EstimateSampler) SensorPeriod() time.Duration { return estimateSensorPeriod }

// Start does nothing.
func (s *EstimateSampler) Start(context.Context) error { return nil }

// Stop does nothing.
func (s *EstimateSampler) Stop() error { return nil }

// Read returns the synthesised cumulative energy, labelled SourceEstimate.
func (s *EstimateSampler) Read() (Reading, error) {
	cpu, err := s.cpuTime()
	if err != nil {
		return Reading{}, err
	}
	uj := uint64(cpu.Seconds() * s.wattsPerCPU * float64(Joule))
	return Reading{Time: time.Now(), Domains: []DomainReading{{
		Domain: s.Domains()[0], Source: SourceEstimate, EnergyUJ: uj, HasEnergy: true,
	}}}, nil
}

// Warnings always says the energy is estimated, and how.
func (s *EstimateSampler) Warnings() []results.Warning {
	return []results.Warning{EstimatedWarning(s.basis)}
}
