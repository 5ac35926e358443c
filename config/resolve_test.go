package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// parseYAML resolves src as a file named study.yaml in dir.
func parseYAML(t *testing.T, dir, src string) (*StudyConfig, error) {
	t.Helper()
	return Parse([]byte(src), filepath.Join(dir, "study.yaml"), dir)
}

func mustParse(t *testing.T, src string) *StudyConfig {
	t.Helper()
	sc, err := parseYAML(t, t.TempDir(), src)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	return sc
}

// label renders an experiment as backend/precision/batch for comparisons.
func label(cfg ExperimentConfig) string {
	s := string(cfg.Backend)
	if cfg.Precision != "" {
		s += "/" + cfg.Precision
	}
	if bs, ok := BatchSize(cfg); ok {
		s += fmt.Sprintf("/b%d", bs)
	}
	return s
}

func labels(sc *StudyConfig) []string {
	out := make([]string, len(sc.Experiments))
	for i, e := range sc.Experiments {
		out[i] = label(e)
	}
	return out
}

func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("want at least 5 examples, got %v (%v)", files, err)
	}
	want := map[string]int{
		"native-quick.yaml": 1, "native-batch-study.yaml": 6, "pytorch-vllm-study.yaml": 10,
		"dependent-groups.yaml": 12, "openai-server.yaml": 1, "study-with-base.yaml": 4,
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := want[filepath.Base(f)]; ok && len(sc.Experiments) != n {
				t.Errorf("%d experiments, want %d", len(sc.Experiments), n)
			}
			if len(sc.Skipped) != 0 {
				t.Errorf("examples should skip nothing, skipped %v", sc.Skipped)
			}
			if len(Plan(sc)) != len(sc.Experiments)*sc.Execution.NCycles {
				t.Errorf("plan length mismatch")
			}
		})
	}
}

func TestSweepModes(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"experiment file", "model: m\nbackend: pytorch\n", []string{"pytorch/bf16"}},
		{"grid", `
model: m
backend: pytorch
sweep:
  precision: [fp16, bf16]
  pytorch.batch_size: [1, 8]
`, []string{"pytorch/fp16/b1", "pytorch/fp16/b8", "pytorch/bf16/b1", "pytorch/bf16/b8"}},
		{"explicit list", `
model: m
backend: vllm
experiments:
  - {precision: fp16}
  - {precision: int8, vllm: {max_num_seqs: 4}}
`, []string{"vllm/fp16", "vllm/int8/b4"}},
		{"grid then explicit", `
model: m
backend: native
sweep:
  batch_size: [1, 2]
experiments:
  - {batch_size: 16}
`, []string{"native/b1", "native/b2", "native/b16"}},
		{"backend list, each its own grid", `
model: m
backend: [pytorch, vllm]
sweep:
  precision: [fp16, bf16]
  pytorch.batch_size: [1, 8, 16]
  vllm.max_num_seqs: [64, 256]
`, []string{
			"pytorch/fp16/b1", "pytorch/fp16/b8", "pytorch/fp16/b16", "pytorch/bf16/b1", "pytorch/bf16/b8", "pytorch/bf16/b16",
			"vllm/fp16/b64", "vllm/fp16/b256", "vllm/bf16/b64", "vllm/bf16/b256"}},
		{"backend as a sweep axis", `
model: m
sweep:
  backend: [pytorch, vllm]
  vllm.max_num_seqs: [2, 4]
`, []string{"pytorch/bf16", "vllm/bf16/b2", "vllm/bf16/b4"}},
		{"2 backends x shared batch_size x one-backend dotted list", `
model: m
backend: [pytorch, vllm]
sweep:
  batch_size: [1, 4]
  vllm.enable_prefix_caching: [true, false]
  vllm.tensor_parallel_size: [1, 2, 4]
`, // pytorch 2, vllm 2 × 2 × 3 = 12: 14 in all, batch_size slowest
			slices.Concat([]string{"pytorch/bf16/b1", "pytorch/bf16/b4"},
				slices.Repeat([]string{"vllm/bf16/b1"}, 6), slices.Repeat([]string{"vllm/bf16/b4"}, 6))},
		{"universal dotted section axis", `
model: m
backend: [native, pytorch]
decoder.decoding_strategy: sampling
sweep:
  decoder.temperature: [0.5, 1.5]
`, []string{"native", "native", "pytorch/bf16", "pytorch/bf16"}},
		{"dependent group crossed with an axis", `
model: m
backend: pytorch
sweep:
  pytorch.batch_size: [1, 2]
  quant:
    - {precision: fp16}
    - {precision: fp32, pytorch.torch_compile: true}
`, []string{"pytorch/fp16/b1", "pytorch/fp32/b1", "pytorch/fp16/b2", "pytorch/fp32/b2"}},
		{"group alternative scoped to one backend", `
model: m
backend: [pytorch, vllm]
sweep:
  variant:
    - {precision: fp16}
    - {vllm.enable_prefix_caching: true}
`, []string{"pytorch/fp16", "vllm/fp16", "vllm/bf16"}},
		{"backend section list is a group of that backend", `
model: m
backend: [pytorch, native]
sweep:
  pytorch:
    - {batch_size: 1}
    - {batch_size: 2, torch_compile: true}
`, []string{"pytorch/bf16/b1", "pytorch/bf16/b2", "native"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := mustParse(t, tc.src)
			got := labels(sc)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			if len(sc.Origins) != len(sc.Experiments) {
				t.Errorf("origins not parallel to experiments")
			}
		})
	}
}

