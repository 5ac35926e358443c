package study

import (
	"context"
	"errors"
	"github.com/llenergymeasure/llem/event"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

func fptr(f float64) *float64 { return &f }

// gapEvents runs a study in-process on a fake clock and returns the gap
// events (kind, mode, total) that ended a countdown.
func gapEvents(t *testing.T, sc *config.StudyConfig, opts Options) ([]Event, *results.StudyResult) {
	t.Helper()
	var ends []Event
	opts.Observer = ObserverFunc(func(e Event) {
		if (e.Kind == event.Gap && e.Remaining == 0) || e.Kind == event.Warning {
			ends = append(ends, e)
		}
	})
	opts.ResultsDir = t.TempDir()
	if opts.Clock == nil {
		opts.Clock = newFakeClock()
	}
	opts.launcher = funcLauncher{run: okRun}
	res, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ends, res
}

func TestGaps(t *testing.T) {
	sc := sweep("gaps", config.OrderInterleaved, 2, []int{1, 2}, []string{"fp32"}, nil)
	sc.Execution.ConfigGapSeconds = fptr(3)
	// Runs: (e0,c1) (e1,c1) | (e0,c2) (e1,c2): config, cycle, config gaps;
	// the cycle gap comes from the user defaults.
	ends, res := gapEvents(t, sc, Options{UserGapDefaults: GapDefaults{ConfigGapSeconds: 99, CycleGapSeconds: 7}})
	var got []string
	for _, e := range ends {
		got = append(got, e.GapKind+"/"+e.GapTotal.String())
	}
	if strings.Join(got, " ") != "config/3s cycle/7s config/3s" {
		t.Errorf("gaps %v", got)
	}
	if p := res.MeasurementProtocol; p.ConfigGapSeconds != 3 || p.CycleGapSeconds != 7 || p.GapMode != "fixed" {
		t.Errorf("protocol %+v", p)
	}
	ends, _ = gapEvents(t, sc, Options{NoGaps: true})
	if len(ends) != 0 {
		t.Errorf("NoGaps: %d gaps", len(ends))
	}

	// Sequential: (e0,c1) (e0,c2) (e1,c1) (e1,c2). The cycles of one
	// configuration run back to back: every gap is a config gap.
	seq := sweep("gaps-seq", config.OrderSequential, 2, []int{1, 2}, []string{"fp32"}, nil)
	seq.Execution.ConfigGapSeconds = fptr(3)
	ends, _ = gapEvents(t, seq, Options{UserGapDefaults: GapDefaults{CycleGapSeconds: 7}})
	got = got[:0]
	for _, e := range ends {
		got = append(got, e.GapKind+"/"+e.GapTotal.String())
	}
	if strings.Join(got, " ") != "config/3s config/3s config/3s" {
		t.Errorf("sequential gaps %v", got)
	}
}

// coolingSensor reads base until a run heats it by 10 °C; it then cools
// by 1 °C per second of the fake clock.
type coolingSensor struct {
	clock *fakeClock
	hot   *time.Time // when the last run ended
	base  float64
	fail  bool
}

func (s *coolingSensor) TemperatureC(context.Context) (float64, error) {
	if s.fail {
		return 0, errors.New("no sensor")
	}
	if s.hot == nil {
		return s.base, nil
	}
	return max(s.base, s.base+10-s.clock.Now().Sub(*s.hot).Seconds()), nil
}

func TestTemperatureGap(t *testing.T) {
	sc := sweep("temp", config.OrderInterleaved, 1, []int{1, 2}, []string{"fp32"}, nil)
	sc.Execution.GapMode = GapModeTemperature
	sc.Execution.TemperatureBandC = 2
	sc.Execution.ConfigGapSeconds = fptr(5)
	clock := newFakeClock()
	sensor := &coolingSensor{clock: clock, base: 40}
	var gaps []Event
	opts := Options{ResultsDir: t.TempDir(), Clock: clock, TempReader: sensor,
		Observer: ObserverFunc(func(e Event) {
			if e.Kind == event.Gap {
				gaps = append(gaps, e)
			}
		}),
		launcher: funcLauncher{run: func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
			clock.advance(time.Minute)
			now := clock.Now()
			sensor.hot = &now
			return okRun(ctx, req)
		}}}
	if _, err := Run(context.Background(), sc, opts); err != nil {
		t.Fatal(err)
	}
	// 50 °C after the run, back within 2 °C of the 40 °C start after 8 s.
	last := gaps[len(gaps)-1]
	if len(gaps) != 9 || last.GapMode != GapModeTemperature || *last.TempC != 42 || *last.TargetC != 42 || last.Remaining != 0 {
		t.Fatalf("%d gap events, last %+v", len(gaps), last)
	}
	m, err := results.ReadManifest(filepath.Join(studyDir(t, opts.ResultsDir), results.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := m.Runs[0], m.Runs[1]
	if *r0.StartTempC != 40 || *r0.EndTempC != 50 || r1.StartedAt.Sub(*r0.EndedAt) != 8*time.Second {
		t.Errorf("temperatures %v→%v, gap %s", *r0.StartTempC, *r0.EndTempC, r1.StartedAt.Sub(*r0.EndedAt))
	}

	// No readable sensor: the fixed gap, and one warning.
	sc3 := sweep("temp", config.OrderInterleaved, 1, []int{1, 2, 3}, []string{"fp32"}, nil)
	sc3.Execution = sc.Execution
	ends, res := gapEvents(t, sc3, Options{TempReader: &coolingSensor{fail: true}})
	var warnings, fixed int
	for _, e := range ends {
		switch {
		case e.Kind == event.Warning:
			warnings++
		case e.GapMode == GapModeFixed && e.GapTotal == 5*time.Second:
			fixed++
		}
	}
	if warnings != 1 || fixed != 2 || len(res.Warnings) != 1 {
		t.Errorf("%d warnings, %d fixed gaps, result warnings %v", warnings, fixed, res.Warnings)
	}
}

func TestCircuitBreakerAndWallClock(t *testing.T) {
	fail := func(context.Context, ChildRequest) (*results.ExperimentResult, error) {
		return nil, errors.New("always fails")
	}
	cases := []struct {
		name      string
		exec      config.Execution
		failFast  bool
		wantRuns  int
		wantInErr string
	}{
		{name: "off", exec: config.Execution{MaxConsecutiveFailures: 0}, wantRuns: 6},
		{name: "fail-fast by breaker", exec: config.Execution{MaxConsecutiveFailures: 1}, wantRuns: 1, wantInErr: "fail-fast"},
		{name: "fail-fast option", failFast: true, wantRuns: 1, wantInErr: "fail-fast"},
		{name: "half-open retry fails", exec: config.Execution{MaxConsecutiveFailures: 2, CircuitCooldownSeconds: 30}, wantRuns: 3, wantInErr: "circuit breaker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := sweep("cb", config.OrderInterleaved, 2, []int{1, 2, 3}, []string{"fp32"}, nil)
			tc.exec.NCycles = 2
			sc.Execution = tc.exec
			runs := 0
			opts := Options{ResultsDir: t.TempDir(), NoGaps: true, Clock: newFakeClock(), FailFast: tc.failFast,
				launcher: funcLauncher{run: func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
					runs++
					return fail(ctx, req)
				}}}
			res, err := Run(context.Background(), sc, opts)
			if runs != tc.wantRuns || res.Summary.Failed != tc.wantRuns {
				t.Errorf("ran %d (failed %d), want %d", runs, res.Summary.Failed, tc.wantRuns)
			}
			if tc.wantInErr == "" {
				if err != nil {
					t.Errorf("err %v", err)
				}
				return
			}
			if !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), tc.wantInErr) || !strings.Contains(res.StopReason, tc.wantInErr) {
				t.Errorf("err %v, stop reason %q; want ErrStopped with %q", err, res.StopReason, tc.wantInErr)
			}
		})
	}

	t.Run("wall clock", func(t *testing.T) {
		sc := sweep("wall", config.OrderInterleaved, 1, []int{1, 2, 3, 4}, []string{"fp32"}, nil)
		sc.Execution.WallClockTimeoutHours = 1
		clock := newFakeClock()
		opts := Options{ResultsDir: t.TempDir(), NoGaps: true, Clock: clock,
			launcher: funcLauncher{run: func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
				clock.advance(25 * time.Minute)
				return okRun(ctx, req)
			}}}
		res, err := Run(context.Background(), sc, opts)
		if !errors.Is(err, ErrStopped) || res.Summary.Completed != 3 || res.Summary.Pending != 1 {
			t.Fatalf("err %v, summary %+v", err, res.Summary)
		}
	})
}

