package study

import (
	"context"
	"errors"
	"github.com/llenergymeasure/llem/event"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// TestLockDir: a second writer is refused at once with the holder's pid;
// readers see the lock without taking it; unlocking lets the next in.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	if _, held := LockedBy(dir); held {
		t.Fatal("a fresh directory reads as locked")
	}
	l, err := LockDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = LockDir(dir, time.Minute)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.Holder.PID != os.Getpid() || le.Orphan {
		t.Fatalf("second LockDir: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	if time.Since(began) > 5*time.Second {
		t.Errorf("refusing a live holder took %s; it must not wait", time.Since(began))
	}
	host, _ := os.Hostname()
	if want := "study " + dir + " is in use by pid "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), host) {
		t.Errorf("message %q, want it to start %q and name host %s", err, want, host)
	}
	if h, held := LockedBy(dir); !held || h.PID != os.Getpid() {
		t.Errorf("LockedBy = %+v, %v while held", h, held)
	}
	// The reader took nothing: the holder still holds, a writer is still refused.
	if _, err := LockDir(dir, 0); !errors.Is(err, ErrLocked) {
		t.Errorf("after a reader looked: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, held := LockedBy(dir); held {
		t.Error("still locked after Unlock")
	}
	l2, err := LockDir(dir, 0)
	if err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	_ = l2.Unlock()
}

// TestLockInheritedByOrphan: a process that inherited the lock keeps the
// directory locked after its holder let go; LockDir waits for such an
// orphan (holder pid gone) and refuses when it outlives the wait.
func TestLockInheritedByOrphan(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A process that inherits the lock, as a run's child does.
	orphan := exec.Command("sleep", "1.5")
	orphan.ExtraFiles = []*os.File{l.File()}
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = orphan.Wait(); close(done) }()
	_ = l.Unlock()
	// Pretend the holder was a runner that is gone: a dead pid on this host.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	writeHolder(t, dir, dead.Process.Pid, host)
	_, err = LockDir(dir, 100*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || !le.Orphan || !strings.Contains(err.Error(), "has exited but a run process") {
		t.Fatalf("while the orphan runs: %v, want an orphan LockedError", err)
	}
	l2, err := LockDir(dir, 20*time.Second)
	if err != nil {
		t.Fatalf("waiting for the orphan: %v", err)
	}
	select {
	case <-done:
	default:
		t.Error("LockDir returned while the orphan still held the lock")
	}
	_ = l2.Unlock()
}

func writeHolder(t *testing.T, dir string, pid int, host string) {
	t.Helper()
	b := []byte(`{"pid":` + strconv.Itoa(pid) + `,"host":"` + host + `","since":"2026-01-02T03:04:05Z"}`)
	f, err := os.OpenFile(filepath.Join(dir, results.LockFile), os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestResumeWaitsForOrphan: a resume that finds the study held by a run
// process of a runner that is gone says so, waits for it, then resumes;
// with a shorter wait it refuses, naming the exited holder.
func TestResumeWaitsForOrphan(t *testing.T) {
	sc := sweep("orphanwait", config.OrderInterleaved, 1, []int{1, 2}, []string{"fp32"}, nil)
	opts := Options{ResultsDir: t.TempDir(), Clock: newFakeClock(), launcher: funcLauncher{run: okRun}}
	if _, err := Run(context.Background(), sc, opts); err != nil {
		t.Fatal(err)
	}
	dir := studyDir(t, opts.ResultsDir)
	orphanHolds := func(d string) <-chan struct{} {
		l, err := LockDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		orphan := exec.Command("sleep", d)
		orphan.ExtraFiles = []*os.File{l.File()}
		if err := orphan.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = orphan.Wait(); close(done) }()
		_ = l.Unlock()
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Fatal(err)
		}
		host, _ := os.Hostname()
		writeHolder(t, dir, dead.Process.Pid, host)
		return done
	}

	done := orphanHolds("2")
	opts.ResumeDir, opts.OrphanWait = dir, 100*time.Millisecond
	if _, err := Run(context.Background(), sc, opts); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "has exited but a run process") {
		t.Fatalf("resume while an orphan outlives the wait: %v, want a refusal naming the orphan", err)
	}
	<-done

	done = orphanHolds("1")
	rec := &recorder{}
	opts.OrphanWait, opts.Observer = 20*time.Second, rec
	res, err := Run(context.Background(), sc, opts)
	if err != nil || res.Summary.Completed != 2 {
		t.Fatalf("resume after the orphan: %v, %+v", err, res)
	}
	select {
	case <-done:
	default:
		t.Error("the resume ran while the orphan still held the study")
	}
	var said bool
	for _, e := range rec.events {
		said = said || e.Kind == event.Warning && strings.Contains(e.Message, "waiting up to 20s for a run process it left to end")
	}
	if !said {
		t.Error("the resume did not say it waits for the orphan")
	}
}
