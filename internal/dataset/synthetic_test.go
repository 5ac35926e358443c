package dataset

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

func loadSynthetic(t *testing.T, cfg config.DatasetConfig, n int, tok engine.Tokenizer) *Set {
	t.Helper()
	cfg.Name = config.DatasetSynthetic
	set, err := Load(context.Background(), cfg, n, tok, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(set.Prompts) != n {
		t.Fatalf("got %d prompts, want %d", len(set.Prompts), n)
	}
	return set
}

// checkExact asserts the contract engines rely on: Tokens are the ids of
// Text (BOS excluded) and there are exactly want of them.
func checkExact(t *testing.T, tok engine.Tokenizer, p engine.Prompt, want int) {
	t.Helper()
	if len(p.Tokens) != want {
		t.Errorf("%s: %d tokens, want %d", p.ID, len(p.Tokens), want)
	}
	if enc := tok.Encode(p.Text); !slices.Equal(enc, p.Tokens) {
		t.Errorf("%s: Encode(Text) gives %d tokens that differ from Tokens (%d)", p.ID, len(enc), len(p.Tokens))
	}
	for _, id := range p.Tokens {
		if id == tok.BOS() || id == tok.EOS() {
			t.Errorf("%s: holds special token %d", p.ID, id)
		}
	}
}

func TestSyntheticExactInputLength(t *testing.T) {
	for _, tc := range testTokenizers {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.make(t)
			for _, length := range []int{1, 2, 3, 17, 128, 512, 2048} {
				set := loadSynthetic(t, config.DatasetConfig{InputLen: length, OutputLen: 64, Seed: 7}, 4, tok)
				for _, p := range set.Prompts {
					checkExact(t, tok, p, length)
					if p.MaxNewTokens != 64 {
						t.Errorf("%s: MaxNewTokens %d, want 64", p.ID, p.MaxNewTokens)
					}
				}
				if set.Info.Params["exact_input_len"] != true || set.Info.Params["input_len"] != length {
					t.Errorf("params %v", set.Info.Params)
				}
			}
		})
	}
}

func TestSyntheticDistributions(t *testing.T) {
	tok := testTokenizers[0].make(t)
	cases := []struct {
		name     string
		in, out  *config.LengthDist
		min, max int
	}{
		{"uniform", &config.LengthDist{Kind: "uniform", Min: 10, Max: 40}, &config.LengthDist{Kind: "uniform", Min: 5, Max: 9}, 10, 40},
		{"normal-clamped", &config.LengthDist{Kind: "normal", Min: 20, Max: 30, Mean: 25, Std: 50}, &config.LengthDist{Kind: "normal", Min: 1, Max: 3, Std: 1}, 20, 30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := loadSynthetic(t, config.DatasetConfig{InputLenDist: tc.in, OutputLenDist: tc.out, Seed: 3}, 40, tok)
			seen := map[int]bool{}
			for _, p := range set.Prompts {
				n := len(p.Tokens)
				if n < tc.min || n > tc.max {
					t.Errorf("%s: input length %d outside [%d, %d]", p.ID, n, tc.min, tc.max)
				}
				checkExact(t, tok, p, n)
				if p.MaxNewTokens < tc.out.Min || p.MaxNewTokens > tc.out.Max {
					t.Errorf("%s: output length %d outside [%d, %d]", p.ID, p.MaxNewTokens, tc.out.Min, tc.out.Max)
				}
				seen[n] = true
			}
			if len(seen) < 3 {
				t.Errorf("only %d distinct input lengths in 40 draws", len(seen))
			}
			if _, ok := set.Info.Params["input_len_dist"]; !ok {
				t.Errorf("params lack input_len_dist: %v", set.Info.Params)
			}
		})
	}
	// A std of 50 clamped to [20, 30] must hit both bounds.
	set := loadSynthetic(t, config.DatasetConfig{InputLenDist: cases[1].in, Seed: 3}, 40, tok)
	var lo, hi bool
	for _, p := range set.Prompts {
		lo = lo || len(p.Tokens) == 20
		hi = hi || len(p.Tokens) == 30
	}
	if !lo || !hi {
		t.Errorf("clamping: hit min %v, hit max %v", lo, hi)
	}
}

func TestSyntheticSeed(t *testing.T) {
	for _, tc := range testTokenizers {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.make(t)
			cfg := config.DatasetConfig{InputLen: 32, OutputLen: 8, Seed: 42}
			a := loadSynthetic(t, cfg, 5, tok)
			b := loadSynthetic(t, cfg, 5, tc.make(t))
			if !reflect.DeepEqual(a, b) {
				t.Error("same seed gave different prompts")
			}
			cfg.Seed = 43
			c := loadSynthetic(t, cfg, 5, tok)
			if reflect.DeepEqual(a.Prompts, c.Prompts) {
				t.Error("different seeds gave the same prompts")
			}
			if a.Prompts[0].Text == a.Prompts[1].Text {
				t.Error("prompts of one set are identical")
			}
		})
	}
}

func TestSyntheticWithoutTokenizer(t *testing.T) {
	set := loadSynthetic(t, config.DatasetConfig{InputLen: 50, OutputLen: 10, Seed: 1}, 3, nil)
	for _, p := range set.Prompts {
		if p.Tokens != nil {
			t.Errorf("%s: Tokens set without a tokenizer", p.ID)
		}
		if got := len(strings.Fields(p.Text)); got != 50 {
			t.Errorf("%s: %d words, want 50", p.ID, got)
		}
	}
	if set.Info.Params["exact_input_len"] != false {
		t.Errorf("exact_input_len = %v, want false", set.Info.Params["exact_input_len"])
	}
}

func TestSyntheticDefaultsAndErrors(t *testing.T) {
	set := loadSynthetic(t, config.DatasetConfig{}, 2, nil)
	def := config.DefaultExperiment().Dataset
	if got := len(strings.Fields(set.Prompts[0].Text)); got != def.InputLen || set.Prompts[0].MaxNewTokens != def.OutputLen {
		t.Errorf("defaults: %d words, %d output tokens", got, set.Prompts[0].MaxNewTokens)
	}
	bad := []struct {
		name string
		cfg  config.DatasetConfig
		want string
	}{
		{"kind", config.DatasetConfig{InputLenDist: &config.LengthDist{Kind: "poisson", Min: 1, Max: 2}}, `input_len_dist.kind "poisson"`},
		{"bounds", config.DatasetConfig{OutputLenDist: &config.LengthDist{Kind: "uniform", Min: 9, Max: 2}}, "output_len_dist: need 1 <= min <= max"},
		{"std", config.DatasetConfig{InputLenDist: &config.LengthDist{Kind: "normal", Min: 1, Max: 2, Std: -1}}, "std must not be negative"},
		{"pool", config.DatasetConfig{N: 3}, "n = 5 but the pool holds only 3"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name = config.DatasetSynthetic
			_, err := Load(context.Background(), tc.cfg, 5, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func BenchmarkSynthetic512(b *testing.B) {
	tok := trainBPE(b, trainingCorpus(b), 400)
	cfg := config.DatasetConfig{Name: config.DatasetSynthetic, InputLen: 512, OutputLen: 128}
	for b.Loop() {
		if _, err := Load(context.Background(), cfg, 100, tok, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
