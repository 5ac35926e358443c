package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/slurm"
	"github.com/llenergymeasure/llem/results"
)

// arrayTaskCommand is the hidden subcommand each Slurm array task runs
// (STU-8): it measures the run whose index is SLURM_ARRAY_TASK_ID.
const arrayTaskCommand = llem.ArrayTaskCommand

// slurmPollInterval is how often --wait asks squeue about the array.
const slurmPollInterval = 3 * time.Second

// runScheduled submits the study to a scheduler instead of running it here
// (`llem run FILE --scheduler slurm`): it creates the study directory as a
// local run would, writes slurm/array.sbatch, submits it and returns, or
// with --wait follows the array and gathers the results.
func runScheduled(ctx context.Context, stdio *IO, sc *config.StudyConfig, resultsDir string, user config.UserConfig, f runFlags) error {
	switch {
	case f.scheduler != "slurm":
		return usageError{fmt.Errorf("unknown --scheduler %q (allowed: slurm; leave it out to run here)", f.scheduler)}
	case f.resume != "":
		return usageError{errors.New("--resume is not supported with --scheduler slurm: gather the study with `llem gather DIR` and submit the missing runs as a new study")}
	case f.slurmConcurrency < 1:
		return usageError{fmt.Errorf("--slurm-concurrency must be at least 1, got %d", f.slurmConcurrency)}
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return fmt.Errorf("--scheduler slurm: %w", slurm.ErrNotInstalled)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the llem binary the array tasks run: %w", err)
	}
	if resultsDir == "" {
		resultsDir = config.DefaultResultsDir
	}
	if abs, err := filepath.Abs(resultsDir); err == nil {
		resultsDir = abs
	}
	dir, tasks, err := llem.Prepare(sc, resultsDir)
	if err != nil {
		return err
	}
	baseDir, err := filepath.Abs(llem.StudyBaseDir(sc))
	if err != nil {
		return err
	}
	cmdLine := []string{exe, arrayTaskCommand, dir, "--base-dir", baseDir}
	if f.noGaps {
		cmdLine = append(cmdLine, "--no-gaps")
	}
	script, err := slurm.Script(slurm.ScriptParams{
		JobName:     "llem-" + sc.Name,
		StudyDir:    dir,
		Tasks:       tasks,
		Concurrency: f.slurmConcurrency,
		Options:     f.slurmOpts,
		Command:     cmdLine,
	})
	if err != nil {
		return usageError{err}
	}
	sdir := filepath.Join(dir, slurm.Dir)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", sdir, err)
	}
	scriptPath := filepath.Join(sdir, slurm.ScriptFile)
	if err := results.WriteFileAtomic(scriptPath, []byte(script), 0o755); err != nil {
		return err
	}
	client := slurm.Client{}
	jobID, err := client.Submit(ctx, scriptPath)
	if err != nil {
		return fmt.Errorf("%w (the study directory %s is ready; fix the options and submit %s with sbatch)", err, dir, scriptPath)
	}
	sub := slurm.Submission{JobID: jobID, SubmittedAt: time.Now().UTC(), Tasks: tasks, Concurrency: f.slurmConcurrency, Options: f.slurmOpts, NoGaps: f.noGaps}
	if sub.Options == nil {
		sub.Options = []string{}
	}
	if err := results.WriteJSONAtomic(filepath.Join(sdir, slurm.SubmissionFile), sub); err != nil {
		return err
	}
	if !f.wait {
		if f.asJSON {
			return writeEnvelope(stdio.Out, envelopeSubmission, dir, sub)
		}
		fmt.Fprintf(stdio.Out, "Submitted %d run(s) of study %q as Slurm job array %s (at most %d at once)\n", tasks, sc.Name, jobID, f.slurmConcurrency)
		fmt.Fprintf(stdio.Out, "  study directory: %s\n  follow it:       squeue -j %s\n  when it ends:    llem gather %s\n", dir, jobID, dir)
		return nil
	}
	fmt.Fprintf(stdio.Err, "Submitted %d run(s) as Slurm job array %s; waiting (Ctrl-C stops waiting, not the job)\n", tasks, jobID)
	err = client.Wait(ctx, jobID, slurmPollInterval, func(s slurm.ArrayStatus) {
		fmt.Fprintf(stdio.Err, "  job %s: %s\n", jobID, s)
	})
	if err != nil {
		return err
	}
	return gatherStudy(stdio, dir, sub, user, false, f.asJSON)
}

