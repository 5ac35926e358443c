package config

import (
	"fmt"
	"slices"
	"strings"
)

// This file holds the rule that every setting either changes what runs or
// is refused before anything runs (what was asked is what was measured).
// Checks that need the machine or the model file (context length, cores,
// a GGUF's own types) run in the pre-flight; the ones here need only the
// file.

// RecordedOnly is a field that is knowingly accepted and recorded for
// provenance although, under the stated condition, it cannot change what
// runs. It is the one list of such fields: the field-coverage test reads it,
// and the dry-run warns when a sweep varies nothing else.
type RecordedOnly struct {
	Field string
	// When is the condition under which the field has no effect.
	When string
	// Why it is accepted all the same.
	Why string
	// applies reports whether cfg is in that condition.
	applies func(cfg *ExperimentConfig) bool
	// clear sets the field to its zero value.
	clear func(cfg *ExperimentConfig)
}

// recordedOnly is read-only after package initialisation.
var recordedOnly = []RecordedOnly{
	{
		Field: "random_seed", When: "decoding_strategy greedy or beam",
		Why:     "greedy and beam search draw no random numbers; the seed is kept so a file that switches to sampling later reproduces",
		applies: func(c *ExperimentConfig) bool { return c.Decoder.DecodingStrategy != "sampling" },
		clear:   func(c *ExperimentConfig) { c.RandomSeed = 0 },
	},
}

// RecordedOnlyFields returns the table of fields that are recorded without
// effect under a condition.
func RecordedOnlyFields() []RecordedOnly { return slices.Clone(recordedOnly) }

// RecordedOnlyIn returns the recorded-only fields of recordedOnly whose
// condition holds for cfg.
func RecordedOnlyIn(cfg ExperimentConfig) []string {
	var out []string
	for _, r := range recordedOnly {
		if r.applies(&cfg) {
			out = append(out, r.Field)
		}
	}
	return out
}

// zeroMeansDefault lists the fields for which an unset value (zero) takes
// the default; a zero written in the file is therefore refused rather than
// silently turned into the default.
var zeroMeansDefault = []struct {
	field   string
	get     func(*ExperimentConfig) float64
	allowed string
}{
	{"n", func(c *ExperimentConfig) float64 { return float64(c.N) }, "at least 1"},
	{"dataset.input_len", func(c *ExperimentConfig) float64 { return float64(c.Dataset.InputLen) }, "at least 1"},
	{"dataset.output_len", func(c *ExperimentConfig) float64 { return float64(c.Dataset.OutputLen) }, "at least 1"},
	{"warmup.cv_threshold", func(c *ExperimentConfig) float64 { return c.Warmup.CVThreshold }, "positive"},
	{"warmup.window_size", func(c *ExperimentConfig) float64 { return float64(c.Warmup.WindowSize) }, "at least 2"},
	{"warmup.min_prompts", func(c *ExperimentConfig) float64 { return float64(c.Warmup.MinPrompts) }, "at least 1"},
	{"warmup.max_prompts", func(c *ExperimentConfig) float64 { return float64(c.Warmup.MaxPrompts) }, "at least 1"},
}

