package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/results"
)

// twelveRunStudy is 3 batch sizes × 2 output lengths × 2 cycles on the
// tiny native model, with no baseline, warm-up or gaps.
const twelveRunStudy = `name: soak
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 8}
baseline: {enabled: false}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2, 3]
  dataset.output_len: [8, 16]
execution: {n_cycles: 2, cycle_order: shuffled}
`

// TestSoakKillResume kills a 12-run study with SIGKILL at 20 random
// moments, resuming it each time, then lets it finish: every run ends with
// exactly one valid result, no completed run is measured again, results
// completed before a kill stay byte-identical, and nothing is set aside.
func TestSoakKillResume(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	file, out := writeStudyFile(t, twelveRunStudy)
	execLog := filepath.Join(t.TempDir(), "exec.log")
	began := time.Now()

	var sd string
	var progress []int // runs completed after each kill
	maxDelay := 100 * time.Millisecond
	done := map[string]string{} // run key → sha256 of result.json when first seen completed
	for kill := 0; kill < 20; kill++ {
		args := []string{"run", file, "--output", out, "--no-gaps"}
		if sd != "" {
			args = []string{"run", "--resume", sd, "--no-gaps"}
		}
		_ = os.Remove(execLog)
		cmd, stdout, errOut := llemProcess(execLog, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if sd == "" {
			// The first kill comes once the study folder has its manifest.
			for deadline := time.Now().Add(30 * time.Second); ; {
				if dirs, _ := filepath.Glob(filepath.Join(out, "*", results.ManifestFile)); len(dirs) == 1 {
					sd = filepath.Dir(dirs[0])
					// Scale the kill moments to this machine's start-up
					// (a race-enabled build is much slower).
					maxDelay += 2 * time.Since(began)
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("no manifest after 30 s:\n%s\n%s", stdout, errOut)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rng.Int64N(int64(maxDelay))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		waitUnlocked(t, sd)

		ran := executions(t, execLog)
		m, err := results.ReadManifest(filepath.Join(sd, results.ManifestFile))
		if err != nil {
			t.Fatalf("kill %d: manifest: %v", kill, err)
		}
		for _, r := range m.Runs {
			k := runKey(r)
			if sum, ok := done[k]; ok {
				if ran[k] != 0 {
					t.Errorf("kill %d: run %s, completed earlier, was measured again", kill, k)
				}
				if r.State != results.StateCompleted || sha256File(t, filepath.Join(sd, r.ResultPath)) != sum {
					t.Errorf("kill %d: run %s, completed earlier, is %s or its result changed", kill, k, r.State)
				}
				continue
			}
			if r.State == results.StateCompleted {
				done[k] = sha256File(t, filepath.Join(sd, r.ResultPath))
			}
		}
		// Kill moments adapt to the machine (a race-enabled build starts
		// slower): when a kill came before any run could finish, the next
		// may come later.
		before := 0
		if len(progress) > 0 {
			before = progress[len(progress)-1]
		}
		switch {
		case len(done) == 12:
			maxDelay = 100 * time.Millisecond // nothing left: kills hit the resume's start
		case len(done) == before:
			maxDelay = min(maxDelay*5/4, 4*time.Second)
		case len(done)-before > 1:
			maxDelay = max(maxDelay/2, 30*time.Millisecond)
		}
		progress = append(progress, len(done))
		if strings.Contains(stdout.String()+errOut.String(), "moved it aside") {
			t.Errorf("kill %d: a result was set aside:\n%s", kill, errOut)
		}
	}
	t.Logf("runs completed after each kill: %v", progress)

	_ = os.Remove(execLog)
	cmd, stdout, errOut := llemProcess(execLog, "run", "--resume", sd, "--no-gaps")
	if err := cmd.Run(); err != nil {
		t.Fatalf("final resume: %v\n%s\n%s", err, stdout, errOut)
	}
	final := completedResults(t, sd, 12)
	ran := executions(t, execLog)
	for k, sum := range done {
		if final[k] != sum || ran[k] != 0 {
			t.Errorf("run %s: result changed or measured again by the final resume", k)
		}
	}
	for k := range final {
		if _, ok := done[k]; !ok && ran[k] != 1 {
			t.Errorf("run %s measured %d times by the final resume, want 1", k, ran[k])
		}
	}
	runDirs, _ := filepath.Glob(filepath.Join(sd, "run-*"))
	resultFiles, _ := filepath.Glob(filepath.Join(sd, "run-*", results.ResultFile))
	aside, _ := filepath.Glob(filepath.Join(sd, "run-*", results.InvalidDirPrefix+"*"))
	if len(runDirs) != 12 || len(resultFiles) != 12 || len(aside) != 0 {
		t.Errorf("%d run folders, %d results, %d set aside; want 12, 12, 0", len(runDirs), len(resultFiles), len(aside))
	}
	t.Logf("soak took %s", time.Since(began).Round(time.Millisecond))
}
