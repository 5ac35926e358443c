package native

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// llamaCppBin is the folder holding llama.cpp's llama-server and
// llama-quantize, from LLEM_TEST_LLAMACPP (.ci/run builds them with
// bench/native/build-llamacpp.sh); the test skips without it.
func llamaCppBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LLEM_TEST_LLAMACPP")
	if dir == "" {
		t.Skip("LLEM_TEST_LLAMACPP is not set: no llama.cpp build to compare with (bench/native/build-llamacpp.sh)")
	}
	for _, b := range []string{"llama-server", "llama-quantize"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			t.Fatalf("LLEM_TEST_LLAMACPP=%s: %v", dir, err)
		}
	}
	return dir
}

// startLlamaServer serves model on a free loopback port until the test
// ends, and returns its base URL.
func startLlamaServer(t *testing.T, bin, model string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var log bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "llama-server"), "-m", model, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"-t", "2", "-c", "512", "-np", "1", "--cache-type-k", "f32", "--cache-type-v", "f32", "-fa", "off")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("llama-server exited:\n%s", log.String())
		default:
		}
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	t.Fatalf("llama-server did not become healthy in 60 s:\n%s", log.String())
	return ""
}

// llamaGreedy asks llama-server for n greedy tokens after prompt ids.
func llamaGreedy(t *testing.T, url string, prompt []int, n int) []int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "n_predict": n, "temperature": 0, "top_k": 1,
		"ignore_eos": true, "return_tokens": true, "cache_prompt": false, "samplers": []string{"top_k"}})
	resp, err := http.Post(url+"/completion", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tokens []int `json:"tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("llama-server /completion: HTTP %d, %v", resp.StatusCode, err)
	}
	return out.Tokens
}

// TestMatchesLlamaCpp quantises a synthetic model with llama.cpp's own
// llama-quantize into each file type researchers download, runs it in
// llem, and checks the greedy token ids against llama-server running
// llama.cpp's F32 decoding of the same file (the same weights; on quantised
// weights llama.cpp would also quantise the activations, which llem's float
// path does not, so its ids would drift for reasons that are not errors).
// Files of quantised matrices llem multiplies in integers (Q8_0, Q6_K,
// Q5_K_M, Q4_K_M, Q3_K_M, Q2_K, Q5_0, Q4_1, Q5_1, Q4_0: intQ8ByDefault) are
// the exception: llem's integer kernels quantise activations exactly as
// llama.cpp does and the rest of the forward pass is bit-exact, so they
// must match llama.cpp running the file itself (and the float path,
// simd-float, the F32 decoding).
func TestMatchesLlamaCpp(t *testing.T) {
	bin := llamaCppBin(t)
	dir := t.TempDir()
	// Every dimension a multiple of 256, so the k-quants apply to all
	// matrices rather than falling back to other types.
	shape := Shape{Name: "k256", Dim: 256, Layers: 2, Heads: 4, KVHeads: 2, FF: 512, Vocab: 2048, Context: 512, RopeBase: 10000, NormEps: 1e-5}
	f32 := filepath.Join(dir, "k256-F32.gguf")
	var buf bytes.Buffer
	if err := synthesizeShapeGGUF(&buf, shape, 7, TypeF32); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f32, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Together the prompts exceed fusedMaxRows tokens, so the prefill takes
	// the decode-once path and the decode steps the fused kernels; and
	// prefillChunk tokens, so that one prompt is split between two prefill
	// passes (whose rows must still take the float order llama.cpp's
	// repacked Q4_K kernels give a prompt prefilled whole).
	prompts := []string{"Once upon a time there was a little fox", "The committee met on Thursday.", "How many kilowatt-hours?",
		"A much longer prompt, so that the prompts of this batch together run past the number of rows at which the engine stops using the fused kernels and decodes each block of weights once for every row of the prefill.",
		strings.Repeat("The quick brown fox jumps over the lazy dog, and the committee counts the kilowatt-hours again. ", 5)}
	const n = 24
	quantize := func(t *testing.T, args ...string) {
		t.Helper()
		if out, err := exec.Command(filepath.Join(bin, "llama-quantize"), args...).CombinedOutput(); err != nil {
			t.Fatalf("llama-quantize %v: %v\n%s", args, err, out)
		}
	}
	// Files quantised by llama.cpp, and files llem wrote itself in each
	// type it writes (which checks llem's quantisers against ggml's
	// decoding too).
	var cases []string
	for _, ft := range []string{"F32", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "Q5_1", "Q5_0", "Q4_1", "Q4_0"} {
		cases = append(cases, "llama-quantize/"+ft)
	}
	for _, wt := range WritableTypes[1:] {
		cases = append(cases, "llem/"+wt)
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			maker, ftype := filepath.Split(name)
			model, peer := f32, f32
			switch {
			case maker == "llem/":
				tt, err := ParseGGMLType(ftype)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := synthesizeShapeGGUF(&buf, shape, 7, tt); err != nil {
					t.Fatal(err)
				}
				model = filepath.Join(dir, "k256-llem-"+ftype+".gguf")
				if err := os.WriteFile(model, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				peer = filepath.Join(dir, "k256-llem-"+ftype+"-as-F32.gguf")
				quantize(t, "--allow-requantize", model, peer, "F32")
			case ftype != "F32":
				model = filepath.Join(dir, "k256-"+ftype+".gguf")
				peer = filepath.Join(dir, "k256-"+ftype+"-as-F32.gguf")
				quantize(t, f32, model, ftype)
				quantize(t, "--allow-requantize", model, peer, "F32")
			}
			// Files whose matrices are all of the types llem multiplies
			// in integers (Q8_0, Q2_K…Q6_K, and the legacy types
			// intQ8ByDefault names) quantise the activations as llama.cpp
			// does, so they are checked against llama.cpp running the file
			// itself, and the float path (simd-float) against the F32
			// decoding. Files mixing in other types are checked on the
			// float path only.
			if k, _ := selectKernels(KernelsAuto); k.gemvQ8 != nil && k.gemvQ8L != nil && k.gemvQK != nil {
				m, err := LoadGGUF(model)
				if err != nil {
					t.Fatal(err)
				}
				types := m.TensorTypes()
				m.Close()
				integer, other := false, false
				for name := range types {
					switch name {
					case "Q8_0", "Q5_0", "Q4_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K":
						integer = true
					case "Q4_0", "Q5_1":
						tt, _ := ParseGGMLType(name)
						integer = integer || intQ8ByDefault(tt)
						other = other || !intQ8ByDefault(tt)
					case "F32":
					default:
						other = true
					}
				}
				switch {
				case integer && !other:
					matchLlamaCpp(t, bin, model, model, KernelsAuto, prompts, n)
					matchLlamaCpp(t, bin, model, peer, KernelsSIMDFloat, prompts, n)
					return
				case integer:
					matchLlamaCpp(t, bin, model, peer, KernelsSIMDFloat, prompts, n)
					return
				}
			}
			matchLlamaCpp(t, bin, model, peer, KernelsAuto, prompts, n)
		})
	}
}

// matchLlamaCpp greedy-decodes n tokens of each prompt (in one batch) with
// llem's kernels on model and checks the ids against llama-server on peer.
func matchLlamaCpp(t *testing.T, bin, model, peer, kernels string, prompts []string, n int) {
	t.Helper()
	e := New()
	bs, threads := len(prompts), 2
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: model, Backend: config.BackendNative,
		Native: &config.NativeConfig{BatchSize: &bs, Threads: &threads, Kernels: &kernels}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var batch []engine.Prompt
	for i, p := range prompts {
		batch = append(batch, engine.Prompt{ID: fmt.Sprint(i), Text: p})
	}
	comps, err := e.Generate(context.Background(), batch, engine.GenParams{MaxNewTokens: n, MinNewTokens: n, IgnoreEOS: true, Strategy: "greedy"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range comps {
		total += c.PromptTokens
	}
	if total < fusedMaxRows {
		t.Fatalf("prompts hold %d tokens, fewer than fusedMaxRows (%d): the decode-once path goes untested", total, fusedMaxRows)
	}
	if total+len(prompts) <= prefillChunk {
		t.Fatalf("prompts hold %d tokens, no more than prefillChunk (%d): no prompt is split between prefill passes", total, prefillChunk)
	}
	url := startLlamaServer(t, bin, peer)
	tok := e.Tokenizer()
	for i, c := range comps {
		ids := tok.Encode(prompts[i])
		if b := tok.BOS(); b >= 0 {
			ids = append([]int{b}, ids...)
		}
		want := llamaGreedy(t, url, ids, n)
		if fmt.Sprint(c.TokenIDs) != fmt.Sprint(want) {
			t.Errorf("prompt %d (tensor types %v, kernels %v, llama.cpp on %s):\nllem      %v\nllama.cpp %v", i, info.Effective["tensor_types"], info.Effective["kernels"], filepath.Base(peer), c.TokenIDs, want)
		}
	}
}
