package results

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var errAtomicCrash = errors.New("simulated crash")

// crashFS is the real file system that dies at one step of the atomic
// write: after k bytes of the data, or at fsync, close, rename or the
// directory fsync. A dead process does no clean-up, so Remove is a no-op.
type crashFS struct {
	at    string
	bytes int
}

type crashFile struct {
	*os.File
	fs *crashFS
}

func (c *crashFS) CreateTemp(dir, pattern string) (tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return crashFile{f, c}, nil
}

func (f crashFile) Write(b []byte) (int, error) {
	if f.fs.at == "write" && f.fs.bytes < len(b) {
		n, _ := f.File.Write(b[:f.fs.bytes])
		return n, errAtomicCrash
	}
	return f.File.Write(b)
}

func (f crashFile) Sync() error {
	if f.fs.at == "fsync" {
		return errAtomicCrash
	}
	return f.File.Sync()
}

func (c *crashFS) Rename(o, n string) error {
	if c.at == "rename" {
		return errAtomicCrash
	}
	return os.Rename(o, n)
}

func (c *crashFS) Remove(string) error { return nil }

func (c *crashFS) SyncDir(dir string) error {
	if c.at == "syncdir" {
		return errAtomicCrash
	}
	return SyncDir(dir)
}

// TestWriteFileAtomicCrash kills the writer at every step of an atomic
// write; what is at the path always parses as the old or the new state.
func TestWriteFileAtomicCrash(t *testing.T) {
	oldM := StudyManifest{StudyName: "old", Runs: []ManifestRun{{Index: 0, State: StatePending}}}
	newM := StudyManifest{StudyName: "new", Runs: []ManifestRun{{Index: 0, State: StateCompleted, LogTail: "tail"}}}
	newData, _ := json.MarshalIndent(newM, "", "  ")
	var steps []crashFS
	for k := 0; k < len(newData); k++ {
		steps = append(steps, crashFS{at: "write", bytes: k})
	}
	steps = append(steps, crashFS{at: "fsync"}, crashFS{at: "rename"}, crashFS{at: "syncdir"})
	for _, step := range steps {
		path := filepath.Join(t.TempDir(), ManifestFile)
		if err := WriteJSONAtomic(path, oldM); err != nil {
			t.Fatal(err)
		}
		err := writeFileAtomic(&step, path, newData, 0o644)
		if !errors.Is(err, errAtomicCrash) {
			t.Fatalf("%+v: err %v", step, err)
		}
		got, err := ReadManifest(path)
		if err != nil {
			t.Fatalf("%+v: manifest does not parse: %v", step, err)
		}
		want := "old"
		if step.at == "syncdir" {
			want = "new" // renamed already; only durability was in doubt
		}
		if got.StudyName != want {
			t.Fatalf("%+v: study %q, want %q", step, got.StudyName, want)
		}
	}
	// And without a crash the new state is in place, with the mode asked.
	path := filepath.Join(t.TempDir(), "f.json")
	if err := WriteFileAtomic(path, newData, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("%d files left in the directory, want 1 (no temporary file)", len(ents))
	}
}

func TestLayoutNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{StudyDirName("my study/v2", layoutTestTime("2026-03-04T05:06:07Z")), "my-study-v2_2026-03-04T05-06-07"},
		{StudyDirName("..", layoutTestTime("2026-03-04T05:06:07Z")), "study_2026-03-04T05-06-07"},
		{RunDirName(3, 2, "1a2b3c4d5e6f"), "run-0003-c2-1a2b3c4d"},
		{RunDirName(12345, 10, ""), "run-12345-c10-nohash"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func layoutTestTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
