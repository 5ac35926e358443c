package energy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyPowercap copies testdata/<name> into a temporary folder, turning the
// '_' of directory names back into ':' (see testdata/README.md), and
// returns the folder.
func copyPowercap(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		parts := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			parts[len(parts)-1] = strings.ReplaceAll(parts[len(parts)-1], "_", ":")
			return os.MkdirAll(filepath.Join(dst, filepath.Join(parts...)), 0o755)
		}
		dir := filepath.Dir(rel)
		dir = strings.ReplaceAll(dir, "_", ":")
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, dir, d.Name()), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeCounter(t *testing.T, root, zone, uj string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, zone, "energy_uj"), []byte(uj+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// denyFS makes one file unreadable, as energy_uj is for non-root users
// (CI runs as root, which ignores file modes).
type denyFS struct {
	fs.FS
	deny string
}

func (d denyFS) Open(name string) (fs.File, error) {
	if name == d.deny {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.FS.Open(name)
}

func TestOpenRAPLTrees(t *testing.T) {
	tests := []struct {
		tree    string
		domains []Domain
		maxUJ   []uint64
		wantErr error
	}{
		{tree: "powercap-intel", domains: []Domain{
			{Kind: DomainCPUPackage, Index: 0, Name: "package-0"},
			{Kind: DomainDRAM, Index: 0, Name: "dram-0"},
			{Kind: DomainCPUPackage, Index: 1, Name: "package-1"},
			{Kind: DomainDRAM, Index: 1, Name: "dram-1"},
		}, maxUJ: []uint64{262143328850, 65712999613, 262143328850, 65712999613}},
		{tree: "powercap-amd", domains: []Domain{{Kind: DomainCPUPackage, Index: 0, Name: "package-0"}}, maxUJ: []uint64{65532610987}},
		{tree: "powercap-empty", wantErr: ErrNoRAPL},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			s, err := OpenRAPL(RAPLOptions{Root: copyPowercap(t, tt.tree)})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := s.Domains()
			if len(got) != len(tt.domains) {
				t.Fatalf("domains = %v, want %v", got, tt.domains)
			}
			r, err := s.Read()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tt.domains[i] {
					t.Errorf("domain %d = %v, want %v", i, got[i], tt.domains[i])
				}
				d := r.Domains[i]
				if d.Domain != got[i] || !d.HasEnergy || d.Source != SourceRAPL || d.MaxEnergyUJ != tt.maxUJ[i] {
					t.Errorf("reading %d = %+v", i, d)
				}
			}
		})
	}
}

func TestOpenRAPLMissingRoot(t *testing.T) {
	_, err := OpenRAPL(RAPLOptions{Root: filepath.Join(t.TempDir(), "nope")})
	if !errors.Is(err, ErrNoRAPL) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestRAPLUnreadableSaysHowToFix(t *testing.T) {
	root := copyPowercap(t, "powercap-intel")
	_, err := OpenRAPL(RAPLOptions{Root: root, FS: denyFS{FS: os.DirFS(root), deny: "intel-rapl:0/energy_uj"}})
	if !errors.Is(err, ErrRAPLPermission) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want ErrRAPLPermission wrapping fs.ErrPermission", err)
	}
	for _, want := range []string{"intel-rapl:0/energy_uj", "sudo chmod a+r " + root + "/intel-rapl:*/energy_uj", "root"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A counter that wraps between the readings at window open and close is
// still measured right: the delta goes through max_energy_range_uj.
func TestRAPLWrapAroundInWindow(t *testing.T) {
	root := copyPowercap(t, "powercap-intel")
	s, err := OpenRAPL(RAPLOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder([]Sampler{s}, RecorderOptions{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	w := rec.OpenWindow()
	time.Sleep(5 * time.Millisecond)
	// package-0 was 328850 µJ below its range of 262143328850: it wraps.
	writeCounter(t, root, "intel-rapl:0", "671150")     // +1 J through the wrap
	writeCounter(t, root, "intel-rapl:0:1", "5250000")  // DRAM +0.25 J
	writeCounter(t, root, "intel-rapl:1", "1202000000") // +2 J
	writeCounter(t, root, "intel-rapl:1:0", "7000000")  // unchanged: flagged
	res := w.Close()
	want := map[Domain]Energy{
		{Kind: DomainCPUPackage, Index: 0, Name: "package-0"}: Joule,
		{Kind: DomainDRAM, Index: 0, Name: "dram-0"}:          250 * Millijoule,
		{Kind: DomainCPUPackage, Index: 1, Name: "package-1"}: 2 * Joule,
		{Kind: DomainDRAM, Index: 1, Name: "dram-1"}:          0,
	}
	if len(res.Domains) != 4 {
		t.Fatalf("domains = %+v", res.Domains)
	}
	for _, d := range res.Domains {
		if d.Energy != want[d.Domain] || !d.HasCounter || d.HasIntegrated {
			t.Errorf("%v: energy %v (counter %v), want %v by counter only", d.Domain, d.Energy, d.HasCounter, want[d.Domain])
		}
		if d.TooShort != (want[d.Domain] == 0) {
			t.Errorf("%v: TooShort = %v", d.Domain, d.TooShort)
		}
		if d.Energy > 0 && d.AvgPowerW <= 0 {
			t.Errorf("%v: no average power", d.Domain)
		}
	}
	if res.Total() != 3250*Millijoule {
		t.Errorf("total = %v, want 3.25 J", res.Total())
	}
}
