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
	p.line("completed")
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
