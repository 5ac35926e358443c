package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// ErrNotInstalled is returned when a Slurm command is not on PATH.
var ErrNotInstalled = errors.New("no Slurm here: sbatch/squeue are not on PATH (Slurm is not installed); run the study locally without --scheduler, or on a Slurm login node")

// Exec runs one Slurm command and returns its stdout; the error carries
// its stderr. It is the narrow seam tests replace.
type Exec interface {
	Output(ctx context.Context, name string, args ...string) ([]byte, error)
}

// OSExec runs the real commands from PATH.
type OSExec struct{}

// Output runs name with args.
func (OSExec) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotInstalled)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// Client submits and follows job arrays.
type Client struct {
	// Exec runs the commands (OSExec when nil).
	Exec Exec
}

func (c Client) exec() Exec {
	if c.Exec == nil {
		return OSExec{}
	}
	return c.Exec
}

// Submit submits the batch script with `sbatch --parsable` and returns the
// job id.
func (c Client) Submit(ctx context.Context, script string) (string, error) {
	out, err := c.exec().Output(ctx, "sbatch", "--parsable", script)
	if err != nil {
		return "", fmt.Errorf("submit %s: %w", script, err)
	}
	return ParseJobID(out)
}

// ParseJobID reads the job id from `sbatch --parsable` output
// ("1234" or "1234;cluster").
func ParseJobID(out []byte) (string, error) {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:] // warnings may come first
	}
	id, _, _ := strings.Cut(s, ";")
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("sbatch --parsable printed %q, not a job id", strings.TrimSpace(string(out)))
	}
	return id, nil
}

// ArrayStatus is what squeue says about a job array's tasks still known to
// it. Tasks that ended are no longer listed.
type ArrayStatus struct {
	// States counts the listed tasks by Slurm state (PENDING, RUNNING, ...).
	States map[string]int
}

// Active reports whether any task of the array is still queued or running.
func (s ArrayStatus) Active() bool { return len(s.States) > 0 }

// String is a short human summary, e.g. "1 RUNNING, 3 PENDING".
func (s ArrayStatus) String() string {
	if !s.Active() {
		return "no task left in the queue"
	}
	keys := make([]string, 0, len(s.States))
	for k := range s.States {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", s.States[k], k)
	}
	return strings.Join(parts, ", ")
}

// Status asks squeue for the array's tasks still queued or running. A job
// squeue no longer knows has ended.
func (c Client) Status(ctx context.Context, jobID string) (ArrayStatus, error) {
	out, err := c.exec().Output(ctx, "squeue", "--noheader", "--array", "--jobs="+jobID, "--format=%i %T")
	st := ArrayStatus{States: map[string]int{}}
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return st, nil // ended and purged from the controller
		}
		return st, fmt.Errorf("status of job %s: %w", jobID, err)
	}
	for _, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(ln)
		if len(f) != 2 {
			continue
		}
		st.States[f[1]]++
	}
	return st, nil
}

// Wait polls Status every interval until no task of the array is queued or
// running, calling onChange (when not nil) whenever the summary changes.
func (c Client) Wait(ctx context.Context, jobID string, interval time.Duration, onChange func(ArrayStatus)) error {
	last := ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := c.Status(ctx, jobID)
		if err != nil {
			return err
		}
		if s := st.String(); s != last && onChange != nil {
			onChange(st)
			last = s
		}
		if !st.Active() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for job %s (it keeps running; follow it with squeue -j %s): %w", jobID, jobID, ctx.Err())
		case <-t.C:
		}
	}
}

// Submission records a submitted study, in Dir/SubmissionFile.
type Submission struct {
	// JobID is the Slurm job id of the study's array job.
	JobID string `json:"job_id"`
	// SubmittedAt is when the job was submitted (RFC 3339).
	SubmittedAt time.Time `json:"submitted_at"`
	// Tasks is the number of array tasks, one per run.
	Tasks int `json:"tasks"`
	// Concurrency is the most array tasks allowed to run at once (--slurm-concurrency).
	Concurrency int `json:"concurrency"`
	// Options are the extra sbatch options given with --slurm-opt.
	Options []string `json:"options"`
	// NoGaps: the tasks skip the thermal gaps before their run.
	NoGaps bool `json:"no_gaps"`
}
