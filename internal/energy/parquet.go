package energy

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// TimeseriesRow is one row of timeseries.parquet: one domain at one sample
// instant. The table is long: a sample with a GPU, a CPU package and a DRAM
// domain gives three rows sharing timestamp_s, told apart by domain and
// domain_index. The upstream columns (timestamp_s, gpu_index, gpu_power_w,
// gpu_temp_c, gpu_utilization_pct, cumulative_energy_j, gpu_memory_used_mb,
// tokens_per_sec) keep their names and meaning; gpu_* columns are null on
// CPU and DRAM rows, whose power is in power_w (set on every row that has
// power). cumulative_energy_j is per domain, from the recorder's start.
type TimeseriesRow struct {
	// TimestampS is seconds since the recorder started.
	TimestampS float64 `parquet:"timestamp_s"`
	// UnixTimeS is the wall-clock time of the sample.
	UnixTimeS float64 `parquet:"unix_time_s"`
	// Phase is the measurement phase: idle, baseline, warmup,
	// thermal_floor or measure.
	Phase string `parquet:"phase"`
	// Domain is the energy domain: gpu, cpu_package, dram, ...
	Domain string `parquet:"domain"`
	// DomainIndex is which device of the domain (a GPU's index).
	DomainIndex int32 `parquet:"domain_index"`
	// Source is the sensor the domain's reading came from (nvml, rapl, ...).
	Source string `parquet:"source"`
	// GPUIndex is the GPU's index on a GPU row.
	GPUIndex *int32 `parquet:"gpu_index,optional"`
	// GPUPowerW is the GPU's power reading, in watts.
	GPUPowerW *float64 `parquet:"gpu_power_w,optional"`
	// GPUTempC is the GPU's temperature, in °C.
	GPUTempC *float64 `parquet:"gpu_temp_c,optional"`
	// GPUUtilizationPct is the GPU's utilisation, in percent.
	GPUUtilizationPct *float64 `parquet:"gpu_utilization_pct,optional"`
	// CumulativeEnergyJ is the domain's energy since the recorder started, in joules.
	CumulativeEnergyJ float64 `parquet:"cumulative_energy_j"`
	// GPUMemoryUsedMB is the GPU's memory in use, in MiB (2^20 bytes).
	GPUMemoryUsedMB *float64 `parquet:"gpu_memory_used_mb,optional"`
	// TokensPerSec is the output-token rate at the sample.
	TokensPerSec float64 `parquet:"tokens_per_sec"`
	// GPUSMClockMHz is the GPU's SM clock, in MHz.
	GPUSMClockMHz *int32 `parquet:"gpu_sm_clock_mhz,optional"`
	// GPUThrottle is the GPU's clock throttle reasons, NVML's bit mask.
	GPUThrottle *int64 `parquet:"gpu_throttle_reasons,optional"`
	// PowerW is the domain's power, in watts.
	PowerW *float64 `parquet:"power_w,optional"`
	// PowerDerived is true when power_w is the counter delta since the
	// previous sample rather than a sensor reading.
	PowerDerived bool `parquet:"power_derived"`
}

// TimeseriesRows flattens samples into rows, one per sample and domain.
func TimeseriesRows(samples []Sample) []TimeseriesRow {
	var rows []TimeseriesRow
	for _, s := range samples {
		for _, d := range s.Domains {
			row := TimeseriesRow{
				TimestampS:        s.Elapsed.Seconds(),
				UnixTimeS:         float64(s.Time.UnixNano()) / 1e9,
				Phase:             string(s.Phase),
				Domain:            string(d.Domain.Kind),
				DomainIndex:       int32(d.Domain.Index),
				Source:            string(d.Source),
				CumulativeEnergyJ: d.CumulativeEnergy.Joules(),
				TokensPerSec:      s.TokensPerSec,
				PowerDerived:      d.PowerDerived,
			}
			if d.HasPower {
				row.PowerW = ptr(d.PowerW)
			}
			if d.Domain.Kind == DomainGPU {
				row.GPUIndex = ptr(int32(d.Domain.Index))
				row.GPUPowerW = row.PowerW
				if d.HasTemp {
					row.GPUTempC = ptr(d.TempC)
				}
				if d.HasGPUStats {
					row.GPUUtilizationPct = ptr(d.UtilizationPct)
					row.GPUMemoryUsedMB = ptr(d.MemoryUsedMB)
					row.GPUSMClockMHz = ptr(int32(d.SMClockMHz))
					row.GPUThrottle = ptr(int64(d.ThrottleReasons))
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func ptr[T any](v T) *T { return &v }

// WriteParquet writes samples to path as a Parquet table of TimeseriesRow.
// The file appears whole or not at all: it is written beside path and
// renamed into place.
func WriteParquet(path string, samples []Sample) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write time series: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := parquet.Write(tmp, TimeseriesRows(samples)); err != nil {
		tmp.Close()
		return fmt.Errorf("write time series %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write time series %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write time series %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write time series: %w", err)
	}
	return nil
}
