package report

// timeseriesColumnDescriptions describe the time-series table's columns;
// schema/timeseries.columns.json is generated from them, and a column
// without a description fails the test that generates it.
var timeseriesColumnDescriptions = map[string]string{
	"run_index":               "The run's 0-based index in the study: joins the run table.",
	"measurement_config_hash": "Hash of the run's measurement-relevant configuration: joins the run table.",
	"study_name":              "The study's name.",
	"cycle":                   "The study cycle of the run (1-based).",
	"time":                    "Wall-clock time of the sample; null when not recorded.",
	"elapsed_s":               "Time since the recorder started.",
	"phase":                   "The measurement phase of the sample: idle, baseline, warmup, thermal_floor or measure.",
	"domain":                  "The energy domain sampled (gpu, cpu_package, dram, ...).",
	"domain_index":            "Which device of the domain (e.g. the GPU's index).",
	"source":                  "The sensor the domain's reading came from (e.g. nvml, rapl).",
	"power_w":                 "Power of the domain at the sample; null when not available.",
	"power_derived":           "Whether power_w is the energy counter's delta since the previous sample rather than a sensor reading.",
	"cumulative_energy_j":     "Energy of the domain since the recorder started.",
	"tokens_per_s":            "Output tokens per second at the sample.",
	"gpu_index":               "The GPU's index, for a GPU domain; null otherwise.",
	"gpu_power_w":             "The GPU's power reading; null when not a GPU or not read.",
	"gpu_temp_c":              "The GPU's temperature; null when not read.",
	"gpu_utilization_pct":     "The GPU's utilisation; null when not read.",
	"gpu_memory_used_mib":     "The GPU's memory in use; null when not read.",
	"gpu_sm_clock_mhz":        "The GPU's SM clock; null when not read.",
	"gpu_throttle_reasons":    "The GPU's clock throttle reasons as NVML's bit mask; null when not read.",
}
