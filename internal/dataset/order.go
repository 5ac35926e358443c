package dataset

import (
	"math/rand/v2"
	"sort"

	"github.com/llenergymeasure/llem/internal/engine"
)

// orderItems returns the pool in the given order; it never modifies pool.
//
//   - interleaved: round-robin over sources in order of first appearance,
//     each source in pool order; a single-source pool stays as it comes.
//   - grouped: all prompts of a source together (sources in order of first
//     appearance); a single-source pool is sorted by input length, shortest
//     first, so batches hold prompts of similar length.
//   - shuffled: a seeded permutation.
func orderItems(pool []item, order string, seed int64, tok engine.Tokenizer) []item {
	out := make([]item, len(pool))
	copy(out, pool)
	switch order {
	case OrderShuffled:
		rng := rand.New(rand.NewPCG(uint64(seed), shuffleStream))
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	case OrderGrouped:
		if sources(pool) == nil {
			idx := make([]int, len(pool))
			lens := make([]int, len(pool))
			for i, it := range pool {
				idx[i], lens[i] = i, inputLen(it, tok)
			}
			sort.SliceStable(idx, func(a, b int) bool { return lens[idx[a]] < lens[idx[b]] })
			for i, k := range idx {
				out[i] = pool[k]
			}
			return out
		}
		rank := map[string]int{}
		for _, s := range sources(pool) {
			rank[s] = len(rank)
		}
		sort.SliceStable(out, func(i, j int) bool { return rank[out[i].source] < rank[out[j].source] })
	default: // interleaved
		srcs := sources(pool)
		if srcs == nil {
			return out
		}
		queues := map[string][]item{}
		for _, it := range pool {
			queues[it.source] = append(queues[it.source], it)
		}
		out = out[:0]
		for len(out) < len(pool) {
			for _, s := range srcs {
				if q := queues[s]; len(q) > 0 {
					out = append(out, q[0])
					queues[s] = q[1:]
				}
			}
		}
	}
	return out
}

// shuffleStream separates the shuffle's random stream from the synthetic
// generator's, which uses the same seed.
const shuffleStream = 0x5348554646 // "SHUFF"

// sources lists the distinct sources in order of first appearance, or nil
// when the pool has fewer than two.
func sources(pool []item) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range pool {
		if !seen[it.source] {
			seen[it.source] = true
			out = append(out, it.source)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// inputLen is a prompt's length in tokens where known, else in bytes of text.
func inputLen(it item, tok engine.Tokenizer) int {
	switch {
	case it.prompt.Tokens != nil:
		return len(it.prompt.Tokens)
	case tok != nil:
		return len(tok.Encode(it.prompt.Text))
	default:
		return len(it.prompt.Text)
	}
}
