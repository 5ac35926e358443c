package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/llenergymeasure/llem/event"
)

// progress renders run events: one live line on a terminal, plain
// line-per-event output otherwise (SPEC CLI-5).
//
// On a terminal the live line is fitted to the terminal's width, read at
// every redraw: a line that wraps leaves its first rows behind when it is
// redrawn, since "\r\033[K" clears only the row the cursor is on. The
// least important parts go first (elapsed, power, the ETA and label of the
// run prefix, tok/s), so even 40 columns show the phase and its number. A
// ticker redraws the line while it is up, counting baseline, thermal
// floor and gap countdowns down from the Remaining of their last event
// and the elapsed clock up, so the line moves between events (a study's
// child reports a baseline once, at its start). With -v a terminal also
// gets a permanent line per measured batch above the live line.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	quiet   bool
	verbose bool
	// width is the terminal's width in columns, 0 when unknown.
	width func() int
	now   func() time.Time
	tick  time.Duration

	prefix  string
	live    bool   // a live line is on screen
	shown   string // the live line on screen
	last    event.Phase
	lastPct int
	batches int // measured batches of the current run (-v)

	// cur renders the live line the given time after its event arrived
	// (at); nil when no live line should be up.
	cur func(since time.Duration) string
	at  time.Time

	ticking bool
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(w io.Writer, tty, quiet, verbose bool) *progress {
	return &progress{w: w, tty: tty, quiet: quiet, verbose: verbose, width: termWidth(w), now: time.Now, tick: 200 * time.Millisecond, lastPct: -1}
}

// termWidth reads the width of the terminal w writes to (0 when it is not
// one); cheap enough to call at every redraw, so a resized terminal is
// followed without a SIGWINCH handler.
func termWidth(w io.Writer) func() int {
	f, ok := w.(*os.File)
	if !ok {
		return func() int { return 0 }
	}
	return func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return cols
	}
}

// setPrefix labels the following events, e.g. "run 3/8 · cycle 2"; the
// parts between " · " after the first go from the live line when it does
// not fit, the last first.
func (p *progress) setPrefix(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = s
	p.last = ""
	p.lastPct = -1
	p.batches = 0
	p.cur = nil
}

// line prints a whole line, clearing any live line first; the next tick
// puts the live line back below it.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	p.clearLocked()
	fmt.Fprintf(p.w, format+"\n", args...)
	p.redrawLocked()
}

func (p *progress) clearLocked() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		p.live = false
		p.shown = ""
	}
}

// endRun takes the live line down for good (until the next event).
func (p *progress) endRun() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = nil
	p.clearLocked()
}

// done ends any live line and stops the ticker.
func (p *progress) done() {
	p.mu.Lock()
	p.cur = nil
	p.clearLocked()
	p.closed = true
	if p.ticking {
		close(p.stop)
		p.ticking = false
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// showLocked makes render the live line, drawn now and at every tick
// (the ticker starts with the first live line and stops in done).
func (p *progress) showLocked(render func(since time.Duration) string) {
	p.cur, p.at = render, p.now()
	p.redrawLocked()
	if !p.ticking && !p.closed {
		p.ticking = true
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go p.ticker(p.stop)
	}
}

func (p *progress) ticker(stop chan struct{}) {
	defer p.wg.Done()
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.redrawLocked()
			p.mu.Unlock()
		}
	}
}

