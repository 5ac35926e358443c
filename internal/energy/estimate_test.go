package energy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llenergymeasure/llem/results"
)

func TestWattsPerCPU(t *testing.T) {
	tests := []struct {
		name      string
		tdp       float64
		model     string
		logical   int
		want      float64
		basisHint string
	}{
		{"user config wins", 150, "AMD EPYC 7763 64-Core Processor", 10, 15, "cpu_tdp_watts 150 W"},
		{"table", 0, "AMD EPYC 7763 64-Core Processor", 128, 280.0 / 128, "TDP 280 W"},
		{"intel table", 0, "Intel(R) Xeon(R) Platinum 8480+", 112, 350.0 / 112, "Platinum 8480"},
		{"default", 0, "Some Unknown CPU", 8, DefaultWattsPerCPU, "set cpu_tdp_watts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, basis := wattsPerCPU(tt.tdp, tt.model, tt.logical)
			if got != tt.want || !strings.Contains(basis, tt.basisHint) {
				t.Errorf("wattsPerCPU = %v (%q), want %v (%q)", got, basis, tt.want, tt.basisHint)
			}
		})
	}
}

func TestEstimateFormula(t *testing.T) {
	s, err := NewEstimateSampler(EstimateOptions{TDPWatts: 100, LogicalCPUs: 4})
	if err != nil {
		t.Fatal(err)
	}
	cpu := 2 * time.Second
	s.cpuTime = func() (time.Duration, error) { return cpu, nil }
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	d := r.Domains[0]
	// 2 CPU-seconds × 100 W / 4 CPUs = 50 J.
	if d.Source != SourceEstimate || !d.HasEnergy || d.EnergyUJ != uint64(50*Joule) || d.Domain.Kind != DomainCPU {
		t.Errorf("reading = %+v, want 50 J estimated", d)
	}
	ws := s.Warnings()
	if len(ws) != 1 || ws[0].Code != results.WarnEnergyEstimated || !strings.Contains(ws[0].Message, "ESTIMATED, not measured") {
		t.Errorf("warnings = %v", ws)
	}
}

// The real CPU time of this process, as getrusage reports it, is what the
// estimate charges.
func TestEstimateCountsOwnCPUTime(t *testing.T) {
	s, err := NewEstimateSampler(EstimateOptions{TDPWatts: float64(runtime.NumCPU()) * 10})
	if err != nil {
		t.Fatal(err)
	}
	cpuNow := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpuNow()
	a, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	for cpuNow()-c0 < 100*time.Millisecond { // burn 100 ms of CPU, however long the shared machine takes
	}
	b, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := EnergyFromJoules((cpuNow() - c0).Seconds() * 10)
	got := Energy(b.Domains[0].EnergyUJ - a.Domains[0].EnergyUJ)
	if got < 900*Millijoule || got > want {
		t.Errorf("≥100 ms of CPU at 10 W/CPU estimated %v, want between 0.9 J and %v", got, want)
	}
}

// writeProcStat writes a fake /proc/<pid>/stat with utime and stime in
// clock ticks (USER_HZ = 100).
func writeProcStat(t *testing.T, root string, pid, utime, stime int) {
	t.Helper()
	fields := []string{fmt.Sprint(pid), "(llem-engine)", "R", "1", fmt.Sprint(pid), fmt.Sprint(pid), "0", "-1", "4194560", "100", "0", "0", "0",
		fmt.Sprint(utime), fmt.Sprint(stime)}
	for len(fields) < 52 {
		fields = append(fields, "0")
	}
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(strings.Join(fields, " ")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEstimateChildPIDs(t *testing.T) {
	proc := t.TempDir()
	writeProcStat(t, proc, 4321, 300, 100) // 4 s of CPU
	s, err := NewEstimateSampler(EstimateOptions{TDPWatts: 10, LogicalCPUs: 1, PIDs: []int{4321}, ProcRoot: proc})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	// 4 s × 10 W = 40 J, plus this process's own CPU time.
	if got := Energy(a.Domains[0].EnergyUJ); got < 40*Joule || got > 60*Joule {
		t.Errorf("energy with child = %v, want 40 J plus a little", got)
	}
	// The child exits: its CPU time must not vanish from the counter.
	if err := os.RemoveAll(filepath.Join(proc, "4321")); err != nil {
		t.Fatal(err)
	}
	b, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	if b.Domains[0].EnergyUJ < a.Domains[0].EnergyUJ {
		t.Errorf("counter went backwards when the child exited: %d → %d", a.Domains[0].EnergyUJ, b.Domains[0].EnergyUJ)
	}
}

// TestEstimateAddPIDsCountsOnlyFromNow attributes a busy child process to
// the estimate mid-run: what it burned before is not counted (no jump), what
// it burns afterwards is.
func TestEstimateAddPIDsCountsOnlyFromNow(t *testing.T) {
	child := exec.Command("sh", "-c", "while :; do :; done")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	time.Sleep(400 * time.Millisecond) // the child burns CPU before it is added

	s, err := NewEstimateSampler(EstimateOptions{TDPWatts: 10, LogicalCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	joules := func() float64 {
		r, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		return Energy(r.Domains[0].EnergyUJ).Joules()
	}
	before := joules()
	if err := s.AddPIDs(child.Process.Pid); err != nil {
		t.Fatal(err)
	}
	added := joules()
	if jump := added - before; jump > 0.5 { // 10 W × 50 ms of our own CPU at most
		t.Errorf("adding the PID made the counter jump by %.2f J: its earlier CPU time was counted", jump)
	}
	// The child's CPU time now counts: 0.1 s of it at 10 W is 1 J. Poll, so
	// a loaded machine only makes the test slower, not flaky.
	deadline := time.Now().Add(10 * time.Second)
	for joules()-added < 1.0 {
		if time.Now().After(deadline) {
			t.Fatalf("the added process's CPU time is not counted: +%.2f J in 10 s of a busy loop", joules()-added)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
