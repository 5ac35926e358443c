package native

import (
	"slices"
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
