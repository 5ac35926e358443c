package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrInvalidResult marks a result.json that cannot be trusted as a run's
// result (see CheckResult).
var ErrInvalidResult = errors.New("invalid result")

// CheckResult validates the result.json at path as the result of the run
// with configuration hash and cycle: it must decode as an ExperimentResult
// with no unknown fields (the result schema), carry a schema version, that
// hash and that cycle, name only files that exist beside it, and, when
// wantSHA256 is not empty, have that checksum (recorded in the manifest
// when the run completed). It returns the result and
// the file's checksum; every failure wraps ErrInvalidResult.
func CheckResult(path, hash string, cycle int, wantSHA256 string) (*ExperimentResult, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidResult, err)
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	bad := func(format string, args ...any) (*ExperimentResult, string, error) {
		return nil, got, fmt.Errorf("%w: %s: %s", ErrInvalidResult, path, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r *ExperimentResult
	if err := dec.Decode(&r); err != nil {
		return bad("does not parse as a result (%d bytes): %v", len(data), err)
	}
	if dec.More() {
		return bad("has data after the result")
	}
	switch {
	case r == nil:
		return bad("is null")
	case r.SchemaVersion == "":
		return bad("has no schema_version")
	case r.MeasurementConfigHash != hash || r.Cycle != cycle:
		return bad("is configuration %q cycle %d, not the run's %s cycle %d", r.MeasurementConfigHash, r.Cycle, hash, cycle)
	}
	if p := r.TimeseriesPath; p != "" {
		if filepath.IsAbs(p) || !filepath.IsLocal(filepath.FromSlash(p)) {
			return bad("names the time series %q outside its directory", p)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(path), filepath.FromSlash(p))); err != nil {
			return bad("names the time series %s, which is missing: %v", p, err)
		}
	}
	// Last, so the message says what is wrong where it can.
	if wantSHA256 != "" && got != wantSHA256 {
		return bad("checksum %s differs from the %s recorded when the run completed", got[:12], wantSHA256[:min(12, len(wantSHA256))])
	}
	return r, got, nil
}
