package dataset

import (
	"slices"
	"testing"

	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/native"
)

// countingTokenizer counts Encode calls and names an identity.
type countingTokenizer struct {
	engine.Tokenizer
	id      string
	encodes int
}

func (c *countingTokenizer) Encode(text string) []int { c.encodes++; return c.Tokenizer.Encode(text) }
func (c *countingTokenizer) Identity() string         { return c.id }

// Two tokenizers of one identity (the pre-flight's and the engine's)
// derive the word list once; another identity, or none, derives its own.
func TestTokenWordsCachedByIdentity(t *testing.T) {
	m, err := native.SynthModel("tiny", 1, native.TypeF32, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := tokenWords(m.Tok)
	id := t.Name() + "-a"
	first, second := &countingTokenizer{Tokenizer: m.Tok, id: id}, &countingTokenizer{Tokenizer: m.Tok, id: id}
	if got := cachedTokenWords(first); !slices.Equal(got, want) || first.encodes == 0 {
		t.Fatalf("first list: %d words (%d encodes), want %d", len(got), first.encodes, len(want))
	}
	if got := cachedTokenWords(second); !slices.Equal(got, want) || second.encodes != 0 {
		t.Errorf("same identity: %d words after %d encodes, want the cached %d words and no encoding", len(got), second.encodes, len(want))
	}
	other := &countingTokenizer{Tokenizer: m.Tok, id: t.Name() + "-b"}
	if cachedTokenWords(other); other.encodes == 0 {
		t.Error("another identity was served the cached list")
	}
	anonymous := &countingTokenizer{Tokenizer: m.Tok}
	if cachedTokenWords(anonymous); anonymous.encodes == 0 {
		t.Error("a tokenizer without an identity was served a cached list")
	}
}
