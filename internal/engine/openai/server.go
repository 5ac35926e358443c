package openai

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/llenergymeasure/llem/internal/logtail"
)

// server is an inference server llem started.
type server struct {
	cmd    *exec.Cmd
	output *logtail.Buffer
	exited chan struct{}
}

// startServer runs command in its own process group and waits until health
// answers 200, the process exits, or ctx ends.
func startServer(ctx context.Context, command []string, health string, client *http.Client) (*server, error) {
	cmd := exec.Command(command[0], command[1:]...)
	out := logtail.New(8<<10, nil)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("openai: start server %q: %w", strings.Join(command, " "), err)
	}
	s := &server{cmd: cmd, output: out, exited: make(chan struct{})}
	go func() {
		// The exit status is reported through s.exited and the output tail.
		_ = cmd.Wait()
		close(s.exited)
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("openai: health URL %q: %w", health, err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("openai: server %q exited (%s) before %s answered; its output ends:\n%s",
				strings.Join(command, " "), cmd.ProcessState, health, out.String())
		case <-ctx.Done():
			s.stop()
			return nil, fmt.Errorf("openai: server %q: %s did not answer 200: %w; its output ends:\n%s",
				strings.Join(command, " "), health, ctx.Err(), out.String())
		case <-tick.C:
		}
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL after a grace
// period.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	signalGroup(s.cmd, false)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	signalGroup(s.cmd, true)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("openai: server (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
}
