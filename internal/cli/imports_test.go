package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports: the command line is a client of the public llem API; of
// the module's packages it imports only the public ones and the few
// internal helpers of its own (no harness, study or energy internals: the
// --metrics exporter takes events, as a library user's OnEvent would).
func TestImports(t *testing.T) {
	const module = "github.com/llenergymeasure/llem"
	allowed := map[string]bool{
		module: true, module + "/config": true, module + "/results": true, module + "/report": true, module + "/event": true,
		module + "/internal/slurm": true, module + "/internal/metrics": true, module + "/internal/buildinfo": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			seen++
			if !allowed[p] {
				t.Errorf("%s imports %s: the CLI uses the public API (llem, config, results, report, event) and its own helpers only", f, p)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no import of the module found: the test reads the wrong folder")
	}
}
