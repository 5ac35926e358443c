//go:build !linux

package envsnap

import (
	"context"

	"github.com/shirou/gopsutil/v4/host"
)

// hostFacts returns the OS (kernel family, platform, version), the kernel
// and its architecture, and the host name, through gopsutil.
func hostFacts(ctx context.Context, _ string) (osName, kernel, hostname string) {
	hi, err := host.InfoWithContext(ctx)
	if err != nil {
		return "", "", ""
	}
	return joinNonEmpty(hi.OS, hi.Platform, hi.PlatformVersion), joinNonEmpty(hi.KernelVersion, hi.KernelArch), hi.Hostname
}
