package harness

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

func TestBatchesOf(t *testing.T) {
	var prompts []engine.Prompt
	for i, n := range []int{3, 9, 1, 9, 5, 2, 7} {
		prompts = append(prompts, engine.Prompt{ID: fmt.Sprint("p", i), Text: strings.Repeat("é", n)})
	}
	ids := func(bs [][]engine.Prompt) string {
		var parts []string
		for _, b := range bs {
			var ps []string
			for _, p := range b {
				ps = append(ps, p.ID)
			}
			parts = append(parts, strings.Join(ps, ","))
		}
		return strings.Join(parts, " | ")
	}
	if got := ids(batchesOf(prompts, 3, BatchingStatic)); got != "p0,p1,p2 | p3,p4,p5 | p6" {
		t.Errorf("static: %s", got)
	}
	// Longest first by characters (not bytes), ties in dataset order.
	if got := ids(batchesOf(prompts, 3, BatchingDynamic)); got != "p1,p3,p6 | p4,p0,p5 | p2" {
		t.Errorf("dynamic: %s", got)
	}
	if prompts[0].ID != "p0" || prompts[1].ID != "p1" {
		t.Error("dynamic batching reordered the caller's prompts")
	}
	tok := []engine.Prompt{{ID: "a", Text: "long text but few tokens", Tokens: []int{1}}, {ID: "b", Text: "x", Tokens: []int{1, 2, 3}}}
	if got := ids(batchesOf(tok, 1, BatchingDynamic)); got != "b | a" {
		t.Errorf("token counts should win over text length: %s", got)
	}
	if got := ids(batchesOf(prompts[:2], 0, BatchingStatic)); got != "p0 | p1" {
		t.Errorf("batch size 0 is taken as 1: %s", got)
	}
}

func TestBatchingOf(t *testing.T) {
	dyn := BatchingDynamic
	if got := batchingOf(config.ExperimentConfig{Backend: config.BackendPyTorch, PyTorch: &config.PyTorchConfig{BatchingStrategy: &dyn}}); got != BatchingDynamic {
		t.Errorf("pytorch dynamic: %s", got)
	}
	if got := batchingOf(config.ExperimentConfig{Backend: config.BackendNative}); got != BatchingStatic {
		t.Errorf("native: %s", got)
	}
}
