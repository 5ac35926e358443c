package native

import (
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
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
// pair's text, until every corpus word is one token), then unique
// pseudo-word tokens to fill the vocabulary. Every
// token decodes to valid UTF-8 and no token string repeats, so llama.cpp
// accepts the vocabulary. Bytes outside ASCII encode as <unk>.
//
// Training the merges takes milliseconds (tens under load) and a run asks
// for the same vocabulary twice, at pre-flight and at load: the spec is
// built once per vocabulary size and process, and each caller gets its own
// copy.
func synthTokenizerSpec(vocab int) (TokenizerSpec, error) {
	if v, ok := synthSpecs.Load(vocab); ok {
		return cloneSpec(v.(TokenizerSpec)), nil
	}
	spec, err := buildSynthTokenizerSpec(vocab)
	if err != nil {
		return spec, err
	}
	synthSpecs.Store(vocab, spec)
	return cloneSpec(spec), nil
}

// synthSpecs holds the synthetic vocabularies built so far, by size.
var synthSpecs sync.Map

// synthTokenizer is the tokenizer of synthTokenizerSpec(vocab), built once
// per size and process (a 32,000-token vocabulary takes milliseconds to
// index): a Tokenizer never changes after NewTokenizer, so one serves the
// pre-flight, the load and every model of that size.
func synthTokenizer(vocab int) (*Tokenizer, error) {
	if v, ok := synthTokenizers.Load(vocab); ok {
		return v.(*Tokenizer), nil
	}
	spec, err := synthTokenizerSpec(vocab)
	if err != nil {
		return nil, err
	}
	tok, err := NewTokenizer(spec)
	if err != nil {
		return nil, err
	}
	v, _ := synthTokenizers.LoadOrStore(vocab, tok)
	return v.(*Tokenizer), nil
}

var synthTokenizers sync.Map

func cloneSpec(s TokenizerSpec) TokenizerSpec {
	s.Tokens, s.Scores, s.Types, s.Merges = slices.Clone(s.Tokens), slices.Clone(s.Scores), slices.Clone(s.Types), slices.Clone(s.Merges)
	return s
}

func buildSynthTokenizerSpec(vocab int) (TokenizerSpec, error) {
	const base = 3 + 128
	if vocab < base {
		return TokenizerSpec{}, fmt.Errorf("synthetic vocabulary needs at least %d tokens, got %d", base, vocab)
	}
	spec := TokenizerSpec{
		Model: "gpt2", Pre: "gpt-2", BOS: synthBOS, EOS: synthEOS, UNK: synthUNK, AddBOS: true,
		Tokens: append(make([]string, 0, vocab), "<unk>", "<s>", "</s>"),
		Types:  append(make([]int32, 0, vocab), tokUnknown, tokControl, tokControl),
	}
	seen := make(map[string]bool, vocab)
	for _, s := range spec.Tokens {
		seen[s] = true
	}
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
// and returns the merges in rank order. Symbols are interned as ints and
// pair counts are updated only for the words a merge touches.
func trainMerges(corpus string, budget int, seen map[string]bool, add func(string)) []string {
	counts := map[string]int{}
	for _, w := range splitWords(corpus, "gpt-2") {
		counts[w]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var names []string
	intern := map[string]int{}
	sym := func(s string) int {
		id, ok := intern[s]
		if !ok {
			id = len(names)
			intern[s] = id
			names = append(names, s)
		}
		return id
	}
	type word struct {
		sym []int
		n   int
	}
	var words []word
	for _, k := range keys {
		if strings.IndexFunc(k, func(r rune) bool { return r >= 128 }) >= 0 {
			continue // only ASCII enters the vocabulary
		}
		w := word{n: counts[k]}
		for i := 0; i < len(k); i++ {
			w.sym = append(w.sym, sym(string(byteToUnicode[k[i]])))
		}
		words = append(words, w)
	}
	// Pair counts live in a dense slice, indexed through slot: the best
	// pair is found by a scan of the slice, not of a map, once per merge.
	type pair struct{ a, b int }
	slot := map[pair]int{}
	var pairKeys []pair
	var pairCounts []int
	count := func(w word, sign int) {
		for i := 0; i+1 < len(w.sym); i++ {
			p := pair{w.sym[i], w.sym[i+1]}
			j, ok := slot[p]
			if !ok {
				j = len(pairKeys)
				slot[p] = j
				pairKeys = append(pairKeys, p)
				pairCounts = append(pairCounts, 0)
			}
			pairCounts[j] += sign * w.n
		}
	}
	for _, w := range words {
		count(w, 1)
	}
	var merges []string
	for added := 0; added < budget; {
		var best pair
		bestN := 0
		for j, n := range pairCounts {
			if n <= 0 {
				continue
			}
			// Ties go to the smaller "a b" text; no symbol contains a byte
			// below '!', so comparing (a, b) as a tuple is the same order.
			p := pairKeys[j]
			if n > bestN || (n == bestN && (names[p.a] < names[best.a] || names[p.a] == names[best.a] && names[p.b] < names[best.b])) {
				best, bestN = p, n
			}
		}
		if bestN == 0 {
			break
		}
		text := names[best.a] + names[best.b]
		merged := sym(text)
		merges = append(merges, names[best.a]+" "+names[best.b])
		if !seen[text] {
			add(text)
			added++
		}
		for wi := range words {
			w := words[wi]
			hit := false
			for i := 0; i+1 < len(w.sym); i++ {
				if w.sym[i] == best.a && w.sym[i+1] == best.b {
					hit = true
					break
				}
			}
			if !hit {
				continue
			}
			count(w, -1)
			out := make([]int, 0, len(w.sym))
			for i := 0; i < len(w.sym); i++ {
				if i+1 < len(w.sym) && w.sym[i] == best.a && w.sym[i+1] == best.b {
					out = append(out, merged)
					i++
				} else {
					out = append(out, w.sym[i])
				}
			}
			words[wi].sym = out
			count(words[wi], 1)
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