// gatherStudy rebuilds the study's manifest and result from its run
// directories and prints the summary; exit 1 when runs failed.
func gatherStudy(stdio *IO, dir string, sub slurm.Submission, user config.UserConfig, active, asJSON bool) error {
	res, err := llem.Gather(dir, llem.GatherOptions{
		Runner: "slurm",
		Active: active,
		NoGaps: sub.NoGaps,
		User:   user,
		SchedulerLog: func(runIndex int) string {
			return filepath.Join(dir, slurm.Dir, slurm.TaskOutput(runIndex))
		},
	})
	if res == nil {
		return err
	}
	if asJSON {
		if jerr := writeEnvelope(stdio.Out, envelopeStudy, dir, res); jerr != nil {
			return jerr
		}
	} else {
		printStudySummary(stdio.Out, res)
		if active {
			fmt.Fprintf(stdio.Out, "  job %s is still running: %d run(s) pending; gather again when it ends\n", sub.JobID, res.Summary.Pending)
		} else {
			fmt.Fprintf(stdio.Out, "  job %s has ended: runs without a result are counted failed\n", sub.JobID)
		}
	}
	return studyOutcome(res, err)
}

func newGatherCmd(stdio *IO) *cobra.Command {
	var asJSON, assumeEnded bool
	cmd := &cobra.Command{
		Use:   "gather DIR",
		Short: "Collect a study run as a Slurm job array: manifest, study_result.json, results.parquet",
		Long: `Collect a study submitted with llem run --scheduler slurm: rebuild its
manifest.json from the run directories and write study_result.json and
results.parquet. While the job array is still in the queue (squeue), runs
without a result are pending; once it has ended they are failed, with the
tail of their log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			user, err := loadUserConfig(stdio)
			if err != nil {
				return err
			}
			var sub slurm.Submission
			if err := results.ReadJSON(filepath.Join(dir, slurm.Dir, slurm.SubmissionFile), &sub); err != nil {
				return usageError{fmt.Errorf("gather %s: %w (was it submitted with llem run --scheduler slurm?)", dir, err)}
			}
			active := false
			if !assumeEnded {
				st, err := slurm.Client{}.Status(cmd.Context(), sub.JobID)
				if err != nil {
					return fmt.Errorf("gather %s: cannot tell whether job %s still runs: %w (use --ended if it has)", dir, sub.JobID, err)
				}
				active = st.Active()
			}
			return gatherStudy(stdio, dir, sub, user, active, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the StudyResult as JSON")
	cmd.Flags().BoolVar(&assumeEnded, "ended", false, "do not ask squeue: the job has ended (runs without a result are failed)")
	return cmd
}

func newArrayTaskCmd(stdio *IO) *cobra.Command {
	var noGaps bool
	var baseDir string
	cmd := &cobra.Command{
		Use:    arrayTaskCommand + " DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := stdio.Getenv("SLURM_ARRAY_TASK_ID")
			if id == "" {
				return usageError{errors.New("SLURM_ARRAY_TASK_ID is not set: this command is what each task of the job array written by llem run --scheduler slurm runs")}
			}
			index, err := strconv.Atoi(id)
			if err != nil {
				return usageError{fmt.Errorf("SLURM_ARRAY_TASK_ID=%q is not a task index", id)}
			}
			user, err := loadUserConfig(stdio)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			where := fmt.Sprintf("host %s, Slurm job %s_%s", host, stdio.Getenv("SLURM_ARRAY_JOB_ID"), id)
			return llem.RunTask(cmd.Context(), args[0], index, llem.TaskOptions{
				User: &user, Getenv: stdio.Getenv, BaseDir: baseDir, NoGaps: noGaps, Where: where,
			})
		},
	}
	cmd.Flags().BoolVar(&noGaps, "no-gaps", false, "skip the gap before the run")
	cmd.Flags().StringVar(&baseDir, "base-dir", "", "the study file's folder, against which relative paths resolve")
	return cmd
}
