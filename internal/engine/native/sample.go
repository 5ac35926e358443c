package native

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/llenergymeasure/llem/internal/engine"
)

// sampler picks the next token of one sequence from its logits.
type sampler struct {
	p    engine.GenParams
	rng  *rand.Rand
	idx  []int // reusable candidate buffer
	seen map[int]bool
	// argmax picks greedy tokens; argmaxPortable unless set.
	argmax func([]float32) int
}

func newSampler(p engine.GenParams, seed uint64) (*sampler, error) {
	switch p.Strategy {
	case "", "greedy", "sampling":
	case "beam":
		return nil, &engine.ErrUnsupported{What: "beam search in the native engine (use greedy or sampling)"}
	default:
		return nil, fmt.Errorf("unknown decoding strategy %q (want greedy or sampling)", p.Strategy)
	}
	if p.Temperature < 0 || p.TopP < 0 || p.TopP > 1 || p.TopK < 0 || p.RepetitionPenalty < 0 {
		return nil, fmt.Errorf("invalid sampling parameters: temperature %g, top_p %g, top_k %d, repetition_penalty %g", p.Temperature, p.TopP, p.TopK, p.RepetitionPenalty)
	}
	return &sampler{p: p, rng: rand.New(rand.NewPCG(seed, 0x6c6c656d)), seen: map[int]bool{}}, nil
}

// greedy reports whether decoding is deterministic argmax.
func (s *sampler) greedy() bool {
	return s.p.Strategy == "greedy" || s.p.Temperature == 0 || s.p.TopK == 1
}

// observe records a token of the context, for the repetition penalty.
func (s *sampler) observe(id int) { s.seen[id] = true }

// next chooses a token. banned, when >= 0, is never chosen (EOS before
// min_new_tokens). logits are modified.
func (s *sampler) next(logits []float32, banned int) int {
	if rp := float32(s.p.RepetitionPenalty); rp > 0 && rp != 1 {
		for id := range s.seen {
			if logits[id] > 0 {
				logits[id] /= rp
			} else {
				logits[id] *= rp
			}
		}
	}
	if banned >= 0 && banned < len(logits) {
		logits[banned] = float32(math.Inf(-1))
	}
	if s.greedy() {
		if s.argmax != nil {
			return s.argmax(logits)
		}
		return argmaxPortable(logits)
	}
	// Candidates sorted by logit, cut to top-k.
	idx := s.idx[:0]
	for i := range logits {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(logits[b], logits[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if k := s.p.TopK; k > 0 && k < len(idx) {
		idx = idx[:k]
	}
	s.idx = idx
	t := float64(s.p.Temperature)
	probs := make([]float64, len(idx))
	var sum float64
	for i, id := range idx {
		probs[i] = math.Exp(float64(logits[id]-logits[idx[0]]) / t)
		sum += probs[i]
	}
	if tp := s.p.TopP; tp > 0 && tp < 1 {
		var cum float64
		for i := range probs {
			cum += probs[i] / sum
			if cum >= tp {
				probs = probs[:i+1]
				break
			}
		}
		sum = 0
		for _, p := range probs {
			sum += p
		}
	}
	u := s.rng.Float64() * sum
	for i, p := range probs {
		u -= p
		if u < 0 {
			return idx[i]
		}
	}
	return idx[len(probs)-1]
}

// argmaxPortable returns the first index of the largest element of x.
func argmaxPortable(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
