//go:build cgo

package energy_test

import (
	"testing"

	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/energy/samplertest"
)

func TestConformanceNVMLMock(t *testing.T) {
	for _, counter := range []bool{true, false} {
		name := map[bool]string{true: "counter", false: "integration"}[counter]
		t.Run(name, func(t *testing.T) {
			samplertest.Run(t, func(t *testing.T) energy.Sampler { return energy.OpenMockNVML(t, counter) })
		})
	}
}
