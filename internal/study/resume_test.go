package study

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// TestResumeAfterSIGKILL kills the runner process with SIGKILL mid-study,
// resumes, and checks that the study finishes with every result completed
// before the kill untouched and no completed run done twice.
func TestResumeAfterSIGKILL(t *testing.T) {
	markers := t.TempDir()
	sc := sweep("killed", config.OrderInterleaved, 2, []int{1, 2, 3}, []string{"fp32"},
		map[string]any{"test_sleep_s": 0.3, "test_marker_dir": markers})
	opts := childOptions(t)
	cmd := startRunner(t, sc, opts)
	// Wait until two runs are completed, then kill -9 the runner.
	var dir string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the runner did not complete two runs in 60 s")
		}
		time.Sleep(20 * time.Millisecond)
		ents, _ := os.ReadDir(opts.ResultsDir)
		if len(ents) != 1 {
			continue
		}
		dir = filepath.Join(opts.ResultsDir, ents[0].Name())
		m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
		if err == nil && m.Counts()[results.StateCompleted] >= 2 {
			break
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The child of the killed runner stops with it and releases the lock it
	// inherited; after that no child marks anything.
	waitUnlocked(t, dir, 10*time.Second)

	before, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatalf("manifest after SIGKILL: %v", err)
	}
	sums := map[string]string{}
	for _, mr := range before.Runs {
		if mr.State == results.StateCompleted {
			sums[mr.ResultPath] = checksum(t, filepath.Join(dir, mr.ResultPath))
		}
	}
	if len(sums) < 2 || len(sums) == 6 {
		t.Fatalf("%d runs completed before the kill; the test needs an interrupted study", len(sums))
	}
	startsBefore := countMarks(t, markers)

	ropts := childOptions(t)
	ropts.ResumeDir = dir
	res, err := Run(context.Background(), sc, ropts)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Summary.Completed != 6 || res.Summary.Failed != 0 {
		t.Fatalf("after resume: %+v", res.Summary)
	}
	for p, sum := range sums {
		if got := checksum(t, filepath.Join(dir, p)); got != sum {
			t.Errorf("%s changed on resume", p)
		}
	}
	after := countMarks(t, markers)
	for _, mr := range before.Runs {
		k := mr.MeasurementConfigHash + " " + strconv.Itoa(mr.Cycle)
		switch {
		case mr.State == results.StateCompleted && after[k] != 1:
			t.Errorf("completed run %s executed %d times", k, after[k])
		case mr.State != results.StateCompleted && after[k]-startsBefore[k] != 1:
			t.Errorf("run %s (%s before resume) executed %d times on resume, want 1", k, mr.State, after[k]-startsBefore[k])
		}
	}
}

func checksum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// countMarks counts child starts per "hash cycle".
func countMarks(t *testing.T, dir string) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "executions.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "start "); ok {
			n[k]++
		}
	}
	return n
}

