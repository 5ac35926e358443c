package llem_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/event"
)

// BenchmarkTinyStudyPerRun: the whole cost of one study run of the tiny
// native model (n 2, 4 output tokens, no baseline or warm-up) through the
// llem binary: spawn, child start-up, pre-flight, snapshot, load,
// inference, time series, result and manifest, from the study's start to
// its last run's end. The per-run overhead outside the engine is this less
// the measured inference; the study's own start (pre-flight, host
// snapshot) and summary are left out.
//
//	go test -run '^$' -bench TinyStudyPerRun -benchtime 50x .
func BenchmarkTinyStudyPerRun(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the llem binary")
	}
	bin, err := llemBinary()
	if err != nil {
		b.Fatal(err)
	}
	cfg := tinyConfig()
	cfg.N, cfg.MaxOutputTokens = 2, 4
	exec := config.DefaultExecution()
	exec.NCycles = b.N
	sc := &config.StudyConfig{Name: "tiny-overhead", Experiments: []config.ExperimentConfig{cfg}, Execution: exec}
	user := config.DefaultUserConfig()
	var start, end time.Time
	runs := 0
	onEvent := func(e event.Event) {
		switch e.Kind {
		case event.StudyStart:
			start = time.Now()
		case event.RunEnd:
			end = time.Now()
			runs++
		}
	}
	b.ResetTimer()
	if _, err := llem.Run(context.Background(), sc, llem.Options{User: &user, ResultsDir: filepath.Join(b.TempDir(), "results"), NoGaps: true, LlemBinary: bin, OnEvent: onEvent}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if runs != b.N {
		b.Fatalf("%d runs ended, want %d", runs, b.N)
	}
	b.ReportMetric(float64(end.Sub(start).Microseconds())/1000/float64(runs), "ms/run")
}
