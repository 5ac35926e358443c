package results

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// File names of a study directory (STU-6):
//
//	{results_dir}/{study_name}_{timestamp}/
//	  manifest.json            the checkpoint (snapshot)
//	  manifest.journal.jsonl   state changes since the snapshot
//	  study.json               the resolved study
//	  study.yaml               a copy of the study file, when there was one
//	  study_result.json        the final StudyResult
//	  results.parquet          the run table: one row per run (RunTable)
//	  run-0003-c2-1a2b3c4d/    one directory per run:
//	    result.json, timeseries.parquet, run.log
//	    invalid-<time>/          a result moved aside by a resume
//	  llem.lock                held by the writer while it writes
const (
	ManifestFile        = "manifest.json"
	ManifestJournalFile = "manifest.journal.jsonl"
	StudyConfigFile     = "study.json"
	StudyYAMLFile       = "study.yaml"
	StudyResultFile     = "study_result.json"
	ResultsParquetFile  = "results.parquet"
	ResultFile          = "result.json"
	TimeseriesFile      = "timeseries.parquet"
	RunLogFile          = "run.log"
	// LockFile is the lock a writer holds on a study directory (and, for a
	// scheduler's task, on its run directory) while it writes there.
	LockFile = "llem.lock"
	// InvalidDirPrefix starts the name of the folder, inside a run
	// directory, where a result that failed validation is moved aside.
	InvalidDirPrefix = "invalid-"
)

// StudyTimestampLayout is the time format in study directory names (UTC).
const StudyTimestampLayout = "2006-01-02T15-04-05"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// StudyDirName is the directory name of a study started at t:
// {study_name}_{timestamp}, the name reduced to characters safe in paths.
func StudyDirName(studyName string, t time.Time) string {
	name := strings.Trim(unsafeName.ReplaceAllString(studyName, "-"), "-.")
	if name == "" {
		name = "study"
	}
	return name + "_" + t.UTC().Format(StudyTimestampLayout)
}

// RunDirName is the directory name of one run: run-{index:04}-c{cycle}-{hash8}
// with a 0-based run index, so names sort in run order up to 10,000 runs.
func RunDirName(index, cycle int, measurementConfigHash string) string {
	h := measurementConfigHash
	if len(h) > 8 {
		h = h[:8]
	}
	if h == "" {
		h = "nohash"
	}
	return fmt.Sprintf("run-%04d-c%d-%s", index, cycle, h)
}
