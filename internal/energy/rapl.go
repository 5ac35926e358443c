package energy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultPowercapRoot is where Linux exposes RAPL energy counters.
const DefaultPowercapRoot = "/sys/class/powercap"

// raplSensorPeriod is how often the RAPL energy counters update (about 1 ms
// on Intel and AMD).
const raplSensorPeriod = time.Millisecond

// ErrNoRAPL says the machine exposes no RAPL package zone.
var ErrNoRAPL = errors.New("no RAPL package zones")

// ErrRAPLPermission says RAPL exists but its energy counters cannot be read.
// Since 2020 (CVE-2020-8694) energy_uj is readable by root only.
var ErrRAPLPermission = errors.New("RAPL energy counters not readable")

// RAPLOptions configures the RAPL sampler.
type RAPLOptions struct {
	// Root is the powercap folder; DefaultPowercapRoot when empty.
	Root string
	// FS, when set, is read instead of Root (tests use it to simulate files
	// that a non-root user cannot read; Root then only labels errors).
	FS fs.FS
}

// RAPLSampler reads the cumulative energy counters of the powercap RAPL
// zones: one package domain per CPU socket and its DRAM subzone where the
// CPU has one. Intel and AMD (Zen, kernel 5.8+) both expose their zones as
// intel-rapl:N (package) and intel-rapl:N:M (subzones) under powercap.
// Core, uncore and psys zones are skipped: core and uncore are inside the
// package figure and psys overlaps it.
type RAPLSampler struct {
	fsys  fs.FS
	root  string
	zones []raplZone
	buf   [32]byte
}

var (
	_ Sampler        = (*RAPLSampler)(nil)
	_ SensorPeriodic = (*RAPLSampler)(nil)
)

type raplZone struct {
	dir    string
	energy string // dir/energy_uj
	domain Domain
	maxUJ  uint64
	// file is energy_uj kept open between reads when it can be re-read
	// in place (pread at offset 0 regenerates a sysfs attribute): one
	// system call per zone and sample instead of four.
	file io.ReaderAt
	c    io.Closer
}

// OpenRAPL finds the RAPL zones under the powercap root and checks that
// their counters can be read. It returns ErrNoRAPL when there are none and
// ErrRAPLPermission (with the command that fixes it) when they cannot be read.
func OpenRAPL(opts RAPLOptions) (*RAPLSampler, error) {
	root := opts.Root
	if root == "" {
		root = DefaultPowercapRoot
	}
	fsys := opts.FS
	if fsys == nil {
		fsys = os.DirFS(root)
	}
	s := &RAPLSampler{fsys: fsys, root: root}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (no powercap driver: a VM, a container without /sys, or not Linux)", ErrNoRAPL, root)
		}
		return nil, fmt.Errorf("list RAPL zones in %s: %w", root, err)
	}
	for _, e := range entries {
		z, ok, err := s.zone(e.Name())
		if err != nil {
			return nil, err
		}
		if ok {
			s.zones = append(s.zones, z)
		}
	}
	if len(s.zones) == 0 {
		return nil, fmt.Errorf("%w under %s (no intel-rapl zones: the CPU or the kernel does not expose RAPL)", ErrNoRAPL, root)
	}
	sort.Slice(s.zones, func(i, j int) bool {
		a, b := s.zones[i].domain, s.zones[j].domain
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Kind == DomainCPUPackage && b.Kind != DomainCPUPackage
	})
	if _, err := s.Read(); err != nil {
		return nil, err
	}
	return s, nil
}

