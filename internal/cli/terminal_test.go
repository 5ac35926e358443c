package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The runs TestTmuxProgress watches: one experiment with a 5 s baseline,
// and a two-run study with a 5 s baseline in each run (its live line,
// with the run's prefix, is wider than 40 columns) and a 3 s gap between
// its configurations.
const (
	tmuxSingle = `model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 8}
baseline: {enabled: true, duration_seconds: 5}
warmup: {enabled: false}
`
	tmuxStudy = `name: tmuxstudy
model: tiny
backend: native
n: 4
dataset: {name: synthetic, input_len: 8, output_len: 8}
baseline: {enabled: true, duration_seconds: 5}
warmup: {enabled: false}
sweep:
  native.batch_size: [1, 2]
execution: {n_cycles: 1, config_gap_seconds: 3}
`
)

var (
	// progressText marks a line as progress: a live line, or one of the
	// permanent lines of a run's end and, with -v, of each measured batch.
	progressText = regexp.MustCompile(`\d+/\d+ prompts|elapsed \d+s|(baseline|thermal floor|gap:) \d+s|^\[run [^]]*\] (snapshot|baseline|load|warm-up|thermal floor|measuring)`)
	// liveStart is how a whole live line starts.
	liveStart = regexp.MustCompile(`^(\[run \d+/\d+(\]| ·)|(snapshot|baseline|load|warm-up|thermal floor|measuring)( |$)|(config|cycle|cooldown) gap: )`)
	permanent = regexp.MustCompile(`^(\[run [^]]*\] )?(batch \d+: |done )\d+/\d+ prompts`)
	batchLine = regexp.MustCompile(`^(\[run [^]]*\] )?batch \d+: \d+/\d+ prompts`)
	// countdowns finds a baseline's or a gap's remaining seconds.
	countdowns = regexp.MustCompile(`(?:baseline |gap: )(\d+)s`)
)

// TestTmuxProgress runs llem in a real terminal (tmux, 40 and 120 columns)
// and reads the screen while it runs: the live line never wraps (a wrapped
// line leaves its first rows behind at every redraw), the baseline and the
// gap count down between captures, -v leaves one line per measured batch,
// and the final screen holds the summary with no progress left on it.
func TestTmuxProgress(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not on PATH: this test reads llem's live progress off a real terminal (apt-get install tmux; .ci/run installs it)")
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"single.yaml": tmuxSingle, "study.yaml": tmuxStudy} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sock := fmt.Sprintf("llem-test-%d", os.Getpid())
	tmux := func(args ...string) (string, error) {
		cmd := exec.Command("tmux", append([]string{"-u", "-L", sock}, args...)...)
		cmd.Env = append(withoutEnv(os.Environ(), "TMUX"), "LANG=C.UTF-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out), err
	}
	// One server for the parallel subtests, started here (and killed at
	// the end), so the subtests do not race to create it.
	if _, err := tmux("new-session", "-d", "-s", "keep", "sleep 600"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = tmux("kill-server") })

	for _, width := range []int{40, 120} {
		for _, kind := range []string{"single", "study"} {
			t.Run(fmt.Sprintf("%s-%d", kind, width), func(t *testing.T) {
				t.Parallel()
				session := fmt.Sprintf("%s-%d", kind, width)
				flags := ""
				if kind == "study" {
					flags = "-v"
				}
				script := filepath.Join(dir, session+".sh")
				src := fmt.Sprintf("#!/bin/sh\nexport %s=1 LANG=C.UTF-8\n%s run %s -o %s %s\necho \"llem exited $?\"\nexec sleep 600\n",
					asLlemEnv, shq(os.Args[0]), shq(filepath.Join(dir, kind+".yaml")), shq(filepath.Join(dir, "results-"+session)), flags)
				if err := os.WriteFile(script, []byte(src), 0o755); err != nil {
					t.Fatal(err)
				}
				if _, err := tmux("new-session", "-d", "-s", session, "-x", strconv.Itoa(width), "-y", "20", script); err != nil {
					t.Fatal(err)
				}
				// The countdowns seen, by what precedes the number (a run's
				// baseline, the gap), each value once.
				counts := map[string][]int{}
				deadline := time.Now().Add(90 * time.Second)
				for {
					// All rows so far, wrapped rows joined (a permanent line's
					// wrapped tail is not residue, a live line's is).
					screen, err := tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session)
					if err != nil {
						t.Fatal(err)
					}
					live := 0
					for _, l := range strings.Split(screen, "\n") {
						if !progressText.MatchString(l) || permanent.MatchString(l) {
							continue
						}
						live++
						if n := utf8.RuneCountInString(l); n >= width || !liveStart.MatchString(l) {
							t.Errorf("%d columns: %q (%d columns) is a wrapped or cut-off live line:\n%s", width, l, n, screen)
						}
						if m := countdowns.FindStringSubmatchIndex(l); m != nil {
							key := l[:m[2]]
							n, _ := strconv.Atoi(l[m[2]:m[3]])
							if c := counts[key]; len(c) == 0 || c[len(c)-1] != n {
								counts[key] = append(c, n)
							}
						}
					}
					if live > 1 {
						t.Errorf("%d live lines on screen (residue of earlier ones):\n%s", live, screen)
					}
					if t.Failed() {
						return // the server's end stops this llem
					}
					if strings.Contains(screen, "llem exited") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("llem still running after 90 s:\n%s", screen)
					}
					time.Sleep(150 * time.Millisecond)
				}
				// The whole history, wrapped rows joined: the summary, no live
				// line left behind, and with -v a line per batch.
				all, err := tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(all, "llem exited 0") {
					t.Fatalf("llem failed:\n%s", all)
				}
				summary := map[string]string{"single": "energy/output token", "study": "Study tmuxstudy"}[kind]
				if !strings.Contains(all, summary) {
					t.Errorf("no summary (%q) on the final screen:\n%s", summary, all)
				}
				batches := 0
				for _, l := range strings.Split(all, "\n") {
					switch {
					case batchLine.MatchString(l):
						batches++
					case permanent.MatchString(l):
					case progressText.MatchString(l):
						t.Errorf("a live line was left on screen: %q\n%s", l, all)
					}
				}
				if want := map[string]int{"single": 0, "study": 6}[kind]; batches != want {
					t.Errorf("%d batch lines, want %d (4 batches of 1 and 2 of 2 with -v):\n%s", batches, want, all)
				}
				// Each countdown moved between captures, downwards only: the
				// baselines (one event each, ticked by llem) and the gap.
				ticked := map[string]bool{}
				for key, c := range counts {
					for i := 1; i < len(c); i++ {
						if c[i] > c[i-1] {
							t.Errorf("countdown %q went up: %v", key, c)
						}
						if c[i] < c[i-1] && strings.Contains(key, "baseline") {
							ticked["baseline"] = true
						}
						if c[i] < c[i-1] && strings.Contains(key, "gap") {
							ticked["gap"] = true
						}
					}
				}
				want := []string{"baseline"}
				if kind == "study" {
					want = append(want, "gap")
				}
				for _, w := range want {
					if !ticked[w] {
						t.Errorf("no %s countdown ticked down between captures: %v", w, counts)
					}
				}
				t.Logf("countdown %v; final screen at %d columns:\n%s", counts, width, lastRows(all, 20))
			})
		}
	}
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func withoutEnv(env []string, key string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// lastRows is the last n non-empty rows of a capture.
func lastRows(s string, n int) string {
	rows := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(rows[max(len(rows)-n, 0):], "\n")
}
