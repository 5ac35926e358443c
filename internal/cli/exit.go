package cli

import (
	"context"
	"errors"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
)

// exitCode is the one mapping from errors to exit codes (SPEC CLI-5):
// 2 bad input, 130 interrupted, 1 anything else (runs failed).
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	var ce config.Errors
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, llem.ErrInterrupted), errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, llem.ErrDatasetUnavailable),
		errors.Is(err, llem.ErrLocked), errors.Is(err, llem.ErrFewerCycles):
		return ExitBadInput
	default:
		return ExitRunsFailed
	}
}

// hint adds one line of advice for errors a user can act on.
func hint(err error) string {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return "see `llem help` for the commands and flags"
	case errors.Is(err, llem.ErrInterrupted):
		return "continue it with `llem run FILE --resume DIR`"
	}
	return ""
}
