// Package digest computes the SHA-256 of files that are part of an
// experiment's identity (model files, dataset files), streamed, and caches
// it by absolute path, size and modification time, so a multi-gigabyte
// GGUF is read once, not once per run.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// cacheEntry is one remembered digest.
type cacheEntry struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256"`
}

var mu sync.Mutex

// racyWindow is how long after its last change a file's digest is not
// cached.
const racyWindow = 2 * time.Second

// CachePath is the cache file; empty disables the on-disk cache. Tests
// point it elsewhere.
var CachePath = defaultCachePath()

func defaultCachePath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "llem", "sha256-cache.json")
}

// File returns the hex SHA-256 of the file at path. A cached digest is used
// only while the file's size and modification time are unchanged.
func File(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	mu.Lock()
	defer mu.Unlock()
	cache := load()
	if e, ok := cache[abs]; ok && e.Size == st.Size() && e.MtimeNs == st.ModTime().UnixNano() {
		return e.SHA256, nil
	}
	sum, err := stream(abs)
	if err != nil {
		return "", err
	}
	// Stat again: a file rewritten while it was read is not cached, nor
	// one modified moments ago, which a same-size rewrite within the
	// file system's timestamp granularity could not be told from (git's
	// "racy" entries).
	if st2, err := os.Stat(abs); err == nil && st2.Size() == st.Size() && st2.ModTime().Equal(st.ModTime()) && time.Since(st.ModTime()) > racyWindow {
		cache[abs] = cacheEntry{Size: st.Size(), MtimeNs: st.ModTime().UnixNano(), SHA256: sum}
		save(cache)
	}
	return sum, nil
}

func stream(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// load reads the cache; a missing or damaged cache is an empty one.
func load() map[string]cacheEntry {
	out := map[string]cacheEntry{}
	if CachePath == "" {
		return out
	}
	if data, err := os.ReadFile(CachePath); err == nil {
		_ = json.Unmarshal(data, &out)
	}
	return out
}

// save writes the cache atomically; failing to is harmless (the digest is
// computed again next time).
func save(cache map[string]cacheEntry) {
	if CachePath == "" {
		return
	}
	for p := range cache { // forget files that are gone (temporary ones)
		if _, err := os.Stat(p); err != nil {
			delete(cache, p)
		}
	}
	data, err := json.Marshal(cache)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(CachePath), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(CachePath), ".sha256-cache-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	_ = os.Rename(tmp.Name(), CachePath)
}
