package dataset

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// The AI Energy Score text-generation prompt set: 1,000 prompts drawn
// equally from WikiText, OSCAR and UltraChat, one Parquet file with a single
// "text" column.
const (
	AIEnergyScoreRepo = "AIEnergyScore/text_generation"
	AIEnergyScoreFile = "data/train-00000-of-00001.parquet"
	aiEnergyScoreText = "text"
)

// aiEnergyScore fetches (or finds in the cache) the AI Energy Score set at
// revision (config.DefaultAIEnergyScoreRevision unless the config pins
// another) and reads its prompts in file order.
func aiEnergyScore(ctx context.Context, revision string, opts Options) ([]item, results.DatasetInfo, error) {
	f := hubFile{Repo: AIEnergyScoreRepo, Revision: revision, Filename: AIEnergyScoreFile}
	got, err := newHub(opts).fetch(ctx, f)
	if err != nil {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset %s: %w", config.DatasetAIEnergyScore, err)
	}
	texts, err := readTextColumn(got.Path)
	if err != nil {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset %s: %w", config.DatasetAIEnergyScore, err)
	}
	pool := make([]item, 0, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		pool = append(pool, item{prompt: engine.Prompt{ID: fmt.Sprintf("aienergyscore-%04d", i), Text: t}})
	}
	return pool, results.DatasetInfo{
		Name:     config.DatasetAIEnergyScore,
		Revision: got.Commit,
		SHA256:   got.SHA256,
		Params:   map[string]any{"repo": AIEnergyScoreRepo, "file": AIEnergyScoreFile},
	}, nil
}

// readTextColumn reads the "text" column of a Parquet file, in row order.
// Null values read as empty strings.
func readTextColumn(path string) ([]string, error) {
	const column = aiEnergyScoreText
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
	}
	if _, ok := pf.Schema().Lookup(column); !ok {
		return nil, fmt.Errorf("%s: no %q column (columns: %s)", path, column, columnNames(pf.Schema()))
	}
	type row struct {
		Text *string `parquet:"text,optional"`
	}
	rows, err := parquet.Read[row](f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: read column %q: %w", path, column, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		if r.Text != nil {
			out[i] = *r.Text
		}
	}
	return out, nil
}

func columnNames(s *parquet.Schema) string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name())
	}
	return strings.Join(names, ", ")
}
