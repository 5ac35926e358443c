package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/internal/study"
	"github.com/llenergymeasure/llem/results"
)

// sixRunStudy is three native configurations × two cycles, as fast as the
// tiny model runs: no baseline, no warm-up, two short prompts.
const sixRunStudy = `name: six
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 4}
baseline: {enabled: false}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2, 3]
execution: {n_cycles: 2, cycle_order: interleaved}
`

// writeStudyFile writes src as a study file and returns it with the
// results folder beside it.
func writeStudyFile(t *testing.T, src string) (file, out string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, filepath.Join(dir, "results")
}

// onlyStudyDir is the one study folder under out.
func onlyStudyDir(t *testing.T, out string) string {
	t.Helper()
	ents, err := os.ReadDir(out)
	if err != nil || len(ents) != 1 {
		t.Fatalf("%s: %d entries (%v), want one study folder", out, len(ents), err)
	}
	return filepath.Join(out, ents[0].Name())
}

// llemProcess is llem (this test binary) as its own process, counting the
// runs its children measure in execLog.
func llemProcess(execLog string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asLlemEnv+"=1", execLogEnv+"="+execLog, "XDG_CONFIG_HOME=", "LLEM_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// executions counts the measurements logged per "hash cycle".
func executions(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			n[l]++
		}
	}
	return n
}

func runKey(r results.ManifestRun) string {
	return fmt.Sprintf("%s %d", r.MeasurementConfigHash, r.Cycle)
}

// treeSums is the checksum of every file under dir, by relative path.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sums[rel] = sha256File(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// completedResults checks that every planned run of the study in sd is
// completed with a valid result and returns their checksums by run key.
func completedResults(t *testing.T, sd string, want int) map[string]string {
	t.Helper()
	m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Runs) != want {
		t.Fatalf("manifest has %d runs, want %d", len(m.Runs), want)
	}
	sums := map[string]string{}
	for _, r := range m.Runs {
		if r.State != results.StateCompleted {
			t.Errorf("run %d (cycle %d) is %s: %s", r.Index, r.Cycle, r.State, r.Error)
			continue
		}
		if _, sum, err := results.CheckResult(filepath.Join(sd, r.ResultPath), r.MeasurementConfigHash, r.Cycle, r.ResultSHA256); err != nil {
			t.Errorf("run %d: %v", r.Index, err)
		} else {
			sums[runKey(r)] = sum
		}
	}
	return sums
}

// finishedStudy runs src to the end in-process and returns its folder.
func finishedStudy(t *testing.T, src string) (file, sd string) {
	t.Helper()
	file, out := writeStudyFile(t, src)
	if code, stdout, errOut := runCLI(t, nil, "run", file, "--no-gaps", "--output", out, "-q"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	return file, onlyStudyDir(t, out)
}

// TestResumeRefusesFewerCycles: --resume --cycles below the study's is
// exit 2 and changes nothing on disk; more cycles extend the study, and a
// plain resume afterwards keeps them.
func TestResumeRefusesFewerCycles(t *testing.T) {
	_, sd := finishedStudy(t, sixRunStudy)
	before := treeSums(t, sd)
	code, stdout, errOut := runCLI(t, nil, "run", "--resume", sd, "--cycles", "1", "--no-gaps")
	if code != ExitBadInput || !strings.Contains(errOut, "the study has 2 cycles and this resume asks for 1") || !strings.Contains(errOut, sd) {
		t.Fatalf("exit %d, want 2 naming %s and the cycles\n%s\n%s", code, sd, stdout, errOut)
	}
	after := treeSums(t, sd)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused resume changed the study folder:\nbefore %v\nafter  %v", before, after)
	}

	done := completedResults(t, sd, 6)
	if code, stdout, errOut := runCLI(t, nil, "run", "--resume", sd, "--cycles", "3", "--no-gaps", "-q"); code != 0 {
		t.Fatalf("extend to 3 cycles: exit %d\n%s\n%s", code, stdout, errOut)
	}
	extended := completedResults(t, sd, 9)
	for k, sum := range done {
		if extended[k] != sum {
			t.Errorf("run %s changed when the study was extended", k)
		}
	}
	code, _, errOut = runCLI(t, nil, "run", "--resume", sd, "--no-gaps")
	if code != 0 || !strings.Contains(errOut, "0 of 9 runs to do") {
		t.Errorf("plain resume after extending: exit %d, want 0 runs of 9 to do\n%s", code, errOut)
	}
}

