package native

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token types of tokenizer.ggml.token_type.
const (
	tokNormal      = 1
	tokUnknown     = 2
	tokControl     = 3
	tokUserDefined = 4
	tokUnused      = 5
	tokByte        = 6
)

// Tokenizer is a GGUF-described tokenizer: SentencePiece-style ("llama":
// score-ranked merges with byte fallback) or byte-level BPE ("gpt2": ranked
// merges over GPT-2's byte-to-unicode alphabet). It implements
// engine.Tokenizer.
type Tokenizer struct {
	model  string // "llama" or "gpt2"
	pre    string // pre-tokenizer for gpt2: "gpt-2" or "llama3"
	tokens []string
	ids    map[string]int
	scores []float32
	types  []int32
	ranks  map[string]int // "left right" -> merge rank (gpt2)

	bos, eos, unk  int
	addBOS         bool
	addSpacePrefix bool
	byteTok        [256]int // llama byte-fallback tokens <0xXX>, -1 if absent
	identity       string   // SHA-256 of the spec (engine.TokenizerIdentity)
}

// TokenizerSpec is the data of a tokenizer, as stored in GGUF metadata.
type TokenizerSpec struct {
	Model          string // tokenizer.ggml.model: "llama" or "gpt2"
	Pre            string // tokenizer.ggml.pre
	Tokens         []string
	Scores         []float32
	Types          []int32
	Merges         []string
	BOS, EOS, UNK  int
	AddBOS         bool
	AddSpacePrefix bool
}

// NewTokenizer validates a spec and builds its tokenizer.
func NewTokenizer(s TokenizerSpec) (*Tokenizer, error) {
	if len(s.Tokens) == 0 {
		return nil, fmt.Errorf("tokenizer has no tokens")
	}
	t := &Tokenizer{
		model: s.Model, pre: s.Pre, tokens: s.Tokens, scores: s.Scores, types: s.Types,
		ids: make(map[string]int, len(s.Tokens)), bos: s.BOS, eos: s.EOS, unk: s.UNK,
		addBOS: s.AddBOS, addSpacePrefix: s.AddSpacePrefix,
	}
	if t.types == nil {
		t.types = make([]int32, len(s.Tokens))
		for i := range t.types {
			t.types[i] = tokNormal
		}
	}
	if len(t.types) != len(t.tokens) || (t.scores != nil && len(t.scores) != len(t.tokens)) {
		return nil, fmt.Errorf("tokenizer arrays disagree: %d tokens, %d types, %d scores", len(t.tokens), len(t.types), len(t.scores))
	}
	for i, tok := range s.Tokens {
		if j, dup := t.ids[tok]; dup {
			return nil, fmt.Errorf("tokenizer has duplicate token %q (ids %d and %d)", tok, j, i)
		}
		t.ids[tok] = i
	}
	for i := range t.byteTok {
		t.byteTok[i] = -1
	}
	switch s.Model {
	case "llama":
		if t.scores == nil {
			return nil, fmt.Errorf("llama (SentencePiece) tokenizer needs tokenizer.ggml.scores")
		}
		for b := 0; b < 256; b++ {
			if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteTok[b] = id
			}
		}
	case "gpt2":
		t.ranks = make(map[string]int, len(s.Merges))
		for i, m := range s.Merges {
			if strings.Count(m, " ") != 1 {
				return nil, fmt.Errorf("bad merge %d %q: want two symbols separated by one space", i, m)
			}
			t.ranks[m] = i
		}
	default:
		return nil, fmt.Errorf("unsupported tokenizer model %q (supported: llama, gpt2)", s.Model)
	}
	for _, id := range []int{t.bos, t.eos} {
		if id >= len(t.tokens) {
			return nil, fmt.Errorf("special token id %d out of range (vocab %d)", id, len(t.tokens))
		}
	}
	t.identity = specIdentity(s)
	return t, nil
}