// checkWritten finds the settings written in tree that cannot take effect
// in cfg (cfg is tree decoded, with defaults): a written zero that would
// mean the default, and sampling or ordering knobs the configuration never
// uses. Values only the defaults or a preset put there are not checked.
func checkWritten(cfg *ExperimentConfig, tree *node) []problem {
	c := &checker{}
	written := func(path string) *node {
		if e := tree.lookup(path); e != nil {
			return e.val
		}
		return nil
	}
	for _, z := range zeroMeansDefault {
		if v := written(z.field); v != nil && (v.kind == kindInt && v.i == 0 || v.kind == kindFloat && v.f == 0) {
			c.add(z.field, "must be %s, got 0 (leave the field out for the default, %g)", z.allowed, z.get(cfg))
		}
	}
	if s := cfg.Decoder.DecodingStrategy; s != "sampling" {
		// A value equal to what would be there anyway (the default, or
		// the preset's) changes nothing and is no different from unset.
		ref := defaultDecoder()
		if p, ok := decoderPresets[cfg.Decoder.Preset]; ok {
			ref = p
		}
		d := cfg.Decoder
		for _, f := range []struct {
			field    string
			got, def float64
		}{{"decoder.temperature", d.Temperature, ref.Temperature}, {"decoder.top_p", d.TopP, ref.TopP}, {"decoder.top_k", float64(d.TopK), float64(ref.TopK)}} {
			if written(f.field) != nil && f.got != f.def {
				c.add(f.field, "has no effect with decoding_strategy %s (only sampling uses it); remove it or set decoder.decoding_strategy: sampling", s)
			}
		}
	}
	// Settings that only matter when another one switches them on.
	def := DefaultExperiment()
	changed := func(field string, got, want any) bool { return written(field) != nil && got != want }
	w, dw := cfg.Warmup, def.Warmup
	// Which warm-up mode a field belongs to.
	const (
		anyMode = iota
		fixedCount
		convergence
	)
	warmupFields := []struct {
		field     string
		got, want any
		mode      int
	}{
		{"warmup.n_warmup", w.NWarmup, dw.NWarmup, fixedCount},
		{"warmup.thermal_floor_seconds", w.ThermalFloorSeconds, dw.ThermalFloorSeconds, anyMode},
		{"warmup.convergence", w.Convergence, dw.Convergence, anyMode},
		{"warmup.cv_threshold", w.CVThreshold, dw.CVThreshold, convergence},
		{"warmup.window_size", w.WindowSize, dw.WindowSize, convergence},
		{"warmup.min_prompts", w.MinPrompts, dw.MinPrompts, convergence},
		{"warmup.max_prompts", w.MaxPrompts, dw.MaxPrompts, convergence},
	}
	for _, f := range warmupFields {
		switch {
		case !changed(f.field, f.got, f.want):
		case !w.Enabled:
			c.add(f.field, "has no effect with warmup.enabled false; remove it or set warmup.enabled: true")
		case f.mode == convergence && !w.Convergence:
			c.add(f.field, "only applies to convergence warm-up; remove it or set warmup.convergence: true")
		case f.mode == fixedCount && w.Convergence:
			c.add(f.field, "has no effect with warmup.convergence true (min_prompts and max_prompts bound the runs); remove it")
		}
	}
	if changed("baseline.duration_seconds", cfg.Baseline.DurationSeconds, def.Baseline.DurationSeconds) && !cfg.Baseline.Enabled {
		c.add("baseline.duration_seconds", "has no effect with baseline.enabled false; remove it or set baseline.enabled: true")
	}
	ds := cfg.Dataset
	for _, d := range []struct {
		field string
		dist  *LengthDist
		fixed string
	}{{"dataset.input_len_dist", ds.InputLenDist, "dataset.input_len"}, {"dataset.output_len_dist", ds.OutputLenDist, "dataset.output_len"}} {
		if d.dist == nil {
			continue
		}
		if written(d.fixed) != nil {
			c.add(d.fixed, "has no effect beside %s, which draws the lengths; remove one of them", d.field)
		}
		if d.dist.Kind != "normal" && (d.dist.Mean != 0 || d.dist.Std != 0) {
			c.add(d.field, "mean and std only apply to kind normal, not %s; remove them or set kind: normal", d.dist.Kind)
		}
	}
	if ds.Name != DatasetSynthetic {
		for _, f := range []string{"dataset.input_len", "dataset.input_len_dist"} {
			if written(f) != nil {
				c.add(f, "only applies to synthetic prompts, not dataset %s (its prompts have their own lengths; max_input_tokens cuts them)", ds.Name)
			}
		}
	}
	if ds.Name == DatasetSynthetic || ds.Name == "" {
		// Synthetic prompts always generate exactly their output length.
		if written("decoder.ignore_eos") != nil && cfg.Decoder.IgnoreEOS {
			c.add("decoder.ignore_eos", "has no effect on synthetic prompts, which always generate exactly their output length; remove it")
		}
		if changed("decoder.min_new_tokens", cfg.Decoder.MinNewTokens, 0) {
			c.add("decoder.min_new_tokens", "has no effect on synthetic prompts, which always generate exactly their output length; remove it")
		}
		if written("dataset.n") != nil && ds.Order != "shuffled" {
			c.add("dataset.n", "has no effect on synthetic prompts in order %s (the first n of the pool are always the same); remove it or set dataset.order: shuffled", ds.Order)
		}
	}
	if written("dataset.seed") != nil && ds.Seed != defaultDataset().Seed && ds.Name != DatasetSynthetic && ds.Order != "shuffled" {
		c.add("dataset.seed", "has no effect on dataset %s in order %s (the seed draws synthetic prompts and shuffles order shuffled); remove it or set dataset.order: shuffled", ds.Name, ds.Order)
	}
	return c.probs
}