func TestSweepOriginsAndShared(t *testing.T) {
	sc := mustParse(t, `
model: shared-model
backend: [pytorch, vllm]
n: 7
decoder: {temperature: 0.3, decoding_strategy: sampling}
sweep:
  precision: [fp16]
  decoder.top_k: [5]
experiments:
  - {backend: vllm, model: other, decoder: {top_p: 0.5}}
`)
	if len(sc.Experiments) != 3 {
		t.Fatalf("got %v", labels(sc))
	}
	for _, e := range sc.Experiments {
		if e.N != 7 || e.Decoder.Temperature != 0.3 {
			t.Errorf("shared fields not applied: %+v", e)
		}
	}
	ex := sc.Experiments[2]
	if ex.Model != "other" || ex.Decoder.TopP != 0.5 || ex.Decoder.TopK != 0 {
		t.Errorf("explicit entry should override and deep-merge shared fields: %+v", ex.Decoder)
	}
	wantSwept := []SweptValue{{"backend", "pytorch"}, {"precision", "fp16"}, {"decoder.top_k", int64(5)}}
	if got := sc.Origins[0].Swept; fmt.Sprint(got) != fmt.Sprint(wantSwept) || sc.Origins[0].Source != "sweep" {
		t.Errorf("origin %+v, want %v", sc.Origins[0], wantSwept)
	}
	if o := sc.Origins[2]; o.Source != "experiments" || o.Entry != 0 {
		t.Errorf("origin %+v", o)
	}
}

func TestSweepErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"dotted key for absent backend", `
model: m
backend: [pytorch, native]
sweep:
  vllm.max_num_seqs: [8, 16]
`, []string{"study.yaml:5:3: sweep.vllm.max_num_seqs: is for backend vllm, which this study does not use (backends: pytorch, native)"}},
		{"fixed backend with only another backend's keys", `
model: m
backend: pytorch
sweep:
  vllm.max_num_seqs: [8, 16]
`, []string{"sweep.vllm.max_num_seqs: is for backend vllm"}},
		{"unknown sweep key", `
model: m
sweep:
  precison: [fp16]
`, []string{`study.yaml:4:3: sweep.precison: unknown sweep key "precison" (did you mean "precision"?)`}},
		{"sweep value not a list", "model: m\nsweep:\n  n: 5\n", []string{"sweep.n: must be a list of values (write [5] for one value)"}},
		{"backend list and axis", "model: m\nbackend: [pytorch]\nsweep:\n  backend: [vllm]\n", []string{"sweep.backend: backend is already a list"}},
		{"bad backend in list", "model: m\nbackend: [pytorch, vlm]\nsweep: {}\n", []string{`backend: invalid value "vlm" (allowed: pytorch, vllm, tensorrt, native, openai) (did you mean "vllm"?)`}},
		{"explicit entry needs a backend", "model: m\nbackend: [pytorch, vllm]\nexperiments:\n  - {n: 3}\n", []string{"experiments[0]: the study lists several backends"}},
		{"precision no backend knows", "model: m\nbackend: [pytorch, vllm]\nsweep:\n  precision: [fp16, bf61]\n", []string{`study.yaml:4:21: precision: invalid value "bf61" (allowed: fp32, fp16, bf16, int8, int4, fp8, f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0, auto) (did you mean "bf16"?)`}},
		{"typo inside a sweep value", "model: m\nbackend: pytorch\nsweep:\n  pytorch:\n    - {batch_sise: 2}\n", []string{`study.yaml:5:8: pytorch.batch_sise: unknown field "batch_sise" (did you mean "batch_size"?)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseYAML(t, t.TempDir(), tc.src)
			var ce Errors
			if !errors.As(err, &ce) {
				t.Fatalf("want config.Errors, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nshould contain\n%s", err, w)
				}
			}
		})
	}
}

func TestStrictErrorsAllAtOnce(t *testing.T) {
	src := `model: m
backend: pytorch
modle: x
n: many
decoder:
  decoding_strategy: beem
  temperture: 0.5
dataset:
  order: random
warmup:
  enabled: yes please
`
	_, err := parseYAML(t, t.TempDir(), src)
	var ce Errors
	if !errors.As(err, &ce) {
		t.Fatalf("want config.Errors, got %T %v", err, err)
	}
	want := []string{
		`study.yaml:3:1: modle: unknown field "modle" (did you mean "model"?)`,
		`study.yaml:4:4: n: expected an integer, got string "many"`,
		`study.yaml:6:22: decoder.decoding_strategy: invalid value "beem" (allowed: greedy, sampling, beam) (did you mean "beam"?)`,
		`study.yaml:7:3: decoder.temperture: unknown field "temperture" (did you mean "temperature"?)`,
		`study.yaml:9:10: dataset.order: invalid value "random" (allowed: interleaved, grouped, shuffled)`,
		`study.yaml:11:12: warmup.enabled: expected true or false, got string "yes please"`,
	}
	if len(ce) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(ce), len(want), err)
	}
	for i, w := range want {
		if i < len(ce) && !strings.HasSuffix(ce[i].Error(), "/"+w) {
			t.Errorf("error %d:\n got %s\nwant %s", i, ce[i].Error(), w)
		}
	}
	if ce[0].File != filepath.Join(filepath.Dir(ce[0].File), "study.yaml") || ce[0].Line != 3 || ce[0].Col != 1 || ce[0].Field != "modle" {
		t.Errorf("structured fields wrong: %+v", *ce[0])
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := parseYAML(t, t.TempDir(), "model: m\n  n: [1, 2\n")
	var ce Errors
	if !errors.As(err, &ce) || ce[0].Line == 0 || !strings.Contains(err.Error(), "invalid YAML") {
		t.Fatalf("want a located YAML error, got %v", err)
	}
}

func TestInvalidCombinations(t *testing.T) {
	t.Run("sweep point skipped with reason", func(t *testing.T) {
		sc := mustParse(t, "model: m\nbackend: [pytorch, vllm]\nsweep:\n  precision: [fp32, fp16]\n")
		if got := labels(sc); !slices.Equal(got, []string{"pytorch/fp32", "pytorch/fp16", "vllm/fp16"}) {
			t.Errorf("got %v", got)
		}
		if len(sc.Skipped) != 1 || sc.Skipped[0].Config.Backend != BackendVLLM ||
			!strings.Contains(sc.Skipped[0].Reason, `precision: precision "fp32" is not supported on backend vllm (allowed: fp16, bf16, int8, int4)`) {
			t.Errorf("skipped %+v", sc.Skipped)
		}
	})
	t.Run("every point invalid is an error", func(t *testing.T) {
		_, err := parseYAML(t, t.TempDir(), "model: m\nbackend: vllm\nsweep:\n  precision: [fp32]\n")
		if err == nil || !strings.Contains(err.Error(), "every generated configuration is invalid (1 skipped)") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("invalid explicit entry is an error", func(t *testing.T) {
		_, err := parseYAML(t, t.TempDir(), "model: m\nbackend: vllm\nexperiments:\n  - {precision: fp16}\n  - {precision: fp32}\n")
		if err == nil || !strings.Contains(err.Error(), "study.yaml:5:17: experiments[1].precision:") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("duplicate configurations are skipped", func(t *testing.T) {
		sc := mustParse(t, "model: m\nbackend: native\nsweep:\n  n: [5, 5]\n")
		if len(sc.Experiments) != 1 || len(sc.Skipped) != 1 || !strings.Contains(sc.Skipped[0].Reason, "duplicate of experiment 0") {
			t.Errorf("got %v skipped %v", labels(sc), sc.Skipped)
		}
	})
}

func TestValidationTable(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"section for another backend", "model: m\nbackend: pytorch\nvllm: {max_num_seqs: 4}\n", "vllm: `vllm:` section given but backend is pytorch"},
		{"lora on tensorrt", "model: m\nbackend: tensorrt\nlora: {adapter_id: a}\n", "merge the adapter into the model first"},
		{"lora on native", "model: m\nbackend: native\nlora: {adapter_id: a}\n", "does not support LoRA"},
		{"lora on vllm needs enable_lora", "model: m\nbackend: vllm\nlora: {adapter_id: a}\n", "needs vllm.enable_lora: true"},
		{"lora needs exactly one source", "model: m\nbackend: pytorch\nlora: {adapter_id: a, adapter_path: p}\n", "set exactly one of adapter_id and adapter_path"},
		{"speculative needs draft", "model: m\nbackend: pytorch\ndecoder: {speculative_decoding: true}\n", "decoder.draft_model: is required"},
		{"draft needs speculative", "model: m\nbackend: pytorch\ndecoder: {draft_model: d}\n", "decoder.speculative_decoding: must be true"},
		{"num_beams only with beam", "model: m\nbackend: pytorch\ndecoder: {num_beams: 4}\n", "decoder.num_beams: only applies to decoding_strategy beam"},
		{"beam on tensorrt", "model: m\nbackend: tensorrt\ndecoder: {decoding_strategy: beam, num_beams: 2}\n", `"beam" is not supported by backend tensorrt (allowed: greedy, sampling)`},
		{"batched tokens below model len", "model: m\nbackend: vllm\nvllm: {max_num_batched_tokens: 512, max_model_len: 2048}\n", "vllm.max_num_batched_tokens: must be at least max_model_len (2048), got 512"},
		{"torchao with bitsandbytes", "model: m\nbackend: pytorch\npytorch: {torchao_quant_type: int8_weight_only, load_in_8bit: true}\n", "pytorch.torchao_quant_type: torchao and bitsandbytes quantisation"},
		{"torchao group size needs int4", "model: m\nbackend: pytorch\npytorch: {torchao_quant_type: int8_weight_only, torchao_group_size: 64}\n", "pytorch.torchao_group_size: only applies with torchao_quant_type: int4_weight_only"},
		{"torchao group size values", "model: m\nbackend: pytorch\npytorch: {torchao_quant_type: int4_weight_only, torchao_group_size: 100}\n", "pytorch.torchao_group_size: must be 32, 64, 128 or 256, got 100"},
		{"num_processes above one", "model: m\nbackend: pytorch\npytorch: {num_processes: 2}\n", "pytorch.num_processes: 2 processes need a launcher"},
		{"random_init with bitsandbytes", "model: m\nbackend: pytorch\npytorch: {random_init: true, load_in_4bit: true}\n", "pytorch.random_init: cannot be combined with load_in_4bit/load_in_8bit"},
		{"torchao quant type enum", "model: m\nbackend: pytorch\npytorch: {torchao_quant_type: int4}\n", `pytorch.torchao_quant_type: invalid value "int4"`},
		{"builder opt level", "model: m\nbackend: tensorrt\ntensorrt: {builder_opt_level: 7}\n", "tensorrt.builder_opt_level: must be between 0 and 5, got 7"},
		{"n above pool", "model: m\nbackend: native\nn: 50\ndataset: {n: 20}\n", "n: 50 prompts requested but the dataset pool holds 20"},
		{"n above aienergyscore", "model: m\nbackend: native\nn: 2000\ndataset: aienergyscore\n", "the dataset pool holds 1000"},
		{"thermal floor minimum in files", "model: m\nwarmup: {thermal_floor_seconds: 10}\n", "warmup.thermal_floor_seconds: must be at least 30 s, got 10"},
		{"baseline range", "model: m\nbaseline: {duration_seconds: 200}\n", "baseline.duration_seconds: must be between 5 and 120 s, got 200"},
		{"native precision", "model: m\nbackend: native\nprecision: fp16\n", `precision "fp16" is not supported on backend native (allowed: unset/auto, f32, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0)`},
		{"openai precision", "model: m\nbackend: openai\nopenai: {base_url: http://x}\nprecision: fp16\n", "not supported on backend openai"},
		{"openai needs url", "model: m\nbackend: openai\n", "openai.base_url: is required"},
		{"model required", "backend: native\n", "model: is required"},
		{"unknown dataset word", "model: m\ndataset: wikitext\n", `dataset: unknown dataset "wikitext"`},
		{"bad execution", "model: m\nexecution: {n_cycles: 0, cycle_order: random}\n", `execution.cycle_order: invalid value "random"`},
		{"gap alias and name", "model: m\nexecution: {experiment_gap_seconds: 1, config_gap_seconds: 2}\n", "set only one of them"},
		{"batch_size twice", "model: m\nbackend: native\nbatch_size: 2\nnative: {batch_size: 4}\n", "batch_size: set together with native.batch_size"},
		{"dotted and nested twice", "model: m\ndecoder.top_k: 3\ndecoder: {top_k: 5}\n", `study.yaml:2:1: decoder.top_k: set twice`},
		{"study key in entry", "model: m\nexperiments:\n  - {execution: {n_cycles: 2}}\n", "is a study-level key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseYAML(t, t.TempDir(), tc.src)
			var ce Errors
			if !errors.As(err, &ce) {
				t.Fatalf("want Errors containing %q, got %v", tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nshould contain\n%s", err, tc.want)
			}
		})
	}
}

func TestDefaultsAndForms(t *testing.T) {
	sc := mustParse(t, "model: m\n")
	got := sc.Experiments[0]
	want := DefaultExperiment()
	want.Model = "m"
	ApplyDefaults(&want)
	if MeasurementConfigHash(got) != MeasurementConfigHash(want) || got.Backend != BackendNative || got.N != 100 || got.Dataset.InputLen != 512 {
		t.Errorf("defaults: %+v", got)
	}
	if sc.Execution != DefaultExecution() || sc.ExecutionFromFile || sc.Name != "study" {
		t.Errorf("execution %+v fromFile %v name %q", sc.Execution, sc.ExecutionFromFile, sc.Name)
	}
	for b, p := range map[string]string{"pytorch": "bf16", "vllm": "bf16", "tensorrt": "fp16", "native": "", "openai": ""} {
		extra := ""
		if b == "openai" {
			extra = "openai: {base_url: http://h}\n"
		}
		sc := mustParse(t, "model: m\nbackend: "+b+"\n"+extra)
		if sc.Experiments[0].Precision != p {
			t.Errorf("%s default precision %q, want %q", b, sc.Experiments[0].Precision, p)
		}
	}
	sc = mustParse(t, "model: m\ndataset: aienergyscore\nexecution: {experiment_gap_seconds: 12}\nname: named\n")
	if ds := sc.Experiments[0].Dataset; ds.Name != DatasetAIEnergyScore || ds.Revision != DefaultAIEnergyScoreRevision || ds.InputLen != 0 {
		t.Errorf("aienergyscore dataset %+v", ds)
	}
	if g := sc.Execution.ConfigGapSeconds; g == nil || *g != 12 || !sc.ExecutionFromFile || sc.Name != "named" {
		t.Errorf("alias: %+v", sc.Execution)
	}
	sc = mustParse(t, "model: m\ndecoder: {preset: creative, top_p: 0.5}\n")
	if d := sc.Experiments[0].Decoder; d.DecodingStrategy != "sampling" || d.Temperature != 1.0 || d.TopP != 0.5 {
		t.Errorf("preset with an explicit field: %+v", d)
	}
}

func TestFileDataset(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, "data", "p.jsonl"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"prompt": "hello"}` + "\n")
	sc, err := parseYAML(t, dir, "model: m\ndataset: data/p.jsonl\nn: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	ds := sc.Experiments[0].Dataset
	if ds.Name != DatasetJSONL || ds.Path != "data/p.jsonl" || len(ds.FileSHA256) != 64 {
		t.Fatalf("dataset %+v", ds)
	}
	h1 := MeasurementConfigHash(sc.Experiments[0])
	write(`{"prompt": "goodbye"}` + "\n")
	sc2, err := parseYAML(t, dir, "model: m\ndataset: {name: jsonl, path: data/p.jsonl}\nn: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if MeasurementConfigHash(sc2.Experiments[0]) == h1 {
		t.Error("changing the dataset file's content must change the hash")
	}
	if d := DatasetFromString("chats.json"); d.Name != DatasetShareGPT {
		t.Errorf("json is sharegpt: %+v", d)
	}
	_, err = parseYAML(t, dir, "model: m\ndataset: missing.jsonl\n")
	if err == nil || !strings.Contains(err.Error(), "study.yaml:2:10: dataset.path: dataset file: stat") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("model: from-base\nbackend: pytorch\nn: 9\nname: ignored\nsweep: {n: [1]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := parseYAML(t, dir, "base: base.yaml\nn: 4\nsweep:\n  precision: [fp16, bf16]\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Experiments) != 2 || sc.Experiments[0].Model != "from-base" || sc.Experiments[0].N != 4 || sc.Name != "study" {
		t.Errorf("base not applied under inline fields: %+v", sc.Experiments)
	}
	_, err = parseYAML(t, dir, "base: nope.yaml\nmodel: m\n")
	if err == nil || !strings.Contains(err.Error(), "study.yaml:1:7: base: cannot read base experiment file") {
		t.Errorf("missing base: %v", err)
	}
}

func TestRevalidate(t *testing.T) {
	sc := mustParse(t, "model: m\nbackend: pytorch\n")
	sc.Experiments[0].Backend = BackendNative
	if err := Revalidate(sc); err != nil {
		t.Fatalf("a defaulted precision should follow the new backend: %v", err)
	}
	if p := sc.Experiments[0].Precision; p != "" {
		t.Errorf("precision %q", p)
	}
	sc = mustParse(t, "model: m\nbackend: pytorch\nprecision: fp16\n")
	sc.Experiments[0].Backend = BackendNative
	err := Revalidate(sc)
	var ce Errors
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "experiments[0].precision") {
		t.Errorf("an explicit precision stays and is rejected: %v", err)
	}
	sc = mustParse(t, "model: m\nbackend: native\nsweep:\n  batch_size: [1, 2, 4]\n")
	for i := range sc.Experiments {
		if err := SetBatchSize(&sc.Experiments[i], 8); err != nil {
			t.Fatal(err)
		}
	}
	if err := Revalidate(sc); err != nil || len(sc.Experiments) != 1 || len(sc.Skipped) != 2 || len(sc.Origins) != 1 {
		t.Errorf("overrides that make configs identical dedupe: %v %d %d", err, len(sc.Experiments), len(sc.Skipped))
	}
}

