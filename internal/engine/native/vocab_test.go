package native

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReferenceVocabs tokenizes llama.cpp's tokenizer test strings with the
// vocabularies they were made for (vocabulary-only GGUF files) and compares
// with llama.cpp's ids. The files come from the llama.cpp source that
// bench/native/fetch-llamacpp-source.sh puts in .peers (CI runs it); none
// of llama.cpp is committed here. Without it the test is skipped.
func TestReferenceVocabs(t *testing.T) {
	for _, name := range []string{"llama-spm", "gpt-2", "llama-bpe"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("..", "..", "..", ".peers", "llama.cpp", "src", "models", "ggml-vocab-"+name+".gguf")
			if _, err := os.Stat(base); err != nil {
				t.Skipf("%s not found in .peers: run bench/native/fetch-llamacpp-source.sh", name)
			}
			g, err := OpenGGUF(base)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			tok, err := tokenizerFromGGUF(g)
			if err != nil {
				t.Fatal(err)
			}
			inp, err := os.ReadFile(base + ".inp")
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(base + ".out")
			if err != nil {
				t.Fatal(err)
			}
			texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
			if texts[len(texts)-1] == "" {
				texts = texts[:len(texts)-1]
			}
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) != len(texts) {
				t.Fatalf("%d test strings but %d expected lines", len(texts), len(lines))
			}
			fails := 0
			for i, text := range texts {
				var want []int
				for _, f := range strings.Fields(lines[i]) {
					id, err := strconv.Atoi(f)
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, id)
				}
				got := tok.Encode(text)
				if !slices.Equal(got, want) {
					fails++
					t.Errorf("%q: got %v, want %v", text, got, want)
				}
			}
			t.Logf("%d/%d strings match llama.cpp", len(texts)-fails, len(texts))
		})
	}
}