// TestResumeRemeasuresInvalidResults replaces completed results by null,
// {}, a sibling's result, a truncated and an empty file, and deletes the
// time series another names: a resume moves each aside (never deletes
// it), measures those runs again, once, and leaves the valid results
// byte-identical.
func TestResumeRemeasuresInvalidResults(t *testing.T) {
	file, sd := finishedStudy(t, strings.Replace(sixRunStudy, "[1, 2, 3]", "[1, 2, 3, 4]", 1))
	m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	path := func(i int) string { return filepath.Join(sd, m.Runs[i].ResultPath) }
	sibling, err := os.ReadFile(path(6))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path(0))
	corrupt := map[int][]byte{
		0: []byte("null"),
		1: []byte("{}"),
		2: sibling,
		3: good[:len(good)/2],
		4: {},
	}
	why := map[int]string{0: "is null", 1: "has no schema_version", 2: "is configuration", 3: "does not parse", 4: "does not parse", 5: "names the time series timeseries.parquet, which is missing"}
	// Run 5 keeps its result.json but loses the time series it names.
	corrupt[5], _ = os.ReadFile(path(5))
	if err := os.Remove(filepath.Join(filepath.Dir(path(5)), results.TimeseriesFile)); err != nil {
		t.Fatal(err)
	}
	for i, b := range corrupt {
		if err := os.WriteFile(path(i), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := map[int]string{6: sha256File(t, path(6)), 7: sha256File(t, path(7))}

	execLog := filepath.Join(t.TempDir(), "exec.log")
	cmd, stdout, errOut := llemProcess(execLog, "run", file, "--resume", sd, "--no-gaps")
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v\n%s\n%s", err, stdout, errOut)
	}
	if !strings.Contains(errOut.String(), "6 of 8 runs to do") {
		t.Errorf("resume should measure the 6 invalid runs again:\n%s", errOut)
	}
	completedResults(t, sd, 8)
	ran := executions(t, execLog)
	for i, b := range corrupt {
		r := m.Runs[i]
		if ran[runKey(r)] != 1 {
			t.Errorf("run %d measured %d times on resume, want 1", i, ran[runKey(r)])
		}
		aside, _ := filepath.Glob(filepath.Join(sd, filepath.Dir(r.ResultPath), results.InvalidDirPrefix+"*", results.ResultFile))
		if len(aside) != 1 {
			t.Errorf("run %d: %d results set aside, want 1", i, len(aside))
			continue
		}
		if got, _ := os.ReadFile(aside[0]); !bytes.Equal(got, b) {
			t.Errorf("run %d: the result set aside is not the invalid one", i)
		}
		if !strings.Contains(errOut.String(), fmt.Sprintf("run %d (cycle %d): invalid result: %s: %s", r.Index, r.Cycle, path(i), why[i])) {
			t.Errorf("run %d is not reported as set aside because it %s:\n%s", i, why[i], errOut)
		}
	}
	for i, sum := range keep {
		if ran[runKey(m.Runs[i])] != 0 || sha256File(t, path(i)) != sum {
			t.Errorf("run %d: its valid result was measured again or changed", i)
		}
	}
}

