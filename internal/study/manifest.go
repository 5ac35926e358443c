package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// manifestStore keeps a study's manifest on disk: a snapshot
// (manifest.json) plus an append-only journal (manifest.journal.jsonl) of
// run entries changed since. Recording a change appends and fsyncs one
// line, a cost independent of the study's size; the snapshot is rewritten
// atomically (compaction) once the journal holds 1/compactDivisor of the
// study's size in changes, and on close, so its amortised cost per change
// is also constant. Readers use results.ReadManifest, which replays the
// journal over the snapshot.
type manifestStore struct {
	dir      string
	m        *results.StudyManifest
	journal  *os.File
	seq      int64
	pending  int // journal entries since the last compaction
	now      func() time.Time
	compactN int
	// write is the journal's write seam (tests stop it part-way).
	write func(f *os.File, b []byte) error
}

// The snapshot is rewritten every max(compactMin, runs/compactDivisor)
// changes: its cost (proportional to the runs) is then spread over a number
// of changes proportional to the runs, so it is constant per change.
const (
	compactDivisor = 4
	compactMin     = 64
)

func writeAndSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Sync()
}

// createManifestStore writes m as the snapshot, starts an empty journal and
// returns the store. An existing journal (a resumed study) is folded into m
// by the caller beforehand and replaced here.
func createManifestStore(dir string, m *results.StudyManifest, now func() time.Time) (*manifestStore, error) {
	s := &manifestStore{dir: dir, m: m, seq: m.JournalSeq, now: now, write: writeAndSync}
	s.compactN = max(compactMin, len(m.Runs)/compactDivisor)
	if err := s.compact(); err != nil {
		return nil, err
	}
	return s, nil
}

// update records a run's new entry.
func (s *manifestStore) update(r results.ManifestRun) error {
	if r.Index < 0 || r.Index >= len(s.m.Runs) {
		return fmt.Errorf("manifest: run index %d out of range", r.Index)
	}
	s.m.Runs[r.Index] = r
	s.seq++
	e := results.JournalEntry{Seq: s.seq, Time: s.now().UTC(), Run: r}
	s.m.UpdatedAt = e.Time
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("manifest: encode journal entry: %w", err)
	}
	if err := s.write(s.journal, append(line, '\n')); err != nil {
		return fmt.Errorf("manifest: append to %s: %w", results.ManifestJournalFile, err)
	}
	s.pending++
	if s.pending >= s.compactN {
		return s.compact()
	}
	return nil
}

// compact rewrites the snapshot with every change so far, then empties the
// journal. A crash between the two (or mid-truncation) leaves journal
// entries already in the snapshot; their sequence numbers make replaying
// them a no-op.
func (s *manifestStore) compact() error {
	s.m.JournalSeq = s.seq
	// Compact JSON: a 10,000-run snapshot is encoded several times faster
	// than indented.
	data, err := json.Marshal(s.m)
	if err != nil {
		return fmt.Errorf("manifest: encode: %w", err)
	}
	if err := results.WriteFileAtomic(filepath.Join(s.dir, results.ManifestFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if s.journal == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, results.ManifestJournalFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("manifest: open journal: %w", err)
		}
		s.journal = f
	}
	if err := s.journal.Truncate(0); err != nil {
		return fmt.Errorf("manifest: empty journal: %w", err)
	}
	if err := s.journal.Sync(); err != nil {
		return fmt.Errorf("manifest: fsync journal: %w", err)
	}
	s.pending = 0
	return nil
}

// close compacts and releases the journal.
func (s *manifestStore) close() error {
	err := s.compact()
	if s.journal != nil {
		if cerr := s.journal.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("manifest: close journal: %w", cerr)
		}
		s.journal = nil
	}
	return err
}
