package native

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// The spec is built once per size; callers get copies they may change.
func TestSynthTokenizerSpecIsSharedAsCopies(t *testing.T) {
	a, err := synthTokenizerSpec(512)
	if err != nil {
		t.Fatal(err)
	}
	first := a.Tokens[200]
	a.Tokens[200], a.Merges[0] = "changed", "changed"
	b, err := synthTokenizerSpec(512)
	if err != nil {
		t.Fatal(err)
	}
	if b.Tokens[200] != first || b.Merges[0] == "changed" || len(b.Tokens) != 512 {
		t.Errorf("second spec saw the first caller's change: %q, %q", b.Tokens[200], b.Merges[0])
	}
	fresh, err := buildSynthTokenizerSpec(512)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fresh.Tokens, b.Tokens) || !slices.Equal(fresh.Merges, b.Merges) || !slices.Equal(fresh.Scores, b.Scores) {
		t.Error("the cached spec differs from a freshly built one")
	}
}

// The synthetic vocabularies are pinned: a change to how merges are learnt
// must not change the tokens and merges (and so the synthetic models).
func TestSynthVocabularyPinned(t *testing.T) {
	for vocab, want := range map[int]string{512: "b56b9baae4732e53", 32000: "ac1ed15abcbd56ac"} {
		s, err := buildSynthTokenizerSpec(vocab)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(strings.Join(s.Tokens, "\x00") + "\x01" + strings.Join(s.Merges, "\x00")))
		if got := hex.EncodeToString(sum[:8]); got != want {
			t.Errorf("vocabulary %d: fingerprint %s, want %s", vocab, got, want)
		}
	}
}

// Tokenizers built from the same spec share an identity; a changed merge,
// token or flag changes it.
func TestTokenizerIdentity(t *testing.T) {
	spec, err := synthTokenizerSpec(512)
	if err != nil {
		t.Fatal(err)
	}
	id := func(s TokenizerSpec) string {
		t.Helper()
		tok, err := NewTokenizer(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Identity()
	}
	base := id(spec)
	if base == "" || id(cloneSpec(spec)) != base {
		t.Fatalf("same spec, identities %q and %q", base, id(cloneSpec(spec)))
	}
	merge := cloneSpec(spec)
	merge.Merges[0], merge.Merges[1] = merge.Merges[1], merge.Merges[0]
	token := cloneSpec(spec)
	token.Tokens[300] += "x"
	flag := cloneSpec(spec)
	flag.AddBOS = !flag.AddBOS
	for name, s := range map[string]TokenizerSpec{"merge order": merge, "token": token, "add_bos": flag} {
		if id(s) == base {
			t.Errorf("%s changed, identity did not", name)
		}
	}
}

// The pre-flight's inspection and the load share one tokenizer per
// synthetic vocabulary size.
func TestSynthTokenizerShared(t *testing.T) {
	m, err := SynthModel("tiny", 1, TypeF32, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := LookupShape("tiny")
	tok, err := synthTokenizer(s.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tok != tok {
		t.Error("SynthModel built its own tokenizer")
	}
}