// checkEffects finds values that validate one by one but cannot take
// effect in this configuration (whoever set them: file, flag or code).
func checkEffects(c *checker, cfg *ExperimentConfig, caps Capabilities) {
	// vllm.max_num_seqs and tensorrt.max_batch_size are engine limits that
	// also size what is built at load; the others are the batch itself.
	literalBatch := cfg.Backend == BackendNative || cfg.Backend == BackendPyTorch || cfg.Backend == BackendOpenAI
	if bs, ok := BatchSize(*cfg); ok && literalBatch && bs > cfg.N && cfg.N > 0 {
		c.add(caps.BatchField, "%d is more than the %d prompts measured (n), so every batch would hold %d; use a batch size of at most n", bs, cfg.N, cfg.N)
	}
	if cfg.Decoder.SpeculativeDecoding && !caps.SpeculativeDecoding {
		c.add("decoder.speculative_decoding", "backend %s has no speculative decoding (backends with it: %s)", cfg.Backend, strings.Join(backendsWith(func(c Capabilities) bool { return c.SpeculativeDecoding }), ", "))
	}
	if len(cfg.PassthroughKwargs) > 0 && !caps.Passthrough {
		c.add("passthrough_kwargs", "backend %s has no engine keyword arguments to pass them to (backends that take them: %s)", cfg.Backend, strings.Join(backendsWith(func(c Capabilities) bool { return c.Passthrough }), ", "))
	}
	for _, f := range cfg.GPU.SetFields() {
		switch {
		case !caps.GPU:
			c.add(f, "backend %s runs on the CPU: there is no GPU setting for it to run at (backends that run on the GPU: %s with openai.server_command)", cfg.Backend, strings.Join(backendsWith(func(c Capabilities) bool { return c.GPU }), ", "))
		case cfg.Backend == BackendOpenAI && (cfg.OpenAI == nil || len(cfg.OpenAI.ServerCommand) == 0):
			c.add(f, "backend openai without openai.server_command talks to a server llem did not start, which may not run on this machine's GPU; set openai.server_command or remove it")
		}
	}
	if cfg.MaxInputTokens > 0 && !caps.TruncatesPrompts {
		c.add("max_input_tokens", "backend %s cannot cut prompts to a token count (llem has no tokenizer for it); cut the prompts in the dataset or use a backend that can: %s", cfg.Backend, strings.Join(backendsWith(func(c Capabilities) bool { return c.TruncatesPrompts }), ", "))
	}
	ds := cfg.Dataset
	if cfg.MaxInputTokens > 0 && ds.Name == DatasetSynthetic {
		longest := ds.InputLen
		if ds.InputLenDist != nil {
			longest = ds.InputLenDist.Max
		}
		if longest > cfg.MaxInputTokens {
			field := "dataset.input_len"
			if ds.InputLenDist != nil {
				field = "dataset.input_len_dist.max"
			}
			c.add(field, "synthetic prompts of up to %d tokens exceed max_input_tokens %d; lower the input length or raise max_input_tokens", longest, cfg.MaxInputTokens)
		}
	}
}

func backendsWith(has func(Capabilities) bool) []string {
	var out []string
	for _, b := range Backends() {
		if has(capabilities[b]) {
			out = append(out, string(b))
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// RecordedOnlySweep is the dry-run's warning when the experiments differ
// only in fields that are recorded without effect in every one of them
// (RecordedOnlyFields), or "" when they do not.
func RecordedOnlySweep(cfgs []ExperimentConfig) string {
	if len(cfgs) < 2 {
		return ""
	}
	var inert []RecordedOnly
	for _, r := range recordedOnly {
		if !slices.ContainsFunc(cfgs, func(c ExperimentConfig) bool { return !r.applies(&c) }) {
			inert = append(inert, r)
		}
	}
	if len(inert) == 0 {
		return ""
	}
	// Clear the inert fields: if the configurations are then all the
	// same, nothing else varies.
	seen := map[string]bool{}
	var fields []string
	for _, r := range inert {
		fields = append(fields, r.Field)
	}
	for _, c := range cfgs {
		for _, r := range inert {
			r.clear(&c)
		}
		seen[MeasurementConfigHash(c)] = true
	}
	if len(seen) > 1 {
		return ""
	}
	slices.Sort(fields)
	return fmt.Sprintf("the sweep varies only %s, which cannot change what runs here (recorded for provenance only): the configurations measure the same thing", strings.Join(fields, ", "))
}
