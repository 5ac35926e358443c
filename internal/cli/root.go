// Package cli is llem's command line: commands, flags, terminal output and
// the one mapping from errors to exit codes. Commands take their writers as
// arguments so they are tested in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llenergymeasure/llem/internal/buildinfo"
)

// Exit codes (SPEC CLI-5).
const (
	ExitOK          = 0
	ExitRunsFailed  = 1
	ExitBadInput    = 2
	ExitInterrupted = 130
)

// IO carries the process's streams and environment into commands.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
	// IsTerminal reports whether Err is a terminal (live progress lines).
	IsTerminal bool
}

// Main runs llem with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdio IO) int {
	if stdio.Getenv == nil {
		stdio.Getenv = os.Getenv
	}
	root := newRoot(&stdio)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	// cobra's own "unknown command" error is untyped.
	if strings.HasPrefix(err.Error(), "unknown command ") {
		err = usageError{err}
	}
	code := exitCode(err)
	if !errors.Is(err, errSilent) {
		fmt.Fprintln(stdio.Err, "llem: "+err.Error())
		if h := hint(err); h != "" {
			fmt.Fprintln(stdio.Err, "hint: "+h)
		}
	}
	return code
}

func newRoot(stdio *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "llem",
		Short: "Measure the energy, time and tokens of LLM inference across deployment choices",
		Long: `llem measures what LLM inference costs — energy, time, tokens — across the
deployment choices a researcher can make (engine, precision, batch size,
quantisation, decoding, parallelism), and runs whole parameter sweeps with a
methodology sound enough to publish.

  llem run                 quick demo on the built-in engine, offline
  llem run study.yaml      run an experiment or a study
  llem run study.yaml --dry-run   show what would run
  llem config              what this machine offers, and the config in effect
  llem report DIR          tables and plots of a finished study`,
		Version:       buildinfo.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("llem {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newRunCmd(stdio),
		newConfigCmd(stdio),
		newReportCmd(stdio),
		newExportCmd(stdio),
		newModelCmd(stdio),
		newChildCmd(stdio),
		newGatherCmd(stdio),
		newArrayTaskCmd(stdio),
	)
	usageArgs(root)
	return root
}

// usageArgs makes every command's argument-count errors usage errors
// (exit 2), like flag errors.
func usageArgs(c *cobra.Command) {
	if v := c.Args; v != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := v(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// errSilent is returned when the command already printed what went wrong.
var errSilent = errors.New("silent")

// exitError carries an exit code chosen by a command (e.g. 1: some runs failed).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
