package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// Mount bind-mounts a host folder or file into the container.
type Mount struct {
	Source   string // absolute host path
	Target   string // absolute path in the container
	ReadOnly bool
}

// Spec describes the one process to run.
type Spec struct {
	Image      string
	Entrypoint []string // overrides the image's entrypoint when non-nil
	Cmd        []string
	// Env holds KEY=VALUE pairs. Values are never logged or shown.
	Env        []string
	Mounts     []Mount
	WorkingDir string
	// GPUs is "" for none, "all", or a comma-separated list of device
	// indices or UUIDs ("0,1").
	GPUs string
	// Stderr receives the process's stderr; nil discards it.
	Stderr io.Writer
	// Name, when set, names the container (it must be unique on the host).
	Name string
}

// String describes the spec for logs and errors, naming environment
// variables without their values.
func (s Spec) String() string {
	names := make([]string, len(s.Env))
	for i, kv := range s.Env {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	mounts := make([]string, len(s.Mounts))
	for i, m := range s.Mounts {
		mounts[i] = m.Source + ":" + m.Target
		if m.ReadOnly {
			mounts[i] += ":ro"
		}
	}
	return fmt.Sprintf("image=%s cmd=%q env=[%s] mounts=[%s] gpus=%q",
		s.Image, append(append([]string{}, s.Entrypoint...), s.Cmd...),
		strings.Join(names, " "), strings.Join(mounts, " "), s.GPUs)
}

// NewClient connects to the Engine API named by the environment
// (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY;
// default unix:///var/run/docker.sock), negotiating the API version.
func NewClient() (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// Host is the Engine API address NewClient uses, for messages.
func Host() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// Ping checks that an Engine API server answers. Its error says how to get
// one.
func Ping(ctx context.Context) error {
	cli, err := NewClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no container runtime at %s: %w (install Docker with the NVIDIA container toolkit, "+
			"or run `podman system service` and set DOCKER_HOST to its socket)", Host(), err)
	}
	return nil
}

// ImagePresent reports whether the image is available locally.
func ImagePresent(ctx context.Context, image string) (bool, error) {
	cli, err := NewClient()
	if err != nil {
		return false, err
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspect image %s: %w", image, err)
	}
	return true, nil
}

// Container is a started container with its stdin and stdout attached.
type Container struct {
	ID string
	// Stdin writes to the process's stdin; Close sends end of input.
	Stdin io.WriteCloser
	// Stdout reads the process's stdout (demultiplexed from stderr).
	Stdout io.Reader

	cli      *client.Client
	attach   client.ContainerAttachResult
	copyDone chan struct{}
	once     sync.Once
}

// Start creates the container, attaches to its streams and starts it. The
// caller must Close it.
func Start(ctx context.Context, spec Spec) (*Container, error) {
	if spec.Image == "" {
		return nil, errors.New("container: no image given")
	}
	cli, err := NewClient()
	if err != nil {
		return nil, err
	}
	hostCfg, err := hostConfig(spec)
	if err != nil {
		cli.Close()
		return nil, err
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name,
		Config: &container.Config{
			Image:        spec.Image,
			Entrypoint:   spec.Entrypoint,
			Cmd:          spec.Cmd,
			Env:          spec.Env,
			WorkingDir:   spec.WorkingDir,
			AttachStdin:  true,
			AttachStdout: true,
			AttachStderr: true,
			OpenStdin:    true,
			StdinOnce:    true,
		},
		HostConfig: hostCfg,
	})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("create container from %s: %w", spec.Image, err)
	}
	c := &Container{ID: created.ID, cli: cli, copyDone: make(chan struct{})}
	c.attach, err = cli.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{
		Stream: true, Stdin: true, Stdout: true, Stderr: true,
	})
	if err != nil {
		c.remove()
		cli.Close()
		return nil, fmt.Errorf("attach to container %.12s: %w", created.ID, err)
	}
	pr, pw := io.Pipe()
	stderr := spec.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	go func() {
		defer close(c.copyDone)
		_, err := stdcopy.StdCopy(pw, stderr, c.attach.Reader)
		pw.CloseWithError(err)
	}()
	c.Stdout = pr
	c.Stdin = stdinWriter{c.attach.Conn, &c.attach.HijackedResponse}
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("start container %.12s (%s): %w", created.ID, spec, err)
	}
	return c, nil
}

func hostConfig(spec Spec) (*container.HostConfig, error) {
	hc := &container.HostConfig{}
	for _, m := range spec.Mounts {
		if !strings.HasPrefix(m.Source, "/") || !strings.HasPrefix(m.Target, "/") {
			return nil, fmt.Errorf("container mount %s:%s: both paths must be absolute", m.Source, m.Target)
		}
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if req, ok := gpuRequest(spec.GPUs); ok {
		hc.DeviceRequests = []container.DeviceRequest{req}
	}
	return hc, nil
}

// gpuRequest turns Spec.GPUs into the device request `docker run --gpus`
// sends.
func gpuRequest(gpus string) (container.DeviceRequest, bool) {
	gpus = strings.TrimSpace(gpus)
	if gpus == "" {
		return container.DeviceRequest{}, false
	}
	req := container.DeviceRequest{Driver: "nvidia", Capabilities: [][]string{{"gpu"}}}
	if gpus == "all" {
		req.Count = -1
		return req, true
	}
	for _, id := range strings.Split(gpus, ",") {
		if id = strings.TrimSpace(id); id != "" {
			req.DeviceIDs = append(req.DeviceIDs, id)
		}
	}
	return req, true
}

type stdinWriter struct {
	net.Conn
	h *client.HijackedResponse
}

func (w stdinWriter) Close() error { return w.h.CloseWrite() }

// Wait blocks until the container stops and returns its exit code.
func (c *Container) Wait(ctx context.Context) (int64, error) {
	res := c.cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-res.Result:
		if r.Error != nil && r.Error.Message != "" {
			return r.StatusCode, fmt.Errorf("container %.12s: %s", c.ID, r.Error.Message)
		}
		return r.StatusCode, nil
	case err := <-res.Error:
		return -1, fmt.Errorf("wait for container %.12s: %w", c.ID, err)
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Kill stops the container's process at once.
func (c *Container) Kill(ctx context.Context) error {
	if _, err := c.cli.ContainerKill(ctx, c.ID, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill container %.12s: %w", c.ID, err)
	}
	return nil
}

// Close removes the container (killing it if it still runs) and releases
// the connection. It is safe to call more than once.
func (c *Container) Close() error {
	var err error
	c.once.Do(func() {
		err = c.remove()
		if c.attach.Conn != nil {
			c.attach.Close()
			select {
			case <-c.copyDone:
			case <-time.After(5 * time.Second):
			}
		}
		c.cli.Close()
	})
	return err
}

func (c *Container) remove() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %.12s: %w", c.ID, err)
	}
	return nil
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
