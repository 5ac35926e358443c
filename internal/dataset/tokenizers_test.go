package dataset

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
)

// The tokenizers below are small but real: they tokenise any text
// deterministically, the way the two families of LLM tokenizers do, so the
// synthetic generator is tested against both behaviours it must handle.

// testTokenizers are the tokenizers the synthetic-length tests run on: two
// built here, and the native engine's own (its synthetic tiny model).
var testTokenizers = []struct {
	name string
	make func(t *testing.T) engine.Tokenizer
}{
	{"byte-level-bpe", func(t *testing.T) engine.Tokenizer { return trainBPE(t, trainingCorpus(t), 400) }},
	{"sentencepiece-like", func(t *testing.T) engine.Tokenizer { return newSPM(trainingCorpus(t), 300) }},
	{"native-tiny", func(t *testing.T) engine.Tokenizer {
		m, err := native.SynthModel("tiny", 1, native.TypeF32, 1)
		if err != nil {
			t.Fatal(err)
		}
		return m.Tok
	}},
}

// trainingCorpus is the text of the embedded builtin prompts.
func trainingCorpus(t testing.TB) string {
	t.Helper()
	var sb strings.Builder
	for _, line := range bytes.Split(builtinJSONL, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec struct{ Prompt string }
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("builtin.jsonl: %v", err)
		}
		sb.WriteString(rec.Prompt)
		sb.WriteString("\n")
	}
	return sb.String()
}

// bpe is a GPT-2-style byte-level BPE: text is split into pre-tokens (a
// word with its leading space, a number, a punctuation run, whitespace),
// each pre-token starts as bytes and merges are applied by rank.
type bpe struct {
	pieces [][]byte       // id -> bytes
	ranks  map[[2]int]int // pair -> merge rank
	merged map[[2]int]int // pair -> merged id
	cache  map[string][]int
}

var preTokenRE = regexp.MustCompile(` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+`)

func trainBPE(t testing.TB, corpus string, merges int) *bpe {
	t.Helper()
	b := &bpe{ranks: map[[2]int]int{}, merged: map[[2]int]int{}, cache: map[string][]int{}}
	for i := range 256 {
		b.pieces = append(b.pieces, []byte{byte(i)})
	}
	freq := map[string]int{}
	for _, w := range preTokenRE.FindAllString(corpus, -1) {
		freq[w]++
	}
	words := make([]string, 0, len(freq))
	for w := range freq {
		words = append(words, w)
	}
	sort.Strings(words)
	seqs := make([][]int, len(words))
	for i, w := range words {
		for _, c := range []byte(w) {
			seqs[i] = append(seqs[i], int(c))
		}
	}
	for r := range merges {
		counts := map[[2]int]int{}
		for i, s := range seqs {
			for j := 0; j+1 < len(s); j++ {
				counts[[2]int{s[j], s[j+1]}] += freq[words[i]]
			}
		}
		best, bestN := [2]int{}, 0
		for p, n := range counts {
			if n > bestN || (n == bestN && (p[0] < best[0] || (p[0] == best[0] && p[1] < best[1]))) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		id := len(b.pieces)
		b.pieces = append(b.pieces, append(append([]byte{}, b.pieces[best[0]]...), b.pieces[best[1]]...))
		b.ranks[best], b.merged[best] = r, id
		for i, s := range seqs {
			seqs[i] = mergePair(s, best, id)
		}
	}
	b.pieces = append(b.pieces, []byte("<s>"), []byte("</s>"))
	return b
}

func mergePair(s []int, p [2]int, id int) []int {
	out := s[:0:0]
	for j := 0; j < len(s); j++ {
		if j+1 < len(s) && s[j] == p[0] && s[j+1] == p[1] {
			out = append(out, id)
			j++
			continue
		}
		out = append(out, s[j])
	}
	return out
}

func (b *bpe) Encode(text string) []int {
	var ids []int
	for _, w := range preTokenRE.FindAllString(text, -1) {
		if c, ok := b.cache[w]; ok {
			ids = append(ids, c...)
			continue
		}
		var s []int
		for _, c := range []byte(w) {
			s = append(s, int(c))
		}
		for len(s) > 1 {
			best, bestRank := [2]int{}, -1
			for j := 0; j+1 < len(s); j++ {
				p := [2]int{s[j], s[j+1]}
				if r, ok := b.ranks[p]; ok && (bestRank < 0 || r < bestRank) {
					best, bestRank = p, r
				}
			}
			if bestRank < 0 {
				break
			}
			s = mergePair(s, best, b.merged[best])
		}
		b.cache[w] = s
		ids = append(ids, s...)
	}
	return ids
}

func (b *bpe) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(b.TokenText(id))
	}
	return sb.String()
}

