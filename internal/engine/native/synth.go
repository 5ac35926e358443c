package native

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
)

// DefaultWeightsSeed seeds synthetic weights when no seed is configured.
const DefaultWeightsSeed int64 = 20240901

// synthTensor is one tensor of a synthetic model: its GGUF name, shape
// (rows×cols; rows 1 for vectors) and the standard deviation of its
// uniform random values (0 means all ones, for norm weights).
type synthTensor struct {
	name       string
	rows, cols int
	std        float64
}

// synthLayout lists a shape's tensors in GGUF order with their scales:
// norms and untied embeddings have unit scale, every projection
// 1/sqrt(fan-in), so activations stay O(1) through any depth, and the untied
// output projection 2/sqrt(dim), so logits spread by about 2 and greedy
// choices are clear; tied embeddings get 1/sqrt(dim).
func synthLayout(s Shape) []synthTensor {
	d, kv, ff := s.Dim, s.KVDim(), s.FF
	in := 1 / math.Sqrt(float64(d))
	embed := 1.0
	if s.TiedOutput {
		// A tied embedding is also the output projection: at unit scale a
		// token's own embedding would dominate its logits and greedy
		// decoding would repeat the input token forever.
		embed = in
	}
	ts := []synthTensor{{"token_embd.weight", s.Vocab, d, embed}}
	for i := 0; i < s.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			synthTensor{p + "attn_norm.weight", 1, d, 0},
			synthTensor{p + "attn_q.weight", d, d, in},
			synthTensor{p + "attn_k.weight", kv, d, in},
			synthTensor{p + "attn_v.weight", kv, d, in},
			synthTensor{p + "attn_output.weight", d, d, in},
			synthTensor{p + "ffn_norm.weight", 1, d, 0},
			synthTensor{p + "ffn_gate.weight", ff, d, in},
			synthTensor{p + "ffn_up.weight", ff, d, in},
			synthTensor{p + "ffn_down.weight", d, ff, 1 / math.Sqrt(float64(ff))},
		)
	}
	ts = append(ts, synthTensor{"output_norm.weight", 1, d, 0})
	if !s.TiedOutput {
		ts = append(ts, synthTensor{"output.weight", s.Vocab, d, 2 * in})
	}
	return ts
}

// fillRow writes row r of tensor t for the given seed into dst. Each row has
// its own generator (splitmix64 seeded from seed, tensor name and row), so
// rows can be made in any order and in parallel.
func (t synthTensor) fillRow(seed int64, r int, dst []float32) {
	if t.std == 0 {
		for i := range dst {
			dst[i] = 1
		}
		return
	}
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	binary.LittleEndian.PutUint64(b[8:], uint64(r))
	_, _ = h.Write(b[:])
	_, _ = io.WriteString(h, t.name)
	x := h.Sum64()
	amp := float32(math.Sqrt(3) * t.std)
	for i := range dst {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		u := float32(z>>40) / (1 << 24) // [0, 1)
		dst[i] = (2*u - 1) * amp
	}
}

