package native

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

func TestShapes(t *testing.T) {
	for _, name := range Shapes() {
		s, ok := LookupShape(name)
		if !ok {
			t.Fatalf("LookupShape(%q) failed", name)
		}
		if err := s.validate(); err != nil {
			t.Fatal(err)
		}
	}
	// stories15M untied: 2·32000·288 + 6·(4·288² + 3·288·768 + 2·288) + 288.
	s, _ := LookupShape("stories15M")
	if got := s.Parameters(); got != 24_407_712 {
		t.Errorf("stories15M parameters = %d, want 24407712", got)
	}
	// llama-3.2-1b (tied embeddings) has 1.236 B parameters.
	s, _ = LookupShape("llama-3.2-1b")
	if got := s.Parameters(); got != 1_235_814_400 {
		t.Errorf("llama-3.2-1b parameters = %d, want 1235814400", got)
	}
	if f := s.FLOPsPerToken(); math.Abs(f-2*float64(s.Parameters()-int64(s.Dim)*(2*int64(s.Layers)+1))) > 1 {
		t.Errorf("FLOPsPerToken = %g, want 2x the matmul parameters", f)
	}
}

func TestF16RoundTrip(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00},
		{5.960464477539063e-08, 0x0001}, {0.333333343, 0x3555}, {float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := f32ToF16(c.in); got != c.want {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for h := 0; h < 0x7c00; h++ { // every finite positive half survives a round trip
		if got := f32ToF16(f16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f16ToF32(uint16(h)), got)
		}
	}
}

func TestQuantRoundTrip(t *testing.T) {
	src := make([]float32, 96)
	synthTensor{name: "q", std: 0.7}.fillRow(3, 0, src)
	for _, c := range []struct {
		typ GGMLType
		tol float64 // relative to max |x|
	}{{TypeF32, 0}, {TypeF16, 1e-3}, {TypeQ8_0, 1.0 / 127}} {
		raw := quantRow(c.typ, src, nil)
		if len(raw) != c.typ.rowBytes(len(src)) {
			t.Fatalf("%s: %d bytes, want %d", c.typ, len(raw), c.typ.rowBytes(len(src)))
		}
		got := make([]float32, len(src))
		dequantRow(c.typ, raw, got)
		var amax, maxErr float64
		for i := range src {
			amax = math.Max(amax, math.Abs(float64(src[i])))
			maxErr = math.Max(maxErr, math.Abs(float64(got[i]-src[i])))
		}
		if maxErr > c.tol*amax {
			t.Errorf("%s: max error %g > %g", c.typ, maxErr, c.tol*amax)
		}
	}
	// Q8_0 block layout: scale then 32 int8 values; a hand-made block.
	blk := append([]byte{0x00, 0x38}, make([]byte, 32)...) // d = 0.5
	blk[2], blk[3], blk[33] = 2, 0xff, 0x80
	out := make([]float32, 32)
	dequantRow(TypeQ8_0, blk, out)
	if out[0] != 1 || out[1] != -0.5 || out[31] != -64 || out[2] != 0 {
		t.Errorf("Q8_0 decode = %v", out[:4])
	}
	// Q4_0: scale, then 16 bytes of nibbles (low nibbles first half).
	q4 := append([]byte{0x00, 0x3c}, make([]byte, 16)...) // d = 1
	q4[2] = 0xF0                                          // x[0] = 0-8, x[16] = 15-8
	dequantRow(TypeQ4_0, q4, out)
	if out[0] != -8 || out[16] != 7 || out[1] != -8 {
		t.Errorf("Q4_0 decode = %v / %v", out[0], out[16])
	}
}

func TestSynthTokenizer(t *testing.T) {
	for _, vocab := range []int{512, 32000} {
		spec, err := synthTokenizerSpec(vocab)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := NewTokenizer(spec) // rejects duplicates
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != vocab {
			t.Fatalf("vocab %d, want %d", tok.VocabSize(), vocab)
		}
		for id := 0; id < vocab; id++ {
			if s := tok.TokenText(id); !utf8.ValidString(s) {
				t.Fatalf("token %d decodes to invalid UTF-8 %q", id, s)
			}
		}
		for _, text := range []string{
			"Once upon a time there was a little fox.",
			"Energy per token: 3.5 J, at 42 tokens/s!\n\n  Indented  line\twith tab",
			"What's the plan? We'll see; they're ready.",
			"",
		} {
			ids := tok.Encode(text)
			if got := tok.Decode(ids); got != text {
				t.Errorf("vocab %d: round trip of %q gave %q (ids %v)", vocab, text, got, ids)
			}
			if text != "" && len(ids) >= len(text) && vocab > 512 {
				t.Errorf("vocab %d: %q encoded to %d tokens: merges not applied", vocab, text, len(ids))
			}
		}
		if ids := tok.Encode("café"); tok.Decode(ids) != "caf\uFFFD\uFFFD" {
			t.Errorf("non-ASCII bytes should encode as <unk>: %v -> %q", ids, tok.Decode(ids))
		}
	}
}

