//go:build !cgo

package envsnap

import (
	"context"
	"fmt"

	"github.com/llenergymeasure/llem/internal/energy"
)

// QueryNVML is unavailable without cgo: go-nvml loads libnvidia-ml through cgo.
func QueryNVML(context.Context) (GPUReport, error) {
	return GPUReport{}, fmt.Errorf("%w: this llem was built with CGO_ENABLED=0 and cannot query GPUs", energy.ErrNoNVML)
}
