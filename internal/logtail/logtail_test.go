package logtail

import (
	"bytes"
	"testing"
)

func TestBufferKeepsTailAndCopiesLog(t *testing.T) {
	var log bytes.Buffer
	b := New(5, &log)
	for _, s := range []string{"hello ", "wor", "ld"} {
		if n, err := b.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "world" {
		t.Errorf("tail %q, want %q", got, "world")
	}
	if log.String() != "hello world" {
		t.Errorf("log %q", log.String())
	}
}
