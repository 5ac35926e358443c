//go:build !cgo

package gpucontrol

import "fmt"

// Open is unavailable in a build without cgo: go-nvml loads libnvidia-ml
// through cgo.
func Open([]int) (Controller, error) {
	return nil, fmt.Errorf("%w (this llem was built with CGO_ENABLED=0 and cannot load libnvidia-ml; rebuild with cgo)", ErrUnavailable)
}
