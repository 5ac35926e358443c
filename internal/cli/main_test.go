package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/term"

	"github.com/llenergymeasure/llem/config"
)

// TestMain lets the study runner re-execute this test binary as llem's
// child (`<test binary> __run-child`), so CLI tests run studies with real
// child processes and the real harness.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childCommand && os.Getenv(execLogEnv) != "" {
		logExecution(os.Getenv(execLogEnv))
	}
	if (len(os.Args) > 1 && os.Args[1] == childCommand) || os.Getenv(asLlemEnv) == "1" {
		// As cmd/llem does: live progress when stderr is a terminal.
		tty := term.IsTerminal(int(os.Stderr.Fd()))
		os.Exit(Main(context.Background(), os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, IsTerminal: tty}))
	}
	os.Exit(runTests(m))
}

// runTests runs the tests in an environment cleared of the developer's
// own llem settings: no LLEM_* variable (LLEM_TEST_* are the tests' own)
// and an empty user-config folder, for in-process commands and the child
// processes they start alike.
func runTests(m *testing.M) int {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LLEM_") && !strings.HasPrefix(k, "LLEM_TEST_") {
			os.Unsetenv(k)
		}
	}
	cfgHome, err := os.MkdirTemp("", "llem-cli-test-config")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(cfgHome)
	os.Setenv("XDG_CONFIG_HOME", cfgHome)
	return m.Run()
}

// TestNoDeveloperEnvironment: what runTests promises.
func TestNoDeveloperEnvironment(t *testing.T) {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LLEM_") && !strings.HasPrefix(kv, "LLEM_TEST_") {
			t.Errorf("the tests see %s from the developer's shell", kv)
		}
	}
	user, err := config.LoadUserConfig(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if user.Path != "" {
		t.Errorf("the tests read the user config %s", user.Path)
	}
}

// asLlemEnv makes the test binary behave as the llem command, so a test can
// run llem as a separate process (and kill it).
const asLlemEnv = "LLEM_TEST_AS_LLEM"

// runCLI runs llem in-process with args and returns exit code, stdout, stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "XDG_CONFIG_HOME" || k == "LLEM_CONFIG" || k == "HOME" {
			return "" // never read the developer's own user config
		}
		return os.Getenv(k)
	}
	code := Main(context.Background(), args, IO{In: bytes.NewReader(nil), Out: &out, Err: &errb, Getenv: getenv})
	return code, out.String(), errb.String()
}

// execLogEnv names a file where each child appends "hash cycle" for the run
// it measures, so tests count measurements across processes.
const execLogEnv = "LLEM_TEST_EXEC_LOG"

// logExecution records the run of the request on stdin, then puts the
// request back on a fresh stdin for the child.
func logExecution(path string) {
	req, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	var r struct {
		Hash  string `json:"measurement_config_hash"`
		Cycle int    `json:"cycle"`
	}
	_ = json.Unmarshal(req, &r)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "%s %d\n", r.Hash, r.Cycle)
	f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	go func() {
		_, _ = pw.Write(req)
		pw.Close()
	}()
	os.Stdin = pr
}