// killedStudy starts src as a llem process, SIGKILLs it once at least
// minDone runs are completed (but not all of want) and returns the
// study folder, unlocked: the killed runner's child died with it.
func killedStudy(t *testing.T, file, out string, minDone, want int, execLog string) string {
	t.Helper()
	cmd, stdout, errOut := llemProcess(execLog, "run", file, "--output", out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var sd string
	for {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the study never reached %d completed runs:\n%s\n%s", minDone, stdout, errOut)
		}
		time.Sleep(5 * time.Millisecond)
		if dirs, _ := os.ReadDir(out); len(dirs) == 1 {
			sd = filepath.Join(out, dirs[0].Name())
			if m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile)); err == nil && m.Counts()[results.StateCompleted] >= minDone {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitUnlocked(t, sd)
	m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Counts()[results.StateCompleted]; n == want {
		t.Fatalf("all %d runs completed before the kill; the test needs a study cut short", n)
	}
	return sd
}

// waitUnlocked waits until no process holds the study's lock: the run
// child of a killed llem inherits it and must die with its parent.
func waitUnlocked(t *testing.T, sd string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, held := study.LockedBy(sd)
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still locked 5 s after llem was killed (holder %+v): its child outlived it", sd, h)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConcurrentResumesOneRefused starts two resumes of a killed study at
// once: one is refused at once with exit 2 and the other's pid, the other
// completes, and every run left is measured exactly once.
func TestConcurrentResumesOneRefused(t *testing.T) {
	src := strings.Replace(sixRunStudy, "cycle_order: interleaved}", "cycle_order: interleaved, config_gap_seconds: 0.3, cycle_gap_seconds: 0.3}", 1)
	file, out := writeStudyFile(t, src)
	sd := killedStudy(t, file, out, 2, 6, filepath.Join(t.TempDir(), "first.log"))
	before, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]string{}
	for _, r := range before.Runs {
		if r.State == results.StateCompleted {
			done[runKey(r)] = sha256File(t, filepath.Join(sd, r.ResultPath))
		}
	}

	execLog := filepath.Join(t.TempDir(), "exec.log")
	type proc struct {
		cmd       *exec.Cmd
		out, errb *bytes.Buffer
		took      time.Duration
		err       error
	}
	procs := make([]*proc, 2)
	for i := range procs {
		cmd, o, e := llemProcess(execLog, "run", "--resume", sd, "--no-gaps")
		procs[i] = &proc{cmd: cmd, out: o, errb: e}
	}
	for _, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	waited := make(chan struct{}, 2)
	began := time.Now()
	for _, p := range procs {
		go func() {
			p.err = p.cmd.Wait()
			p.took = time.Since(began)
			waited <- struct{}{}
		}()
	}
	<-waited
	<-waited
	codes := []int{procs[0].cmd.ProcessState.ExitCode(), procs[1].cmd.ProcessState.ExitCode()}
	sort.Ints(codes)
	if codes[0] != 0 || codes[1] != ExitBadInput {
		t.Fatalf("exit codes %v, want one 0 and one 2\n%s\n%s\n%s\n%s", codes, procs[0].out, procs[0].errb, procs[1].out, procs[1].errb)
	}
	winner, loser := procs[0], procs[1]
	if winner.cmd.ProcessState.ExitCode() != 0 {
		winner, loser = loser, winner
	}
	want := fmt.Sprintf("study %s is in use by pid %d on ", sd, winner.cmd.Process.Pid)
	if !strings.Contains(loser.errb.String(), want) {
		t.Errorf("the refused resume should say %q:\n%s", want, loser.errb)
	}
	if loser.took > 10*time.Second {
		t.Errorf("the refused resume took %s; it must be refused at once", loser.took)
	}
	ran := executions(t, execLog)
	after := completedResults(t, sd, 6)
	for _, r := range before.Runs {
		k := runKey(r)
		if sum, ok := done[k]; ok {
			if ran[k] != 0 || after[k] != sum {
				t.Errorf("run %d was completed before: measured %d more times, result unchanged %v", r.Index, ran[k], after[k] == sum)
			}
		} else if ran[k] != 1 {
			t.Errorf("run %d (%s before) measured %d times by the two resumes, want 1", r.Index, r.State, ran[k])
		}
	}
}

// TestResumeRebuildsManifest deletes, then truncates, the manifest: a
// resume rebuilds it from study.json and the run folders, says so,
// measures only what has no valid result, and leaves the earlier results
// byte-identical.
func TestResumeRebuildsManifest(t *testing.T) {
	file, sd := finishedStudy(t, sixRunStudy)
	done := completedResults(t, sd, 6)
	m, _ := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
	// One run never got its result: its folder is gone.
	lost := m.Runs[4]
	if err := os.RemoveAll(filepath.Join(sd, filepath.Dir(lost.ResultPath))); err != nil {
		t.Fatal(err)
	}
	delete(done, runKey(lost))
	manifest := filepath.Join(sd, results.ManifestFile)
	for _, damage := range []struct {
		name string
		do   func() error
		want string
	}{
		{"deleted", func() error { return os.Remove(manifest) }, "is missing: rebuilt it"},
		{"truncated", func() error {
			b, err := os.ReadFile(manifest)
			if err != nil {
				return err
			}
			return os.WriteFile(manifest, b[:len(b)/3], 0o644)
		}, "cannot be read"},
	} {
		t.Run(damage.name, func(t *testing.T) {
			if err := damage.do(); err != nil {
				t.Fatal(err)
			}
			execLog := filepath.Join(t.TempDir(), "exec.log")
			cmd, stdout, errOut := llemProcess(execLog, "run", file, "--resume", sd, "--no-gaps")
			if err := cmd.Run(); err != nil {
				t.Fatalf("resume: %v\n%s\n%s", err, stdout, errOut)
			}
			if !strings.Contains(errOut.String(), damage.want) || !strings.Contains(errOut.String(), manifest) {
				t.Errorf("resume should say it rebuilt %s (%q):\n%s", manifest, damage.want, errOut)
			}
			after := completedResults(t, sd, 6)
			for k, sum := range done {
				if after[k] != sum {
					t.Errorf("run %s: result changed", k)
				}
			}
			ran := executions(t, execLog)
			if damage.name == "deleted" && (len(ran) != 1 || ran[runKey(lost)] != 1) {
				t.Errorf("measured %v, want only the lost run once", ran)
			}
			if damage.name == "truncated" && len(ran) != 0 {
				t.Errorf("measured %v, want nothing: every result is valid", ran)
			}
		})
	}
}

// TestWritersRefusedReadersNot: while a study is locked, gather and an
// array task for one of its runs (locked on its own) exit 2 naming the
// holder, and report still reads it, saying it is still running.
func TestWritersRefusedReadersNot(t *testing.T) {
	dir, plan := preparedStudy(t)
	if code, errOut := runTask(t, dir, 0); code != 0 {
		t.Fatalf("task 0: exit %d\n%s", code, errOut)
	}
	lock, err := study.LockDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	want := fmt.Sprintf("is in use by pid %d on ", os.Getpid())
	if code, _, errOut := runCLI(t, nil, "gather", dir, "--ended"); code != ExitBadInput || !strings.Contains(errOut, want) {
		t.Errorf("gather while locked: exit %d, want 2 saying %q\n%s", code, want, errOut)
	}
	code, _, errOut := runCLI(t, nil, "report", dir, "--format", "md")
	if code != 0 || !strings.Contains(errOut, "is still running (pid "+fmt.Sprint(os.Getpid())) {
		t.Errorf("report while locked: exit %d, want 0 saying the study is still running\n%s", code, errOut)
	}

	runDir := filepath.Join(dir, results.RunDirName(plan[1].Index, plan[1].Cycle, plan[1].MeasurementConfigHash))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	runLock, err := study.LockDir(runDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if code, errOut := runTask(t, dir, 1); code != ExitBadInput || !strings.Contains(errOut, want) {
		t.Errorf("task 1 while its run folder is locked: exit %d, want 2 saying %q\n%s", code, want, errOut)
	}
	_ = runLock.Unlock()
	if code, errOut := runTask(t, dir, 1); code != 0 {
		t.Errorf("task 1 once unlocked: exit %d\n%s", code, errOut)
	}
}
