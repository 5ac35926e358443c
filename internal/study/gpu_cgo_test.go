//go:build cgo

package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/gpucontrol"
	"github.com/llenergymeasure/llem/internal/gpucontrol/gpumock"
	"github.com/llenergymeasure/llem/results"
)

func init() {
	childGPU = changeMockGPU
	mockGPU = func(path string) gpucontrol.Opener { return (&gpumock.Card{Path: path}).Opener() }
}

// changeMockGPU is what a test child with test_gpu_card does in place of
// the harness: it checks that the parent recorded the originals in the
// manifest and that the card is at them, applies the run's gpu: settings
// to the mock card, and never puts them back (as a child killed before
// its deferred restore). With test_gpu_hold it then waits while that file
// exists.
func changeMockGPU(req ChildRequest) error {
	path, ok := req.Config.PassthroughKwargs["test_gpu_card"].(string)
	if !ok {
		return nil
	}
	m, err := results.ReadManifest(filepath.Join(filepath.Dir(req.RunDir), results.ManifestFile))
	if err != nil {
		return err
	}
	if mr := m.Runs[req.RunIndex]; !mr.GPURestorePending || len(mr.GPUOriginal) == 0 {
		return fmt.Errorf("the manifest does not hold the GPU originals before the run: %+v", mr)
	}
	card := &gpumock.Card{Path: path}
	if st, err := card.State(); err != nil || st.PowerLimitMW != gpumock.H100().PowerLimitMW || st.LockedSMMHz != 0 {
		return fmt.Errorf("the run starts on a card not put back: %+v (%v)", st, err)
	}
	ctl, err := card.Opener()(nil)
	if err != nil {
		return err
	}
	defer ctl.Close()
	if _, err := gpucontrol.Apply(ctl, gpucontrol.FromConfig(req.Config.GPU), nil); err != nil {
		return err
	}
	fmt.Println("child: GPU settings changed")
	if hold, ok := req.Config.PassthroughKwargs["test_gpu_hold"].(string); ok {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(hold); err != nil {
				break
			}
		}
	}
	return nil
}

// gpuStudy is one native run with gpu: settings on a mock card.
func gpuStudy(t *testing.T, kw map[string]any) (*config.StudyConfig, *gpumock.Card) {
	t.Helper()
	card := gpumock.NewH100(t, nil)
	kw["test_gpu_card"] = card.Path
	sc := sweep("gpu", config.OrderSequential, 1, []int{1}, []string{"fp32"}, kw)
	pl, sm := 300, 1500
	sc.Experiments[0].GPU = &config.GPUConfig{PowerLimitWatts: &pl, SMClockMHz: &sm}
	return sc, card
}

// checkRestored fails unless the card is back at its originals after
// changes were made (sets counts the card's successful changes, at least).
func checkRestored(t *testing.T, card *gpumock.Card, sets int) {
	t.Helper()
	st, err := card.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.PowerLimitMW != 700_000 || st.LockedSMMHz != 0 || st.Sets < sets {
		t.Errorf("card %+v: want 700 W, no SM lock, after at least %d changes", st, sets)
	}
}

func runEntry(t *testing.T, dir string) results.ManifestRun {
	t.Helper()
	m, err := results.ReadManifest(filepath.Join(dir, results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	return m.Runs[0]
}

var wantOriginal = []results.GPUOriginal{{Index: 0, PowerLimitMW: 700_000, UnlockSMClock: true}}

// TestGPURestoredAfterAKilledChild: a child that changed the card's power
// limit and SM clock dies by SIGKILL; the parent, which recorded the
// originals in the manifest before the child started, puts them back.
func TestGPURestoredAfterAKilledChild(t *testing.T) {
	sc, card := gpuStudy(t, map[string]any{"test_oom": true})
	opts := childOptions(t)
	opts.GPU = card.Opener()
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	mr := runEntry(t, studyDir(t, opts.ResultsDir))
	if res.Summary.Failed != 1 || mr.ErrorType != ErrTypeKilled {
		t.Fatalf("summary %+v, run %s: %s\n%s", res.Summary, mr.ErrorType, mr.Error, mr.LogTail)
	}
	// 2 changes by the child (limit, lock), 2 by the parent (unlock, limit).
	checkRestored(t, card, 4)
	if !slices.Equal(mr.GPUOriginal, wantOriginal) || mr.GPURestorePending {
		t.Errorf("manifest: originals %+v, pending %v", mr.GPUOriginal, mr.GPURestorePending)
	}
}

// TestGPURestoredOnInterrupt: Ctrl-C while the child holds the settings.
func TestGPURestoredOnInterrupt(t *testing.T) {
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, card := gpuStudy(t, map[string]any{"test_gpu_hold": hold})
	opts := childOptions(t)
	opts.GPU = card.Opener()
	opts.KillGrace = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st, err := card.State(); err == nil && st.Sets >= 2 {
				break
			}
		}
		cancel()
	}()
	_, err := Run(ctx, sc, opts)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run: %v, want interrupted", err)
	}
	checkRestored(t, card, 4)
	if mr := runEntry(t, studyDir(t, opts.ResultsDir)); mr.GPURestorePending {
		t.Errorf("manifest still says the settings are to be put back: %+v", mr)
	}
}

