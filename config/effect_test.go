package config

import (
	"errors"
	"strings"
	"testing"
)

// TestSettingsWithoutEffectRefused: every value that validates one by one
// but could not change what runs is refused at parse time, naming the
// file, line and field (issue 12's findings, each failing before the fix).
func TestSettingsWithoutEffectRefused(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"explicit zero input_len", "model: tiny\ndataset: {input_len: 0, output_len: 8}\n",
			"study.yaml:2:22: dataset.input_len: must be at least 1, got 0 (leave the field out for the default, 512)"},
		{"explicit zero output_len", "model: tiny\ndataset: {input_len: 8, output_len: 0}\n",
			"dataset.output_len: must be at least 1, got 0"},
		{"explicit zero n", "model: tiny\nn: 0\n", "study.yaml:2:4: n: must be at least 1, got 0"},
		{"temperature under greedy", "model: tiny\ndecoder: {temperature: 0.7}\n",
			"study.yaml:2:24: decoder.temperature: has no effect with decoding_strategy greedy"},
		{"top_p swept under greedy", "model: tiny\nsweep:\n  decoder.top_p: [1.0, 0.9]\n",
			"study.yaml:3:24: decoder.top_p: has no effect with decoding_strategy greedy"},
		{"top_k under beam", "model: m\nbackend: pytorch\ndecoder: {decoding_strategy: beam, num_beams: 2, top_k: 5}\n",
			"decoder.top_k: has no effect with decoding_strategy beam"},
		{"dataset seed without shuffling", "model: tiny\ndataset: {name: builtin, seed: 7}\n",
			"dataset.seed: has no effect on dataset builtin in order interleaved"},
		{"batch larger than n", "model: tiny\nn: 4\nbatch_size: 8\n",
			"native.batch_size: 8 is more than the 4 prompts measured (n)"},
		{"speculative decoding on native", "model: tiny\ndecoder: {speculative_decoding: true, draft_model: tiny}\n",
			"decoder.speculative_decoding: backend native has no speculative decoding (backends with it: pytorch, vllm)"},
		{"max_input_tokens on openai", "model: m\nbackend: openai\nopenai: {base_url: 'http://127.0.0.1:1/v1'}\nmax_input_tokens: 64\n",
			"max_input_tokens: backend openai cannot cut prompts to a token count"},
		{"max_input_tokens below input_len", "model: tiny\nmax_input_tokens: 16\ndataset: {input_len: 32, output_len: 4}\n",
			"dataset.input_len: synthetic prompts of up to 32 tokens exceed max_input_tokens 16"},
		{"warm-up field with warm-up off", "model: tiny\nwarmup: {enabled: false, n_warmup: 1}\n",
			"warmup.n_warmup: has no effect with warmup.enabled false"},
		{"convergence field without convergence", "model: tiny\nwarmup: {cv_threshold: 0.2}\n",
			"warmup.cv_threshold: only applies to convergence warm-up"},
		{"fixed count under convergence", "model: tiny\nwarmup: {convergence: true, n_warmup: 1}\n",
			"warmup.n_warmup: has no effect with warmup.convergence true"},
		{"baseline duration with the baseline off", "model: tiny\nbaseline: {enabled: false, duration_seconds: 10}\n",
			"baseline.duration_seconds: has no effect with baseline.enabled false"},
		{"gpu setting on native", "model: tiny\ngpu: {power_limit_watts: 300}\n",
			"study.yaml:2:26: gpu.power_limit_watts: backend native runs on the CPU: there is no GPU setting for it to run at (backends that run on the GPU: pytorch, vllm, tensorrt, openai with openai.server_command)"},
		{"gpu clock on openai without server_command", "model: m\nbackend: openai\nopenai: {base_url: 'http://127.0.0.1:1/v1'}\ngpu: {sm_clock_mhz: 1500}\n",
			"gpu.sm_clock_mhz: backend openai without openai.server_command talks to a server llem did not start"},
		{"zero power limit", "model: m\nbackend: pytorch\ngpu: {power_limit_watts: 0}\n",
			"gpu.power_limit_watts: must be at least 1, got 0"},
		{"two axes set one field", "model: tiny\nsweep:\n  native.batch_size: [1, 2]\n  batch_size: [4]\n",
			"study.yaml:4:3: sweep.batch_size: sets native.batch_size for backend native, which sweep.native.batch_size also sets"},
		{"group and axis set one field", "model: tiny\nsweep:\n  n: [4, 8]\n  sizes: [{n: 2}, {n: 3, dataset.input_len: 4}]\n",
			"sweep.sizes: sets n for backend native, which sweep.n also sets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseYAML(t, t.TempDir(), tc.src)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want configuration errors containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got\n%v\nwant it to contain\n%s", err, tc.want)
			}
		})
	}
}

