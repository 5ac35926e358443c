//go:build !cgo

package energy

import "fmt"

// OpenNVML is unavailable in a build without cgo: go-nvml loads
// libnvidia-ml through cgo.
func OpenNVML(NVMLOptions) (Sampler, error) {
	return nil, fmt.Errorf("%w: this llem was built with CGO_ENABLED=0 and cannot load libnvidia-ml; rebuild with cgo for GPU energy", ErrNoNVML)
}