func TestQuickExperimentValid(t *testing.T) {
	sc := &StudyConfig{Name: "quick", Experiments: []ExperimentConfig{QuickExperiment()}, Execution: DefaultExecution()}
	if err := Revalidate(sc); err != nil {
		t.Fatalf("the quick demo must validate outside a file: %v", err)
	}
	q := sc.Experiments[0]
	if q.Backend != BackendNative || q.Baseline.DurationSeconds != MinBaselineSeconds || q.Warmup.NWarmup != 1 || q.Warmup.ThermalFloorSeconds != 0 {
		t.Errorf("quick protocol %+v", q)
	}
	// The same values written in a file break the methodology minimums.
	_, err := parseYAML(t, t.TempDir(), "model: stories15M\nwarmup: {thermal_floor_seconds: 0}\n")
	if err == nil {
		t.Error("a file may not drop the thermal floor below 30 s")
	}
}

func TestErrorsFormat(t *testing.T) {
	es := Errors{
		{File: "a.yaml", Line: 3, Col: 5, Field: "n", Msg: "bad"},
		{Field: "--cycles", Msg: "must be at least 1"},
	}
	want := "2 configuration errors:\n  a.yaml:3:5: n: bad\n  --cycles: must be at least 1"
	if es.Error() != want {
		t.Errorf("got %q", es.Error())
	}
	var target Errors
	if !errors.As(fmt.Errorf("load: %w", es), &target) || len(target) != 2 {
		t.Error("Errors must be found through wrapping with errors.As")
	}
}
