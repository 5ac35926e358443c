package results

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
)

// TimeseriesSample is one row of the time-series table: one energy domain
// at one sample instant, with the run it belongs to. Each run's
// timeseries.parquet holds its own rows with the run's identity filled in,
// so one glob over a study's run-*/timeseries.parquet reads every run
// joinably, and `llem export --table timeseries` writes the same columns
// for the whole study. The parquet tags are the column names.
type TimeseriesSample struct {
	// RunIndex is the run's 0-based index in the study: joins the run table.
	RunIndex int64 `parquet:"run_index"`
	// MeasurementConfigHash is the hash of the run's measurement-relevant
	// configuration: joins the run table.
	MeasurementConfigHash string `parquet:"measurement_config_hash"`
	// StudyName is the study's name.
	StudyName string `parquet:"study_name"`
	// Cycle is the study cycle of the run (1-based; 0 outside a study).
	Cycle int64 `parquet:"cycle"`
	// Time is the wall-clock time of the sample (UTC, microseconds).
	Time time.Time `parquet:"time,timestamp(microsecond)"`
	// ElapsedS is the time since the run's recorder started (upstream's
	// timestamp_s).
	ElapsedS float64 `parquet:"elapsed_s"`
	// Phase is the measurement phase of the sample: idle, baseline,
	// warmup, thermal_floor or measure.
	Phase string `parquet:"phase"`
	// Domain is the energy domain sampled: gpu, cpu_package, dram.
	Domain string `parquet:"domain"`
	// DomainIndex says which device of the domain (the GPU's index, the
	// CPU package's).
	DomainIndex int64 `parquet:"domain_index"`
	// Source is the sensor the domain's reading came from (SourceRanking:
	// an estimate is "estimated").
	Source string `parquet:"source"`
	// PowerW is the domain's power at the sample; null when there is none.
	PowerW *float64 `parquet:"power_w"`
	// PowerDerived is true when power_w is the energy counter's delta since
	// the previous sample rather than a sensor reading.
	PowerDerived bool `parquet:"power_derived"`
	// CumulativeEnergyJ is the domain's energy since the recorder started.
	CumulativeEnergyJ float64 `parquet:"cumulative_energy_j"`
	// TokensPerS is the rate of output tokens since the previous sample
	// (upstream's tokens_per_sec).
	TokensPerS float64 `parquet:"tokens_per_s"`
	// GPUIndex is the GPU's index on GPU rows; null on CPU and DRAM rows.
	GPUIndex *int64 `parquet:"gpu_index"`
	// GPUPowerW is the GPU's power reading; null when not a GPU or not read.
	GPUPowerW *float64 `parquet:"gpu_power_w"`
	// GPUTempC is the GPU's temperature; null when not read.
	GPUTempC *float64 `parquet:"gpu_temp_c"`
	// GPUUtilizationPct is the GPU's utilisation; null when not read.
	GPUUtilizationPct *float64 `parquet:"gpu_utilization_pct"`
	// GPUMemoryUsedMiB is the GPU's memory in use (upstream's
	// gpu_memory_used_mb, which was MiB); null when not read.
	GPUMemoryUsedMiB *float64 `parquet:"gpu_memory_used_mib"`
	// GPUSMClockMHz is the GPU's SM clock; null when not read.
	GPUSMClockMHz *int64 `parquet:"gpu_sm_clock_mhz"`
	// GPUThrottleReasons is NVML's clock throttle reasons bit mask; null
	// when not read.
	GPUThrottleReasons *int64 `parquet:"gpu_throttle_reasons"`
}

// TimeseriesIdentity is the run a time series belongs to.
type TimeseriesIdentity struct {
	RunIndex              int
	MeasurementConfigHash string
	StudyName             string
	Cycle                 int
}

// timeseriesColumns follow TimeseriesSample's fields, in order.
var timeseriesColumns = []Column{
	{Name: "run_index", Type: TypeInt64},
	{Name: "measurement_config_hash", Type: TypeString},
	{Name: "study_name", Type: TypeString},
	{Name: "cycle", Type: TypeInt64},
	{Name: "time", Type: TypeTimestamp},
	{Name: "elapsed_s", Type: TypeDouble},
	{Name: "phase", Type: TypeString},
	{Name: "domain", Type: TypeString},
	{Name: "domain_index", Type: TypeInt64},
	{Name: "source", Type: TypeString},
	{Name: "power_w", Type: TypeDouble},
	{Name: "power_derived", Type: TypeBool},
	{Name: "cumulative_energy_j", Type: TypeDouble},
	{Name: "tokens_per_s", Type: TypeDouble},
	{Name: "gpu_index", Type: TypeInt64},
	{Name: "gpu_power_w", Type: TypeDouble},
	{Name: "gpu_temp_c", Type: TypeDouble},
	{Name: "gpu_utilization_pct", Type: TypeDouble},
	{Name: "gpu_memory_used_mib", Type: TypeDouble},
	{Name: "gpu_sm_clock_mhz", Type: TypeInt64},
	{Name: "gpu_throttle_reasons", Type: TypeInt64},
}

// TimeseriesColumns are the time-series table's columns, in order.
func TimeseriesColumns() []Column { return append([]Column(nil), timeseriesColumns...) }

