package report

import (
	"os"
	"testing"
)

func TestZZReal(t *testing.T) {
	s, err := Load(os.Getenv("REAL_STUDY"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(os.Stdout, rep); err != nil {
		t.Fatal(err)
	}
}
