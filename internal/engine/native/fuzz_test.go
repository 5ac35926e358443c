package native

import (
	"bytes"
	"testing"
)

// FuzzGGUF feeds damaged GGUF files (truncated downloads, flipped bytes) to
// the reader and the model loader: each must fail with an error, never
// panic or allocate without bound.
func FuzzGGUF(f *testing.F) {
	for _, typ := range []GGMLType{TypeF32, TypeQ8_0} {
		s, _ := LookupShape("tiny")
		var buf bytes.Buffer
		if err := synthesizeShapeGGUF(&buf, s, 1, typ); err != nil {
			f.Fatal(err)
		}
		b := buf.Bytes()
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:200])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGGUF(data)
		if err != nil {
			return
		}
		if m, err := modelFromGGUF(g); err == nil {
			m.Close()
		}
	})
}
