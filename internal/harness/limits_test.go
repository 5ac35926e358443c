package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/results"
)

func runTiny(t *testing.T, cfg config.ExperimentConfig) *results.ExperimentResult {
	t.Helper()
	res, err := Run(context.Background(), cfg, Options{
		NewEngine:        nativeEngine,
		SamplingInterval: 50 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMaxOutputTokensCapsPromptLengths: max_output_tokens caps the output
// length a prompt carries itself (synthetic output_len, a JSONL line's
// max_new_tokens); before, the prompt's own length won and a sweep of
// max_output_tokens measured the same thing twice.
func TestMaxOutputTokensCapsPromptLengths(t *testing.T) {
	base := tinyExperiment()
	base.Warmup.Enabled, base.Baseline.Enabled = false, false
	base.N = 4
	base.Dataset.InputLen, base.Dataset.OutputLen = 8, 16

	jsonl := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"id":"a","prompt":"once upon a time","max_new_tokens":12}
{"id":"b","prompt":"the cat sat","max_new_tokens":2}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	fileCfg := base
	fileCfg.N = 2
	fileCfg.Dataset = config.DatasetConfig{Name: config.DatasetJSONL, Path: jsonl, Seed: 42, Order: "interleaved"}
	fileCfg.Decoder.IgnoreEOS = true
	config.ApplyDefaults(&fileCfg)

	for _, tc := range []struct {
		name     string
		cfg      config.ExperimentConfig
		capTo    int
		wantToks []int
	}{
		{"synthetic uncapped", base, 0, []int{16, 16, 16, 16}},
		{"synthetic capped", base, 4, []int{4, 4, 4, 4}},
		{"synthetic cap above length", base, 32, []int{16, 16, 16, 16}},
		{"jsonl capped", fileCfg, 5, []int{5, 2}},
		{"jsonl uncapped", fileCfg, 0, []int{12, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.MaxOutputTokens = tc.capTo
			res := runTiny(t, cfg)
			var got []int
			for _, r := range res.Requests {
				got = append(got, r.OutputTokens)
			}
			if len(got) != len(tc.wantToks) {
				t.Fatalf("output tokens %v, want %v", got, tc.wantToks)
			}
			for i := range got {
				if got[i] != tc.wantToks[i] {
					t.Fatalf("output tokens %v, want %v", got, tc.wantToks)
				}
			}
			if tc.capTo > 0 && res.Dataset.Params["max_output_tokens"] != tc.capTo {
				t.Errorf("dataset params %v do not record max_output_tokens %d", res.Dataset.Params, tc.capTo)
			}
		})
	}
}

// TestMaxInputTokensTruncates: max_input_tokens reaches the dataset (it
// never did) and cuts longer prompts, recording how many.
func TestMaxInputTokensTruncates(t *testing.T) {
	jsonl := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(jsonl, []byte(`{"id":"long","prompt":"one two three four five six seven eight nine ten eleven twelve thirteen fourteen"}
{"id":"short","prompt":"one two"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := tinyExperiment()
	cfg.Warmup.Enabled, cfg.Baseline.Enabled = false, false
	cfg.N = 2
	cfg.Native = nil
	cfg.Dataset = config.DatasetConfig{Name: config.DatasetJSONL, Path: jsonl, OutputLen: 2, Seed: 42, Order: "interleaved"}
	config.ApplyDefaults(&cfg)
	full := runTiny(t, cfg)
	cfg.MaxInputTokens = 4
	cut := runTiny(t, cfg)
	if full.Requests[0].InputTokens <= 4 {
		t.Fatalf("the long prompt has only %d tokens; the test needs more than 4", full.Requests[0].InputTokens)
	}
	if got := cut.Requests[0].InputTokens; got != 4 {
		t.Errorf("long prompt has %d input tokens under max_input_tokens 4, want 4", got)
	}
	if got, want := cut.Requests[1].InputTokens, full.Requests[1].InputTokens; got != want {
		t.Errorf("short prompt changed from %d to %d tokens", want, got)
	}
	if cut.Dataset.Params["truncated_to_max_input_tokens"] != 1 {
		t.Errorf("dataset params %v, want truncated_to_max_input_tokens 1", cut.Dataset.Params)
	}
}

// TestRequestsRecordWhatWasGenerated: each request's record carries a
// digest of its generated ids (and the first ids), so a reader can check
// that a decoding setting took effect.
func TestRequestsRecordWhatWasGenerated(t *testing.T) {
	cfg := tinyExperiment()
	cfg.Warmup.Enabled, cfg.Baseline.Enabled = false, false
	cfg.N = 2
	greedy1, greedy2 := runTiny(t, cfg), runTiny(t, cfg)
	cfg.Decoder.DecodingStrategy, cfg.Decoder.Temperature = "sampling", 1.5
	sampled := runTiny(t, cfg)
	for i, r := range greedy1.Requests {
		if r.OutputIDsSHA256 == "" || len(r.OutputTokenIDs) != r.OutputTokens {
			t.Fatalf("request %d: digest %q, ids %v for %d tokens", i, r.OutputIDsSHA256, r.OutputTokenIDs, r.OutputTokens)
		}
		if r.OutputIDsSHA256 != results.TokenIDsSHA256(r.OutputTokenIDs) {
			t.Errorf("request %d: digest does not match its ids", i)
		}
		if r.OutputIDsSHA256 != greedy2.Requests[i].OutputIDsSHA256 {
			t.Errorf("request %d: greedy decoding gave two different outputs", i)
		}
	}
	same := 0
	for i := range sampled.Requests {
		if sampled.Requests[i].OutputIDsSHA256 == greedy1.Requests[i].OutputIDsSHA256 {
			same++
		}
	}
	if same == len(sampled.Requests) {
		t.Error("sampling at temperature 1.5 generated exactly what greedy decoding did")
	}
}
