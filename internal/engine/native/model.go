package native

import (
	"fmt"
	"sync"
	"unsafe"
)

// matrix is a weight matrix of rows×cols, row-major (a GGUF tensor with
// Dims [cols, rows]). F32 data is used in place; other types are decoded a
// row at a time while multiplying.
type matrix struct {
	rows, cols int
	typ        GGMLType
	f32        []float32
	raw        []byte
	// x8 is a Q4_0 matrix's rows repacked as ggml's block_q4_0x8 (q4x8.go),
	// or a Q4_K matrix's eight rows at a time (q4kx8.go), for the integer
	// kernels; nil until Model.repackQ40 or repackQ4K, and for other
	// matrices.
	x8 []byte
}

// row returns row r as float32, decoding into scratch when needed.
func (m *matrix) row(r int, scratch []float32) []float32 {
	if m.typ == TypeF32 {
		return m.f32[r*m.cols : (r+1)*m.cols]
	}
	rb := m.typ.rowBytes(m.cols)
	dequantRow(m.typ, m.raw[r*rb:(r+1)*rb], scratch[:m.cols])
	return scratch[:m.cols]
}

// layer holds one transformer block's weights.
type layer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    matrix
	bq, bk, bv        []float32 // optional attention biases (qwen2)
	wGate, wUp, wDown matrix
}

// Model is a loaded Llama-family model: shape, weights and tokenizer.
type Model struct {
	Shape     Shape
	Arch      string
	Tok       *Tokenizer
	ropeDim   int
	ropeNeox  bool
	ropeScale float32   // frequency scale (1/linear factor)
	ropeFreq  []float32 // optional per-pair frequency factors (llama3 rope)
	embed     matrix
	outNorm   []float32
	output    matrix
	layers    []layer
	types     map[string]int // tensor type histogram, for LoadInfo
	gguf      *GGUFFile
	// repackOnce guards repackQ40, repackKOnce repackQ4K.
	repackOnce, repackKOnce sync.Once
}

// Close releases the model's file mapping, if any.
func (m *Model) Close() error {
	if m.gguf != nil {
		return m.gguf.Close()
	}
	return nil
}

// TensorTypes counts the model's matrices by tensor type.
func (m *Model) TensorTypes() map[string]int { return m.types }

