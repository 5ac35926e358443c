package pyworker

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/llenergymeasure/llem/config"
)

// files holds the worker scripts and the model configs llem ships for
// random-init models.
//
//go:embed workers/*.py models
var files embed.FS

// scriptFor names each backend's worker script under workers/.
var scriptFor = map[config.Backend]string{
	config.BackendPyTorch:  "pytorch_worker.py",
	config.BackendVLLM:     "vllm_worker.py",
	config.BackendTensorRT: "tensorrt_worker.py",
}

// shippedShapes maps model names to config folders under models/, so
// `model: llama-3.2-1b` with random_init needs no download.
var shippedShapes = map[string]string{
	"llama-3.2-1b": "models/llama-3.2-1b",
}

// completeMarker is written last, so a half-written folder is never used.
const completeMarker = ".complete"

// WriteScripts writes the embedded worker scripts and shipped model configs
// under root/<hash of their contents>/ (workers/ and models/ inside) and
// returns that folder. An existing complete folder is reused. Empty root
// means os.UserCacheDir()/llem/workers.
func WriteScripts(root string) (string, error) {
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("worker scripts: no cache folder: %w", err)
		}
		root = filepath.Join(cache, "llem", "workers")
	}
	sum, err := contentHash()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, sum)
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("worker scripts: %w", err)
	}
	tmp, err := os.MkdirTemp(root, sum+".tmp-")
	if err != nil {
		return "", fmt.Errorf("worker scripts: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, completeMarker), nil, 0o644)
	}
	if err != nil {
		return "", fmt.Errorf("worker scripts: write to %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another llem process may have written the same folder meanwhile.
		if _, statErr := os.Stat(filepath.Join(dir, completeMarker)); statErr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("worker scripts: %w", err)
	}
	return dir, nil
}

// contentHash identifies the embedded files by their paths and contents.
func contentHash() (string, error) {
	var paths []string
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("worker scripts: %w", err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := files.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("worker scripts: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
