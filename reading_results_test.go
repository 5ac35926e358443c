package llem_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const readingResultsPage = "docs/reading-results.md"

// snippet is a code block of a docs page marked `<!-- check: KIND [FILE] -->`,
// with the output block (```text) that follows it, if any.
type snippet struct {
	line   int
	kind   string // file, sh, python, sql, js
	file   string // for kind file: the name it is written to
	code   string
	output *string
}

// pageSnippets reads the checked snippets of a markdown page, in order.
func pageSnippets(t *testing.T, path string) []snippet {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	marker := regexp.MustCompile(`^<!-- check: (\w+)(?: (\S+))? -->$`)
	// block reads the fenced block starting at or after line i (skipping
	// blank lines): its info string, body and the line after it.
	block := func(i int) (info, body string, next int, ok bool) {
		for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			i++
		}
		if i >= len(lines) || !strings.HasPrefix(lines[i], "```") {
			return "", "", i, false
		}
		info = strings.TrimPrefix(lines[i], "```")
		var b strings.Builder
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			b.WriteString(lines[i] + "\n")
		}
		if i >= len(lines) {
			t.Fatalf("%s: unterminated code block", path)
		}
		return info, b.String(), i + 1, true
	}
	var out []snippet
	for i := 0; i < len(lines); i++ {
		m := marker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		s := snippet{line: i + 1, kind: m[1], file: m[2]}
		_, body, next, ok := block(i + 1)
		if !ok {
			t.Fatalf("%s:%d: a check marker with no code block after it", path, i+1)
		}
		s.code = body
		if info, text, after, ok := block(next); ok && info == "text" {
			s.output = &text
			next = after
		}
		out = append(out, s)
		i = next - 1
	}
	return out
}

// outputMatches compares printed output with the page's output block, in
// which … stands for any run of non-space characters.
func outputMatches(got, want string) bool {
	parts := strings.Split(strings.TrimRight(want, "\n"), "…")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `\S+`) + `$`).MatchString(strings.TrimRight(got, "\n"))
}

// duckdbList runs SQL from stdin with @duckdb/node-api and prints the result
// as `duckdb -list` does: a header, then rows, fields joined by |.
const duckdbList = `const {DuckDBInstance} = require('@duckdb/node-api');
(async () => {
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const r = await con.runAndReadAll(require('fs').readFileSync(0, 'utf8'));
  console.log(r.columnNames().join('|'));
  for (const row of r.getRowsJson()) console.log(row.map(v => v === null ? '' : String(v)).join('|'));
})().catch(e => { console.error(e.message); process.exit(1); });
`

// TestReadingResultsPage runs every checked snippet of
// docs/reading-results.md in order, in one folder, with the llem binary on
// PATH: files are written, shell, Python, DuckDB SQL and Node.js snippets
// run, and what each prints must match the output shown under it. A
// snippet whose tool or module is missing here skips, saying which.
func TestReadingResultsPage(t *testing.T) {
	bin := buildLlem(t)
	snippets := pageSnippets(t, readingResultsPage)
	if len(snippets) < 10 {
		t.Fatalf("%s has %d checked snippets; the markers were lost?", readingResultsPage, len(snippets))
	}
	work := t.TempDir()
	binDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(binDir, "llem")); err != nil {
		t.Fatal(err)
	}
	env := append(withoutLlemVars(os.Environ()), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	python := pythonWith("pandas")
	node, _ := exec.LookPath("node")

	for _, s := range snippets {
		name := fmt.Sprintf("line%d_%s", s.line, s.kind)
		t.Run(name, func(t *testing.T) {
			var cmd *exec.Cmd
			switch s.kind {
			case "file":
				if err := os.WriteFile(filepath.Join(work, s.file), []byte(s.code), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			case "sh":
				cmd = exec.Command("bash", "-euo", "pipefail", "-c", s.code)
			case "python":
				if python == "" {
					t.Skip("no python3 with pandas (apt-get install python3-pandas)")
				}
				for _, m := range pythonImports(s.code) {
					if exec.Command(python, "-c", "import "+m).Run() != nil {
						t.Skipf("%s cannot import %s here", python, m)
					}
				}
				cmd = exec.Command(python, "-c", s.code)
			case "sql", "js":
				if node == "" {
					t.Skip("node is not installed")
				}
				code, module := s.code, ""
				if s.kind == "sql" {
					code, module = duckdbList, "@duckdb/node-api"
				} else if m := regexp.MustCompile(`require\("([^"]+)"\)`).FindStringSubmatch(s.code); m != nil {
					module = m[1]
				}
				if module != "" && exec.Command(node, "-e", "require('"+module+"')").Run() != nil {
					t.Skipf("node cannot load %s (npm install it, then put its node_modules on NODE_PATH)", module)
				}
				cmd = exec.Command(node, "-e", code)
				if s.kind == "sql" {
					cmd.Stdin = strings.NewReader(s.code)
				}
			default:
				t.Fatalf("%s:%d: unknown snippet kind %q", readingResultsPage, s.line, s.kind)
			}
			cmd.Dir, cmd.Env = work, env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s:%d: %v\nstdout:\n%s\nstderr:\n%s", readingResultsPage, s.line, err, stdout.String(), stderr.String())
			}
			if s.output != nil && !outputMatches(stdout.String(), *s.output) {
				t.Errorf("%s:%d printed:\n%s\nthe page shows:\n%s", readingResultsPage, s.line, stdout.String(), *s.output)
			}
		})
	}
}

// pythonImports lists the top-level modules a snippet imports.
func pythonImports(code string) []string {
	var mods []string
	re := regexp.MustCompile(`^(?:import|from) (\w+)`)
	sc := bufio.NewScanner(strings.NewReader(code))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			mods = append(mods, m[1])
		}
	}
	return mods
}

// pythonWith is the first of python3 on PATH and Debian's /usr/bin/python3
// that imports module, or "".
func pythonWith(module string) string {
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(c); err == nil && exec.Command(p, "-c", "import "+module).Run() == nil {
			return p
		}
	}
	return ""
}

// withoutLlemVars drops LLEM_* variables, so the developer's settings do not
// reach the snippets.
func withoutLlemVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "LLEM_") {
			out = append(out, kv)
		}
	}
	return out
}
