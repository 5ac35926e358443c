package native

import (
	"fmt"
	"sort"
	"strings"
)

// Shape is the architecture of a Llama-family decoder: everything that
// determines its compute and memory traffic per token.
type Shape struct {
	Name       string
	Dim        int // embedding length
	Layers     int
	Heads      int
	KVHeads    int
	FF         int // feed-forward (SwiGLU hidden) length
	Vocab      int
	Context    int // maximum context length
	RopeBase   float64
	NormEps    float64
	TiedOutput bool // output projection shares the token embedding
}

// HeadDim is the per-head dimension.
func (s Shape) HeadDim() int { return s.Dim / s.Heads }

// KVDim is the width of the key and value projections.
func (s Shape) KVDim() int { return s.HeadDim() * s.KVHeads }

// Parameters counts the model's weights (norms included; a tied output
// projection is counted once).
func (s Shape) Parameters() int64 {
	d, kv, ff, v := int64(s.Dim), int64(s.KVDim()), int64(s.FF), int64(s.Vocab)
	perLayer := 2*d*d + 2*d*kv + 3*d*ff + 2*d
	p := v*d + int64(s.Layers)*perLayer + d
	if !s.TiedOutput {
		p += v * d
	}
	return p
}

// FLOPsPerToken is the forward-pass FLOPs for one token at zero context:
// two FLOPs per multiply-accumulate of every matrix the token passes through
// (attention projections, FFN, output projection; the embedding lookup is
// free). Attention score FLOPs, which grow with context, are excluded.
func (s Shape) FLOPsPerToken() float64 {
	d, kv, ff, v := float64(s.Dim), float64(s.KVDim()), float64(s.FF), float64(s.Vocab)
	perLayer := 2*d*d + 2*d*kv + 3*d*ff
	return 2 * (float64(s.Layers)*perLayer + v*d)
}

// FLOPsMethod names the method of FLOPsPerToken, for results.
const FLOPsMethod = "2*matmul_params (q,k,v,o,gate,up,down,output; zero context, attention scores excluded)"

func (s Shape) validate() error {
	switch {
	case s.Dim <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FF <= 0 || s.Vocab <= 0:
		return fmt.Errorf("shape %q: all dimensions must be positive: %+v", s.Name, s)
	case s.Dim%s.Heads != 0:
		return fmt.Errorf("shape %q: dim %d not divisible by %d heads", s.Name, s.Dim, s.Heads)
	case s.Heads%s.KVHeads != 0:
		return fmt.Errorf("shape %q: %d heads not divisible by %d kv heads", s.Name, s.Heads, s.KVHeads)
	case s.HeadDim()%2 != 0:
		return fmt.Errorf("shape %q: head dim %d must be even for RoPE", s.Name, s.HeadDim())
	}
	return nil
}

// shapes are the built-in synthetic shapes, taken from the published
// configurations of the models they are named after.
var shapes = []Shape{
	// tiny is llem's own test shape; its context fits the default data set
	// (512 prompt tokens + BOS + 128 new).
	{Name: "tiny", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FF: 192, Vocab: 512, Context: 1024, RopeBase: 10000, NormEps: 1e-5},
	{Name: "stories15M", Dim: 288, Layers: 6, Heads: 6, KVHeads: 6, FF: 768, Vocab: 32000, Context: 2048, RopeBase: 10000, NormEps: 1e-5},
	{Name: "stories110M", Dim: 768, Layers: 12, Heads: 12, KVHeads: 12, FF: 2048, Vocab: 32000, Context: 2048, RopeBase: 10000, NormEps: 1e-5},
	{Name: "smollm-135m", Dim: 576, Layers: 30, Heads: 9, KVHeads: 3, FF: 1536, Vocab: 49152, Context: 2048, RopeBase: 10000, NormEps: 1e-5, TiedOutput: true},
	{Name: "llama-3.2-1b", Dim: 2048, Layers: 16, Heads: 32, KVHeads: 8, FF: 8192, Vocab: 128256, Context: 8192, RopeBase: 500000, NormEps: 1e-5, TiedOutput: true},
}

// Shapes returns the names of the built-in synthetic shapes.
func Shapes() []string {
	out := make([]string, len(shapes))
	for i, s := range shapes {
		out[i] = s.Name
	}
	sort.Strings(out)
	return out
}

// LookupShape returns the built-in shape of that name (case-insensitive).
func LookupShape(name string) (Shape, bool) {
	for _, s := range shapes {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Shape{}, false
}
