package llem_test

import (
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPublicSignaturesArePublic walks every exported name of the public
// packages (their functions, methods, fields and variables) and fails on any
// type from an internal package: a user outside the module could not name it.
func TestPublicSignaturesArePublic(t *testing.T) {
	const module = "github.com/llenergymeasure/llem"
	imp := exportDataImporter(t, module+"/...")
	for _, path := range []string{module, module + "/config", module + "/results", module + "/report", module + "/event"} {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		w := apiWalker{seen: map[types.Type]bool{}}
		for _, name := range pkg.Scope().Names() {
			obj := pkg.Scope().Lookup(name)
			if !obj.Exported() {
				continue
			}
			w.visit(path+"."+name, obj.Type())
		}
		for _, bad := range w.internal {
			t.Errorf("%s: public API exposes an internal type: %s", path, bad)
		}
	}
}

// exportDataImporter imports packages from the compiler's export data,
// which `go list -export` builds (or finds in the build cache).
func exportDataImporter(t *testing.T, patterns ...string) types.Importer {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	export := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, file, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && file != "" {
			export[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := export[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

type apiWalker struct {
	seen     map[types.Type]bool
	internal []string
}

func (w *apiWalker) visit(where string, typ types.Type) {
	if typ == nil || w.seen[typ] {
		return
	}
	w.seen[typ] = true
	switch t := typ.(type) {
	case *types.Alias:
		w.visit(where, types.Unalias(t))
	case *types.Named:
		pkg := t.Obj().Pkg()
		if pkg == nil || !strings.HasPrefix(pkg.Path(), "github.com/llenergymeasure/llem") {
			return // the standard library and dependencies are public
		}
		if strings.Contains(pkg.Path(), "/internal/") || strings.HasSuffix(pkg.Path(), "/internal") {
			w.internal = append(w.internal, where+" → "+t.String())
			return
		}
		for i := range t.NumMethods() {
			if m := t.Method(i); m.Exported() {
				w.visit(where+"."+m.Name(), m.Type())
			}
		}
		w.visit(where, t.Underlying())
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); f.Exported() || f.Embedded() {
				w.visit(where+"."+f.Name(), f.Type())
			}
		}
	case *types.Signature:
		for v := range t.Params().Variables() {
			w.visit(where+"("+v.Name()+")", v.Type())
		}
		for v := range t.Results().Variables() {
			w.visit(where+" result", v.Type())
		}
	case *types.Pointer:
		w.visit(where, t.Elem())
	case *types.Slice:
		w.visit(where, t.Elem())
	case *types.Array:
		w.visit(where, t.Elem())
	case *types.Map:
		w.visit(where, t.Key())
		w.visit(where, t.Elem())
	case *types.Chan:
		w.visit(where, t.Elem())
	case *types.Interface:
		for i := range t.NumMethods() {
			w.visit(where+"."+t.Method(i).Name(), t.Method(i).Type())
		}
	}
}