// zone reads one powercap entry; ok is false for entries that are not a
// package or DRAM zone.
func (s *RAPLSampler) zone(dir string) (raplZone, bool, error) {
	rest, found := strings.CutPrefix(dir, "intel-rapl:")
	if !found {
		return raplZone{}, false, nil
	}
	parts := strings.Split(rest, ":")
	pkg, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) > 2 {
		return raplZone{}, false, nil
	}
	name, err := s.readString(path.Join(dir, "name"))
	if err != nil {
		return raplZone{}, false, err
	}
	z := raplZone{dir: dir, energy: path.Join(dir, "energy_uj")}
	switch {
	case len(parts) == 1 && strings.HasPrefix(name, "package-"):
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "package-")); err == nil {
			pkg = n
		}
		z.domain = Domain{Kind: DomainCPUPackage, Index: pkg, Name: name}
	case len(parts) == 2 && name == "dram":
		z.domain = Domain{Kind: DomainDRAM, Index: pkg, Name: fmt.Sprintf("dram-%d", pkg)}
	default:
		return raplZone{}, false, nil
	}
	maxStr, err := s.readString(path.Join(dir, "max_energy_range_uj"))
	if err != nil {
		return raplZone{}, false, err
	}
	if z.maxUJ, err = strconv.ParseUint(maxStr, 10, 64); err != nil {
		return raplZone{}, false, fmt.Errorf("parse %s: %w", path.Join(s.root, dir, "max_energy_range_uj"), err)
	}
	return z, true, nil
}

func (s *RAPLSampler) readString(name string) (string, error) {
	b, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		full := path.Join(s.root, name)
		if errors.Is(err, fs.ErrPermission) {
			return "", fmt.Errorf("%w: %s: permission denied; run llem as root, or allow reading with `sudo chmod a+r %s/intel-rapl:*/energy_uj` (resets at reboot; a udev rule makes it permanent): %w",
				ErrRAPLPermission, full, s.root, err)
		}
		return "", fmt.Errorf("read %s: %w", full, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Name returns "rapl".
func (s *RAPLSampler) Name() string { return "rapl" }

// Domains lists the package and DRAM domains, package first per socket.
func (s *RAPLSampler) Domains() []Domain {
	ds := make([]Domain, len(s.zones))
	for i, z := range s.zones {
		ds[i] = z.domain
	}
	return ds
}

// SensorPeriod is how often RAPL counters update.
func (s *RAPLSampler) SensorPeriod() time.Duration { return raplSensorPeriod }

// Start does nothing: the counters run on their own.
func (s *RAPLSampler) Start(context.Context) error { return nil }

// Stop closes the counter files kept open; a later Read opens them again.
func (s *RAPLSampler) Stop() error {
	var errs []error
	for i := range s.zones {
		z := &s.zones[i]
		if z.c != nil {
			errs = append(errs, z.c.Close())
		}
		z.file, z.c = nil, nil
	}
	return errors.Join(errs...)
}

// Read returns the raw energy_uj counter of every zone with its wrap range.
func (s *RAPLSampler) Read() (Reading, error) {
	r := Reading{Time: time.Now(), Domains: make([]DomainReading, len(s.zones))}
	for i := range s.zones {
		z := &s.zones[i]
		str, err := s.readCounter(z, z.energy)
		if err != nil {
			return Reading{}, err
		}
		uj, err := strconv.ParseUint(str, 10, 64)
		if err != nil {
			return Reading{}, fmt.Errorf("parse %s: %w", path.Join(s.root, z.energy), err)
		}
		r.Domains[i] = DomainReading{Domain: z.domain, Source: SourceRAPL, EnergyUJ: uj, MaxEnergyUJ: z.maxUJ, HasEnergy: true}
	}
	return r, nil
}

// readCounter reads a zone's energy_uj, through the kept-open file when
// there is one.
func (s *RAPLSampler) readCounter(z *raplZone, name string) (string, error) {
	if z.file == nil {
		f, err := s.fsys.Open(name)
		if err != nil {
			return s.readString(name) // for the error, with its hint
		}
		ra, ok := f.(io.ReaderAt)
		if !ok {
			f.Close()
			return s.readString(name)
		}
		z.file, z.c = ra, f
	}
	n, err := z.file.ReadAt(s.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", path.Join(s.root, name), err)
	}
	return strings.TrimSpace(string(s.buf[:n])), nil
}
