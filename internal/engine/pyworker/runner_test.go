package pyworker

import "testing"

func TestWorkerPath(t *testing.T) {
	l := launch{
		scriptDir: "/home/u/.cache/llem/workers/abc",
		script:    "/home/u/.cache/llem/workers/abc/workers/pytorch_worker.py",
		engineDir: "/home/u/.cache/llem/trt-engines",
		mounts:    map[string]string{"/data/model": ctrModel},
	}
	tests := []struct {
		runner Runner
		host   string
		want   string
	}{
		{Runner{}, "/data/model", "/data/model"},
		{Runner{Image: "img"}, "/data/model", "/llem/model"},
		{Runner{Image: "img"}, "/data/model/sub/config.json", "/llem/model/sub/config.json"},
		{Runner{Image: "img"}, "/home/u/.cache/llem/workers/abc/models/llama-3.2-1b", "/llem/workers/models/llama-3.2-1b"},
		{Runner{Image: "img"}, "/home/u/.cache/llem/trt-engines/k1", "/llem/trt-engines/k1"},
		{Runner{Image: "img"}, "/data/modelx", "/data/modelx"},
		{Runner{Image: "img"}, "org/hub-model", "org/hub-model"},
		{Runner{Image: "img"}, "", ""},
	}
	for _, tt := range tests {
		if got := tt.runner.workerPath(l, tt.host); got != tt.want {
			t.Errorf("workerPath(%q) with image %q = %q, want %q", tt.host, tt.runner.Image, got, tt.want)
		}
	}
}

func TestResolvePython(t *testing.T) {
	venv := t.TempDir()
	if _, err := resolvePython(venv); err == nil {
		t.Error("a folder without bin/python3 accepted as a virtual environment")
	}
	if _, err := resolvePython("/nonexistent/python3"); err == nil {
		t.Error("a missing interpreter accepted")
	}
}
