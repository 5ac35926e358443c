//go:build !amd64

package native

func simdKernels() (kernels, bool) { return kernels{}, false }

func simdUnavailable() string { return "no SIMD kernels for this architecture (amd64 only)" }
