package dataset

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

func loadBuiltin(t *testing.T, order string, seed int64, n int) *Set {
	t.Helper()
	set, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetBuiltin, Order: order, Seed: seed}, n, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func taskOf(p engine.Prompt) string { task, _, _ := strings.Cut(p.ID, "-"); return task }

func TestBuiltinSet(t *testing.T) {
	pool, info, err := builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) < 40 || len(pool) > 60 {
		t.Errorf("builtin set has %d prompts, want 40 to 60", len(pool))
	}
	tasks := map[string]int{}
	shortest, longest := 1<<30, 0
	for _, it := range pool {
		if it.source == "" || taskOf(it.prompt) != it.source {
			t.Errorf("%s: source %q does not match its id", it.prompt.ID, it.source)
		}
		tasks[it.source]++
		shortest, longest = min(shortest, len(it.prompt.Text)), max(longest, len(it.prompt.Text))
	}
	for _, task := range []string{"summarise", "explain", "translate", "code", "qa", "creative"} {
		if tasks[task] == 0 {
			t.Errorf("no %s prompts", task)
		}
	}
	if longest < 10*shortest {
		t.Errorf("lengths not varied: %d to %d bytes", shortest, longest)
	}
	if len(info.SHA256) != 64 || info.Name != config.DatasetBuiltin {
		t.Errorf("info %+v", info)
	}
}

func TestOrder(t *testing.T) {
	t.Run("interleaved-round-robin", func(t *testing.T) {
		set := loadBuiltin(t, "", 0, 12)
		var got []string
		for _, p := range set.Prompts {
			got = append(got, taskOf(p))
		}
		want := "summarise explain translate code qa creative summarise explain translate code qa creative"
		if strings.Join(got, " ") != want {
			t.Errorf("order %v", got)
		}
		if set.Prompts[6].ID != "summarise-02" || set.Info.Params["order"] != OrderInterleaved {
			t.Errorf("second round starts with %s; params %v", set.Prompts[6].ID, set.Info.Params)
		}
	})
	t.Run("grouped-by-source", func(t *testing.T) {
		set := loadBuiltin(t, OrderGrouped, 0, 10)
		for i, p := range set.Prompts[:8] {
			if taskOf(p) != "summarise" {
				t.Errorf("prompt %d is %s, want summarise", i, p.ID)
			}
		}
		if taskOf(set.Prompts[8]) != "explain" {
			t.Errorf("prompt 8 is %s", set.Prompts[8].ID)
		}
	})
	t.Run("grouped-by-length", func(t *testing.T) {
		set, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetSynthetic, Order: OrderGrouped,
			InputLenDist: &config.LengthDist{Kind: "uniform", Min: 5, Max: 60}}, 20, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		lens := make([]int, len(set.Prompts))
		for i, p := range set.Prompts {
			lens[i] = len(p.Text)
		}
		if !sort.IntsAreSorted(lens) {
			t.Errorf("not shortest first: %v", lens)
		}
	})
	t.Run("shuffled-seeded", func(t *testing.T) {
		a := loadBuiltin(t, OrderShuffled, 9, 48)
		b := loadBuiltin(t, OrderShuffled, 9, 48)
		c := loadBuiltin(t, OrderShuffled, 10, 48)
		inOrder := loadBuiltin(t, OrderGrouped, 0, 48)
		if !reflect.DeepEqual(a, b) {
			t.Error("same seed, different order")
		}
		if reflect.DeepEqual(a.Prompts, c.Prompts) || reflect.DeepEqual(a.Prompts, inOrder.Prompts) {
			t.Error("shuffle did not change the order")
		}
		ids := func(s *Set) []string {
			var out []string
			for _, p := range s.Prompts {
				out = append(out, p.ID)
			}
			sort.Strings(out)
			return out
		}
		if !reflect.DeepEqual(ids(a), ids(inOrder)) {
			t.Error("shuffle is not a permutation of the pool")
		}
		if a.Info.Params["seed"] != int64(9) {
			t.Errorf("params %v", a.Info.Params)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		cfg  config.DatasetConfig
		n    int
		want string
	}{
		{"n-too-large", config.DatasetConfig{Name: config.DatasetBuiltin}, 500, "n = 500 but the pool holds only 48"},
		{"pool-cut", config.DatasetConfig{Name: config.DatasetBuiltin, N: 5}, 6, "n = 6 but the pool holds only 5"},
		{"order", config.DatasetConfig{Order: "random"}, 1, `unknown order "random"`},
		{"name", config.DatasetConfig{Name: "alpaca"}, 1, `unknown dataset "alpaca"`},
		{"n-zero", config.DatasetConfig{}, 0, "n must be at least 1"},
		{"no-path", config.DatasetConfig{Name: config.DatasetJSONL}, 1, "no path given"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), tc.cfg, tc.n, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMaxInputTokens(t *testing.T) {
	tok := testTokenizers[0].make(t)
	set, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetBuiltin}, 48, tok, Options{MaxInputTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, p := range set.Prompts {
		if p.Tokens == nil {
			if n := len(tok.Encode(p.Text)); n > 12 {
				t.Errorf("%s: %d tokens left uncut", p.ID, n)
			}
			continue
		}
		cut++
		if len(p.Tokens) != 12 || p.Text != tok.Decode(p.Tokens) {
			t.Errorf("%s: cut to %d tokens, text %q", p.ID, len(p.Tokens), p.Text)
		}
	}
	if cut == 0 || set.Info.Params["truncated_to_max_input_tokens"] != cut {
		t.Errorf("cut %d, params %v", cut, set.Info.Params)
	}
	_, err = Load(context.Background(), config.DatasetConfig{InputLen: 512}, 1, tok, Options{MaxInputTokens: 100})
	if err == nil || !strings.Contains(err.Error(), "exceeds max_input_tokens 100") {
		t.Errorf("err = %v", err)
	}
}
