package config

import (
	"fmt"
	"path/filepath"
)

// Revalidate re-resolves a study after its experiments were changed in
// code (command-line flags laid over a file): precision defaults follow a
// changed backend, dataset files are digested, every experiment and the
// execution block are validated, and experiments that became identical are
// moved to Skipped as duplicates. Problems are returned as Errors naming
// `experiments[i].field`.
func Revalidate(sc *StudyConfig) error {
	var errs errorList
	inFile := sc.Path != ""
	baseDir := "."
	if inFile {
		baseDir = filepath.Dir(sc.Path)
	}
	r := &resolver{baseDir: baseDir, files: map[string]fileDigest{}}
	for i := range sc.Experiments {
		cfg := &sc.Experiments[i]
		if i < len(sc.written) {
			w := &sc.written[i]
			if !w.precisionSet && cfg.Precision == w.defaultPrecision {
				cfg.Precision = ""
			}
		}
		ApplyDefaults(cfg)
		if i < len(sc.written) && !sc.written[i].precisionSet {
			sc.written[i].defaultPrecision = cfg.Precision
		}
		field := fmt.Sprintf("experiments[%d]", i)
		if ds := &cfg.Dataset; ds.Path != "" && (ds.Name == DatasetJSONL || ds.Name == DatasetShareGPT) && ds.FileSHA256 == "" {
			sum, err := r.digest(ds.Path)
			if err != nil {
				errs.add(&FieldError{File: sc.Path, Field: field + ".dataset.path", Msg: err.Error()})
			}
			ds.FileSHA256 = sum
		}
		if err := ModelDigest(cfg); err != nil {
			errs.add(&FieldError{File: sc.Path, Field: field + ".model", Msg: err.Error()})
		}
		for _, p := range validateExperiment(cfg, inFile) {
			errs.add(&FieldError{File: sc.Path, Field: field + "." + p.field, Msg: p.msg})
		}
	}
	for _, p := range validateExecution(&sc.Execution) {
		errs.add(&FieldError{File: sc.Path, Field: p.field, Msg: p.msg})
	}
	if err := errs.err(); err != nil {
		return err
	}
	dedupe(sc)
	return nil
}

// dedupe moves experiments identical to an earlier one to Skipped, keeping
// Origins and the written records aligned.
func dedupe(sc *StudyConfig) {
	seen := map[string]int{}
	keep := 0
	for i, cfg := range sc.Experiments {
		h := MeasurementConfigHash(cfg)
		if j, dup := seen[h]; dup {
			sc.Skipped = append(sc.Skipped, SkippedConfig{Config: cfg, Reason: fmt.Sprintf("duplicate of experiment %d (same measurement_config_hash %s)", j, h)})
			continue
		}
		seen[h] = keep
		sc.Experiments[keep] = cfg
		if i < len(sc.Origins) && keep < len(sc.Origins) {
			sc.Origins[keep] = sc.Origins[i]
		}
		if i < len(sc.written) && keep < len(sc.written) {
			sc.written[keep] = sc.written[i]
		}
		keep++
	}
	sc.Experiments = sc.Experiments[:keep]
	if len(sc.Origins) > keep {
		sc.Origins = sc.Origins[:keep]
	}
	if len(sc.written) > keep {
		sc.written = sc.written[:keep]
	}
}
