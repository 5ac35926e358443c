package study

import (
	"context"
	"fmt"
	"github.com/llenergymeasure/llem/event"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// runSpan measures the time from the study's start to its last run's end,
// leaving out the final summary and files.
type runSpan struct {
	start, end time.Time
	runs       int
}

func (s *runSpan) Observe(e Event) {
	switch e.Kind {
	case event.StudyStart:
		s.start = time.Now()
	case event.RunEnd:
		s.end = time.Now()
		s.runs++
	}
}

func (s *runSpan) perRun() time.Duration { return s.end.Sub(s.start) / time.Duration(s.runs) }

func batches(n int) []int {
	b := make([]int, n)
	for i := range b {
		b[i] = i + 1
	}
	return b
}

// BenchmarkIsolationOverhead: spawn, handshake, result transfer, result
// and manifest writes per run, with a child that does no work.
//
//	go test -run '^$' -bench IsolationOverhead -benchtime 20x ./internal/study
func BenchmarkIsolationOverhead(b *testing.B) {
	sc := sweep("overhead", config.OrderInterleaved, 1, batches(b.N), []string{"fp32"}, nil)
	opts := childOptions(b)
	span := &runSpan{}
	opts.Observer = span
	b.ResetTimer()
	if _, err := Run(context.Background(), sc, opts); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(span.perRun().Microseconds())/1000, "ms/run")
}

// BenchmarkRunnerScale: the runner's own cost per run (run directory,
// result.json, manifest journal and compactions) at 100, 1,000 and 10,000
// runs, with in-process runs that do no work.
//
//	go test -run '^$' -bench RunnerScale -benchtime 1x ./internal/study
func BenchmarkRunnerScale(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			sc := sweep("scale", config.OrderInterleaved, 1, batches(n), []string{"fp32"}, nil)
			var total time.Duration
			for range b.N {
				span := &runSpan{}
				opts := Options{ResultsDir: b.TempDir(), NoGaps: true, Observer: span, launcher: funcLauncher{run: okRun}}
				if _, err := Run(context.Background(), sc, opts); err != nil {
					b.Fatal(err)
				}
				total += span.perRun()
			}
			b.ReportMetric(float64((total/time.Duration(b.N)).Microseconds())/1000, "ms/run")
		})
	}
}

// BenchmarkManifestUpdate: one recorded state change (journal append and
// fsync, amortised compaction) in manifests of 100, 1,000 and 10,000 runs.
//
//	go test -run '^$' -bench ManifestUpdate ./internal/study
func BenchmarkManifestUpdate(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := createManifestStore(b.TempDir(), testManifest(n), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now().UTC()
			b.ResetTimer()
			for i := range b.N {
				r := results.ManifestRun{Index: i % n, Cycle: 1, MeasurementConfigHash: "h", State: results.StateRunning, StartedAt: &start}
				if err := s.update(r); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := s.close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
