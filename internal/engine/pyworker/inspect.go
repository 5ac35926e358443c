package pyworker

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Inspect reads the model's context length from a config.json that is
// readable here without Python (a local model folder, or a shape llem
// ships for random_init), for the pre-flight's length checks. The
// tokenizer stays in the worker, so prompt lengths are known exactly only
// for synthetic prompts.
func Inspect(cfg config.ExperimentConfig) engine.ModelFacts {
	var data []byte
	var from string
	if shape, ok := shippedShapes[cfg.Model]; ok {
		data, _ = files.ReadFile(shape + "/config.json")
		from = "llem's " + cfg.Model + " config"
	} else if st, err := os.Stat(cfg.Model); err == nil && st.IsDir() {
		from = filepath.Join(cfg.Model, "config.json")
		data, _ = os.ReadFile(from)
	}
	var hf struct {
		MaxPositionEmbeddings int `json:"max_position_embeddings"`
		NPositions            int `json:"n_positions"`
	}
	if len(data) == 0 || json.Unmarshal(data, &hf) != nil {
		return engine.ModelFacts{}
	}
	ctx := hf.MaxPositionEmbeddings
	if ctx == 0 {
		ctx = hf.NPositions
	}
	return engine.ModelFacts{Context: ctx, ContextFrom: from}
}
