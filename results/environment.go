package results

// EnvironmentSnapshot records the machine a run measured (MEA-8). Secrets
// (tokens, keys) are never recorded.
type EnvironmentSnapshot struct {
	// OS is the operating system, platform and version.
	OS string `json:"os"`
	// Kernel is the kernel version and architecture.
	Kernel string `json:"kernel"`
	// Hostname is the machine's host name.
	Hostname string `json:"hostname,omitempty"`
	// CPUModel is the CPU's model name.
	CPUModel string `json:"cpu_model"`
	// CPUCores is the number of physical CPU cores.
	CPUCores int `json:"cpu_cores"`
	// CPUThreads is the number of logical CPUs.
	CPUThreads int `json:"cpu_threads"`
	// MemoryTotalMB is the machine's memory, in MiB.
	MemoryTotalMB float64 `json:"memory_total_mb"`
	// GPUs describes each GPU NVML sees; empty without NVML.
	GPUs []GPUInfo `json:"gpus"`
	// GPUCount is the number of GPUs in GPUs.
	GPUCount int `json:"gpu_count"`
	// DriverVersion is the NVIDIA driver version; empty without NVML.
	DriverVersion string `json:"driver_version,omitempty"`
	// CUDAVersion and where it came from (framework, version.txt, nvcc, nvml).
	CUDAVersion string `json:"cuda_version,omitempty"`
	// CUDAVersionSource says where CUDAVersion came from: framework, version.txt, nvcc or nvml.
	CUDAVersionSource string `json:"cuda_version_source,omitempty"`
	// EnergySensors lists the energy sensors present, e.g. "nvml gpu 0 (energy counter)", "rapl package-0".
	EnergySensors []string `json:"energy_sensors,omitempty"`
	// LlemVersion is the version of llem that measured.
	LlemVersion string `json:"llem_version"`
	// LlemCommit is the git commit llem was built from, where known.
	LlemCommit string `json:"llem_commit,omitempty"`
	// GoVersion is the Go version llem was built with.
	GoVersion string `json:"go_version"`
	// EngineVersions are the versions of the engine and its libraries, by name.
	EngineVersions map[string]string `json:"engine_versions,omitempty"`
	// Container names the container runtime llem ran in; empty outside a container.
	Container string `json:"container,omitempty"`
	// Env holds the measurement-relevant environment variables (CUDA_*,
	// OMP_*, LLEM_*, …); secrets are never recorded.
	Env map[string]string `json:"env,omitempty"`
}

// GPUInfo describes one GPU.
type GPUInfo struct {
	// Index is the GPU's NVML index.
	Index int `json:"index"`
	// Name is the GPU's model name.
	Name string `json:"name"`
	// UUID is the GPU's NVML UUID.
	UUID string `json:"uuid,omitempty"`
	// MemoryTotalMB is the GPU's memory, in MiB.
	MemoryTotalMB float64 `json:"memory_total_mb"`
	// PowerLimitW is the GPU's power management limit, in watts; omitted when unreadable.
	PowerLimitW float64 `json:"power_limit_w,omitempty"`
	// SMClockMaxMHz is the maximum SM clock, in MHz; omitted when unreadable.
	SMClockMaxMHz uint32 `json:"sm_clock_max_mhz,omitempty"`
	// MemClockMaxMHz is the maximum memory clock, in MHz; omitted when unreadable.
	MemClockMaxMHz uint32 `json:"mem_clock_max_mhz,omitempty"`
	// PersistenceMode is enabled, disabled or unknown.
	PersistenceMode string `json:"persistence_mode,omitempty"` // enabled | disabled | unknown
	// ComputeCap is the CUDA compute capability, e.g. "9.0".
	ComputeCap string `json:"compute_capability,omitempty"`
}
