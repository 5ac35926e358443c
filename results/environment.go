package results

// EnvironmentSnapshot records the machine a run measured (MEA-8). Secrets
// (tokens, keys) are never recorded.
type EnvironmentSnapshot struct {
	OS            string    `json:"os"`
	Kernel        string    `json:"kernel"`
	Hostname      string    `json:"hostname,omitempty"`
	CPUModel      string    `json:"cpu_model"`
	CPUCores      int       `json:"cpu_cores"`
	CPUThreads    int       `json:"cpu_threads"`
	MemoryTotalMB float64   `json:"memory_total_mb"`
	GPUs          []GPUInfo `json:"gpus"`
	GPUCount      int       `json:"gpu_count"`
	DriverVersion string    `json:"driver_version,omitempty"`
	// CUDAVersion and where it came from (framework, version.txt, nvcc, nvml).
	CUDAVersion       string            `json:"cuda_version,omitempty"`
	CUDAVersionSource string            `json:"cuda_version_source,omitempty"`
	EnergySensors     []string          `json:"energy_sensors,omitempty"`
	LlemVersion       string            `json:"llem_version"`
	LlemCommit        string            `json:"llem_commit,omitempty"`
	GoVersion         string            `json:"go_version"`
	EngineVersions    map[string]string `json:"engine_versions,omitempty"`
	Container         string            `json:"container,omitempty"`
	// Env holds the measurement-relevant environment variables (CUDA_*,
	// OMP_*, LLEM_*, …); secrets are never recorded.
	Env map[string]string `json:"env,omitempty"`
}

// GPUInfo describes one GPU.
type GPUInfo struct {
	Index           int     `json:"index"`
	Name            string  `json:"name"`
	UUID            string  `json:"uuid,omitempty"`
	MemoryTotalMB   float64 `json:"memory_total_mb"`
	PowerLimitW     float64 `json:"power_limit_w,omitempty"`
	SMClockMaxMHz   uint32  `json:"sm_clock_max_mhz,omitempty"`
	MemClockMaxMHz  uint32  `json:"mem_clock_max_mhz,omitempty"`
	PersistenceMode string  `json:"persistence_mode,omitempty"` // enabled | disabled | unknown
	ComputeCap      string  `json:"compute_capability,omitempty"`
}
