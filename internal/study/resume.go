package study

import (
	"errors"
	"fmt"
	"github.com/llenergymeasure/llem/event"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// resume reopens the study directory r.dir under its lock and fills m (the
// plan, every run pending) with the runs already done. A completed run
// counts only when its result.json validates (results.CheckResult against
// the manifest entry); anything else is moved aside into the run's
// directory and measured again. A missing or unreadable manifest is
// rebuilt from study.json and the run directories.
func (r *runner) resume(m *results.StudyManifest) error {
	if err := r.checkCycles(); err != nil {
		return err
	}
	lock, err := LockDir(r.dir, 0)
	var le *LockedError
	if errors.As(err, &le) && le.Orphan {
		r.emit(Event{Kind: event.Warning, Message: fmt.Sprintf("%s was locked by pid %d, which has exited; waiting up to %s for a run process it left to end", r.dir, le.Holder.PID, r.orphanWait())})
		lock, err = LockDir(r.dir, r.orphanWait())
	}
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	r.lock = lock
	old, err := results.ReadManifest(filepath.Join(r.dir, results.ManifestFile))
	if err != nil {
		return r.repair(m, err)
	}
	if err := r.restorePendingGPU(old); err != nil {
		return err
	}
	if old.StudyDesignHash != r.designHash {
		return fmt.Errorf("resume %s: %w: the manifest has study_design_hash %s, this study has %s; the experiments changed, so start the study afresh instead of resuming",
			r.dir, ErrDesignMismatch, old.StudyDesignHash, r.designHash)
	}
	m.CreatedAt, m.JournalSeq = old.CreatedAt, old.JournalSeq
	kept := make(map[string]results.ManifestRun)
	for _, o := range old.Runs {
		if o.State != results.StateCompleted {
			continue
		}
		rel := filepath.FromSlash(o.ResultPath)
		if o.ResultPath == "" || !filepath.IsLocal(rel) {
			r.notes = append(r.notes, fmt.Sprintf("run %d (cycle %d) was marked completed with no usable result path %q: measuring it again", o.Index, o.Cycle, o.ResultPath))
			continue
		}
		path := filepath.Join(r.dir, rel)
		_, sum, err := results.CheckResult(path, o.MeasurementConfigHash, o.Cycle, o.ResultSHA256)
		if err != nil {
			if moveErr := r.setAside(filepath.Dir(path), o.Index, o.Cycle, err); moveErr != nil {
				return moveErr
			}
			continue
		}
		o.ResultSHA256 = sum
		kept[runKey(o.MeasurementConfigHash, o.Cycle)] = o
	}
	for i := range m.Runs {
		if o, ok := kept[runKey(m.Runs[i].MeasurementConfigHash, m.Runs[i].Cycle)]; ok {
			o.Index, o.Experiment = m.Runs[i].Index, m.Runs[i].Experiment
			m.Runs[i] = o
		}
	}
	return r.recordCycles()
}

// repair rebuilds the manifest of r.dir, unreadable for cause, from
// study.json and the validated results in the run directories.
func (r *runner) repair(m *results.StudyManifest, cause error) error {
	recorded, err := results.ReadStudyConfig(r.dir)
	if err != nil {
		return fmt.Errorf("resume %s: the manifest cannot be read (%v) and cannot be rebuilt: %w", r.dir, cause, err)
	}
	if h := config.StudyDesignHash(recorded); h != r.designHash {
		return fmt.Errorf("resume %s: %w: study.json has study_design_hash %s, this study has %s; the experiments changed, so start the study afresh instead of resuming",
			r.dir, ErrDesignMismatch, h, r.designHash)
	}
	found := 0
	for i, run := range r.plan {
		name := results.RunDirName(run.Index, run.Cycle, run.MeasurementConfigHash)
		path := filepath.Join(r.dir, name, results.ResultFile)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		_, sum, err := results.CheckResult(path, run.MeasurementConfigHash, run.Cycle, "")
		if err != nil {
			if moveErr := r.setAside(filepath.Dir(path), run.Index, run.Cycle, err); moveErr != nil {
				return moveErr
			}
			continue
		}
		m.Runs[i].State = results.StateCompleted
		m.Runs[i].ResultPath = filepath.ToSlash(filepath.Join(name, results.ResultFile))
		m.Runs[i].ResultSHA256 = sum
		found++
	}
	what := "is missing"
	if !errors.Is(cause, os.ErrNotExist) {
		what = fmt.Sprintf("cannot be read (%v)", cause)
	}
	r.notes = append(r.notes, fmt.Sprintf("%s %s: rebuilt it from %s and the run directories: %d of %d runs have a valid result",
		filepath.Join(r.dir, results.ManifestFile), what, results.StudyConfigFile, found, len(r.plan)))
	return r.recordCycles()
}

// checkCycles refuses, before anything is written, a resume with fewer
// cycles than the study directory already plans.
func (r *runner) checkCycles() error {
	had := 0
	if old, err := results.ReadManifest(filepath.Join(r.dir, results.ManifestFile)); err == nil {
		for _, o := range old.Runs {
			had = max(had, o.Cycle)
		}
	}
	if recorded, err := results.ReadStudyConfig(r.dir); err == nil {
		had = max(had, recorded.Execution.NCycles)
	}
	if want := r.sc.Execution.NCycles; want > 0 && want < had {
		return fmt.Errorf("resume %s: %w: the study has %d cycles and this resume asks for %d (--cycles or the study file); a resume never drops planned runs (use --cycles %d or more, or leave it out)",
			r.dir, ErrFewerCycles, had, want, had)
	}
	return nil
}

// recordCycles rewrites study.json when the resume extends the study with
// more cycles, so a later plain resume keeps them.
func (r *runner) recordCycles() error {
	recorded, err := results.ReadStudyConfig(r.dir)
	if err == nil && recorded.Execution.NCycles >= r.sc.Execution.NCycles {
		return nil
	}
	if err := results.WriteJSONAtomic(filepath.Join(r.dir, results.StudyConfigFile), r.sc); err != nil {
		return fmt.Errorf("resume %s: %w", r.dir, err)
	}
	return nil
}

func (r *runner) orphanWait() time.Duration {
	if r.opts.OrphanWait > 0 {
		return r.opts.OrphanWait
	}
	return DefaultOrphanWait
}

// setAside moves what runDir holds (but earlier set-aside folders and the
// lock file) into runDir/invalid-<time>/, never deleting it, and notes why.
func (r *runner) setAside(runDir string, index, cycle int, why error) error {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		return fmt.Errorf("resume %s: set aside the invalid result of run %d: %w", r.dir, index, err)
	}
	aside := filepath.Join(runDir, results.InvalidDirPrefix+r.clock.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Mkdir(aside, 0o755); err != nil {
		return fmt.Errorf("resume %s: set aside the invalid result of run %d: %w", r.dir, index, err)
	}
	for _, e := range ents {
		if keepInRunDir(e.Name()) {
			continue
		}
		if err := os.Rename(filepath.Join(runDir, e.Name()), filepath.Join(aside, e.Name())); err != nil {
			return fmt.Errorf("resume %s: set aside the invalid result of run %d: %w", r.dir, index, err)
		}
	}
	r.notes = append(r.notes, fmt.Sprintf("run %d (cycle %d): %v; moved it aside to %s and measuring the run again", index, cycle, r.redact.String(why.Error()), aside))
	return nil
}

// keepInRunDir: the entries of a run directory that clearing it keeps.
func keepInRunDir(name string) bool {
	return strings.HasPrefix(name, results.InvalidDirPrefix) || name == results.LockFile
}

// clearRunDir empties runDir for a new attempt, creating it if needed;
// results set aside as invalid stay.
func clearRunDir(runDir string) error {
	ents, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(runDir, 0o755)
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if keepInRunDir(e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(runDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// secretValues are the values of the environment variables the study's
// experiments read API keys from (openai.api_key_env), in env.
func secretValues(sc *config.StudyConfig, env []string) []string {
	names := map[string]bool{}
	for _, cfg := range sc.Experiments {
		if cfg.OpenAI != nil && cfg.OpenAI.APIKeyEnv != nil && *cfg.OpenAI.APIKeyEnv != "" {
			names[*cfg.OpenAI.APIKeyEnv] = true
		}
	}
	var vals []string
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && names[k] && v != "" {
			vals = append(vals, v)
		}
	}
	return vals
}
