// Command llem measures the energy, time and tokens of LLM inference across
// deployment choices, and runs parameter sweeps. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"

	"github.com/llenergymeasure/llem/internal/cli"
)

func main() {
	// Ctrl-C cancels the context: the current run stops cleanly, the
	// manifest is written, and llem exits 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.IO{
		In:         os.Stdin,
		Out:        os.Stdout,
		Err:        os.Stderr,
		Getenv:     os.Getenv,
		IsTerminal: isatty.IsTerminal(os.Stderr.Fd()),
	})
	stop()
	os.Exit(code)
}
