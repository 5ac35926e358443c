package digest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileCachedByPathSizeMtime(t *testing.T) {
	CachePath = filepath.Join(t.TempDir(), "cache.json")
	p := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := File(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(CachePath); err == nil {
		t.Fatal("a file changed moments ago was cached")
	}
	earlier := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, earlier, earlier); err != nil {
		t.Fatal(err)
	}
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got, err := File(p); err != nil || got != abc {
		t.Fatalf("File = %q, %v; want sha256(abc)", got, err)
	}
	if _, err := os.Stat(CachePath); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	// Same size, new content and mtime: the cache must not answer.
	if err := os.WriteFile(p, []byte("abd"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := File(p); got == abc {
		t.Fatal("changed file got the cached digest")
	}
	if _, err := File(filepath.Dir(p)); err == nil {
		t.Error("a directory was digested")
	}
}
