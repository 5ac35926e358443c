package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/event"
)

func TestProgressPlainOutput(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, false, false)
	p.setPrefix("run 1/2 · cycle 1")
	type step struct {
		p       event.Progress
		elapsed time.Duration
	}
	events := []step{
		{event.Progress{Phase: event.PhaseBaseline, Remaining: 5 * time.Second}, 0},
		{event.Progress{Phase: event.PhaseLoad}, 5 * time.Second},
	}
	for i := 1; i <= 8; i++ {
		events = append(events, step{event.Progress{Phase: event.PhaseMeasure, PromptsDone: i, PromptsTotal: 8, TokensPerS: 100, PowerW: 4}, 6 * time.Second})
	}
	for _, e := range events {
		p.runEvent(e.p, e.elapsed)
	}
	p.gap(event.Event{GapKind: "config", GapMode: "fixed", Remaining: 10 * time.Second, GapTotal: 10 * time.Second})
	p.gap(event.Event{GapKind: "config", GapMode: "fixed", Remaining: 9 * time.Second, GapTotal: 10 * time.Second})
	want := `[run 1/2 · cycle 1] baseline 5s  elapsed 0s
[run 1/2 · cycle 1] load  elapsed 5s
[run 1/2 · cycle 1] measuring 1/8 prompts  100 tok/s  4.0 W  elapsed 6s
[run 1/2 · cycle 1] measuring 2/8 prompts  100 tok/s  4.0 W  elapsed 6s
[run 1/2 · cycle 1] measuring 4/8 prompts  100 tok/s  4.0 W  elapsed 6s
[run 1/2 · cycle 1] measuring 6/8 prompts  100 tok/s  4.0 W  elapsed 6s
[run 1/2 · cycle 1] measuring 8/8 prompts  100 tok/s  4.0 W  elapsed 6s
config gap: waiting 10s
`
	if out.String() != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("plain output must not use carriage returns")
	}
}

func TestProgressTerminalRewritesOneLine(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, true, false, false)
	p.runEvent(event.Progress{Phase: event.PhaseMeasure, PromptsDone: 1, PromptsTotal: 2}, 0)
	p.runEvent(event.Progress{Phase: event.PhaseMeasure, PromptsDone: 2, PromptsTotal: 2}, 0)
	p.endRun()
	p.line("completed")
	p.done()
	got := out.String()
	if strings.Count(got, "\r\033[K") != 3 || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "completed\n") {
		t.Errorf("terminal output %q: want one live line rewritten, then cleared for the next line", got)
	}
}

func TestProgressQuietPrintsNothing(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false, true, false)
	p.line("hello")
	p.runEvent(event.Progress{Phase: event.PhaseLoad}, 0)
	if out.Len() != 0 {
		t.Errorf("quiet printed %q", out.String())
	}
}

// fakeTerminal is a progress on a terminal of width columns with a clock
// the test moves (under p.mu, as the progress reads it).
func fakeTerminal(width int, verbose bool) (*progress, *bytes.Buffer, func(time.Duration)) {
	var out bytes.Buffer
	p := newProgress(&out, true, false, verbose)
	p.width = func() int { return width }
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	advance := func(d time.Duration) {
		p.mu.Lock()
		now = now.Add(d)
		p.mu.Unlock()
	}
	return p, &out, advance
}

// liveLines are the live lines drawn into out, in order.
func liveLines(out string) []string {
	var lines []string
	for _, s := range strings.Split(out, "\r\033[K")[1:] {
		if s, _, _ = strings.Cut(s, "\n"); s != "" {
			lines = append(lines, s)
		}
	}
	return lines
}

// TestProgressTerminalFitsWidth: the live line never reaches the
// terminal's last column (it would wrap and leave residue), drops the
// least important parts first and keeps the phase and its number.
func TestProgressTerminalFitsWidth(t *testing.T) {
	measure := event.Progress{Phase: event.PhaseMeasure, PromptsDone: 3, PromptsTotal: 8, TokensPerS: 123, PowerW: 45.5}
	for _, tc := range []struct {
		width int
		want  string
	}{
		{120, "[run 1/2 · cycle 1 · batch_size=2, precision=f32 · ETA 3m0s] measuring 3/8 prompts  123 tok/s  45.5 W  elapsed 7s"},
		{110, "[run 1/2 · cycle 1 · batch_size=2, precision=f32 · ETA 3m0s] measuring 3/8 prompts  123 tok/s  45.5 W"},
		{100, "[run 1/2 · cycle 1 · batch_size=2, precision=f32 · ETA 3m0s] measuring 3/8 prompts  123 tok/s"},
		{90, "[run 1/2 · cycle 1 · batch_size=2, precision=f32] measuring 3/8 prompts  123 tok/s"},
		{60, "[run 1/2 · cycle 1] measuring 3/8 prompts  123 tok/s"},
		{40, "[run 1/2] measuring 3/8 prompts"},
		{20, "[run 1/2] measurin…"},
	} {
		p, out, _ := fakeTerminal(tc.width, false)
		p.setPrefix("run 1/2 · cycle 1 · batch_size=2, precision=f32 · ETA 3m0s")
		p.runEvent(measure, 7*time.Second)
		p.done()
		lines := liveLines(out.String())
		if len(lines) != 1 || lines[0] != tc.want {
			t.Errorf("width %d: live lines %q, want %q", tc.width, lines, tc.want)
		}
		for _, l := range lines {
			if n := columns(l); n >= tc.width {
				t.Errorf("width %d: %q takes %d columns", tc.width, l, n)
			}
		}
	}
	// A temperature gap at 40 columns keeps its countdown.
	p, out, _ := fakeTerminal(40, false)
	temp, target := 71.5, 45.0
	p.gap(event.Event{GapKind: "config", GapMode: "temperature", Remaining: 30 * time.Second, GapTotal: 60 * time.Second, TempC: &temp, TargetC: &target})
	p.done()
	if got := liveLines(out.String()); len(got) != 1 || got[0] != "config gap: 30s remaining" {
		t.Errorf("gap at 40 columns: %q", got)
	}
}

