// Package python_test checks the Python front in this folder end to end: the
// llem binary built here, carried in a wheel built with hatchling, installed
// into a fresh virtual environment, and the package's pytest suite run there
// against it. See README.md in this folder.
package python_test

import (
	"archive/zip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pythonNeeds are the modules the wheel's build, the venv and the tests need,
// with the Debian 12 package that provides each.
var pythonNeeds = []struct{ module, apt string }{
	{"build", "python3-build"},
	{"hatchling", "python3-hatchling"},
	{"pandas", "python3-pandas"},
	{"venv", "python3-venv"},
	{"ensurepip", "python3-venv"},
	{"pytest", "python3-pytest"},
}

// findPython returns the first interpreter that has every module in
// pythonNeeds ($LLEM_TEST_PYTHON, python3 on PATH, Debian's /usr/bin/python3),
// or why none will do.
func findPython() (string, string) {
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("LLEM_TEST_PYTHON"); p != "" {
		candidates = []string{p}
	}
	var why []string
	for _, c := range candidates {
		path, err := exec.LookPath(c)
		if err != nil {
			why = append(why, c+": not found")
			continue
		}
		var missing []string
		for _, n := range pythonNeeds {
			if exec.Command(path, "-c", "import "+n.module).Run() != nil {
				missing = append(missing, n.apt+" ("+n.module+")")
			}
		}
		if len(missing) == 0 {
			return path, ""
		}
		why = append(why, path+" lacks "+strings.Join(missing, ", "))
	}
	return "", strings.Join(why, "; ") + " (apt-get install python3-build python3-hatchling python3-pandas python3-venv python3-pytest)"
}

// TestPythonPackage builds the llem binary and a wheel carrying it, installs
// the wheel into a new venv (--system-site-packages, for Debian's pandas) and
// runs python/tests there with the binary the wheel carries. About 30 s.
func TestPythonPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the llem binary and a wheel")
	}
	python, why := findPython()
	if python == "" {
		t.Skip("no Python to build and test the wheel with: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	src, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	run := func(dir string, env []string, name string, args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		t.Logf("%.1f s: %s %s", time.Since(start).Seconds(), filepath.Base(name), strings.Join(args, " "))
		return string(out)
	}

	// -s -w: no symbol tables, a third smaller, so the wheel compresses faster.
	bin := filepath.Join(tmp, "llem")
	run("..", os.Environ(), "go", "build", "-ldflags=-s -w", "-o", bin, "./cmd/llem")

	dist := filepath.Join(tmp, "dist")
	buildEnv := append(withoutLlemEnv(), "LLEM_BINARY="+bin, "PYTHONDONTWRITEBYTECODE=1")
	// --skip-dependency-check: Debian's hatchling declares editables, which
	// Debian does not package (only editable installs use it).
	run(src, buildEnv, python, "-m", "build", "--no-isolation", "--skip-dependency-check", "--wheel", "--outdir", dist, ".")
	wheels, _ := filepath.Glob(filepath.Join(dist, "llem-*.whl"))
	if len(wheels) != 1 {
		t.Fatalf("wheels built: %v, want one", wheels)
	}
	checkWheel(t, wheels[0])

	venv := filepath.Join(tmp, "venv")
	run(tmp, withoutLlemEnv(), python, "-m", "venv", "--system-site-packages", venv)
	vpython := filepath.Join(venv, "bin", "python")
	run(tmp, withoutLlemEnv(), vpython, "-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check", "-q", wheels[0])

	// The suite runs from an empty folder with the venv first on PATH and no
	// LLEM_BINARY, so `import llem` and the binary are the installed ones.
	work := filepath.Join(tmp, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	testEnv := append(withoutLlemEnv(), "PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1")
	out := run(work, testEnv, vpython, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "--basetemp", filepath.Join(tmp, "pytest"), filepath.Join(src, "tests"))
	t.Log(out)
	if m := regexp.MustCompile(`(\d+) passed`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("pytest passed no tests:\n%s", out)
	}
}

// checkWheel checks the wheel is tagged for a platform and carries the
// binary, executable, at llem/bin/llem.
func checkWheel(t *testing.T, wheel string) {
	t.Helper()
	if want := "-py3-none-" + runtime.GOOS + "_"; !strings.Contains(filepath.Base(wheel), want) {
		t.Errorf("wheel %s: not tagged %s<arch>", filepath.Base(wheel), want)
	}
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == "llem/bin/llem" {
			if f.Mode()&0o111 == 0 || f.UncompressedSize64 < 1<<20 {
				t.Errorf("llem/bin/llem in the wheel: mode %v, %d bytes", f.Mode(), f.UncompressedSize64)
			}
			return
		}
	}
	t.Errorf("wheel %s has no llem/bin/llem", filepath.Base(wheel))
}

// withoutLlemEnv is the environment without the developer's LLEM_* settings.
func withoutLlemEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LLEM_") {
			env = append(env, kv)
		}
	}
	return env
}
