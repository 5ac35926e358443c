package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/llenergymeasure/llem/event"
)

// progress renders run events: one live line on a terminal, plain
// line-per-event output otherwise (SPEC CLI-5).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	quiet   bool
	verbose bool
	prefix  string
	live    bool // a live line is on screen
	last    event.Phase
	lastPct int
}

func newProgress(w io.Writer, tty, quiet, verbose bool) *progress {
	return &progress{w: w, tty: tty, quiet: quiet, verbose: verbose}
}

// setPrefix labels the following events, e.g. "run 3/8 · cycle 2".
func (p *progress) setPrefix(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = s
	p.last = ""
	p.lastPct = -1
}

// line prints a whole line, clearing any live line first.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	p.clearLocked()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *progress) clearLocked() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		p.live = false
	}
}

// done ends any live line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

// runEvent renders the progress of a measured run at elapsed.
func (p *progress) runEvent(e event.Progress, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	text := describeEvent(e, elapsed)
	if p.prefix != "" {
		text = "[" + p.prefix + "] " + text
	}
	if p.tty {
		p.live = true
		fmt.Fprint(p.w, "\r\033[K"+text)
		if e.Phase == event.PhaseDone {
			fmt.Fprintln(p.w)
			p.live = false
		}
		return
	}
	// Not a terminal: a line when the phase changes, and every 25% of the
	// measured prompts (every event with -v).
	pct := -1
	if e.PromptsTotal > 0 && e.Phase == event.PhaseMeasure {
		pct = 100 * e.PromptsDone / e.PromptsTotal / 25
	}
	if p.verbose || e.Phase != p.last || pct != p.lastPct {
		fmt.Fprintln(p.w, text)
	}
	p.last, p.lastPct = e.Phase, pct
}

func describeEvent(e event.Progress, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString(string(e.Phase))
	switch e.Phase {
	case event.PhaseBaseline, event.PhaseThermal:
		if e.Remaining > 0 {
			fmt.Fprintf(&b, " %s", e.Remaining.Round(time.Second))
		}
	case event.PhaseWarmup:
		fmt.Fprintf(&b, " %d/%d", e.PromptsDone+1, e.PromptsTotal)
	case event.PhaseMeasure, event.PhaseDone:
		fmt.Fprintf(&b, " %d/%d prompts", e.PromptsDone, e.PromptsTotal)
		if e.TokensPerS > 0 {
			fmt.Fprintf(&b, "  %.0f tok/s", e.TokensPerS)
		}
		if e.PowerW > 0 {
			fmt.Fprintf(&b, "  %.1f W", e.PowerW)
		}
	}
	if e.Message != "" {
		b.WriteString("  " + e.Message)
	}
	fmt.Fprintf(&b, "  elapsed %s", elapsed.Round(time.Second))
	return b.String()
}

// gap renders a thermal-gap countdown: a live line on a terminal, one line
// per gap otherwise.
func (p *progress) gap(e event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	what := e.GapKind + " gap"
	if e.GapMode == "temperature" && e.TempC != nil && e.TargetC != nil {
		what += fmt.Sprintf(" (%.1f °C → %.1f °C)", *e.TempC, *e.TargetC)
	}
	if p.tty {
		p.clearLocked()
		if e.Remaining > 0 {
			fmt.Fprintf(p.w, "%s: %s remaining", what, e.Remaining.Round(time.Second))
			p.live = true
		}
		return
	}
	if e.Remaining == e.GapTotal && e.GapTotal > 0 {
		fmt.Fprintf(p.w, "%s: waiting %s\n", what, e.GapTotal.Round(time.Second))
	}
}