// specIdentity hashes everything in the spec that the tokenizer's
// behaviour depends on, each field length-prefixed.
func specIdentity(s TokenizerSpec) string {
	h := sha256.New()
	var buf [8]byte
	num := func(v int) {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	str := func(v string) {
		num(len(v))
		h.Write([]byte(v))
	}
	str(s.Model)
	str(s.Pre)
	for _, list := range [][]string{s.Tokens, s.Merges} {
		num(len(list))
		for _, v := range list {
			str(v)
		}
	}
	num(len(s.Scores))
	for _, v := range s.Scores {
		num(int(math.Float32bits(v)))
	}
	num(len(s.Types))
	for _, v := range s.Types {
		num(int(v))
	}
	flag := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	for _, v := range []int{s.BOS, s.EOS, s.UNK, flag(s.AddBOS), flag(s.AddSpacePrefix)} {
		num(v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Identity names the tokenizer's behaviour (engine.TokenizerIdentity): a
// hash of its vocabulary, scores, types, merges and special tokens.
func (t *Tokenizer) Identity() string { return t.identity }

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS is the beginning-of-sequence id the engine prepends, -1 if the model
// does not want one.
func (t *Tokenizer) BOS() int {
	if !t.addBOS {
		return -1
	}
	return t.bos
}

// EOS is the end-of-sequence id, -1 if none.
func (t *Tokenizer) EOS() int { return t.eos }

// isEOG reports whether id ends generation.
func (t *Tokenizer) isEOG(id int) bool { return id == t.eos && id >= 0 }

// Encode tokenizes text without adding BOS.
func (t *Tokenizer) Encode(text string) []int {
	if text == "" {
		return nil
	}
	if t.model == "llama" {
		return t.encodeSPM(text)
	}
	var out []int
	for _, w := range splitWords(text, t.pre) {
		out = t.encodeBPEWord(w, out)
	}
	return out
}

// Decode turns ids back into text. Control tokens decode to nothing.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			continue
		}
		s := t.pieceText(id)
		if i == 0 && t.model == "llama" && t.addSpacePrefix {
			s = strings.TrimPrefix(s, " ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// TokenText is Decode([]int{id}).
func (t *Tokenizer) TokenText(id int) string { return t.Decode([]int{id}) }

// pieceText is the raw text (bytes) of one token.
func (t *Tokenizer) pieceText(id int) string {
	switch t.types[id] {
	case tokControl, tokUnused:
		return ""
	case tokUnknown:
		return "\uFFFD"
	}
	tok := t.tokens[id]
	if t.model == "llama" {
		if t.types[id] == tokByte && len(tok) == 6 {
			var b byte
			if _, err := fmt.Sscanf(tok, "<0x%02X>", &b); err == nil {
				return string([]byte{b})
			}
		}
		return strings.ReplaceAll(tok, "\u2581", " ")
	}
	if t.types[id] == tokUserDefined {
		return tok
	}
	buf := make([]byte, 0, len(tok))
	for _, r := range tok {
		if b, ok := unicodeToByte[r]; ok {
			buf = append(buf, b)
		} else {
			buf = utf8.AppendRune(buf, r)
		}
	}
	return string(buf)
}

// encodeSPM is SentencePiece BPE as llama.cpp runs it: start from UTF-8
// characters, repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring token (leftmost on ties), then map leftover symbols to
// tokens or to byte-fallback tokens.
func (t *Tokenizer) encodeSPM(text string) []int {
	s := strings.ReplaceAll(text, " ", "\u2581")
	if t.addSpacePrefix {
		s = "\u2581" + s
	}
	var sym []string
	for _, r := range s {
		sym = append(sym, string(r))
	}
	for len(sym) > 1 {
		best, bestScore := -1, float32(0)
		for i := 0; i+1 < len(sym); i++ {
			if id, ok := t.ids[sym[i]+sym[i+1]]; ok {
				if best < 0 || t.scores[id] > bestScore {
					best, bestScore = i, t.scores[id]
				}
			}
		}
		if best < 0 {
			break
		}
		sym[best] += sym[best+1]
		sym = append(sym[:best+1], sym[best+2:]...)
	}
	var out []int
	for _, p := range sym {
		if id, ok := t.ids[p]; ok {
			out = append(out, id)
			continue
		}
		for i := 0; i < len(p); i++ {
			if id := t.byteTok[p[i]]; id >= 0 {
				out = append(out, id)
			} else if t.unk >= 0 {
				out = append(out, t.unk)
			}
		}
	}
	return out
}

// encodeBPEWord applies ranked merges to one pre-tokenized word.
// Llama 3 vocabularies ignore merges for words that are whole tokens, as
// llama.cpp and Hugging Face's ignore_merges do.
func (t *Tokenizer) encodeBPEWord(word string, out []int) []int {
	var sym []string
	for i := 0; i < len(word); i++ {
		sym = append(sym, string(byteToUnicode[word[i]]))
	}
	if isLlama3Pre(t.pre) {
		if id, ok := t.ids[strings.Join(sym, "")]; ok {
			return append(out, id)
		}
	}
	for len(sym) > 1 {
		best, bestRank := -1, 0
		for i := 0; i+1 < len(sym); i++ {
			if r, ok := t.ranks[sym[i]+" "+sym[i+1]]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		sym[best] += sym[best+1]
		sym = append(sym[:best+1], sym[best+2:]...)
	}
	for _, p := range sym {
		if id, ok := t.ids[p]; ok {
			out = append(out, id)
			continue
		}
		for _, r := range p {
			if id, ok := t.ids[string(r)]; ok {
				out = append(out, id)
			} else if t.unk >= 0 {
				out = append(out, t.unk)
			}
		}
	}
	return out
}

// byteToUnicode is GPT-2's reversible map from bytes to printable runes.
var byteToUnicode, unicodeToByte = gpt2ByteMaps()

func gpt2ByteMaps() ([256]rune, map[rune]byte) {
	var b2u [256]rune
	u2b := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		r := rune(b)
		if !printable {
			r = rune(256 + n)
			n++
		}
		b2u[b] = r
		u2b[r] = byte(b)
	}
	return b2u, u2b
}

func isLlama3Pre(pre string) bool {
	return pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3"
}

// splitWords pre-tokenizes text the way byte-level BPE models do: GPT-2's
// pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// or, for "llama3"/"llama-bpe", Llama 3's variant (case-insensitive
// contractions, an optional non-letter prefix on words, numbers in runs of
// at most three, newlines kept with punctuation).
func splitWords(text, pre string) []string {
	llama3 := isLlama3Pre(pre)
	rs := []rune(text)
	n := len(rs)
	var out []string
	isL := func(i int) bool { return i < n && unicode.IsLetter(rs[i]) }
	isN := func(i int) bool { return i < n && unicode.IsNumber(rs[i]) }
	isS := func(i int) bool { return i < n && unicode.IsSpace(rs[i]) }
	isP := func(i int) bool { return i < n && !isL(i) && !isN(i) && !isS(i) }
	for i := 0; i < n; {
		emit := func(j int) { out = append(out, string(rs[i:j])); i = j }
		if rs[i] == '\'' && i+1 < n {
			c1 := rs[i+1]
			if llama3 {
				c1 = unicode.ToLower(c1)
			}
			if c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd' {
				emit(i + 2)
				continue
			}
			if i+2 < n {
				c2 := rs[i+2]
				if llama3 {
					c2 = unicode.ToLower(c2)
				}
				if (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') {
					emit(i + 3)
					continue
				}
			}
		}
		if llama3 {
			// [^\r\n\p{L}\p{N}]?\p{L}+
			j := i
			if !isL(j) && !isN(j) && rs[j] != '\r' && rs[j] != '\n' && isL(j+1) {
				j++
			}
			if isL(j) {
				for isL(j) {
					j++
				}
				emit(j)
				continue
			}
			if isN(i) { // \p{N}{1,3}
				j := i
				for isN(j) && j-i < 3 {
					j++
				}
				emit(j)
				continue
			}
			// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
			j = i
			if rs[j] == ' ' && isP(j+1) {
				j++
			}
			if isP(j) {
				for isP(j) {
					j++
				}
				for j < n && (rs[j] == '\r' || rs[j] == '\n') {
					j++
				}
				emit(j)
				continue
			}
			// \s*[\r\n]+
			j = i
			lastNL := -1
			for isS(j) {
				if rs[j] == '\r' || rs[j] == '\n' {
					lastNL = j
				}
				j++
			}
			if lastNL >= 0 {
				emit(lastNL + 1)
				continue
			}
		} else {
			j := i
			if rs[j] == ' ' && j+1 < n && !isS(j+1) {
				j++
			}
			switch {
			case isL(j):
				for isL(j) {
					j++
				}
				emit(j)
				continue
			case isN(j):
				for isN(j) {
					j++
				}
				emit(j)
				continue
			case isP(j):
				for isP(j) {
					j++
				}
				emit(j)
				continue
			}
		}
		// \s+(?!\S)|\s+
		j := i
		for isS(j) {
			j++
		}
		if j == i { // cannot happen: every rune is L, N, P or S
			j = i + 1
		}
		if j < n && j-i > 1 {
			j--
		}
		emit(j)
	}
	return out
}