// waitFor polls the output (under p.mu) until it has want.
func waitFor(t *testing.T, p *progress, out *bytes.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		got := out.String()
		p.mu.Unlock()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q drawn by the ticker; output %q", want, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProgressTerminalTicks: the ticker counts a baseline and a gap down
// from their one event, and the elapsed clock up, without more events;
// done stops it.
func TestProgressTerminalTicks(t *testing.T) {
	p, out, advance := fakeTerminal(80, false)
	p.tick = time.Millisecond
	p.runEvent(event.Progress{Phase: event.PhaseBaseline, Remaining: 5 * time.Second}, 2*time.Second)
	waitFor(t, p, out, "baseline 5s  elapsed 2s")
	advance(2 * time.Second)
	waitFor(t, p, out, "baseline 3s  elapsed 4s")
	advance(10 * time.Second)
	waitFor(t, p, out, "baseline 0s  elapsed 14s")
	p.gap(event.Event{GapKind: "cycle", GapMode: "fixed", Remaining: 3 * time.Second, GapTotal: 3 * time.Second})
	waitFor(t, p, out, "cycle gap: 3s remaining")
	advance(time.Second)
	waitFor(t, p, out, "cycle gap: 2s remaining")
	p.gap(event.Event{GapKind: "cycle", GapMode: "fixed", Remaining: 0, GapTotal: 3 * time.Second})
	p.done()
	p.mu.Lock()
	ticking := p.ticking
	p.mu.Unlock()
	if ticking {
		t.Error("the ticker runs on after done")
	}
	// Each drawn line is drawn once: the ticker redraws only changes.
	seen := map[string]bool{}
	for _, l := range liveLines(out.String()) {
		if seen[l] {
			t.Errorf("%q drawn twice in a row", l)
		}
		seen[l] = true
	}
	if !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("the gap's end should clear the line: %q", out.String())
	}
}

// TestProgressVerboseBatchLines: -v on a terminal prints a permanent line
// per measured batch above the live line; without -v there is none.
func TestProgressVerboseBatchLines(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		p, out, _ := fakeTerminal(120, verbose)
		p.setPrefix("run 1/1 · cycle 1")
		p.runEvent(event.Progress{Phase: event.PhaseLoad}, time.Second)
		for i := 1; i <= 2; i++ {
			p.runEvent(event.Progress{Phase: event.PhaseMeasure, PromptsDone: 2 * i, PromptsTotal: 4, TokensPerS: 50, PowerW: 3}, 2*time.Second)
		}
		p.done()
		var permanent []string
		for _, l := range strings.Split(out.String(), "\n") {
			if i := strings.LastIndex(l, "\r\033[K"); i >= 0 {
				l = l[i+len("\r\033[K"):]
			}
			if strings.Contains(l, "batch") {
				permanent = append(permanent, l)
			}
		}
		want := []string(nil)
		if verbose {
			want = []string{
				"[run 1/1 · cycle 1] batch 1: 2/4 prompts  50 tok/s  3.0 W  elapsed 2s",
				"[run 1/1 · cycle 1] batch 2: 4/4 prompts  50 tok/s  3.0 W  elapsed 2s",
			}
		}
		if strings.Join(permanent, "\n") != strings.Join(want, "\n") {
			t.Errorf("verbose %v: batch lines %q, want %q", verbose, permanent, want)
		}
	}
}

// TestProgressPeriodicEvents: the harness's periodic reports (about one a
// second, repeating the last step) move the live line on a terminal but
// print no line of their own, piped or with -v, and count no batch.
func TestProgressPeriodicEvents(t *testing.T) {
	measure := event.Progress{Phase: event.PhaseMeasure, PromptsDone: 2, PromptsTotal: 4, TokensPerS: 50, PowerW: 3}
	tick := measure
	tick.Periodic = true
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		p := newProgress(&out, false, false, verbose)
		p.runEvent(measure, time.Second)
		p.runEvent(tick, 2*time.Second)
		p.runEvent(tick, 3*time.Second)
		if n := strings.Count(out.String(), "\n"); n != 1 {
			t.Errorf("piped, verbose %v: %d lines for one step and two periodic reports, want 1:\n%s", verbose, n, out.String())
		}
	}
	p, out, _ := fakeTerminal(120, true)
	p.runEvent(measure, time.Second)
	p.runEvent(tick, 7*time.Second)
	next := measure
	next.PromptsDone = 4
	p.runEvent(next, 8*time.Second)
	p.done()
	got := out.String()
	if strings.Count(got, "batch ") != 2 || !strings.Contains(got, "batch 2: 4/4") {
		t.Errorf("terminal -v: batch lines in %q, want batch 1 and batch 2 only", got)
	}
	if !strings.Contains(got, "elapsed 7s") {
		t.Errorf("terminal: the periodic report did not move the live line (no \"elapsed 7s\") in %q", got)
	}
}
