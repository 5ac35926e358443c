package dataset

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/results"
)

// builtinJSONL is llem's own small set of natural prompts (summarise,
// explain, translate, code, Q&A, creative; short and long), in the jsonl
// format with a "source" field naming the task.
//
//go:embed builtin.jsonl
var builtinJSONL []byte

// builtin returns the embedded prompt set. Its identity is the SHA-256 of
// the embedded file, so a change to the set changes the hash.
func builtin() ([]item, results.DatasetInfo, error) {
	pool, err := parseJSONL("builtin.jsonl", builtinJSONL)
	if err != nil {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset builtin: embedded set is malformed: %w", err)
	}
	sum := sha256.Sum256(builtinJSONL)
	return pool, results.DatasetInfo{Name: config.DatasetBuiltin, SHA256: hex.EncodeToString(sum[:])}, nil
}