// waitUnlocked waits until no process holds the study's lock (children
// inherit it), failing after limit.
func waitUnlocked(t *testing.T, dir string, limit time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		if _, held := LockedBy(dir); !held {
			return time.Since(began)
		}
		if time.Since(began) > limit {
			t.Log(lockHolders(filepath.Join(dir, results.LockFile)))
			logs, _ := filepath.Glob(filepath.Join(dir, "run-*", results.RunLogFile))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, b)
			}
			t.Fatalf("%s is still locked %s after its runner was killed: a child outlived it", dir, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startRunner starts this test binary as a runner process of sc.
func startRunner(t *testing.T, sc *config.StudyConfig, opts Options) *exec.Cmd {
	t.Helper()
	spec := runnerSpec{Study: *sc, ResultsDir: opts.ResultsDir, Exe: opts.Executable}
	specPath := filepath.Join(t.TempDir(), "spec.json")
	b, _ := json.Marshal(spec)
	if err := os.WriteFile(specPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(opts.Executable)
	cmd.Env = append(os.Environ(), envRunner+"="+specPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestChildDiesWithRunner kills the runner with SIGKILL while its child
// (and the child's own child, as an engine's server) would run for a
// minute: both end at once and the study is unlocked.
func TestChildDiesWithRunner(t *testing.T) {
	markers := t.TempDir()
	sc := sweep("orphan", config.OrderSequential, 1, []int{1, 2}, []string{"fp32"},
		map[string]any{"test_sleep_s": 60.0, "test_marker_dir": markers, "test_grandchild_dir": markers})
	opts := childOptions(t)
	cmd := startRunner(t, sc, opts)
	deadline := time.Now().Add(30 * time.Second)
	var gcPid int
	for gcPid == 0 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child did not start its grandchild in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(filepath.Join(markers, "grandchild.pid"))
		gcPid, _ = strconv.Atoi(string(b))
	}
	dir := studyDir(t, opts.ResultsDir)
	if _, held := LockedBy(dir); !held {
		t.Fatal("the study is not locked while it runs")
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The issue this guards: a child outlived its SIGKILLed runner by over
	// half a second. It now goes within milliseconds; 2 s leaves room for
	// a loaded machine.
	took := waitUnlocked(t, dir, 2*time.Second)
	t.Logf("child and grandchild gone %s after the runner's SIGKILL", took)
	if err := syscall.Kill(gcPid, 0); err == nil {
		// A zombie is gone in all but name; anything else still runs.
		if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(gcPid), "stat")); !strings.Contains(string(b), ") Z ") {
			t.Errorf("grandchild %d still runs", gcPid)
		}
	}
}

// TestResumeRefusesOtherDesign: a study whose experiments changed is not
// resumed into an existing directory.
func TestResumeRefusesOtherDesign(t *testing.T) {
	clock := newFakeClock()
	sc := sweep("design", config.OrderInterleaved, 1, []int{1}, []string{"fp32"}, nil)
	opts := Options{ResultsDir: t.TempDir(), Clock: clock, launcher: funcLauncher{run: okRun}}
	if _, err := Run(context.Background(), sc, opts); err != nil {
		t.Fatal(err)
	}
	other := sweep("design", config.OrderInterleaved, 1, []int{2}, []string{"fp32"}, nil)
	opts.ResumeDir = studyDir(t, opts.ResultsDir)
	_, err := Run(context.Background(), other, opts)
	if !errors.Is(err, ErrDesignMismatch) || !strings.Contains(err.Error(), "study_design_hash") {
		t.Fatalf("err = %v, want ErrDesignMismatch naming the hashes", err)
	}
	// Topping up cycles keeps the design: resume runs only the new cycle.
	more := sweep("design", config.OrderInterleaved, 2, []int{1}, []string{"fp32"}, nil)
	var ran []int
	opts.launcher = funcLauncher{run: func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
		ran = append(ran, req.Cycle)
		return okRun(ctx, req)
	}}
	res, err := Run(context.Background(), more, opts)
	if err != nil || res.Summary.Completed != 2 || len(ran) != 1 || ran[0] != 2 {
		t.Fatalf("top-up: err %v, summary %+v, ran cycles %v", err, res.Summary, ran)
	}
}

// okRun is an in-process run that always succeeds.
func okRun(_ context.Context, req ChildRequest) (*results.ExperimentResult, error) {
	return &results.ExperimentResult{SchemaVersion: results.SchemaVersion, MeasurementConfigHash: req.MeasurementConfigHash, Config: req.Config,
		Energy: results.EnergyMetrics{Source: "test", PerOutputTokenJ: 1, TotalJ: 2}}, nil
}

// lockHolders describes the processes with the lock file open (for a
// failure message).
func lockHolders(path string) string {
	var b strings.Builder
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == path {
			pid := strings.Split(fd, "/")[2]
			stat, _ := os.ReadFile("/proc/" + pid + "/stat")
			cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			fmt.Fprintf(&b, "%s holds %s: %s | %q\n", fd, path, stat, cmd)
		}
	}
	return b.String()
}
