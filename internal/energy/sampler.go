package energy

import (
	"context"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// Source names where an energy figure came from. It is stored with every
// figure; SourceEstimate is never presented as a measurement.
type Source string

// Energy sources, best first (results owns the names and their ranking).
const (
	SourceNVMLCounter     Source = results.SourceNVMLCounter
	SourceNVMLIntegration Source = results.SourceNVMLIntegration
	SourceRAPL            Source = results.SourceRAPL
	SourceEstimate        Source = results.SourceEstimated
)

// DomainKind is what a domain measures.
type DomainKind string

// Domain kinds.
const (
	DomainGPU        DomainKind = "gpu"
	DomainCPUPackage DomainKind = "cpu_package"
	DomainDRAM       DomainKind = "dram"
	DomainCPU        DomainKind = "cpu" // estimate of the whole CPU share used
)

// Domain identifies one metered part of the machine, e.g. GPU 0 or CPU package 1.
type Domain struct {
	Kind  DomainKind `json:"kind"`
	Index int        `json:"index"`
	Name  string     `json:"name,omitempty"`
}

// Sampler reads one kind of sensor. Implementations return raw cumulative
// counters; deltas, wrap-around and integration are done by pure functions
// in this package. The Recorder serialises calls, so implementations need
// not be safe for concurrent use. Every implementation passes the
// conformance suite in samplertest.
type Sampler interface {
	// Name is a short label, e.g. "nvml", "rapl", "estimate".
	Name() string
	// Domains lists what Read reports, in order.
	Domains() []Domain
	Start(ctx context.Context) error
	// Read returns one reading per domain, in Domains order.
	Read() (Reading, error)
	Stop() error
}

// Reading is one sample of every domain of a sampler.
type Reading struct {
	Time    time.Time       `json:"time"`
	Domains []DomainReading `json:"domains"`
}

// DomainReading is one domain's values at one instant. Has* flags say which
// fields the source provides.
type DomainReading struct {
	Domain Domain `json:"domain"`
	// Source is how this domain's figures were obtained.
	Source Source `json:"source,omitempty"`
	// EnergyUJ is the raw cumulative counter in microjoules, as read (it may
	// wrap at MaxEnergyUJ, 0 when the counter does not wrap).
	EnergyUJ    uint64 `json:"energy_uj,omitempty"`
	MaxEnergyUJ uint64 `json:"max_energy_uj,omitempty"`
	HasEnergy   bool   `json:"has_energy"`
	// PowerW is instantaneous (or short-average) power.
	PowerW   float64 `json:"power_w,omitempty"`
	HasPower bool    `json:"has_power"`

	TempC          float64 `json:"temp_c,omitempty"`
	HasTemp        bool    `json:"has_temp"`
	UtilizationPct float64 `json:"utilization_pct,omitempty"`
	MemoryUsedMB   float64 `json:"memory_used_mb,omitempty"`
	HasGPUStats    bool    `json:"has_gpu_stats"`
	// ThrottleReasons is a bitmask of NVML clock throttle reasons, 0 if none.
	ThrottleReasons uint64 `json:"throttle_reasons,omitempty"`
	SMClockMHz      uint32 `json:"sm_clock_mhz,omitempty"`
}

// SensorPeriodic is implemented by samplers that know how often their sensor
// updates. A window shorter than this period is flagged, never reported as a
// silent 0 J.
type SensorPeriodic interface {
	SensorPeriod() time.Duration
}

// Warner is implemented by samplers that observed conditions the result must
// carry as measurement warnings (MEA-6), e.g. persistence mode off or a GPU
// shared with another process. Warnings are data, never errors.
type Warner interface {
	Warnings() []results.Warning
}

// FallbackReporter is implemented by samplers that work but fell back to a
// worse path for some domains (e.g. NVML power integration because the
// energy counter is unsupported). The error joins the reasons.
type FallbackReporter interface {
	FallbackReason() error
}
