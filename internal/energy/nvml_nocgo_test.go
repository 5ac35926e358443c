//go:build !cgo

package energy

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenNVMLWithoutCgo(t *testing.T) {
	_, err := OpenNVML(NVMLOptions{})
	if !errors.Is(err, ErrNoNVML) || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Fatalf("err = %v, want ErrNoNVML naming the cgo build", err)
	}
}