func TestSplitWords(t *testing.T) {
	cases := []struct {
		pre, in string
		want    []string
	}{
		{"gpt-2", "Hello world's  end\n\nok 123!", []string{"Hello", " world", "'s", " ", " end", "\n", "\n", "ok", " 123", "!"}},
		{"llama3", "Hello WORLD'S 12345\n\n x", []string{"Hello", " WORLD", "'S", " ", "123", "45", "\n\n", " x"}},
	}
	for _, c := range cases {
		got := splitWords(c.in, c.pre)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %q: got %q, want %q", c.pre, c.in, got, c.want)
		}
	}
}

func TestSPMTokenizer(t *testing.T) {
	// A small SentencePiece vocabulary: scores decide merge order, unknown
	// characters fall back to byte tokens.
	toks := []string{"<unk>", "<s>", "</s>", "\u2581", "h", "e", "l", "o", "w", "r", "d", "he", "ll", "hell", "hello", "\u2581hello", "\u2581w", "or", "\u2581wor", "\u2581world", "ld"}
	scores := make([]float32, len(toks))
	types := make([]int32, len(toks))
	for i := range toks {
		scores[i], types[i] = -float32(i), tokNormal
	}
	types[0], types[1], types[2] = tokUnknown, tokControl, tokControl
	for b := 0; b < 256; b++ {
		toks = append(toks, fmtByte(b))
		scores = append(scores, 0)
		types = append(types, tokByte)
	}
	tok, err := NewTokenizer(TokenizerSpec{Model: "llama", Tokens: toks, Scores: scores, Types: types, BOS: 1, EOS: 2, UNK: 0, AddBOS: true, AddSpacePrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("hello world!")
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, toks[id])
	}
	if got := strings.Join(pieces, "|"); got != "\u2581hello|\u2581world|<0x21>" {
		t.Errorf("pieces %q", got)
	}
	if got := tok.Decode(ids); got != "hello world!" {
		t.Errorf("decode %q", got)
	}
	if tok.BOS() != 1 || tok.EOS() != 2 {
		t.Errorf("BOS/EOS %d/%d", tok.BOS(), tok.EOS())
	}
}

func fmtByte(b int) string { return "<0x" + strings.ToUpper(hex2(b)) + ">" }

func hex2(b int) string {
	const h = "0123456789abcdef"
	return string([]byte{h[b>>4], h[b&15]})
}

func TestGGUFRoundTrip(t *testing.T) {
	for _, typ := range []string{"f32", "f16", "q8_0"} {
		t.Run(typ, func(t *testing.T) {
			var buf bytes.Buffer
			if err := SynthesizeGGUF(&buf, "tiny", 11, typ); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "tiny.gguf")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			fromFile, err := LoadGGUF(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fromFile.Close()
			tt, _ := ParseGGMLType(typ)
			inMem, err := SynthModel("tiny", 11, tt, 1)
			if err != nil {
				t.Fatal(err)
			}
			if fromFile.Shape.Dim != 64 || fromFile.Shape.KVHeads != 2 || fromFile.Shape.Vocab != 512 || fromFile.Arch != "llama" {
				t.Fatalf("shape read back: %+v", fromFile.Shape)
			}
			if fromFile.TensorTypes()[strings.ToUpper(typ)] != 2+7*2 {
				t.Errorf("tensor types %v", fromFile.TensorTypes())
			}
			k, _ := selectKernels(KernelsAuto)
			toks := []int{1, 100, 200, 300}
			var steps []step
			for p, id := range toks {
				steps = append(steps, step{pos: p, tok: id, logits: p == len(toks)-1})
			}
			a := newRunner(fromFile, k, 1).forward(steps, []*kvCache{newKVCache(fromFile.Shape, 4)})
			b := newRunner(inMem, k, 1).forward(steps, []*kvCache{newKVCache(inMem.Shape, 4)})
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("logit %d: file %g, memory %g", i, a[i], b[i])
				}
			}
			spec, _ := synthTokenizerSpec(512)
			if !slices.Equal(fromFile.Tok.tokens, spec.Tokens) || len(fromFile.Tok.ranks) != len(spec.Merges) {
				t.Error("tokenizer did not survive the round trip")
			}
		})
	}
}

