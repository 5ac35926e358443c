package dataset

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// syntheticStream separates the synthetic generator's random stream from the
// shuffle's, which uses the same seed.
const syntheticStream = 0x53594e5448 // "SYNTH"

// commonWords approximate one token each; they make synthetic prompts when
// the engine exposes no tokenizer.
//
//go:embed words.txt
var commonWords string

// synthetic builds cfg.N prompts (n when cfg.N is unset) of the configured
// token lengths. With tok the text is made of whole-word tokens of tok's
// vocabulary and tok.Encode(Text) is exactly the input length; without tok
// each prompt has input-length common English words, an approximation
// recorded as params.exact_input_len = false.
func synthetic(cfg config.DatasetConfig, n int, tok engine.Tokenizer, maxInput int) ([]item, results.DatasetInfo, error) {
	size := cfg.N
	if size <= 0 {
		size = n
	}
	inLen, outLen := cfg.InputLen, cfg.OutputLen
	if (inLen < 1 && cfg.InputLenDist == nil) || (outLen < 1 && cfg.OutputLenDist == nil) {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset synthetic: input_len and output_len must be at least 1, got %d and %d", inLen, outLen)
	}
	if err := checkDist("input_len_dist", cfg.InputLenDist); err != nil {
		return nil, results.DatasetInfo{}, err
	}
	if err := checkDist("output_len_dist", cfg.OutputLenDist); err != nil {
		return nil, results.DatasetInfo{}, err
	}
	longest := inLen
	if cfg.InputLenDist != nil {
		longest = cfg.InputLenDist.Max
	}
	if maxInput > 0 && longest > maxInput {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset synthetic: input length up to %d exceeds max_input_tokens %d", longest, maxInput)
	}

	var words []string
	exact := tok != nil
	if exact {
		words = cachedTokenWords(tok)
		if len(words) == 0 {
			return nil, results.DatasetInfo{}, fmt.Errorf("dataset synthetic: the tokenizer has no whole-word tokens to build exact-length prompts from")
		}
	} else {
		words = strings.Fields(commonWords)
	}

	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), syntheticStream))
	pool := make([]item, size)
	for i := range pool {
		in := drawLen(rng, cfg.InputLenDist, inLen)
		out := drawLen(rng, cfg.OutputLenDist, outLen)
		p := engine.Prompt{ID: fmt.Sprintf("synthetic-%04d", i), MaxNewTokens: out}
		if exact {
			text, ids, err := exactPrompt(tok, words, rng, in)
			if err != nil {
				return nil, results.DatasetInfo{}, fmt.Errorf("dataset synthetic: prompt %d: %w", i, err)
			}
			p.Text, p.Tokens = text, ids
		} else {
			p.Text = joinWords(pick(rng, words, in), false)
		}
		pool[i] = item{prompt: p}
	}

	params := map[string]any{
		"seed":            cfg.Seed,
		"exact_input_len": exact,
	}
	if cfg.InputLenDist != nil {
		params["input_len_dist"] = distParams(cfg.InputLenDist)
	} else {
		params["input_len"] = inLen
	}
	if cfg.OutputLenDist != nil {
		params["output_len_dist"] = distParams(cfg.OutputLenDist)
	} else {
		params["output_len"] = outLen
	}
	return pool, results.DatasetInfo{Name: config.DatasetSynthetic, Params: params}, nil
}

func checkDist(field string, d *config.LengthDist) error {
	if d == nil {
		return nil
	}
	switch {
	case d.Kind != "uniform" && d.Kind != "normal":
		return fmt.Errorf("dataset synthetic: %s.kind %q: want uniform or normal", field, d.Kind)
	case d.Min < 1 || d.Max < d.Min:
		return fmt.Errorf("dataset synthetic: %s: need 1 <= min <= max, got min %d, max %d", field, d.Min, d.Max)
	case d.Kind == "normal" && d.Std < 0:
		return fmt.Errorf("dataset synthetic: %s.std must not be negative, got %g", field, d.Std)
	}
	return nil
}

