// Package envsnap records the machine a run measured (MEA-8) and reports
// what llem can measure on it (`llem config`, CLI-3).
//
// [Take] fills results.EnvironmentSnapshot: OS, kernel, host, CPU, memory,
// GPUs through NVML (names, memory, power limits, max clocks, persistence
// mode, compute capability, driver), the CUDA version with the source it
// came from (the engine's framework, /usr/local/cuda/version.json or
// version.txt, `nvcc --version`, else the driver's CUDA version from NVML),
// the energy sensors present, the container runtime and llem's own version.
// The OS comes from /etc/os-release (else /usr/lib/os-release) and the
// kernel from uname: no helper process (lsb_release) is started. A study
// takes the snapshot once, in the parent, and each run completes it with
// [Refresh] (GPU state, versions), which starts no process either (no nvcc).
// [Probe] adds which energy source each domain would use, why better ones
// are not available, and hints to fix what is missing. Engines are probed
// by the caller and listed in [results.MachineReport.Engines].
//
// Secrets are never recorded: no environment is captured wholesale, and
// [RecordedEnv] keeps only allow-listed variables, never the one an
// experiment reads its API key from, and replaces the value of any whose
// name looks like a credential by "[redacted]".
//
// Hardware is reached through seams in [Options] (GPU query, nvcc, CUDA
// folder, powercap root) so tests use fakes and go-nvml's mock.
package envsnap