func TestGGUFErrors(t *testing.T) {
	var w GGUFWriter
	w.Set("general.architecture", "mamba")
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := ParseGGUF(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modelFromGGUF(g); err == nil || !strings.Contains(err.Error(), `"mamba"`) {
		t.Errorf("unsupported architecture error = %v", err)
	}
	if _, err := ParseGGUF([]byte("GGML....")); err == nil {
		t.Error("bad magic accepted")
	}
	if _, err := (TensorInfo{Name: "x", Dims: []uint64{256}, Type: 16}).Bytes(); err == nil || !strings.Contains(err.Error(), "IQ2_XXS is not supported") {
		t.Errorf("unsupported type error = %v", err)
	}
	if _, err := (TensorInfo{Name: "x", Dims: []uint64{288, 2}, Type: TypeQ4_K}).Bytes(); err == nil || !strings.Contains(err.Error(), "row length 288 is not a multiple of the Q4_K block size 256") {
		t.Errorf("ragged k-quant row error = %v", err)
	}
}

func loadTiny(t *testing.T, batch int, kernels string) *Engine {
	t.Helper()
	e := New()
	threads := 2
	info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "tiny", Backend: config.BackendNative,
		Native: &config.NativeConfig{BatchSize: &batch, Threads: &threads, Kernels: &kernels}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Weights != "synthetic" || info.Parameters == 0 || info.FLOPsPerToken == 0 || !info.ExactOutputLength {
		t.Fatalf("load info %+v", info)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestBatchedEqualsUnbatchedGreedy(t *testing.T) {
	prompts := []engine.Prompt{
		{ID: "a", Text: "Once upon a time"},
		{ID: "b", Text: "The committee met on Thursday to review the budget for the coming year."},
		{ID: "c", Text: "Why?"},
		{ID: "d", Tokens: []int{100, 101, 102}, Text: "ignored", MaxNewTokens: 5},
	}
	p := engine.GenParams{MaxNewTokens: 12, MinNewTokens: 12, IgnoreEOS: true, Strategy: "greedy"}
	var results [][]engine.Completion
	for _, bs := range []int{1, 4} {
		for _, k := range []string{KernelsPortable, KernelsAuto} {
			e := loadTiny(t, bs, k)
			c, err := e.Generate(context.Background(), prompts, p)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, c)
		}
	}
	for _, c := range results[0] {
		want := 12
		if c.PromptID == "d" {
			want = 5
		}
		if c.OutputTokens != want || len(c.TokenIDs) != want || len(c.TokenTimes) != want || c.FinishReason != "length" {
			t.Errorf("%s: %d tokens, %d times, finish %q", c.PromptID, c.OutputTokens, len(c.TokenTimes), c.FinishReason)
		}
		for i := 1; i < len(c.TokenTimes); i++ {
			if c.TokenTimes[i] < c.TokenTimes[i-1] {
				t.Errorf("%s: token times not monotonic", c.PromptID)
			}
		}
	}
	if results[0][3].PromptTokens != 3 {
		t.Errorf("token prompt counted %d tokens", results[0][3].PromptTokens)
	}
	for _, r := range results[1:] {
		for i := range r {
			if !slices.Equal(r[i].TokenIDs, results[0][i].TokenIDs) {
				t.Errorf("prompt %s differs: %v vs %v", r[i].PromptID, r[i].TokenIDs, results[0][i].TokenIDs)
			}
		}
	}
	if slices.Equal(results[0][0].TokenIDs, results[0][1].TokenIDs) {
		t.Error("different prompts gave identical outputs: model is degenerate")
	}
}

func TestSamplingSeededAndEOS(t *testing.T) {
	e := loadTiny(t, 2, KernelsAuto)
	prompts := []engine.Prompt{{ID: "x", Text: "Hello"}, {ID: "y", Text: "Hello"}}
	p := engine.GenParams{MaxNewTokens: 16, Strategy: "sampling", Temperature: 1.5, TopK: 50, TopP: 0.95, RepetitionPenalty: 1.2, Seed: 5}
	a, err := e.Generate(context.Background(), prompts, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Generate(context.Background(), prompts, p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[0].TokenIDs, b[0].TokenIDs) {
		t.Error("same seed gave different samples")
	}
	if slices.Equal(a[0].TokenIDs, a[1].TokenIDs) {
		t.Error("different prompt ids share a sample stream")
	}
	// Sampling with EOS boosted: the sampler bans EOS until min_new_tokens.
	s, err := newSampler(engine.GenParams{Strategy: "greedy"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	logits := []float32{0, 0, 10, 1}
	if got := s.next(append([]float32(nil), logits...), 2); got != 3 {
		t.Errorf("banned EOS chosen: %d", got)
	}
	if got := s.next(append([]float32(nil), logits...), -1); got != 2 {
		t.Errorf("greedy chose %d", got)
	}
	if _, err := newSampler(engine.GenParams{Strategy: "beam"}, 1); err == nil {
		t.Error("beam accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	e := New()
	_, err := e.Load(context.Background(), config.ExperimentConfig{Model: "no-such-model"})
	if err == nil || !strings.Contains(err.Error(), "stories15M") {
		t.Errorf("unknown model error = %v", err)
	}
	bad := "avx9"
	_, err = e.Load(context.Background(), config.ExperimentConfig{Model: "tiny", Native: &config.NativeConfig{Kernels: &bad}})
	if err == nil {
		t.Error("unknown kernels accepted")
	}
	e = loadTiny(t, 1, KernelsAuto)
	_, err = e.Generate(context.Background(), []engine.Prompt{{ID: "long", Text: "x"}}, engine.GenParams{MaxNewTokens: 2000})
	if err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("over-long request error = %v", err)
	}
}

func TestKernelsAgree(t *testing.T) {
	simd, ok := simdKernels()
	if !ok {
		t.Skip("no SIMD kernels on this CPU")
	}
	for _, cols := range []int{8, 16, 24, 64, 72, 288, 13} {
		for _, rows := range []int{1, 3, 4, 5, 9} {
			w := make([]float32, rows*cols)
			x := make([]float32, cols)
			synthTensor{name: "w", std: 1}.fillRow(1, cols, w)
			synthTensor{name: "x", std: 1}.fillRow(2, rows, x)
			a, b := make([]float32, rows), make([]float32, rows)
			gemvPortable(w, x, a, rows, cols)
			simd.gemv(w, x, b, rows, cols)
			c := make([]float32, rows)
			simd.gemvCached(w, x, c, rows, cols)
			for r := range a {
				if d := math.Abs(float64(a[r] - c[r])); d > 1e-4*math.Sqrt(float64(cols)) {
					t.Fatalf("gemvCached rows %d cols %d row %d: portable %g simd %g", rows, cols, r, a[r], c[r])
				}
			}
			if cols%32 == 0 {
				for _, typ := range []GGMLType{TypeF16, TypeQ8_0} {
					raw := quantRow(typ, w, nil)
					p, s := make([]float32, len(w)), make([]float32, len(w))
					dequantRow(typ, raw, p)
					simd.dequant(typ, raw, s)
					for i := range p {
						if p[i] != s[i] {
							t.Fatalf("%s dequant element %d: portable %g simd %g", typ, i, p[i], s[i])
						}
					}
					want, got := make([]float32, rows), make([]float32, rows)
					gemvPortable(p, x, want, rows, cols)
					if !simd.gemvQuant(typ, raw, x, got, rows, cols) {
						t.Fatalf("%s gemv refused cols %d", typ, cols)
					}
					for r := range want {
						if d := math.Abs(float64(want[r] - got[r])); d > 1e-4*math.Sqrt(float64(cols)) {
							t.Fatalf("%s gemv rows %d cols %d row %d: %g vs %g", typ, rows, cols, r, want[r], got[r])
						}
					}
				}
			}
			for r := range a {
				if d := math.Abs(float64(a[r] - b[r])); d > 1e-4*math.Sqrt(float64(cols)) {
					t.Fatalf("rows %d cols %d row %d: portable %g simd %g", rows, cols, r, a[r], b[r])
				}
				if d := simd.dot(w[r*cols:(r+1)*cols], x) - a[r]; math.Abs(float64(d)) > 1e-4*math.Sqrt(float64(cols)) {
					t.Fatalf("dot rows %d cols %d row %d differs by %g", rows, cols, r, d)
				}
			}
		}
	}
}

// TestEveryConfigPrecisionLoads runs a synthetic model at every precision
// the config accepts for the native backend: what validation lets through,
// the engine must run, in the tensor type it names.
func TestEveryConfigPrecisionLoads(t *testing.T) {
	caps, ok := config.CapabilitiesOf(config.BackendNative)
	if !ok {
		t.Fatal("no native capabilities")
	}
	for _, p := range append(caps.Precisions, "auto") {
		t.Run("precision="+p, func(t *testing.T) {
			e := New()
			threads := 1
			info, err := e.Load(context.Background(), config.ExperimentConfig{Model: "tiny", Backend: config.BackendNative, Precision: p,
				Native: &config.NativeConfig{Threads: &threads}})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			want := strings.ToUpper(p)
			if p == "" || p == "auto" {
				want = "F32"
			}
			if types := info.Effective["tensor_types"].(map[string]int); types[want] == 0 {
				t.Errorf("tensor types %v, want %s matrices", types, want)
			}
			out, err := e.Generate(context.Background(), []engine.Prompt{{ID: "a", Text: "Once upon a time"}}, engine.GenParams{MaxNewTokens: 4, MinNewTokens: 4, IgnoreEOS: true, Strategy: "greedy"})
			if err != nil || out[0].OutputTokens != 4 {
				t.Fatalf("generate: %v %+v", err, out)
			}
		})
	}
}
