package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/llenergymeasure/llem/config"
)

// ReadExperimentResult reads one result.json.
func ReadExperimentResult(path string) (*ExperimentResult, error) {
	var r ExperimentResult
	if err := ReadJSON(path, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReadStudyResult reads a study_result.json.
func ReadStudyResult(path string) (*StudyResult, error) {
	var r StudyResult
	if err := ReadJSON(path, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReadStudyConfig reads the resolved study that the study directory dir
// records (StudyConfigFile). Its execution block is the study's own, so
// ExecutionFromFile is set: a resume keeps the recorded cycles.
func ReadStudyConfig(dir string) (*config.StudyConfig, error) {
	var sc config.StudyConfig
	if err := ReadJSON(filepath.Join(dir, StudyConfigFile), &sc); err != nil {
		return nil, fmt.Errorf("read the study of %s: %w (is it a study directory written by llem run?)", dir, err)
	}
	sc.ExecutionFromFile = true
	return &sc, nil
}

// ReadManifest reads a study's manifest as of its last recorded change:
// the manifest.json snapshot at path, with the entries of the
// manifest.journal.jsonl beside it applied over it. A torn last journal
// line (a writer killed mid-append) is ignored: the change it was recording
// had not completed.
func ReadManifest(path string) (*StudyManifest, error) {
	var m StudyManifest
	if err := ReadJSON(path, &m); err != nil {
		return nil, err
	}
	jpath := filepath.Join(filepath.Dir(path), ManifestJournalFile)
	f, err := os.Open(jpath)
	if errors.Is(err, os.ErrNotExist) {
		return &m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest journal: %w", err)
	}
	defer f.Close()
	if err := ReplayJournal(&m, f); err != nil {
		return nil, fmt.Errorf("read manifest journal %s: %w", jpath, err)
	}
	return &m, nil
}

// ReplayJournal applies the journal lines read from r to m. Only lines that
// end in a newline count: the writer appends a line and its newline in one
// write and fsyncs it, so a missing newline or an unparsable last line is
// the trace of a writer that died mid-append and is skipped. An unparsable
// line followed by others is corruption and an error.
func ReplayJournal(m *StudyManifest, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var bad error
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // b, if any, is a torn tail without its newline
		}
		if err != nil {
			return err
		}
		if bad != nil {
			return bad // the bad line was not the last one
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var e JournalEntry
		if err := json.Unmarshal(b, &e); err != nil {
			bad = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		if err := m.Apply(e); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// ReadJSON reads the JSON document at path into v; a missing file's error
// wraps fs.ErrNotExist.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}