// LoadGGUF loads a Llama-family model (architectures llama and qwen2) from
// a GGUF file, memory-mapping its tensors.
func LoadGGUF(path string) (*Model, error) {
	g, err := OpenGGUF(path)
	if err != nil {
		return nil, err
	}
	m, err := modelFromGGUF(g)
	if err != nil {
		_ = g.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m.gguf = g
	return m, nil
}

func modelFromGGUF(g *GGUFFile) (*Model, error) {
	arch, _ := g.String("general.architecture")
	switch arch {
	case "llama", "qwen2", "mistral":
	default:
		return nil, fmt.Errorf("unsupported architecture %q (the native engine runs llama, mistral and qwen2)", arch)
	}
	need := func(key string) (int, error) {
		v, ok := g.Int(arch + "." + key)
		if !ok {
			return 0, fmt.Errorf("missing metadata %s.%s", arch, key)
		}
		return v, nil
	}
	var s Shape
	var err error
	name, _ := g.String("general.name")
	s.Name = name
	for _, f := range []struct {
		key string
		dst *int
	}{{"embedding_length", &s.Dim}, {"block_count", &s.Layers}, {"feed_forward_length", &s.FF}, {"attention.head_count", &s.Heads}, {"context_length", &s.Context}} {
		if *f.dst, err = need(f.key); err != nil {
			return nil, err
		}
	}
	s.KVHeads = s.Heads
	if v, ok := g.Int(arch + ".attention.head_count_kv"); ok {
		s.KVHeads = v
	}
	s.RopeBase = 10000
	if v, ok := g.Float(arch + ".rope.freq_base"); ok {
		s.RopeBase = v
	}
	s.NormEps = 1e-5
	if v, ok := g.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		s.NormEps = v
	}
	m := &Model{Arch: arch, ropeNeox: arch == "qwen2", ropeScale: 1, types: map[string]int{}}
	m.ropeDim = s.Dim / s.Heads
	if v, ok := g.Int(arch + ".rope.dimension_count"); ok {
		m.ropeDim = v
	}
	if typ, _ := g.String(arch + ".rope.scaling.type"); typ == "linear" {
		if f, ok := g.Float(arch + ".rope.scaling.factor"); ok && f > 0 {
			m.ropeScale = float32(1 / f)
		}
	} else if typ != "" && typ != "none" {
		return nil, fmt.Errorf("unsupported rope scaling type %q", typ)
	}
	if m.Tok, err = tokenizerFromGGUF(g); err != nil {
		return nil, err
	}
	s.Vocab = m.Tok.VocabSize()

	mat := func(name string, rows, cols int) (matrix, error) {
		t, ok := g.Tensor(name)
		if !ok {
			return matrix{}, fmt.Errorf("missing tensor %s", name)
		}
		if len(t.Dims) != 2 || int(t.Dims[0]) != cols || int(t.Dims[1]) != rows {
			return matrix{}, fmt.Errorf("tensor %s has dims %v, want [%d %d]", name, t.Dims, cols, rows)
		}
		data, err := g.TensorData(t)
		if err != nil {
			return matrix{}, err
		}
		m.types[t.Type.String()]++
		out := matrix{rows: rows, cols: cols, typ: t.Type, raw: data}
		if t.Type == TypeF32 {
			out.f32 = bytesAsF32(data)
		}
		return out, nil
	}
	vec := func(name string, n int, optional bool) ([]float32, error) {
		t, ok := g.Tensor(name)
		if !ok {
			if optional {
				return nil, nil
			}
			return nil, fmt.Errorf("missing tensor %s", name)
		}
		if t.Elements() != uint64(n) {
			return nil, fmt.Errorf("tensor %s has %d elements, want %d", name, t.Elements(), n)
		}
		data, err := g.TensorData(t)
		if err != nil {
			return nil, err
		}
		out := make([]float32, n)
		dequantRow(t.Type, data, out)
		return out, nil
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	m.Shape = s
	kv := s.KVDim()
	if m.embed, err = mat("token_embd.weight", s.Vocab, s.Dim); err != nil {
		return nil, err
	}
	if m.outNorm, err = vec("output_norm.weight", s.Dim, false); err != nil {
		return nil, err
	}
	if _, ok := g.Tensor("output.weight"); ok {
		if m.output, err = mat("output.weight", s.Vocab, s.Dim); err != nil {
			return nil, err
		}
	} else {
		m.output = m.embed
		m.Shape.TiedOutput = true
	}
	if m.ropeFreq, err = vec("rope_freqs.weight", m.ropeDim/2, true); err != nil {
		return nil, err
	}
	// A layer has at least nine tensors: a block count beyond what the
	// file holds is damage, refused before it sizes an allocation.
	if s.Layers > len(g.Tensors)/9 {
		return nil, fmt.Errorf("metadata says %d layers but the file holds %d tensors (a layer needs at least 9)", s.Layers, len(g.Tensors))
	}
	m.layers = make([]layer, s.Layers)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		steps := []func() error{
			func() (e error) { l.attnNorm, e = vec(p+"attn_norm.weight", s.Dim, false); return },
			func() (e error) { l.ffnNorm, e = vec(p+"ffn_norm.weight", s.Dim, false); return },
			func() (e error) { l.wq, e = mat(p+"attn_q.weight", s.Dim, s.Dim); return },
			func() (e error) { l.wk, e = mat(p+"attn_k.weight", kv, s.Dim); return },
			func() (e error) { l.wv, e = mat(p+"attn_v.weight", kv, s.Dim); return },
			func() (e error) { l.wo, e = mat(p+"attn_output.weight", s.Dim, s.Dim); return },
			func() (e error) { l.wGate, e = mat(p+"ffn_gate.weight", s.FF, s.Dim); return },
			func() (e error) { l.wUp, e = mat(p+"ffn_up.weight", s.FF, s.Dim); return },
			func() (e error) { l.wDown, e = mat(p+"ffn_down.weight", s.Dim, s.FF); return },
			func() (e error) { l.bq, e = vec(p+"attn_q.bias", s.Dim, true); return },
			func() (e error) { l.bk, e = vec(p+"attn_k.bias", kv, true); return },
			func() (e error) { l.bv, e = vec(p+"attn_v.bias", kv, true); return },
		}
		for _, st := range steps {
			if err := st(); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func tokenizerFromGGUF(g *GGUFFile) (*Tokenizer, error) {
	var s TokenizerSpec
	var ok bool
	if s.Model, ok = g.String("tokenizer.ggml.model"); !ok {
		return nil, fmt.Errorf("missing tokenizer.ggml.model")
	}
	s.Pre, _ = g.String("tokenizer.ggml.pre")
	if s.Tokens, ok = g.Metadata["tokenizer.ggml.tokens"].([]string); !ok {
		return nil, fmt.Errorf("missing tokenizer.ggml.tokens")
	}
	s.Scores, _ = g.Metadata["tokenizer.ggml.scores"].([]float32)
	s.Types, _ = g.Metadata["tokenizer.ggml.token_type"].([]int32)
	s.Merges, _ = g.Metadata["tokenizer.ggml.merges"].([]string)
	id := func(key string, def int) int {
		if v, ok := g.Int(key); ok {
			return v
		}
		return def
	}
	s.BOS = id("tokenizer.ggml.bos_token_id", -1)
	s.EOS = id("tokenizer.ggml.eos_token_id", -1)
	s.UNK = id("tokenizer.ggml.unknown_token_id", -1)
	s.AddBOS = s.Model == "llama"
	if v, ok := g.Metadata["tokenizer.ggml.add_bos_token"].(bool); ok {
		s.AddBOS = v
	}
	s.AddSpacePrefix = s.Model == "llama"
	if v, ok := g.Metadata["tokenizer.ggml.add_space_prefix"].(bool); ok {
		s.AddSpacePrefix = v
	}
	if s.BOS < 0 {
		s.AddBOS = false
	}
	return NewTokenizer(s)
}

// bytesAsF32 views little-endian float32 data in place.
func bytesAsF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		out := make([]float32, len(b)/4)
		dequantRow(TypeF32, b, out)
		return out
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}
