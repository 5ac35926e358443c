package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// fakeServer streams like vLLM's OpenAI server: one chunk per token, a usage
// chunk when asked, then [DONE].
type fakeServer struct {
	owner      string
	usage      bool          // honour stream_options.include_usage
	failAfter  int           // send an error event after this many chunks (0: never)
	status     int           // answer completions with this status (0: 200)
	tokenDelay time.Duration // between chunks
	// naturalLen, when > 0, is where the "model" ends its text (finish
	// reason stop) unless ignore_eos or min_tokens asks for more.
	naturalLen int
	inFlight   atomic.Int32
	maxFlight  atomic.Int32
	mu         sync.Mutex
	bodies     []map[string]any
	auth       []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/models" {
		fmt.Fprintf(w, `{"object":"list","data":[{"id":"m","object":"model","owned_by":%q}]}`, f.owner)
		return
	}
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxFlight.Load()
		if n <= m || f.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	if f.status != 0 {
		http.Error(w, `{"error":{"message":"engine dead"}}`, f.status)
		return
	}
	n64 := int(body["max_tokens"].(float64))
	minTokens, _ := body["min_tokens"].(float64)
	if int(minTokens) > n64 { // vLLM's SamplingParams refuses this
		http.Error(w, fmt.Sprintf(`{"error":{"message":"min_tokens must be less than or equal to max_tokens=%d, got %d."}}`, n64, int(minTokens)), http.StatusBadRequest)
		return
	}
	if f.naturalLen > 0 && body["ignore_eos"] != true {
		n64 = min(n64, max(f.naturalLen, int(minTokens)))
	}
	chat := strings.HasSuffix(r.URL.Path, "/chat/completions")
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	if chat { // a role-only first chunk, as vLLM and llama.cpp send
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n")
	}
	fmt.Fprint(w, ": keep-alive comment\n\n")
	for i := 0; i < n64; i++ {
		if f.failAfter > 0 && i == f.failAfter {
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"CUDA out of memory\",\"type\":\"InternalServerError\"}}\n\n")
			fl.Flush()
			return
		}
		select {
		case <-time.After(f.tokenDelay):
		case <-r.Context().Done(): // the client went away
			return
		}
		finish := "null"
		if i == n64-1 {
			finish = `"length"`
			if n64 < int(body["max_tokens"].(float64)) {
				finish = `"stop"`
			}
		}
		if chat {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},\"finish_reason\":%s}]}\n\n", i, finish)
		} else {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"text\":\" t%d\",\"finish_reason\":%s}]}\r\n\r\n", i, finish)
		}
		fl.Flush()
	}
	if so, _ := body["stream_options"].(map[string]any); f.usage && so["include_usage"] == true {
		fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", n64, n64+7)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func load(t *testing.T, f *fakeServer, o config.OpenAIConfig) *Engine {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	o.BaseURL = srv.URL
	e := New().(*Engine)
	t.Cleanup(func() { e.Close() })
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "m", Backend: config.BackendOpenAI, OpenAI: &o, RandomSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Weights != "remote" || info.Versions["server"] != f.owner {
		t.Errorf("load info = %+v", info)
	}
	return e
}

func prompts(n int) []engine.Prompt {
	out := make([]engine.Prompt, n)
	for i := range out {
		out[i] = engine.Prompt{ID: fmt.Sprint("p", i), Text: "hello there"}
	}
	return out
}

