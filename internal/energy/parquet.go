package energy

import (
	"fmt"

	"github.com/llenergymeasure/llem/results"
)

// TimeseriesSamples flattens samples into the time-series table's rows
// (results.TimeseriesSample), one per sample and domain, each carrying the
// run's identity. The table is long: a sample with a GPU, a CPU package and
// a DRAM domain gives three rows sharing a time, told apart by domain and
// domain_index; gpu_* columns are null on CPU and DRAM rows, whose power is
// in power_w (set on every row that has power). cumulative_energy_j is per
// domain, from the recorder's start.
func TimeseriesSamples(samples []Sample, id results.TimeseriesIdentity) []results.TimeseriesSample {
	var rows []results.TimeseriesSample
	for _, s := range samples {
		for _, d := range s.Domains {
			row := results.TimeseriesSample{
				RunIndex:              int64(id.RunIndex),
				MeasurementConfigHash: id.MeasurementConfigHash,
				StudyName:             id.StudyName,
				Cycle:                 int64(id.Cycle),
				Time:                  s.Time.UTC(),
				ElapsedS:              s.Elapsed.Seconds(),
				Phase:                 string(s.Phase),
				Domain:                string(d.Domain.Kind),
				DomainIndex:           int64(d.Domain.Index),
				Source:                string(d.Source),
				CumulativeEnergyJ:     d.CumulativeEnergy.Joules(),
				TokensPerS:            s.TokensPerSec,
				PowerDerived:          d.PowerDerived,
			}
			if d.HasPower {
				row.PowerW = new(d.PowerW)
			}
			if d.Domain.Kind == DomainGPU {
				row.GPUIndex = new(int64(d.Domain.Index))
				row.GPUPowerW = row.PowerW
				if d.HasTemp {
					row.GPUTempC = new(d.TempC)
				}
				if d.HasGPUStats {
					row.GPUUtilizationPct = new(d.UtilizationPct)
					row.GPUMemoryUsedMiB = new(d.MemoryUsedMB)
					row.GPUSMClockMHz = new(int64(d.SMClockMHz))
					row.GPUThrottleReasons = new(int64(d.ThrottleReasons))
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// WriteParquet writes samples to path as the run's time-series table
// (results.TimeseriesTable), whole or not at all.
func WriteParquet(path string, samples []Sample, id results.TimeseriesIdentity) error {
	if err := results.TimeseriesTable(TimeseriesSamples(samples, id)).WriteFile(path, results.FormatParquet); err != nil {
		return fmt.Errorf("write time series: %w", err)
	}
	return nil
}