func (b *bpe) TokenText(id int) string { return string(b.pieces[id]) }
func (b *bpe) VocabSize() int          { return len(b.pieces) }
func (b *bpe) BOS() int                { return len(b.pieces) - 2 }
func (b *bpe) EOS() int                { return len(b.pieces) - 1 }

// spm behaves like a llama SentencePiece tokenizer as llama.cpp runs it:
// spaces become "▁", a "▁" is prepended to the text, and the text is cut
// into the longest pieces of the vocabulary (whole words with their "▁",
// then single bytes as fallback).
type spm struct {
	pieces []string // id -> piece ("▁" for space)
	ids    map[string]int
	maxLen int
}

const spmSpace = "▁"

func newSPM(corpus string, words int) *spm {
	s := &spm{ids: map[string]int{}}
	add := func(p string) {
		if _, ok := s.ids[p]; !ok {
			s.ids[p] = len(s.pieces)
			s.pieces = append(s.pieces, p)
			s.maxLen = max(s.maxLen, len(p))
		}
	}
	add("<unk>")
	add("<s>")
	add("</s>")
	add(spmSpace)
	for i := range 256 {
		add(string([]byte{byte(i)}))
	}
	freq := map[string]int{}
	for _, w := range regexp.MustCompile(`\p{L}+`).FindAllString(strings.ToLower(corpus), -1) {
		freq[w]++
	}
	ws := make([]string, 0, len(freq))
	for w := range freq {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool { return freq[ws[i]] > freq[ws[j]] || (freq[ws[i]] == freq[ws[j]] && ws[i] < ws[j]) })
	for _, w := range ws[:min(words, len(ws))] {
		add(spmSpace + w)
	}
	return s
}

func (s *spm) Encode(text string) []int {
	norm := spmSpace + strings.ReplaceAll(text, " ", spmSpace)
	var ids []int
	for len(norm) > 0 {
		for l := min(s.maxLen, len(norm)); l >= 1; l-- {
			if id, ok := s.ids[norm[:l]]; ok && id > 2 {
				ids = append(ids, id)
				norm = norm[l:]
				break
			}
		}
	}
	return ids
}

func (s *spm) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(s.pieces[id])
	}
	return strings.TrimPrefix(strings.ReplaceAll(sb.String(), spmSpace, " "), " ")
}

func (s *spm) TokenText(id int) string { return strings.ReplaceAll(s.pieces[id], spmSpace, " ") }
func (s *spm) VocabSize() int          { return len(s.pieces) }
func (s *spm) BOS() int                { return 1 }
func (s *spm) EOS() int                { return 2 }

// TestTestTokenizersRoundTrip checks the test tokenizers themselves: text
// survives encode/decode, and encoding is deterministic.
func TestTestTokenizersRoundTrip(t *testing.T) {
	texts := []string{"Explain the difference between energy and power.", "  two  spaces, and 42 numbers!\n\tend"}
	for _, tc := range testTokenizers {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.make(t)
			for _, text := range texts {
				ids := tok.Encode(text)
				if got := tok.Decode(ids); got != text {
					t.Errorf("Decode(Encode(%q)) = %q", text, got)
				}
				if again := tok.Encode(text); !slices.Equal(ids, again) {
					t.Errorf("Encode(%q) not deterministic", text)
				}
			}
		})
	}
}
