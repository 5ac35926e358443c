package study

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/results"
)

func testManifest(n int) *results.StudyManifest {
	m := &results.StudyManifest{SchemaVersion: results.SchemaVersion, StudyName: "m", StudyDesignHash: "abc",
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range n {
		m.Runs = append(m.Runs, results.ManifestRun{Index: i, Cycle: 1, MeasurementConfigHash: "h", State: results.StatePending})
	}
	return m
}

var errCrash = errors.New("simulated crash")

// TestManifestTornJournalWrite stops the journal append after every
// possible number of bytes (and before the fsync) and checks that what is
// on disk reads as the state before or after the change, never another.
func TestManifestTornJournalWrite(t *testing.T) {
	const n = 100 // compacts every 64 changes; these two go to the journal
	change := results.ManifestRun{Index: 7, Cycle: 1, MeasurementConfigHash: "h", State: results.StateFailed,
		Error: "boom", ErrorType: "crashed", LogTail: "line one\nline two"}
	line, _ := json.Marshal(results.JournalEntry{Seq: 2, Time: time.Unix(0, 0).UTC(), Run: change})
	for k := 0; k <= len(line)+1; k++ {
		dir := t.TempDir()
		clock := newFakeClock()
		s, err := createManifestStore(dir, testManifest(n), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		first := results.ManifestRun{Index: 3, Cycle: 1, MeasurementConfigHash: "h", State: results.StateCompleted, ResultPath: "r/result.json"}
		if err := s.update(first); err != nil {
			t.Fatal(err)
		}
		old := readRuns(t, dir)
		s.write = func(f *os.File, b []byte) error {
			if k < len(b) {
				_, _ = f.Write(b[:k]) // the process dies part-way
				return errCrash
			}
			_, _ = f.Write(b) // written, but the crash comes before fsync
			return errCrash
		}
		if err := s.update(change); !errors.Is(err, errCrash) {
			t.Fatalf("k=%d: update error %v", k, err)
		}
		_ = s.journal.Close()
		got := readRuns(t, dir)
		next := append([]results.ManifestRun(nil), old...)
		next[7] = change
		if !reflect.DeepEqual(got, old) && !reflect.DeepEqual(got, next) {
			t.Fatalf("k=%d of %d bytes: manifest reads as neither the old nor the new state", k, len(line)+1)
		}
		if k <= len(line) && !reflect.DeepEqual(got, old) {
			t.Fatalf("k=%d: a torn line was applied", k)
		}
	}
}

func readRuns(t *testing.T, dir string) []results.ManifestRun {
	t.Helper()
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatalf("manifest does not parse: %v", err)
	}
	return m.Runs
}

// TestManifestCompactionCrash: a crash after the snapshot was rewritten but
// before the journal was emptied replays nothing twice; close leaves a
// snapshot that alone holds every change.
func TestManifestCompactionCrash(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s, err := createManifestStore(dir, testManifest(64), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := s.update(results.ManifestRun{Index: i, Cycle: 1, MeasurementConfigHash: "h", State: results.StateCompleted}); err != nil {
			t.Fatal(err)
		}
	}
	want := readRuns(t, dir)
	// Simulate the crash window: snapshot at the latest state, old journal
	// lines still present.
	journal, _ := os.ReadFile(filepath.Join(dir, results.ManifestJournalFile))
	s.m.JournalSeq = s.seq
	if err := results.WriteJSONAtomic(filepath.Join(dir, results.ManifestFile), s.m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, results.ManifestJournalFile), journal, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readRuns(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatal("replaying journal entries already in the snapshot changed the state")
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	var snap results.StudyManifest
	b, _ := os.ReadFile(filepath.Join(dir, results.ManifestFile))
	if err := json.Unmarshal(b, &snap); err != nil || !reflect.DeepEqual(snap.Runs, want) {
		t.Fatalf("snapshot after close: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, results.ManifestJournalFile)); fi.Size() != 0 {
		t.Errorf("journal holds %d bytes after close", fi.Size())
	}
}