func TestStreamingEndpoints(t *testing.T) {
	for _, endpoint := range []string{"completions", "chat"} {
		t.Run(endpoint, func(t *testing.T) {
			f := &fakeServer{owner: "vllm", usage: true, tokenDelay: 2 * time.Millisecond}
			ep := endpoint
			e := load(t, f, config.OpenAIConfig{Endpoint: &ep})
			out, err := e.Generate(context.Background(), prompts(3), engine.GenParams{MaxNewTokens: 5, IgnoreEOS: true, Strategy: "greedy"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range out {
				if c.OutputTokens != 5 || c.PromptTokens != 7 || len(c.TokenTimes) != 5 || c.FinishReason != "length" || c.Text != " t0 t1 t2 t3 t4" {
					t.Errorf("completion = %+v", c)
				}
				if c.TokenTimes[0] < 2*time.Millisecond || c.End < c.TokenTimes[4] {
					t.Errorf("TTFT %v before the first text chunk could exist, or end %v before the last token", c.TokenTimes[0], c.End)
				}
			}
			b := f.bodies[len(f.bodies)-1]
			if b["ignore_eos"] != true || b["max_tokens"] != 5.0 || b["temperature"] != 0.0 || b["stream"] != true {
				t.Errorf("request body = %v", b)
			}
			if _, ok := b["messages"]; ok != (endpoint == "chat") {
				t.Errorf("chat messages sent = %v for %s", ok, endpoint)
			}
		})
	}
}

func TestNoUsageFallsBackToChunks(t *testing.T) {
	f := &fakeServer{owner: "ollama"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	e := New()
	defer e.Close()
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "m", OpenAI: &config.OpenAIConfig{BaseURL: srv.URL + "/v1/"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.ExactOutputLength || len(info.Warnings) != 2 || !strings.Contains(strings.Join(info.Warnings, "\n"), "counted as stream chunks") {
		t.Errorf("warnings = %q exact = %v", info.Warnings, info.ExactOutputLength)
	}
	out, err := e.Generate(context.Background(), prompts(1), engine.GenParams{MaxNewTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].OutputTokens != 4 || out[0].PromptTokens != 0 {
		t.Errorf("completion = %+v", out[0])
	}
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name string
		f    *fakeServer
		want string
	}{
		{"error mid-stream", &fakeServer{owner: "vllm", usage: true, failAfter: 3}, "mid-stream after 3 chunks: CUDA out of memory"},
		{"500", &fakeServer{owner: "vllm", status: 500}, "server answered 500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.f)
			defer srv.Close()
			e := New().(*Engine)
			e.baseURL, e.model, e.timeout, e.concurrency = srv.URL+"/v1", "m", time.Minute, 2
			_, err := e.Generate(context.Background(), prompts(4), engine.GenParams{MaxNewTokens: 6})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `request "p`) {
				t.Errorf("err = %v, want it to contain %q and name the request", err, tt.want)
			}
			// Load fails the same way, through its probe request.
			_, err = New().Load(context.Background(), config.ExperimentConfig{Model: "m", OpenAI: &config.OpenAIConfig{BaseURL: srv.URL}})
			if tt.f.status != 0 && (err == nil || !strings.Contains(err.Error(), "probe")) {
				t.Errorf("Load against a failing server: %v", err)
			}
		})
	}
}

func TestClosedLoopConcurrency(t *testing.T) {
	f := &fakeServer{owner: "vllm", usage: true, tokenDelay: 5 * time.Millisecond}
	c := 3
	e := load(t, f, config.OpenAIConfig{Concurrency: &c})
	if _, err := e.Generate(context.Background(), prompts(12), engine.GenParams{MaxNewTokens: 4}); err != nil {
		t.Fatal(err)
	}
	if got := f.maxFlight.Load(); got != 3 {
		t.Errorf("max requests in flight = %d, want 3", got)
	}
}

func TestOpenLoopPoisson(t *testing.T) {
	f := &fakeServer{owner: "vllm", usage: true}
	rate := 200.0
	e := load(t, f, config.OpenAIConfig{RequestRate: &rate})
	begin := time.Now()
	out, err := e.Generate(context.Background(), prompts(20), engine.GenParams{MaxNewTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	sched := NewPoissonPacer(rate, 20, 1)
	for i, c := range out {
		if due := begin.Add(sched.arrivals[i]); c.Start.Before(due) {
			t.Errorf("request %d sent at %v, before its arrival time %v", i, c.Start.Sub(begin), sched.arrivals[i])
		}
	}
}

func TestAPIKeyFromEnv(t *testing.T) {
	t.Setenv("LLEM_TEST_KEY", "sk-secret")
	f := &fakeServer{owner: "vllm", usage: true}
	env := "LLEM_TEST_KEY"
	srv := httptest.NewServer(f)
	defer srv.Close()
	e := New()
	defer e.Close()
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "m", OpenAI: &config.OpenAIConfig{BaseURL: srv.URL, APIKeyEnv: &env}})
	if err != nil {
		t.Fatal(err)
	}
	if f.auth[0] != "Bearer sk-secret" {
		t.Errorf("Authorization = %q", f.auth[0])
	}
	b, _ := json.Marshal(info)
	if strings.Contains(string(b), "sk-secret") {
		t.Errorf("the API key leaked into LoadInfo: %s", b)
	}
	t.Setenv("LLEM_TEST_KEY", "")
	if _, err := New().Load(context.Background(), config.ExperimentConfig{Model: "m", OpenAI: &config.OpenAIConfig{BaseURL: srv.URL, APIKeyEnv: &env}}); err == nil || !strings.Contains(err.Error(), "LLEM_TEST_KEY") {
		t.Errorf("unset key env: %v", err)
	}
}

func TestServerCommand(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: it serves as the started server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	health := fmt.Sprintf("http://127.0.0.1:%d/", port)
	s, err := startServer(context.Background(), []string{"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, fmt.Sprint(port)}, health, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	default:
		t.Fatal("server still running after stop")
	}
	if _, err := http.Get(health); err == nil {
		t.Error("server still answers after stop")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = startServer(ctx, []string{"python3", "-c", "import sys; print('bind failed: address in use'); sys.exit(4)"}, health, http.DefaultClient)
	if err == nil || !strings.Contains(err.Error(), "bind failed") || !strings.Contains(err.Error(), "exit status 4") {
		t.Errorf("server that exits early: %v", err)
	}
}

func TestPacers(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       Pacer
		elapsed time.Duration
		sent    int
		want    time.Duration
	}{
		{"constant first at once", ConstantPacer{Rate: 2}, 0, 0, 0},
		{"constant second due at 500ms", ConstantPacer{Rate: 2}, 0, 1, 500 * ms},
		{"constant second, 100ms in", ConstantPacer{Rate: 2}, 100 * ms, 1, 400 * ms},
		{"constant behind schedule", ConstantPacer{Rate: 2}, 2 * time.Second, 2, 0},
		{"poisson first at once", &PoissonPacer{arrivals: []time.Duration{0, 300 * ms, 700 * ms}}, 0, 0, 0},
		{"poisson third", &PoissonPacer{arrivals: []time.Duration{0, 300 * ms, 700 * ms}}, 350 * ms, 2, 350 * ms},
		{"poisson past schedule", &PoissonPacer{arrivals: []time.Duration{0, 300 * ms}}, 0, 5, 0},
	}
	for _, tt := range tests {
		if got := tt.p.Pace(tt.elapsed, tt.sent); got != tt.want {
			t.Errorf("%s: Pace(%v, %d) = %v, want %v", tt.name, tt.elapsed, tt.sent, got, tt.want)
		}
	}
}

func TestPoissonSchedule(t *testing.T) {
	const rate, n = 4.0, 20000
	a, b := NewPoissonPacer(rate, n, 7), NewPoissonPacer(rate, n, 7)
	if a.arrivals[n-1] != b.arrivals[n-1] {
		t.Fatal("same seed, different schedules")
	}
	if c := NewPoissonPacer(rate, n, 8); c.arrivals[n-1] == a.arrivals[n-1] {
		t.Fatal("different seeds, same schedule")
	}
	mean := a.arrivals[n-1].Seconds() / (n - 1)
	if mean < 0.24 || mean > 0.26 {
		t.Errorf("mean gap = %.4f s, want about 1/rate = 0.25 s", mean)
	}
	var short int // Poisson: P(gap < mean) = 1 - 1/e ≈ 0.632
	for i := 1; i < n; i++ {
		if a.arrivals[i]-a.arrivals[i-1] < 250*time.Millisecond {
			short++
		}
	}
	if f := float64(short) / (n - 1); f < 0.62 || f > 0.645 {
		t.Errorf("fraction of gaps below the mean = %.3f, want about 0.632 (exponential gaps)", f)
	}
}

func TestSSEReader(t *testing.T) {
	in := ": comment\n\nevent: error\ndata: {\"a\":\ndata: 1}\n\ndata: x\r\n\r\ndata: last"
	s := newSSEReader(strings.NewReader(in))
	want := []struct{ event, data string }{{"error", "{\"a\":\n1}"}, {"", "x"}, {"", "last"}}
	for _, w := range want {
		ev, data, err := s.next()
		if err != nil || ev != w.event || string(data) != w.data {
			t.Fatalf("next = %q %q %v, want %q %q", ev, data, err, w.event, w.data)
		}
	}
	if _, _, err := s.next(); err == nil {
		t.Error("no EOF at the end")
	}
}

// FuzzSSEReader checks the reader ends on any input and never returns more
// data than it was given.
func FuzzSSEReader(f *testing.F) {
	f.Add("data: {\"choices\":[]}\n\ndata: [DONE]\n\n")
	f.Add(": c\r\nevent: error\r\ndata: x\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		s := newSSEReader(strings.NewReader(in))
		total := 0
		for i := 0; ; i++ {
			_, data, err := s.next()
			if err != nil {
				break
			}
			total += len(data)
			if i > len(in) || total > len(in) {
				t.Fatalf("reader produced more than its input: %d events, %d bytes from %d", i, total, len(in))
			}
		}
	})
}
