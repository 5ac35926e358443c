package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
)

// TestMain lets the study runner re-execute this test binary as llem's
// child (`<test binary> __run-child`), so CLI tests run studies with real
// child processes and the real harness.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childCommand && os.Getenv(execLogEnv) != "" {
		logExecution(os.Getenv(execLogEnv))
	}
	if (len(os.Args) > 1 && os.Args[1] == childCommand) || os.Getenv(asLlemEnv) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv}))
	}
	os.Exit(m.Run())
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
