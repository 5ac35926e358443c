// Package buildinfo reports llem's version, commit and build date: from
// -ldflags when a release build sets them, else from the VCS stamp the Go
// toolchain embeds when building from a git checkout.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by release builds: -ldflags "-X github.com/llenergymeasure/llem/internal/buildinfo.version=v1.2.3 ...".
var (
	version = "0.1.0-dev"
	commit  = ""
	date    = ""
)

// Info is what `llem --version` prints and results record.
type Info struct {
	// Version is llem's release version.
	Version string `json:"version"`
	// Commit is the git commit llem was built from; empty when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is the build's or commit's date; empty when unknown.
	Date string `json:"date,omitempty"`
	// Modified is true when the build's work tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the Go version llem was built with.
	GoVersion string `json:"go_version"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	return info
}

// String is the one-line form: "0.1.0-dev (commit abc1234, built 2026-11-25T06:00:00Z, go1.26.8)".
func (i Info) String() string {
	s := i.Version
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	}
	if i.Modified {
		c += "+dirty"
	}
	d := i.Date
	if d == "" {
		d = "unknown"
	}
	return s + " (commit " + c + ", built " + d + ", " + i.GoVersion + ")"
}
