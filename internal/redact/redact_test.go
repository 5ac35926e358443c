package redact

import (
	"bytes"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New("sk-abc123", "", `k"ey/1`)
	for _, tc := range []struct{ in, want string }{
		{"Authorization: Bearer sk-abc123", "Authorization: Bearer " + Mask},
		{`{"echo":"Bearer k\"ey/1"}`, `{"echo":"Bearer ` + Mask + `"}`},
		{"nothing here", "nothing here"},
	} {
		if got := r.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilR *Redactor
	if nilR.String("sk-abc123") != "sk-abc123" || !nilR.Empty() {
		t.Error("a nil Redactor must pass text through")
	}
}

// TestWriterSplitSecret writes the secret cut across writes, in lines and
// in one line longer than the buffer.
func TestWriterSplitSecret(t *testing.T) {
	secret := "sk-0123456789"
	r := New(secret)
	var out bytes.Buffer
	w := r.Writer(&out)
	for _, chunk := range []string{"line one sk-01", "23456789 end\nsecond ", "sk-0123", "456789"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("x", maxLine) + secret + strings.Repeat("y", 10)
	for i := 0; i < len(long); i += 1000 {
		_, _ = w.Write([]byte(long[i:min(i+1000, len(long))]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "0123456789") {
		t.Fatalf("secret leaked: %q", got[:min(200, len(got))])
	}
	if want := "line one " + Mask + " end\nsecond " + Mask; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want prefix %q", got[:min(len(got), 80)], want)
	}
	if n := strings.Count(got, Mask); n != 3 {
		t.Errorf("%d masks, want 3", n)
	}
}