// TimeseriesTable is a table of samples: a run's timeseries.parquet, or a
// study's whole time series.
func TimeseriesTable(samples []TimeseriesSample) *Table {
	t := &Table{Name: TimeseriesTableName, SchemaVersion: TimeseriesTableSchemaVersion, Columns: TimeseriesColumns()}
	t.Rows = make([][]any, len(samples))
	for i, s := range samples {
		var at any
		if !s.Time.IsZero() {
			at = s.Time.UTC()
		}
		t.Rows[i] = []any{
			s.RunIndex, s.MeasurementConfigHash, s.StudyName, s.Cycle, at, s.ElapsedS,
			s.Phase, s.Domain, s.DomainIndex, s.Source, cell(s.PowerW), s.PowerDerived,
			s.CumulativeEnergyJ, s.TokensPerS, cell(s.GPUIndex), cell(s.GPUPowerW), cell(s.GPUTempC),
			cell(s.GPUUtilizationPct), cell(s.GPUMemoryUsedMiB), cell(s.GPUSMClockMHz), cell(s.GPUThrottleReasons),
		}
	}
	return t
}

func cell[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// ReadTimeseries reads a run's timeseries.parquet: this version's, or the
// first version's (upstream column names, no run identity), whose rows come
// back with an empty identity and time from unix_time_s.
func ReadTimeseries(path string) ([]TimeseriesSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read time series %s: %w", path, err)
	}
	if _, v1 := pf.Schema().Lookup("timestamp_s"); v1 {
		rows, err := readAll[timeseriesV1Row](pf)
		if err != nil {
			return nil, fmt.Errorf("read time series %s: %w", path, err)
		}
		out := make([]TimeseriesSample, len(rows))
		for i, r := range rows {
			out[i] = r.sample()
		}
		return out, nil
	}
	rows, err := readAll[TimeseriesSample](pf)
	if err != nil {
		return nil, fmt.Errorf("read time series %s: %w", path, err)
	}
	return rows, nil
}

func readAll[T any](pf *parquet.File) ([]T, error) {
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	out := make([]T, r.NumRows())
	n, err := r.Read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out[:n], nil
}

// timeseriesV1Row is a row of the first version of timeseries.parquet,
// whose columns after upstream's (timestamp_s, gpu_*, cumulative_energy_j,
// tokens_per_sec) are optional here: an upstream GPU-only file reads too.
type timeseriesV1Row struct {
	TimestampS        float64  `parquet:"timestamp_s"`
	UnixTimeS         *float64 `parquet:"unix_time_s,optional"`
	Phase             *string  `parquet:"phase,optional"`
	Domain            *string  `parquet:"domain,optional"`
	DomainIndex       *int32   `parquet:"domain_index,optional"`
	Source            *string  `parquet:"source,optional"`
	GPUIndex          *int32   `parquet:"gpu_index,optional"`
	GPUPowerW         *float64 `parquet:"gpu_power_w,optional"`
	GPUTempC          *float64 `parquet:"gpu_temp_c,optional"`
	GPUUtilizationPct *float64 `parquet:"gpu_utilization_pct,optional"`
	CumulativeEnergyJ *float64 `parquet:"cumulative_energy_j,optional"`
	GPUMemoryUsedMB   *float64 `parquet:"gpu_memory_used_mb,optional"`
	TokensPerSec      *float64 `parquet:"tokens_per_sec,optional"`
	GPUSMClockMHz     *int32   `parquet:"gpu_sm_clock_mhz,optional"`
	GPUThrottle       *int64   `parquet:"gpu_throttle_reasons,optional"`
	PowerW            *float64 `parquet:"power_w,optional"`
	PowerDerived      *bool    `parquet:"power_derived,optional"`
}

func (r timeseriesV1Row) sample() TimeseriesSample {
	s := TimeseriesSample{
		ElapsedS: r.TimestampS, Phase: deref(r.Phase), Domain: deref(r.Domain), Source: deref(r.Source),
		PowerW: r.PowerW, PowerDerived: deref(r.PowerDerived), CumulativeEnergyJ: deref(r.CumulativeEnergyJ), TokensPerS: deref(r.TokensPerSec),
		GPUPowerW: r.GPUPowerW, GPUTempC: r.GPUTempC, GPUUtilizationPct: r.GPUUtilizationPct, GPUMemoryUsedMiB: r.GPUMemoryUsedMB,
		GPUThrottleReasons: r.GPUThrottle,
	}
	if r.DomainIndex != nil {
		s.DomainIndex = int64(*r.DomainIndex)
	}
	if r.UnixTimeS != nil && *r.UnixTimeS > 0 {
		sec, frac := math.Modf(*r.UnixTimeS)
		s.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	if r.GPUIndex != nil {
		s.GPUIndex = new(int64(*r.GPUIndex))
		if s.Domain == "" { // upstream's GPU-only layout
			s.Domain, s.DomainIndex = "gpu", int64(*r.GPUIndex)
		}
	}
	if r.GPUSMClockMHz != nil {
		s.GPUSMClockMHz = new(int64(*r.GPUSMClockMHz))
	}
	return s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