// TestGPURestoredOnResumeAfterTheRunnerWasKilled: the runner is killed by
// SIGKILL while its child holds the changed settings, so neither puts
// them back; the manifest says so, and --resume restores them before the
// run is measured again (the child checks it starts on the originals).
func TestGPURestoredOnResumeAfterTheRunnerWasKilled(t *testing.T) {
	hold := filepath.Join(t.TempDir(), "hold")
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, card := gpuStudy(t, map[string]any{"test_gpu_hold": hold})
	opts := childOptions(t)
	spec, _ := json.Marshal(runnerSpec{Study: *sc, ResultsDir: opts.ResultsDir, Exe: opts.Executable, GPUCard: card.Path})
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(opts.Executable)
	cmd.Env = append(os.Environ(), envRunner+"="+specPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if st, err := card.State(); err == nil && st.Sets >= 2 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child did not change the card in 30 s")
		}
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	dir := studyDir(t, opts.ResultsDir)
	waitUnlocked(t, dir, 10*time.Second)
	if st, _ := card.State(); st.PowerLimitMW != 300_000 || st.LockedSMMHz != 1500 {
		t.Fatalf("card after the kill %+v: the test needs it left changed", st)
	}
	if mr := runEntry(t, dir); !mr.GPURestorePending || !slices.Equal(mr.GPUOriginal, wantOriginal) {
		t.Fatalf("manifest after the kill: %+v", mr)
	}

	_ = os.Remove(hold)
	ropts := childOptions(t)
	ropts.ResumeDir = dir
	ropts.GPU = card.Opener()
	res, err := Run(context.Background(), sc, ropts)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Summary.Completed != 1 {
		t.Fatalf("after resume: %+v", res.Summary)
	}
	if !slices.ContainsFunc(res.Warnings, func(w results.Warning) bool { return strings.Contains(w.Message, "put back before resuming") }) {
		t.Errorf("no warning of the restoration: %+v", res.Warnings)
	}
	// The kill left 2 changes; the resume put them back (2), the run
	// changed them again (2) and the parent restored them (2).
	checkRestored(t, card, 8)
	if mr := runEntry(t, dir); mr.GPURestorePending || !slices.Equal(mr.GPUOriginal, wantOriginal) {
		t.Errorf("manifest after resume: %+v", mr)
	}
}

// TestGPUNotRestoredStopsTheStudy: when the parent cannot put the
// settings back, the study stops before the next run, the manifest keeps
// the originals pending, and a resume restores them once it can.
func TestGPUNotRestoredStopsTheStudy(t *testing.T) {
	sc, card := gpuStudy(t, map[string]any{})
	sc.Execution.NCycles = 2
	opts := childOptions(t)
	denyAfterChild := func(devices []int) (gpucontrol.Controller, error) {
		ctl, err := card.Opener()(devices)
		return denying{ctl, card}, err
	}
	opts.GPU = denyAfterChild
	res, err := Run(context.Background(), sc, opts)
	if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "could not be put back") {
		t.Fatalf("Run: %v, want stopped for the GPU", err)
	}
	if res.Summary.Completed != 1 {
		t.Errorf("summary %+v: the second cycle must not run", res.Summary)
	}
	dir := studyDir(t, opts.ResultsDir)
	if mr := runEntry(t, dir); !mr.GPURestorePending {
		t.Fatalf("manifest: %+v, want the restoration pending", mr)
	}
	st, _ := card.State()
	st.Denied = false
	if err := card.Write(st); err != nil {
		t.Fatal(err)
	}
	ropts := childOptions(t)
	ropts.ResumeDir = dir
	ropts.GPU = card.Opener()
	res, err = Run(context.Background(), sc, ropts)
	if err != nil || res.Summary.Completed != 2 {
		t.Fatalf("resume: %v, %+v", err, res.Summary)
	}
	checkRestored(t, card, 6)
}

// denying is a Controller whose card turns read-only (not root) when the
// parent first tries to put a setting back.
type denying struct {
	gpucontrol.Controller
	card *gpumock.Card
}

func (d denying) UnlockClock(gpu int, c gpucontrol.Clock) error {
	st, err := d.card.State()
	if err != nil {
		return err
	}
	st.Denied = true
	if err := d.card.Write(st); err != nil {
		return err
	}
	return d.Controller.UnlockClock(gpu, c)
}