// TestNeutralValuesAccepted: writing a value equal to what would be there
// anyway is not a setting without effect.
func TestNeutralValuesAccepted(t *testing.T) {
	for _, src := range []string{
		"model: tiny\ndecoder: {temperature: 1.0, top_p: 1}\n",
		"model: tiny\ndecoder: {preset: deterministic, temperature: 0}\n",
		"model: tiny\ndecoder: {decoding_strategy: sampling, temperature: 0.7}\n",
		"model: tiny\ndataset: {name: builtin, seed: 7, order: shuffled}\n",
		"model: tiny\ndataset: {seed: 7}\n", // synthetic prompts are drawn from it
		"model: m\nbackend: vllm\nn: 4\nvllm: {max_num_seqs: 256}\n",
	} {
		mustParse(t, src)
	}
}

// TestDeclaredStudy: a file with sweep: or experiments: is a study even
// when it resolves to one configuration.
func TestDeclaredStudy(t *testing.T) {
	for src, want := range map[string]bool{
		"model: tiny\n":                           false,
		"model: tiny\nsweep:\n  n: [4]\n":         true,
		"model: tiny\nexperiments:\n  - {n: 4}\n": true,
	} {
		if got := mustParse(t, src).Declared; got != want {
			t.Errorf("%q: Declared = %v, want %v", src, got, want)
		}
	}
}

// TestLabelsTellConfigurationsApart: the label of each configuration is
// the swept values, so neighbours that share backend, model and batch
// size are told apart.
func TestLabelsTellConfigurationsApart(t *testing.T) {
	sc := mustParse(t, "model: tiny\ndecoder.decoding_strategy: sampling\nsweep:\n  decoder.temperature: [0.5, 1.5]\n  max_output_tokens: [4, 8]\n")
	got := sc.Labels()
	want := []string{
		"decoder.temperature=0.5, max_output_tokens=4", "decoder.temperature=0.5, max_output_tokens=8",
		"decoder.temperature=1.5, max_output_tokens=4", "decoder.temperature=1.5, max_output_tokens=8",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("labels %q, want %q", got, want)
	}
	if one := mustParse(t, "model: tiny\n").Labels(); one[0] != "native tiny" {
		t.Errorf("single label %q", one[0])
	}
}

func TestRecordedOnlySweepWarned(t *testing.T) {
	sc := mustParse(t, "model: tiny\nsweep:\n  random_seed: [1, 2]\n")
	if w := RecordedOnlySweep(sc.Experiments); !strings.Contains(w, "varies only random_seed") {
		t.Errorf("greedy sweep of random_seed: warning %q", w)
	}
	sc = mustParse(t, "model: tiny\ndecoder.decoding_strategy: sampling\nsweep:\n  random_seed: [1, 2]\n")
	if w := RecordedOnlySweep(sc.Experiments); w != "" {
		t.Errorf("sampling sweep of random_seed warned: %q", w)
	}
	sc = mustParse(t, "model: tiny\nsweep:\n  random_seed: [1, 2]\n  n: [4, 8]\n")
	if w := RecordedOnlySweep(sc.Experiments); w != "" {
		t.Errorf("sweep that also varies n warned: %q", w)
	}
}

// TestShapePrecisionF32IsAuto: on a synthetic shape f32 is the shape's own
// type, so `precision: [auto, f32]` is one configuration, not two ranked
// against each other.
func TestShapePrecisionF32IsAuto(t *testing.T) {
	sc := mustParse(t, "model: tiny\nsweep:\n  precision: [auto, f32, q8_0]\n")
	if len(sc.Experiments) != 2 || len(sc.Skipped) != 1 || !strings.Contains(sc.Skipped[0].Reason, "duplicate of experiment 0") {
		t.Errorf("got %d experiments, skipped %v", len(sc.Experiments), sc.Skipped)
	}
}

// TestGPUSettingsSweep: the gpu: fields sweep like any field, each value a
// configuration of its own.
func TestGPUSettingsSweep(t *testing.T) {
	sc := mustParse(t, "model: m\nbackend: pytorch\ngpu: {sm_clock_mhz: 1500}\nsweep:\n  gpu.power_limit_watts: [200, 300]\n")
	if len(sc.Experiments) != 2 {
		t.Fatalf("%d experiments, want 2", len(sc.Experiments))
	}
	a, b := sc.Experiments[0], sc.Experiments[1]
	if *a.GPU.PowerLimitWatts != 200 || *b.GPU.PowerLimitWatts != 300 || *a.GPU.SMClockMHz != 1500 || *b.GPU.SMClockMHz != 1500 {
		t.Fatalf("gpu sections %+v %+v", *a.GPU, *b.GPU)
	}
	if MeasurementConfigHash(a) == MeasurementConfigHash(b) {
		t.Error("two power limits share a measurement_config_hash")
	}
	none := mustParse(t, "model: m\nbackend: pytorch\n").Experiments[0]
	empty := mustParse(t, "model: m\nbackend: pytorch\ngpu: {}\n").Experiments[0]
	if MeasurementConfigHash(none) != MeasurementConfigHash(empty) {
		t.Error("an empty gpu: section changes the hash")
	}
}