func TestDisableWrites(t *testing.T) {
	sc := sweep("nowrite", config.OrderInterleaved, 1, []int{1, 2}, []string{"fp32"}, nil)
	root := t.TempDir()
	var dir string
	opts := Options{ResultsDir: root, DisableWrites: true, Clock: newFakeClock(), launcher: funcLauncher{run: okRun},
		Observer: ObserverFunc(func(e Event) {
			if e.Kind == event.StudyStart {
				dir = e.StudyDir
			}
		})}
	res, err := Run(context.Background(), sc, opts)
	if err != nil || res.Summary.Completed != 2 || len(res.ResultFiles) != 0 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if ents, _ := readDirNames(root); len(ents) != 0 {
		t.Errorf("results dir holds %v", ents)
	}
	if _, err := readDirNames(dir); err == nil {
		t.Errorf("temporary study dir %s left behind", dir)
	}
}

func readDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, err
}

func TestGapBefore(t *testing.T) {
	cfgGap, cycleGap := 7.0, 11.0
	ex := config.Execution{CycleGapSeconds: &cycleGap}
	d := GapDefaults{ConfigGapSeconds: cfgGap, CycleGapSeconds: 99}
	a1, b1, a2 := config.Run{Experiment: 0, Cycle: 1}, config.Run{Experiment: 1, Cycle: 1}, config.Run{Experiment: 0, Cycle: 2}
	for _, tc := range []struct {
		order    config.CycleOrder
		prev     config.Run
		next     config.Run
		wantKind string
		wantSecs float64
	}{
		{config.OrderInterleaved, a1, b1, "config", cfgGap},
		{config.OrderInterleaved, b1, a2, "cycle", cycleGap},
		{config.OrderSequential, a1, a2, "config", cfgGap},
	} {
		ex.CycleOrder = tc.order
		kind, secs := GapBefore(ex, d, tc.prev, tc.next)
		if kind != tc.wantKind || secs != tc.wantSecs {
			t.Errorf("%s %+v→%+v: GapBefore = %s %g, want %s %g", tc.order, tc.prev, tc.next, kind, secs, tc.wantKind, tc.wantSecs)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	if got := RunTimeout(config.Execution{}, 0); got != DefaultExperimentTimeout {
		t.Errorf("unset: %s, want the default %s", got, DefaultExperimentTimeout)
	}
	if got := RunTimeout(config.Execution{ExperimentTimeoutSeconds: 30}, 0); got != 30*time.Second {
		t.Errorf("execution block: %s, want 30s", got)
	}
	if got := RunTimeout(config.Execution{ExperimentTimeoutSeconds: 30}, 5*time.Second); got != 5*time.Second {
		t.Errorf("override: %s, want 5s", got)
	}
}
