package native

import (
	_ "embed"
	"fmt"
	"sort"
)

// synthCorpus is English text written for llem, on which synthetic models'
// byte-level BPE vocabulary is trained.
//
//go:embed corpus.txt
var synthCorpus string

// Special tokens of synthetic vocabularies.
const (
	synthUNK = 0
	synthBOS = 1
	synthEOS = 2
)

// synthTokenizerSpec builds a deterministic byte-level BPE vocabulary of
// exactly vocab tokens: three special tokens, the 128 ASCII bytes, merges
// learnt from synthCorpus (most frequent pair first, ties broken by the
// pair's text), then unique pseudo-word tokens to fill the vocabulary. Every
// token decodes to valid UTF-8 and no token string repeats, so llama.cpp
// and Ollama accept the vocabulary. Bytes outside ASCII encode as <unk>.
func synthTokenizerSpec(vocab int) (TokenizerSpec, error) {
	const base = 3 + 128
	if vocab < base {
		return TokenizerSpec{}, fmt.Errorf("synthetic vocabulary needs at least %d tokens, got %d", base, vocab)
	}
	spec := TokenizerSpec{
		Model: "gpt2", Pre: "gpt-2", BOS: synthBOS, EOS: synthEOS, UNK: synthUNK, AddBOS: true,
		Tokens: []string{"<unk>", "<s>", "</s>"},
		Types:  []int32{tokUnknown, tokControl, tokControl},
	}
	seen := map[string]bool{"<unk>": true, "<s>": true, "</s>": true}
	add := func(s string) {
		seen[s] = true
		spec.Tokens = append(spec.Tokens, s)
		spec.Types = append(spec.Types, tokNormal)
	}
	for b := 0; b < 128; b++ {
		add(string(byteToUnicode[b]))
	}
	spec.Merges = trainMerges(synthCorpus, vocab-len(spec.Tokens), seen, add)
	padSynthVocab(vocab, seen, add)
	spec.Scores = make([]float32, len(spec.Tokens))
	for i := range spec.Scores {
		spec.Scores[i] = -float32(i)
	}
	return spec, nil
}

// trainMerges learns up to budget new tokens by byte-level BPE on corpus
// and returns the merges in rank order.
func trainMerges(corpus string, budget int, seen map[string]bool, add func(string)) []string {
	counts := map[string]int{}
	for _, w := range splitWords(corpus, "gpt-2") {
		counts[w]++
	}
	type word struct {
		sym []string
		n   int
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := make([]word, 0, len(keys))
	for _, k := range keys {
		var sym []string
		ascii := true
		for i := 0; i < len(k); i++ {
			if k[i] >= 128 {
				ascii = false
			}
			sym = append(sym, string(byteToUnicode[k[i]]))
		}
		if ascii {
			words = append(words, word{sym, counts[k]})
		}
	}
	var merges []string
	for added := 0; added < budget; {
		pairs := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.sym); i++ {
				pairs[[2]string{w.sym[i], w.sym[i+1]}] += w.n
			}
		}
		var best [2]string
		bestN := 1
		for p, n := range pairs {
			if n > bestN || (n == bestN && n > 1 && p[0]+" "+p[1] < best[0]+" "+best[1]) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merged := best[0] + best[1]
		merges = append(merges, best[0]+" "+best[1])
		if !seen[merged] {
			add(merged)
			added++
		}
		for wi := range words {
			s := words[wi].sym
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, merged)
					i++
				} else {
					out = append(out, s[i])
				}
			}
			words[wi].sym = out
		}
	}
	return merges
}

// padSynthVocab fills the vocabulary with pseudo-words built from
// consonant-vowel syllables, with and without a leading space.
func padSynthVocab(vocab int, seen map[string]bool, add func(string)) {
	const cons, vows = "bcdfghjklmnprstvwxyz", "aeiou"
	syl := make([]string, 0, len(cons)*len(vows))
	for _, c := range cons {
		for _, v := range vows {
			syl = append(syl, string(c)+string(v))
		}
	}
	space := string(byteToUnicode[' '])
	for n := 0; len(seen) < vocab; n++ {
		// n -> syllables in base len(syl), at least two syllables.
		var w string
		k := n + len(syl)
		for k > 0 {
			w = syl[k%len(syl)] + w
			k /= len(syl)
		}
		for _, cand := range []string{space + w, w} {
			if len(seen) < vocab && !seen[cand] {
				add(cand)
			}
		}
	}
}
