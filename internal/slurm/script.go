package slurm

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Files the submission writes under the study directory.
const (
	// Dir is the folder of the Slurm files inside the study directory.
	Dir = "slurm"
	// ScriptFile is the batch script, in Dir.
	ScriptFile = "array.sbatch"
	// SubmissionFile records the submitted job (Submission), in Dir.
	SubmissionFile = "submission.json"
)

// TaskOutput is the file, in Dir, that Slurm writes array task i's own
// stdout and stderr to (what happens before llem opens the run's run.log,
// such as a missing binary).
func TaskOutput(i int) string { return fmt.Sprintf("task-%d.out", i) }

// ScriptParams is what the batch script is made of.
type ScriptParams struct {
	// JobName is the Slurm job name (--job-name).
	JobName string
	// StudyDir is the study directory, absolute: the tasks' working
	// directory and where their output goes.
	StudyDir string
	// Tasks is the number of array tasks, one per run (indices 0..Tasks-1).
	Tasks int
	// Concurrency is how many array tasks may run at once (the %N of
	// --array); 0 or less means 1.
	Concurrency int
	// Options are extra sbatch options, one per #SBATCH line
	// (e.g. "--partition=debug", "--exclusive").
	Options []string
	// Env are variables the script exports before running the task.
	Env map[string]string
	// Command is the task's command line, run with exec; the array task
	// reads its index from SLURM_ARRAY_TASK_ID.
	Command []string
}

// Script renders the batch script of a job array: #SBATCH header lines,
// the exported environment and the task command. It is a pure function.
func Script(p ScriptParams) (string, error) {
	switch {
	case p.Tasks < 1:
		return "", fmt.Errorf("slurm script: the array needs at least one task, got %d", p.Tasks)
	case !filepath.IsAbs(p.StudyDir):
		return "", fmt.Errorf("slurm script: the study directory %q must be absolute (tasks may start elsewhere)", p.StudyDir)
	case strings.ContainsAny(p.StudyDir, " \t\n\r'\"\\"):
		return "", fmt.Errorf("slurm script: the study directory %q holds a space, quote or backslash, which #SBATCH lines cannot carry; choose a results directory without them (--output)", p.StudyDir)
	case len(p.Command) == 0:
		return "", errors.New("slurm script: no task command")
	}
	conc := max(p.Concurrency, 1)
	name := p.JobName
	if name == "" {
		name = "llem"
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	line := func(opt string) error {
		if strings.ContainsAny(opt, "\n\r") || !strings.HasPrefix(opt, "-") {
			return fmt.Errorf("slurm script: option %q is not one sbatch option (it must start with '-' and hold no newline, e.g. --partition=debug)", opt)
		}
		fmt.Fprintf(&b, "#SBATCH %s\n", opt)
		return nil
	}
	fixed := []string{
		"--job-name=" + safeWord(name),
		fmt.Sprintf("--array=0-%d%%%d", p.Tasks-1, conc),
		"--chdir=" + p.StudyDir,
		"--output=" + filepath.Join(p.StudyDir, Dir, "task-%a.out"),
	}
	for _, o := range append(fixed, p.Options...) {
		if err := line(o); err != nil {
			return "", err
		}
	}
	b.WriteString("# Written by llem: one array task per run of the study; each task\n")
	b.WriteString("# measures its run and writes only into the run's own directory.\n")
	b.WriteString("set -eu\n")
	keys := make([]string, 0, len(p.Env))
	for k := range p.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validEnvName(k) {
			return "", fmt.Errorf("slurm script: %q is not a valid environment variable name", k)
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(p.Env[k]))
	}
	b.WriteString("exec")
	for _, a := range p.Command {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return b.String(), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// safeWord keeps a job name to characters that need no quoting.
func safeWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, s)
}

func validEnvName(k string) bool {
	if k == "" || ('0' <= k[0] && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if r != '_' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9') {
			return false
		}
	}
	return true
}
