package envsnap

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// hostFacts returns the OS ("linux debian 12.11": kernel family,
// distribution, version), the kernel ("6.8.0-45-generic x86_64") and the
// host name. It reads files and calls uname only: it starts no process
// (gopsutil's host.Info runs the lsb_release shell script on distributions
// without /etc/lsb-release, tens of milliseconds per call).
func hostFacts(_ context.Context, root string) (osName, kernel, hostname string) {
	if root == "" {
		root = "/"
	}
	osName = joinNonEmpty("linux", distribution(root))
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = joinNonEmpty(unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]))
	}
	hostname, _ = os.Hostname()
	return osName, kernel, hostname
}

// distribution names the distribution and its version from os-release
// (/etc/os-release, else /usr/lib/os-release): ID and VERSION_ID, "ubuntu
// 22.04". On Debian the point release in /etc/debian_version ("12.11")
// replaces VERSION_ID's major version, as gopsutil recorded it.
func distribution(root string) string {
	var rel map[string]string
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err == nil {
			rel = parseOSRelease(string(b))
			break
		}
	}
	id, version := strings.ToLower(rel["ID"]), rel["VERSION_ID"]
	if id == "debian" {
		if b, err := os.ReadFile(filepath.Join(root, "etc/debian_version")); err == nil {
			if first, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(first) != "" {
				version = strings.TrimSpace(first)
			}
		}
	}
	return joinNonEmpty(id, version)
}

// parseOSRelease reads os-release's KEY=value lines; values may be quoted.
func parseOSRelease(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}
