package pyworker

import (
	"errors"
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startLocal starts python with args as a worker process in its own process
// group, its stdin and stdout on pipes and its stderr into stderr.
func startLocal(python string, args, env []string, stderr *tail) (*proc, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("worker stdout pipe: %w", err)
	}
	cmd := exec.Command(python, args...)
	cmd.Env = env
	// Plain files, not StdoutPipe: Wait then never closes our read end
	// before the last line is read.
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = stderr
	// Grandchildren (vLLM's engine processes) may hold stderr open.
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
		return nil, fmt.Errorf("start worker %s: %w", python, err)
	}
	inR.Close()
	outW.Close()
	return &proc{
		pid:    cmd.Process.Pid,
		stdin:  inW,
		stdout: outR,
		wait: func() error {
			err := cmd.Wait()
			outR.Close()
			return err
		},
		kill:   func() { killProcessGroup(cmd) },
		stderr: stderr,
	}, nil
}

// resolvePython finds the interpreter a Runner names: empty means python3
// on PATH; a folder is a virtual environment (its bin/python3 or
// bin/python); a bare name is looked up on PATH.
func resolvePython(python string) (string, error) {
	if python == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", fmt.Errorf("python3 not found on PATH: %w", err)
		}
		return p, nil
	}
	if fi, err := os.Stat(python); err == nil && fi.IsDir() {
		for _, name := range []string{"bin/python3", "bin/python", "Scripts/python.exe"} {
			p := filepath.Join(python, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s is a folder but holds no bin/python3: is it a virtual environment?", python)
	}
	p, err := exec.LookPath(python)
	if err != nil {
		var execErr *exec.Error
		if errors.As(err, &execErr) || os.IsNotExist(err) {
			return "", fmt.Errorf("python interpreter %s not found: %w", python, err)
		}
		return "", err
	}
	return p, nil
}