// drawLen is fixed when d is nil; uniform in [Min, Max]; or normal(Mean, Std)
// rounded and clamped to [Min, Max], Mean defaulting to the midpoint.
func drawLen(rng *rand.Rand, d *config.LengthDist, fixed int) int {
	if d == nil {
		return fixed
	}
	if d.Kind == "uniform" {
		return d.Min + rng.IntN(d.Max-d.Min+1)
	}
	mean := d.Mean
	if mean == 0 {
		mean = float64(d.Min+d.Max) / 2
	}
	v := int(math.Round(mean + d.Std*rng.NormFloat64()))
	return min(max(v, d.Min), d.Max)
}

func distParams(d *config.LengthDist) map[string]any {
	m := map[string]any{"kind": d.Kind, "min": d.Min, "max": d.Max}
	if d.Kind == "normal" {
		m["mean"], m["std"] = d.Mean, d.Std
	}
	return m
}

// tokenWords lists the lower-case ASCII words (2 to 12 letters) that tok
// encodes as one token each when repeated with spaces between them — the
// building blocks whose concatenation re-tokenises predictably. The list is
// in vocabulary order, so it is the same for the same tokenizer.
// cachedTokenWords is tokenWords, kept per tokenizer identity
// (engine.TokenizerIdentity) for the life of the process: a run loads its
// prompts twice, at pre-flight and after the load, with two tokenizers of
// the same model, and tokenWords encodes the whole vocabulary twice over
// (about 90 ms for a 32,000-token vocabulary). The list is shared, never
// changed.
func cachedTokenWords(tok engine.Tokenizer) []string {
	ti, ok := tok.(engine.TokenizerIdentity)
	if !ok || ti.Identity() == "" {
		return tokenWords(tok)
	}
	key := ti.Identity()
	wordCache.mu.Lock()
	words, hit := wordCache.m[key]
	wordCache.mu.Unlock()
	if hit {
		return words
	}
	words = tokenWords(tok)
	wordCache.mu.Lock()
	defer wordCache.mu.Unlock()
	if len(wordCache.m) >= maxCachedWordLists {
		clear(wordCache.m)
	}
	wordCache.m[key] = words
	return words
}

// maxCachedWordLists bounds wordCache: a process meets few tokenizers.
const maxCachedWordLists = 8

var wordCache = struct {
	mu sync.Mutex
	m  map[string][]string
}{m: map[string][]string{}}

func tokenWords(tok engine.Tokenizer) []string {
	var out []string
	seen := map[string]bool{}
	for id := range tok.VocabSize() {
		if id == tok.BOS() || id == tok.EOS() {
			continue
		}
		w := strings.TrimSpace(tok.TokenText(id))
		if seen[w] || !isWord(w) {
			continue
		}
		seen[w] = true
		// Two copies must make two tokens, with the space a byte-level BPE
		// keeps on the word or without it for a SentencePiece tokenizer,
		// which adds its own prefix space.
		if len(tok.Encode(" "+w+" "+w)) == 2 || len(tok.Encode(w+" "+w)) == 2 {
			out = append(out, w)
		}
	}
	return out
}

func isWord(s string) bool {
	if len(s) < 2 || len(s) > 12 {
		return false
	}
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// exactPrompt finds a text of space-separated words from words that tok
// encodes to exactly length tokens. It starts from length words and adds or
// drops words by the difference until the count matches, first with a
// leading space (byte-level BPE tokenizers keep " word" whole), then
// without (SentencePiece tokenizers add their own prefix space). Tokens are
// the text's own encoding, so Encode(Text) == Tokens by construction.
func exactPrompt(tok engine.Tokenizer, words []string, rng *rand.Rand, length int) (string, []int, error) {
	const attempts = 4
	for range attempts {
		seq := pick(rng, words, length)
		for _, lead := range []bool{true, false} {
			k := length
			tried := map[int]bool{}
			for k >= 1 && !tried[k] {
				tried[k] = true
				if k > len(seq) {
					seq = append(seq, pick(rng, words, k-len(seq))...)
				}
				text := joinWords(seq[:k], lead)
				ids := tok.Encode(text)
				if len(ids) == length {
					return text, ids, nil
				}
				k -= len(ids) - length
			}
		}
	}
	return "", nil, fmt.Errorf("cannot build a text of exactly %d tokens from this tokenizer's whole-word tokens", length)
}

func pick(rng *rand.Rand, words []string, k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = words[rng.IntN(len(words))]
	}
	return out
}

func joinWords(ws []string, leadingSpace bool) string {
	s := strings.Join(ws, " ")
	if leadingSpace {
		return " " + s
	}
	return s
}
