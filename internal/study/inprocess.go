package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/llenergymeasure/llem/results"
)

// inProcessLauncher measures a run in this process (Options.InProcess):
// a single experiment gets the study's layout and manifest without a
// child process. The timeout reaches the run through its context.
type inProcessLauncher struct {
	run func(ctx context.Context, req ChildRequest, log io.Writer) (*results.ExperimentResult, error)
}

func (l inProcessLauncher) launch(ctx context.Context, j job) outcome {
	fail := func(typ string, err error) outcome {
		return outcome{state: results.StateFailed, errType: typ, err: err.Error()}
	}
	logf, err := os.OpenFile(j.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fail(ErrTypeSpawn, fmt.Errorf("open run log: %w", err))
	}
	defer logf.Close()
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if j.timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, j.timeout)
	}
	defer cancel()
	req := j.req
	req.report = j.onProgress
	res, err := callRun(runCtx, func(ctx context.Context, req ChildRequest) (*results.ExperimentResult, error) {
		return l.run(ctx, req, logf)
	}, req)
	switch {
	case err != nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		fmt.Fprintf(logf, "llem: run exceeded its timeout of %s and was stopped\n", j.timeout)
		return fail(ErrTypeTimeout, fmt.Errorf("exceeded the experiment timeout of %s: %w", j.timeout, err))
	case err != nil && ctx.Err() != nil:
		return outcome{state: results.StateInterrupted, errType: ErrTypeInterrupted, err: err.Error()}
	case err != nil:
		typ := "experiment_error"
		var te TypedError
		if errors.As(err, &te) {
			typ = te.ErrorType()
		}
		fmt.Fprintf(logf, "llem: %s: %v\n", typ, err)
		return fail(typ, err)
	case res == nil:
		return fail(ErrTypeInvalidResult, errors.New("the run returned no result and no error"))
	}
	return outcome{state: results.StateCompleted, result: res}
}
