package container

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// testImage is a busybox image; scripts/podman-service.sh imports it.
const testImage = "localhost/bb:1"

// engineHost points the client at the Engine API server named by
// LLEM_TEST_DOCKER_HOST, or skips.
func engineHost(t *testing.T) {
	t.Helper()
	h := os.Getenv("LLEM_TEST_DOCKER_HOST")
	if h == "" {
		t.Skip("LLEM_TEST_DOCKER_HOST not set: start an Engine API server with scripts/podman-service.sh " +
			"and set LLEM_TEST_DOCKER_HOST=unix://<the socket it prints> to run the container tests")
	}
	t.Setenv("DOCKER_HOST", h)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunAttached(t *testing.T) {
	engineHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := ImagePresent(ctx, testImage); err != nil || !ok {
		t.Fatalf("image %s present = %v, %v (scripts/podman-service.sh imports it)", testImage, ok, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greeting"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	// A line-protocol echo: answer each stdin line on stdout, log to stderr.
	script := `echo "started $LLEM_SECRET_NAME" >&2; cat /mnt/greeting; echo; ` +
		`while read -r line; do echo "reply:$line"; echo "log:$line" >&2; done; exit 7`
	c, err := Start(ctx, Spec{
		Image:  testImage,
		Cmd:    []string{"/bin/sh", "-c", script},
		Env:    []string{"LLEM_SECRET_NAME=token-value"},
		Mounts: []Mount{{Source: dir, Target: "/mnt", ReadOnly: true}},
		Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := bufio.NewReader(c.Stdout)
	readLine := func() string {
		l, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("read stdout: %v (stderr %q)", err, stderr.String())
		}
		return strings.TrimSuffix(l, "\n")
	}
	if got := readLine(); got != "from the host" {
		t.Errorf("mounted file read as %q", got)
	}
	for _, msg := range []string{`{"id":1,"op":"hello"}`, `{"id":2,"op":"load"}`} {
		if _, err := c.Stdin.Write([]byte(msg + "\n")); err != nil {
			t.Fatal(err)
		}
		if got := readLine(); got != "reply:"+msg {
			t.Errorf("reply %q, want %q", got, "reply:"+msg)
		}
	}
	if err := c.Stdin.Close(); err != nil {
		t.Fatal(err)
	}
	code, err := c.Wait(ctx)
	if err != nil || code != 7 {
		t.Errorf("Wait = %d, %v; want exit code 7", code, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"started token-value", `log:{"id":1,"op":"hello"}`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
	cli, err := NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); !isNotFound(err) {
		t.Errorf("container %s still exists after Close: %v", c.ID, err)
	}
}

func TestKill(t *testing.T) {
	engineHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Spec{Image: testImage, Cmd: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(ctx); err != nil || code == 0 {
		t.Errorf("Wait after kill = %d, %v; want a non-zero code", code, err)
	}
}

func TestStartWithoutRuntime(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	ctx := context.Background()
	if err := Ping(ctx); err == nil || !strings.Contains(err.Error(), "no container runtime at unix:///nonexistent/docker.sock") {
		t.Errorf("Ping = %v", err)
	}
	if _, err := Start(ctx, Spec{Image: "x"}); err == nil {
		t.Error("Start without a runtime succeeded")
	}
}

func TestGPURequest(t *testing.T) {
	tests := []struct {
		gpus string
		want *container.DeviceRequest
	}{
		{"", nil},
		{"all", &container.DeviceRequest{Driver: "nvidia", Count: -1, Capabilities: [][]string{{"gpu"}}}},
		{"0, 2", &container.DeviceRequest{Driver: "nvidia", DeviceIDs: []string{"0", "2"}, Capabilities: [][]string{{"gpu"}}}},
	}
	for _, tt := range tests {
		got, ok := gpuRequest(tt.gpus)
		if ok != (tt.want != nil) || ok && !reflect.DeepEqual(got, *tt.want) {
			t.Errorf("gpuRequest(%q) = %+v, %v; want %+v", tt.gpus, got, ok, tt.want)
		}
	}
}

func TestSpecStringHidesEnvValues(t *testing.T) {
	s := Spec{Image: "img", Cmd: []string{"python3"}, Env: []string{"HF_TOKEN=hf_secret", "A=b"}, Mounts: []Mount{{Source: "/h", Target: "/c", ReadOnly: true}}, GPUs: "all"}
	got := s.String()
	if strings.Contains(got, "hf_secret") || !strings.Contains(got, "env=[HF_TOKEN A]") || !strings.Contains(got, "/h:/c:ro") {
		t.Errorf("Spec.String() = %s", got)
	}
}