// SynthModel builds a model of a named shape with deterministic weights
// from seed, in memory. typ is the matrices' tensor type (one of
// WritableTypes; quantised types hold exactly what a GGUF of that type
// would hold).
func SynthModel(shape string, seed int64, typ GGMLType, threads int) (*Model, error) {
	s, ok := LookupShape(shape)
	if !ok {
		return nil, fmt.Errorf("unknown synthetic shape %q (known: %v)", shape, Shapes())
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if _, err := ParseGGMLType(typ.String()); err != nil {
		return nil, err
	}
	tok, err := synthTokenizer(s.Vocab)
	if err != nil {
		return nil, err
	}
	m := &Model{Shape: s, Arch: "llama", Tok: tok, ropeDim: s.HeadDim(), ropeScale: 1, types: map[string]int{}}
	w := newPool(threads)
	defer w.close()
	tensors := map[string]any{}
	for _, t := range synthLayout(s) {
		if t.rows == 1 {
			v := make([]float32, t.cols)
			t.fillRow(seed, 0, v)
			tensors[t.name] = v
			continue
		}
		mt := matrix{rows: t.rows, cols: t.cols, typ: typ}
		rb := typ.rowBytes(t.cols)
		if typ == TypeF32 {
			mt.f32 = make([]float32, t.rows*t.cols)
		} else {
			mt.raw = make([]byte, t.rows*rb)
		}
		w.parallel(t.rows, taskFunc(func(_, lo, hi int) {
			buf := make([]float32, t.cols)
			for r := lo; r < hi; r++ {
				if typ == TypeF32 {
					t.fillRow(seed, r, mt.f32[r*t.cols:(r+1)*t.cols])
					continue
				}
				t.fillRow(seed, r, buf)
				quantRow(typ, buf, mt.raw[r*rb:r*rb])
			}
		}))
		m.types[typ.String()]++
		tensors[t.name] = mt
	}
	m.embed = tensors["token_embd.weight"].(matrix)
	m.outNorm = tensors["output_norm.weight"].([]float32)
	if s.TiedOutput {
		m.output = m.embed
	} else {
		m.output = tensors["output.weight"].(matrix)
	}
	m.layers = make([]layer, s.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("blk.%d.", i)
		m.layers[i] = layer{
			attnNorm: tensors[p+"attn_norm.weight"].([]float32),
			ffnNorm:  tensors[p+"ffn_norm.weight"].([]float32),
			wq:       tensors[p+"attn_q.weight"].(matrix),
			wk:       tensors[p+"attn_k.weight"].(matrix),
			wv:       tensors[p+"attn_v.weight"].(matrix),
			wo:       tensors[p+"attn_output.weight"].(matrix),
			wGate:    tensors[p+"ffn_gate.weight"].(matrix),
			wUp:      tensors[p+"ffn_up.weight"].(matrix),
			wDown:    tensors[p+"ffn_down.weight"].(matrix),
		}
	}
	return m, nil
}

// SynthesizeGGUF writes a synthetic model of a named shape as a GGUF v3
// file (architecture llama, byte-level BPE "gpt2" tokenizer with merges)
// for other engines; llama.cpp loads it (Ollama, which reads the same
// format, loads them too). typ names the matrices' type (WritableTypes);
// norm weights are always F32. The weights equal SynthModel's for the same
// shape, seed and type.
func SynthesizeGGUF(w io.Writer, shape string, seed int64, typ string) error {
	s, ok := LookupShape(shape)
	if !ok {
		return fmt.Errorf("unknown synthetic shape %q (known: %v)", shape, Shapes())
	}
	tt, err := ParseGGMLType(typ)
	if err != nil {
		return err
	}
	return synthesizeShapeGGUF(w, s, seed, tt)
}

// synthesizeShapeGGUF is SynthesizeGGUF for any valid shape.
func synthesizeShapeGGUF(w io.Writer, s Shape, seed int64, tt GGMLType) error {
	if err := s.validate(); err != nil {
		return err
	}
	spec, err := synthTokenizerSpec(s.Vocab)
	if err != nil {
		return err
	}
	// general.file_type, llama.cpp's LLAMA_FTYPE_ALL_F32, _MOSTLY_F16, ….
	fileType := map[GGMLType]uint32{TypeF32: 0, TypeF16: 1, TypeQ4_0: 2, TypeQ4_1: 3, TypeQ8_0: 7, TypeQ5_0: 8, TypeQ5_1: 9, TypeBF16: 32}[tt]
	var gw GGUFWriter
	gw.Set("general.architecture", "llama")
	gw.Set("general.name", fmt.Sprintf("llem-synthetic-%s-seed%d", s.Name, seed))
	gw.Set("general.file_type", fileType)
	gw.Set("general.alignment", uint32(ggufDefaultAlignment))
	gw.Set("llama.context_length", uint32(s.Context))
	gw.Set("llama.embedding_length", uint32(s.Dim))
	gw.Set("llama.block_count", uint32(s.Layers))
	gw.Set("llama.feed_forward_length", uint32(s.FF))
	gw.Set("llama.rope.dimension_count", uint32(s.HeadDim()))
	gw.Set("llama.attention.head_count", uint32(s.Heads))
	gw.Set("llama.attention.head_count_kv", uint32(s.KVHeads))
	gw.Set("llama.attention.layer_norm_rms_epsilon", float32(s.NormEps))
	gw.Set("llama.rope.freq_base", float32(s.RopeBase))
	gw.Set("llama.vocab_size", uint32(s.Vocab))
	gw.Set("tokenizer.ggml.model", spec.Model)
	gw.Set("tokenizer.ggml.pre", spec.Pre)
	gw.Set("tokenizer.ggml.tokens", spec.Tokens)
	gw.Set("tokenizer.ggml.token_type", spec.Types)
	gw.Set("tokenizer.ggml.merges", spec.Merges)
	gw.Set("tokenizer.ggml.bos_token_id", uint32(spec.BOS))
	gw.Set("tokenizer.ggml.eos_token_id", uint32(spec.EOS))
	gw.Set("tokenizer.ggml.unknown_token_id", uint32(spec.UNK))
	gw.Set("tokenizer.ggml.add_bos_token", spec.AddBOS)
	gw.Set("tokenizer.ggml.add_eos_token", false)
	for _, t := range synthLayout(s) {
		t := t
		typ := tt
		dims := []uint64{uint64(t.cols), uint64(t.rows)}
		if t.rows == 1 {
			typ, dims = TypeF32, []uint64{uint64(t.cols)}
		}
		err := gw.AddTensor(t.name, typ, dims, func(out io.Writer) error {
			row := make([]float32, t.cols)
			buf := make([]byte, 0, typ.rowBytes(t.cols))
			for r := 0; r < t.rows; r++ {
				t.fillRow(seed, r, row)
				if _, err := out.Write(quantRow(typ, row, buf[:0])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = gw.WriteTo(w)
	return err
}

// SynthesizeGGUFFile writes SynthesizeGGUF's model to path, whole or not
// at all (a temporary file renamed into place).
func SynthesizeGGUFFile(path, shape string, seed int64, typ string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".synth-*.gguf")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := SynthesizeGGUF(tmp, shape, seed, typ); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