// redrawLocked draws the live line, fitted to the terminal, when it
// differs from what is on screen.
func (p *progress) redrawLocked() {
	if p.cur == nil || !p.tty || p.quiet {
		return
	}
	text := p.cur(p.now().Sub(p.at))
	if w := p.width() - 1; w > 0 {
		text = cutTo(text, w)
	}
	if p.live && text == p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\033[K"+text)
	p.live, p.shown = true, text
}

// runEvent renders the progress of a measured run at elapsed.
func (p *progress) runEvent(e event.Progress, elapsed time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet || (e.Periodic && !p.tty) {
		// A periodic report repeats the last step with fresh readings:
		// it moves a live line, and prints nothing line by line.
		return
	}
	switch {
	case e.Periodic:
	case e.Phase == event.PhaseMeasure:
		p.batches++
	default:
		p.batches = 0
	}
	prefix := prefixSegs(p.prefix)
	if p.tty {
		if p.verbose && e.Phase == event.PhaseMeasure && !e.Periodic {
			p.clearLocked()
			body := runSegs(e, elapsed, false)
			body[0].text = fmt.Sprintf("batch %d: %d/%d prompts", p.batches, e.PromptsDone, e.PromptsTotal)
			fmt.Fprintln(p.w, joinLine(prefix, body))
		}
		if e.Phase == event.PhaseDone {
			p.cur = nil
			p.clearLocked()
			fmt.Fprintln(p.w, joinLine(prefix, runSegs(e, elapsed, false)))
			return
		}
		counting := e.Remaining > 0
		p.showLocked(func(since time.Duration) string {
			e := e
			if counting {
				e.Remaining = max(e.Remaining-since, 0)
			}
			segs := runSegs(e, elapsed+since, counting)
			if w := p.width() - 1; w > 0 {
				return fitLine(prefix, segs, w)
			}
			return joinLine(prefix, segs)
		})
		return
	}
	// Not a terminal: a line when the phase changes, and every 25% of the
	// measured prompts (every event with -v).
	pct := -1
	if e.PromptsTotal > 0 && e.Phase == event.PhaseMeasure {
		pct = 100 * e.PromptsDone / e.PromptsTotal / 25
	}
	if p.verbose || e.Phase != p.last || pct != p.lastPct {
		fmt.Fprintln(p.w, joinLine(prefix, runSegs(e, elapsed, false)))
	}
	p.last, p.lastPct = e.Phase, pct
}

// seg is one part of a progress line. Parts with a higher drop are left
// out first when the line does not fit; drop 0 parts always stay.
type seg struct {
	text string
	drop int
}

// The order in which parts leave a line too wide for the terminal.
const (
	dropCycle = 1 + iota
	dropRate
	dropMessage
	dropLabel
	dropETA
	dropPower
	dropElapsed
)

// prefixSegs splits a run prefix "run 3/8 · cycle 2 · label · ETA 5m".
func prefixSegs(prefix string) []seg {
	if prefix == "" {
		return nil
	}
	parts := strings.Split(prefix, " · ")
	segs := make([]seg, len(parts))
	for i, s := range parts {
		d := dropLabel
		switch {
		case i == 0:
			d = 0
		case strings.HasPrefix(s, "cycle "):
			d = dropCycle
		case strings.HasPrefix(s, "ETA "):
			d = dropETA
		}
		segs[i] = seg{s, d}
	}
	return segs
}

// runSegs are the parts of a run's progress line; the first is the phase
// with its number. counting shows a remaining time even when it is 0.
func runSegs(e event.Progress, elapsed time.Duration, counting bool) []seg {
	head := string(e.Phase)
	var segs []seg
	switch e.Phase {
	case event.PhaseBaseline, event.PhaseThermal:
		if e.Remaining > 0 || counting {
			head += " " + e.Remaining.Round(time.Second).String()
		}
	case event.PhaseWarmup:
		head += fmt.Sprintf(" %d/%d", e.PromptsDone+1, e.PromptsTotal)
	case event.PhaseMeasure, event.PhaseDone:
		head += fmt.Sprintf(" %d/%d prompts", e.PromptsDone, e.PromptsTotal)
		if e.TokensPerS > 0 {
			segs = append(segs, seg{fmt.Sprintf("%.0f tok/s", e.TokensPerS), dropRate})
		}
		if e.PowerW > 0 {
			segs = append(segs, seg{fmt.Sprintf("%.1f W", e.PowerW), dropPower})
		}
	}
	segs = append([]seg{{head, 0}}, segs...)
	if e.Message != "" {
		segs = append(segs, seg{e.Message, dropMessage})
	}
	return append(segs, seg{"elapsed " + elapsed.Round(time.Second).String(), dropElapsed})
}

// joinLine is "[prefix · parts] body  parts".
func joinLine(prefix, body []seg) string {
	var b strings.Builder
	if len(prefix) > 0 {
		b.WriteString("[")
		for i, s := range prefix {
			if i > 0 {
				b.WriteString(" · ")
			}
			b.WriteString(s.text)
		}
		b.WriteString("] ")
	}
	for i, s := range body {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(s.text)
	}
	return b.String()
}

// fitLine joins prefix and body within width columns, leaving out the
// most droppable parts first and cutting what still does not fit.
func fitLine(prefix, body []seg, width int) string {
	prefix, body = append([]seg(nil), prefix...), append([]seg(nil), body...)
	for {
		s := joinLine(prefix, body)
		if columns(s) <= width {
			return s
		}
		list, at, most := &prefix, -1, 0
		for _, l := range []*[]seg{&prefix, &body} {
			for i, sg := range *l {
				if sg.drop >= most && sg.drop > 0 {
					list, at, most = l, i, sg.drop
				}
			}
		}
		if at < 0 {
			return cutTo(s, width)
		}
		*list = append((*list)[:at], (*list)[at+1:]...)
	}
}

// columns is the display width of s: one column a rune (the lines hold
// ASCII, "°", "→", "·" and "…", one column each).
func columns(s string) int { return utf8.RuneCountInString(s) }

// cutTo cuts s to width columns, ending in "…" when cut.
func cutTo(s string, width int) string {
	if columns(s) <= width {
		return s
	}
	if width <= 1 {
		return string([]rune(s)[:max(width, 0)])
	}
	return string([]rune(s)[:width-1]) + "…"
}

// gap renders a thermal-gap countdown: a live line on a terminal, one line
// per gap otherwise.
func (p *progress) gap(e event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	temps := ""
	if e.GapMode == "temperature" && e.TempC != nil && e.TargetC != nil {
		temps = fmt.Sprintf("%.1f °C → %.1f °C", *e.TempC, *e.TargetC)
	}
	if p.tty {
		if e.Remaining <= 0 {
			p.cur = nil
			p.clearLocked()
			return
		}
		p.showLocked(func(since time.Duration) string {
			left := max(e.Remaining-since, 0)
			segs := []seg{{fmt.Sprintf("%s gap: %s remaining", e.GapKind, left.Round(time.Second)), 0}}
			if temps != "" {
				segs = append(segs, seg{temps, dropRate})
			}
			if w := p.width() - 1; w > 0 {
				return fitLine(nil, segs, w)
			}
			return joinLine(nil, segs)
		})
		return
	}
	if e.Remaining == e.GapTotal && e.GapTotal > 0 {
		what := e.GapKind + " gap"
		if temps != "" {
			what += " (" + temps + ")"
		}
		fmt.Fprintf(p.w, "%s: waiting %s\n", what, e.GapTotal.Round(time.Second))
	}
}
