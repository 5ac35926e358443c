package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/energy"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
	"github.com/llenergymeasure/llem/internal/engine/native"
	"github.com/llenergymeasure/llem/internal/engine/openai"
	"github.com/llenergymeasure/llem/internal/engine/pyworker"
	"github.com/llenergymeasure/llem/results"
)

// This file holds the rule that every setting either takes effect or is
// refused before anything runs. TestEveryFieldTakesEffectOrIsRefused walks
// every field of config.ExperimentConfig; each needs a probe below (a
// non-default value, and what else must be set for it to apply). A field
// added without a probe fails the test.

// probe sets one field to a non-default value.
type probe struct {
	// with is set in both the reference and the probed configuration
	// (what the field needs to apply), as dotted key: YAML value.
	with map[string]string
	// set is what the probe changes (the field, and any field it must be
	// set together with).
	set map[string]string
	// on replaces the probe on one backend (a value that backend accepts).
	on map[config.Backend]probe
	// generates: the generated ids (or the prompts) must change too, not
	// only the result's effective record. False where the engine here
	// cannot show it (the tiny model rarely emits EOS, a stop string it
	// happens to produce is not known beforehand, the test worker has no
	// real compute).
	generates bool
}

// harnessLevel fields are applied by the harness around the engine,
// identically for every backend; they are probed on native only.
var harnessLevel = []string{"warmup.", "baseline."}

// notHere are fields that need something this machine lacks, with why;
// they are listed in the report, never silently passed.
var notHere = map[string]string{
	"dataset.revision": "needs the Hugging Face Hub (dataset aienergyscore); internal/dataset's hub tests cover revisions against a local server",
}

func dist(kind string, min, max int, mean, std float64) string {
	if kind == "normal" {
		return fmt.Sprintf("{kind: normal, min: %d, max: %d, mean: %g, std: %g}", min, max, mean, std)
	}
	return fmt.Sprintf("{kind: uniform, min: %d, max: %d}", min, max)
}

func m(kv ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// probes: one per leaf field of config.ExperimentConfig.
var probes = map[string]probe{
	"model": {set: m("model", "stories15M"), generates: true},
	"precision": {set: m("precision", "q8_0"), on: map[config.Backend]probe{
		config.BackendPyTorch: {set: m("precision", "fp16")}, config.BackendVLLM: {set: m("precision", "fp16")}, config.BackendTensorRT: {set: m("precision", "int8")}}},
	"dataset.name":                 {set: m("dataset.name", "builtin"), generates: true},
	"dataset.path":                 {with: m("dataset.name", "jsonl", "dataset.path", "a.jsonl"), set: m("dataset.path", "b.jsonl"), generates: true},
	"dataset.revision":             {with: m("dataset.name", "aienergyscore"), set: m("dataset.revision", "0123456789abcdef0123456789abcdef01234567")},
	"dataset.n":                    {with: m("dataset.order", "shuffled"), set: m("dataset.n", "40"), generates: true},
	"dataset.input_len":            {set: m("dataset.input_len", "16"), generates: true},
	"dataset.output_len":           {set: m("dataset.output_len", "4"), generates: true},
	"dataset.input_len_dist.kind":  {with: m("dataset.input_len_dist", dist("uniform", 4, 12, 0, 0)), set: m("dataset.input_len_dist", dist("normal", 4, 12, 8, 3)), generates: true},
	"dataset.input_len_dist.min":   {with: m("dataset.input_len_dist", dist("uniform", 4, 12, 0, 0)), set: m("dataset.input_len_dist", dist("uniform", 10, 12, 0, 0)), generates: true},
	"dataset.input_len_dist.max":   {with: m("dataset.input_len_dist", dist("uniform", 4, 12, 0, 0)), set: m("dataset.input_len_dist", dist("uniform", 4, 40, 0, 0)), generates: true},
	"dataset.input_len_dist.mean":  {with: m("dataset.input_len_dist", dist("normal", 4, 40, 8, 3)), set: m("dataset.input_len_dist", dist("normal", 4, 40, 30, 3)), generates: true},
	"dataset.input_len_dist.std":   {with: m("dataset.input_len_dist", dist("normal", 4, 40, 20, 1)), set: m("dataset.input_len_dist", dist("normal", 4, 40, 20, 10)), generates: true},
	"dataset.output_len_dist.kind": {with: m("dataset.output_len", "", "dataset.output_len_dist", dist("uniform", 2, 8, 0, 0)), set: m("dataset.output_len_dist", dist("normal", 2, 8, 4, 3)), generates: true},
	"dataset.output_len_dist.min":  {with: m("dataset.output_len", "", "dataset.output_len_dist", dist("uniform", 2, 8, 0, 0)), set: m("dataset.output_len_dist", dist("uniform", 6, 8, 0, 0)), generates: true},
	"dataset.output_len_dist.max":  {with: m("dataset.output_len", "", "dataset.output_len_dist", dist("uniform", 2, 8, 0, 0)), set: m("dataset.output_len_dist", dist("uniform", 2, 16, 0, 0)), generates: true},
	"dataset.output_len_dist.mean": {with: m("dataset.output_len", "", "dataset.output_len_dist", dist("normal", 2, 16, 4, 2)), set: m("dataset.output_len_dist", dist("normal", 2, 16, 12, 2)), generates: true},
	"dataset.output_len_dist.std":  {with: m("dataset.output_len", "", "dataset.output_len_dist", dist("normal", 2, 16, 8, 1)), set: m("dataset.output_len_dist", dist("normal", 2, 16, 8, 6)), generates: true},
	"dataset.seed":                 {set: m("dataset.seed", "7"), generates: true},
	"dataset.order":                {set: m("dataset.order", "shuffled"), generates: true},
	"n":                            {set: m("n", "2"), generates: true},
	"max_input_tokens":             {with: m("dataset.name", "builtin"), set: m("max_input_tokens", "4"), generates: true},
	"max_output_tokens":            {set: m("max_output_tokens", "3"), generates: true},
	"random_seed":                  {with: m("decoder.decoding_strategy", "sampling"), set: m("random_seed", "7"), generates: true},
	"decoder.preset":               {set: m("decoder.preset", "creative"), generates: true},
	"decoder.decoding_strategy":    {set: m("decoder.decoding_strategy", "sampling"), generates: true},
	"decoder.temperature":          {with: m("decoder.decoding_strategy", "sampling"), set: m("decoder.temperature", "0.2"), generates: true},
	"decoder.top_p":                {with: m("decoder.decoding_strategy", "sampling"), set: m("decoder.top_p", "0.05"), generates: true},
	"decoder.top_k":                {with: m("decoder.decoding_strategy", "sampling"), set: m("decoder.top_k", "2"), generates: true},
	"decoder.repetition_penalty":   {set: m("decoder.repetition_penalty", "3.0"), generates: true},
	"decoder.num_beams":            {with: m("decoder.decoding_strategy", "beam", "decoder.num_beams", "2"), set: m("decoder.num_beams", "4")},
	"decoder.min_new_tokens":       {with: m("dataset.name", "jsonl", "dataset.path", "a.jsonl"), set: m("decoder.min_new_tokens", "2")},
	"decoder.ignore_eos":           {with: m("dataset.name", "jsonl", "dataset.path", "a.jsonl"), set: m("decoder.ignore_eos", "true")},
	"decoder.stop_sequences":       {set: m("decoder.stop_sequences", "[e]"), generates: true},
	"decoder.speculative_decoding": {set: m("decoder.speculative_decoding", "true", "decoder.draft_model", "org/draft")},
	"decoder.draft_model":          {with: m("decoder.speculative_decoding", "true", "decoder.draft_model", "org/draft-a"), set: m("decoder.draft_model", "org/draft-b")},
	"warmup.enabled":               {set: m("warmup.enabled", "true")},
	"warmup.n_warmup":              {with: m("warmup.enabled", "true"), set: m("warmup.n_warmup", "1")},
	"warmup.thermal_floor_seconds": {with: m("warmup.enabled", "true"), set: m("warmup.thermal_floor_seconds", "90")},
	"warmup.convergence":           {with: m("warmup.enabled", "true"), set: m("warmup.convergence", "true")},
	"warmup.cv_threshold":          {with: m("warmup.enabled", "true", "warmup.convergence", "true"), set: m("warmup.cv_threshold", "0.5")},
	"warmup.window_size":           {with: m("warmup.enabled", "true", "warmup.convergence", "true"), set: m("warmup.window_size", "2")},
	"warmup.min_prompts":           {with: m("warmup.enabled", "true", "warmup.convergence", "true"), set: m("warmup.min_prompts", "3")},
	"warmup.max_prompts":           {with: m("warmup.enabled", "true", "warmup.convergence", "true"), set: m("warmup.max_prompts", "6")},
	"baseline.enabled":             {set: m("baseline.enabled", "true", "baseline.duration_seconds", "5")},
	"baseline.duration_seconds":    {with: m("baseline.enabled", "true", "baseline.duration_seconds", "5"), set: m("baseline.duration_seconds", "6")},
	"lora.adapter_id": {set: m("lora", "{adapter_id: org/adapter}"), on: map[config.Backend]probe{
		config.BackendVLLM: {with: m("vllm.enable_lora", "true"), set: m("lora", "{adapter_id: org/adapter}")}}},
	"lora.adapter_path": {set: m("lora", "{adapter_path: adapter}"), on: map[config.Backend]probe{
		config.BackendVLLM: {with: m("vllm.enable_lora", "true"), set: m("lora", "{adapter_path: adapter}")}}},
	"lora.merge_weights": {with: m("lora", "{adapter_id: org/adapter}"), set: m("lora", "{adapter_id: org/adapter, merge_weights: true}"), on: map[config.Backend]probe{
		config.BackendVLLM: {with: m("vllm.enable_lora", "true", "lora", "{adapter_id: org/adapter}"), set: m("lora", "{adapter_id: org/adapter, merge_weights: true}")}}},
	"passthrough_kwargs":               {set: m("passthrough_kwargs", "{trust_remote_code: true}")},
	"gpu.power_limit_watts":            {set: m("gpu.power_limit_watts", "100000")}, // beyond any card: refused everywhere (gpu_cgo_test.go applies gpu: on go-nvml's mock)
	"gpu.sm_clock_mhz":                 {set: m("gpu.sm_clock_mhz", "100000")},
	"gpu.memory_clock_mhz":             {set: m("gpu.memory_clock_mhz", "100000")},
	"pytorch.batch_size":               {set: m("pytorch.batch_size", "2")},
	"pytorch.batching_strategy":        {set: m("pytorch.batching_strategy", "dynamic")},
	"pytorch.attn_implementation":      {set: m("pytorch.attn_implementation", "eager")},
	"pytorch.torch_compile":            {set: m("pytorch.torch_compile", "true")},
	"pytorch.torch_compile_mode":       {with: m("pytorch.torch_compile", "true"), set: m("pytorch.torch_compile_mode", "reduce-overhead")},
	"pytorch.load_in_4bit":             {set: m("pytorch.load_in_4bit", "true")},
	"pytorch.load_in_8bit":             {set: m("pytorch.load_in_8bit", "true")},
	"pytorch.bnb_4bit_quant_type":      {with: m("pytorch.load_in_4bit", "true"), set: m("pytorch.bnb_4bit_quant_type", "fp4")},
	"pytorch.torchao_quant_type":       {set: m("pytorch.torchao_quant_type", "int8_weight_only")},
	"pytorch.torchao_group_size":       {with: m("pytorch.torchao_quant_type", "int4_weight_only"), set: m("pytorch.torchao_group_size", "64")},
	"pytorch.use_cache":                {set: m("pytorch.use_cache", "false")},
	"pytorch.cache_implementation":     {set: m("pytorch.cache_implementation", "static")},
	"pytorch.prompt_lookup_num_tokens": {set: m("pytorch.prompt_lookup_num_tokens", "3")},
	"pytorch.device_map":               {set: m("pytorch.device_map", "auto")},
	"pytorch.tp_plan":                  {set: m("pytorch.tp_plan", "auto")},
	"pytorch.tp_size":                  {set: m("pytorch.tp_size", "2")},
	"pytorch.num_processes":            {set: m("pytorch.num_processes", "2")},
	"pytorch.random_init":              {set: m("pytorch.random_init", "true")},
	"vllm.max_num_seqs":                {set: m("vllm.max_num_seqs", "2")},
	"vllm.tensor_parallel_size":        {set: m("vllm.tensor_parallel_size", "2")},
	"vllm.gpu_memory_utilization":      {set: m("vllm.gpu_memory_utilization", "0.5")},
	"vllm.enable_prefix_caching":       {set: m("vllm.enable_prefix_caching", "true")},
	"vllm.block_size":                  {set: m("vllm.block_size", "32")},
	"vllm.quantization":                {set: m("vllm.quantization", "awq")},
	"vllm.enforce_eager":               {set: m("vllm.enforce_eager", "true")},
	"vllm.enable_chunked_prefill":      {set: m("vllm.enable_chunked_prefill", "true")},
	"vllm.max_num_batched_tokens":      {set: m("vllm.max_num_batched_tokens", "4096")},
	"vllm.max_model_len":               {set: m("vllm.max_model_len", "1024")},
	"vllm.kv_cache_dtype":              {set: m("vllm.kv_cache_dtype", "fp8")},
	"vllm.attention_backend":           {set: m("vllm.attention_backend", "FLASH_ATTN")},
	"vllm.enable_lora":                 {set: m("vllm.enable_lora", "true")},
	"tensorrt.max_batch_size":          {set: m("tensorrt.max_batch_size", "2")},
	"tensorrt.tp_size":                 {set: m("tensorrt.tp_size", "2")},
	"tensorrt.pp_size":                 {set: m("tensorrt.pp_size", "2")},
	"tensorrt.max_seq_len":             {set: m("tensorrt.max_seq_len", "1024")},
	"tensorrt.max_input_len":           {with: m("tensorrt.max_seq_len", "1024"), set: m("tensorrt.max_input_len", "600")},
	"tensorrt.kv_cache_type":           {set: m("tensorrt.kv_cache_type", "paged")},
	"tensorrt.quantization":            {set: m("tensorrt.quantization", "fp8")},
	"tensorrt.builder_opt_level":       {set: m("tensorrt.builder_opt_level", "2")},
	"tensorrt.engine_path":             {set: m("tensorrt.engine_path", "engine")},
	"native.batch_size":                {set: m("native.batch_size", "2")},
	"native.threads":                   {set: m("native.threads", "1")},
	"native.weights_seed":              {set: m("native.weights_seed", "7"), generates: true},
	"native.kernels":                   {set: m("native.kernels", "portable")},
	"openai.base_url":                  {set: m("openai.base_url", "'http://127.0.0.2:1/v1'")},
	"openai.api_key_env":               {set: m("openai.api_key_env", "LLEM_TEST_KEY")},
	"openai.endpoint":                  {set: m("openai.endpoint", "chat")},
	"openai.concurrency":               {set: m("openai.concurrency", "2")},
	"openai.request_rate":              {set: m("openai.request_rate", "50")},
	"openai.server_command":            {set: m("openai.server_command", "[true]")},
	"openai.health_url":                {set: m("openai.health_url", "'http://127.0.0.1:1/health'")},
	"openai.request_timeout_seconds":   {set: m("openai.request_timeout_seconds", "30")},
}

// selectorFields choose what the other fields are checked against.
var selectorFields = map[string]string{"backend": "selects the engine: every other field is probed on each backend"}

// leafFields lists the dotted paths of every settable leaf field.
func leafFields(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("yaml") == "-" {
			continue // filled by Load, never written
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, leafFields(ft, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// fieldBackend is the backend a section field belongs to, "" for a field
// every backend takes.
func fieldBackend(field string) config.Backend {
	first, _, _ := strings.Cut(field, ".")
	for _, b := range config.Backends() {
		if string(b) == first {
			return b
		}
	}
	return ""
}

// fieldRow is one field's outcome on one backend.
type fieldRow struct {
	Field, Backend, Outcome, Detail string
}

func TestEveryFieldTakesEffectOrIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every field on every backend (about a minute)")
	}
	fields := leafFields(reflect.TypeFor[config.ExperimentConfig](), "")
	for _, f := range fields {
		if _, ok := probes[f]; !ok && selectorFields[f] == "" {
			t.Errorf("field %s has no probe: add a non-default value to probes in fields_test.go, and make the field take effect or be refused", f)
		}
	}
	for f := range probes {
		if !slices.Contains(fields, f) {
			t.Errorf("probe for %s, which is no field of config.ExperimentConfig", f)
		}
	}
	if t.Failed() {
		return
	}

	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var a, b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&a, "{\"id\":\"a%d\",\"prompt\":\"once upon a time there was a tiny model number %d\"}\n", i, i)
		fmt.Fprintf(&b, "{\"id\":\"b%d\",\"prompt\":\"the cat sat on the mat and looked at prompt %d\"}\n", i, i)
	}
	write("a.jsonl", a.String())
	write("b.jsonl", b.String())
	if err := os.MkdirAll(filepath.Join(dir, "adapter"), 0o755); err != nil {
		t.Fatal(err)
	}

	bases := map[config.Backend]map[string]string{
		config.BackendNative: m("model", "tiny", "backend", "native"),
	}
	script, err := filepath.Abs("../engine/pyworker/testdata/fake_worker.py")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("python3"); err == nil {
		for _, bk := range []config.Backend{config.BackendPyTorch, config.BackendVLLM, config.BackendTensorRT} {
			bases[bk] = m("model", "org/model", "backend", string(bk))
		}
	} else {
		t.Log("python3 not installed: the Python backends' fields are not probed (apt-get install python3)")
	}
	if bin := os.Getenv("LLEM_TEST_LLAMACPP"); bin != "" {
		bases[config.BackendOpenAI] = llamaServerBase(t, bin, dir)
	} else {
		t.Log("LLEM_TEST_LLAMACPP is not set: the openai backend's fields are not probed (no llama.cpp build; .ci/run builds one)")
	}
	for _, base := range bases {
		for k, v := range m("n", "4", "dataset.output_len", "8", "baseline.enabled", "false", "warmup.enabled", "false") {
			base[k] = v
		}
	}
	newEngine := func(cfg config.ExperimentConfig) (engine.Engine, error) {
		switch cfg.Backend {
		case config.BackendNative:
			return native.New(), nil
		case config.BackendOpenAI:
			return openai.New(), nil
		}
		return pyworker.New(cfg.Backend, pyworker.Runner{CacheDir: filepath.Join(dir, "workers"), WorkerScript: script}), nil
	}
	opts := Options{
		NewEngine:        newEngine,
		Inspect:          engines.Inspect,
		SamplingInterval: 100 * time.Millisecond,
		Energy:           energy.DetectOptions{DisableNVML: true, PowercapRoot: t.TempDir()},
		Sleep:            func(context.Context, time.Duration) error { return nil },
	}
	opts.Dataset.BaseDir = dir

	refs := map[string]fingerprint{}
	measure := func(t *testing.T, cfg config.ExperimentConfig) fingerprint {
		t.Helper()
		key := config.MeasurementConfigHash(cfg)
		if fp, ok := refs[key]; ok {
			return fp
		}
		res, err := Run(context.Background(), cfg, opts)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		refs[key] = fingerprintOf(res)
		return refs[key]
	}

	var rows []fieldRow
	backends := slices.Sorted(func(yield func(config.Backend) bool) {
		for b := range bases {
			if !yield(b) {
				return
			}
		}
	})
	for _, field := range fields {
		if why := selectorFields[field]; why != "" {
			rows = append(rows, fieldRow{field, "all", "selector", why})
			continue
		}
		for _, bk := range backends {
			p := probes[field]
			if o, ok := p.on[bk]; ok {
				p = o
			}
			if owner := fieldBackend(field); owner != "" && owner != bk {
				continue // another backend's section: refused by the section check, tested in config
			}
			if bk != config.BackendNative && slices.ContainsFunc(harnessLevel, func(pre string) bool { return strings.HasPrefix(field, pre) }) {
				continue
			}
			t.Run(field+"/"+string(bk), func(t *testing.T) {
				outcome, detail := probeField(t, dir, bases[bk], p, measure)
				if why, ok := notHere[field]; ok && outcome == "refused" && strings.Contains(detail, dataset.ErrDatasetUnavailable.Error()) {
					outcome, detail = "not here", why
				}
				rows = append(rows, fieldRow{field, string(bk), outcome, detail})
			})
		}
	}
	if path := os.Getenv("LLEM_FIELD_REPORT"); path != "" {
		var out strings.Builder
		out.WriteString("| field | backend | outcome | detail |\n|---|---|---|---|\n")
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Field < rows[j].Field })
		for _, r := range rows {
			fmt.Fprintf(&out, "| `%s` | %s | %s | %s |\n", r.Field, r.Backend, r.Outcome, strings.ReplaceAll(r.Detail, "|", "\\|"))
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Outcome]++
	}
	t.Logf("outcomes over %d field×backend pairs: %v", len(rows), counts)
}

// probeField decides one probe's outcome: refused (a config or pre-flight
// error naming a field the probe set), takes effect (the result differs
// from the reference), or a test failure.
func probeField(t *testing.T, dir string, base map[string]string, p probe, measure func(*testing.T, config.ExperimentConfig) fingerprint) (string, string) {
	t.Helper()
	ref := merged(base, p.with)
	probed := merged(ref, p.set)
	path := filepath.Join(dir, "study.yaml")
	// What the field needs (with) may itself be refused on this backend
	// (beam search on native): then the field is refused with it.
	named := merged(p.with, p.set)
	refSC, refErr := config.Parse(render(ref), path, dir)
	sc, err := config.Parse(render(probed), path, dir)
	if refErr != nil && err == nil {
		t.Fatalf("the reference configuration is refused but the probe is not (a test bug):\n%s\n%v", render(ref), refErr)
	}
	if refErr == nil {
		named = p.set
	}
	if err != nil {
		var es config.Errors
		if !errors.As(err, &es) {
			t.Fatalf("refused without a configuration error: %v", err)
		}
		for _, e := range es {
			if namesSetField(e.Field, named) && e.Line > 0 {
				return "refused", e.Field + ": " + e.Msg
			}
		}
		t.Fatalf("refused, but no error names a field the probe set (%v) with its line:\n%v", slices.Collect(mapsKeys(named)), err)
	}
	cfg := sc.Experiments[0]
	facts, probs := engines.Inspect(cfg)
	if len(probs) == 0 {
		probs = Preflight(context.Background(), cfg, facts, dataset.Options{BaseDir: dir})
	}
	if len(probs) > 0 {
		for _, pr := range probs {
			if namesSetField(pr.Field, p.set) || errors.Is(pr, dataset.ErrDatasetUnavailable) {
				fe := sc.SettingError(0, "", pr.Field, pr.Msg)
				if fe.Line == 0 && namesSetField(pr.Field, p.set) {
					t.Errorf("pre-flight refusal of %s carries no line: %v", pr.Field, fe)
				}
				return "refused", pr.Error()
			}
		}
		t.Fatalf("the pre-flight refused a field the probe did not set: %v", probs)
	}
	want := measure(t, refSC.Experiments[0])
	got := measure(t, cfg)
	if got.equal(want) {
		if slices.ContainsFunc(config.RecordedOnlyIn(cfg), func(f string) bool { return namesSetField(f, p.set) }) {
			return "recorded only", "see config.RecordedOnlyFields"
		}
		t.Fatalf("accepted but changed nothing: neither the effective record nor what was generated differs\nreference:\n%s\nprobe:\n%s", render(ref), render(probed))
	}
	if p.generates && slices.Equal(got.Requests, want.Requests) {
		t.Fatalf("the effective record changed but what was generated did not:\n%s", render(probed))
	}
	if p.generates {
		return "takes effect", "generated output differs"
	}
	return "takes effect", "effective record differs"
}

func namesSetField(field string, set map[string]string) bool {
	for k := range set {
		if field == k || strings.HasPrefix(k, field+".") || strings.HasPrefix(field, k+".") {
			return true
		}
	}
	return false
}

func mapsKeys(mp map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range mp {
			if !yield(k) {
				return
			}
		}
	}
}

// merged lays b over a; an empty value in b removes the key.
func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// render writes dotted keys as nested YAML, so that `lora` and
// `lora.merge_weights` never collide.
func render(kv map[string]string) []byte {
	keys := slices.Sorted(mapsKeys(kv))
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s: %s\n", k, kv[k])
	}
	return []byte(sb.String())
}

// fingerprint is what a setting can change in a result, timings and
// energy excluded: the engine's and harness's effective settings, the
// protocol, the model, and per request the prompt and what was generated.
type fingerprint struct {
	Effective string
	Protocol  results.Protocol
	Model     [3]string
	Requests  []requestPrint
}

type requestPrint struct {
	PromptID            string
	InputTokens, Output int
	IDs, Text           string
}

func fingerprintOf(r *results.ExperimentResult) fingerprint {
	eff, _ := json.Marshal(r.Effective)
	p := r.Protocol
	p.SamplingIntervalSeconds = 0
	fp := fingerprint{Effective: string(eff), Protocol: p, Model: [3]string{r.Model.Name, r.Model.Weights, fmt.Sprint(r.Model.Parameters)}}
	for _, q := range r.Requests {
		fp.Requests = append(fp.Requests, requestPrint{q.PromptID, q.InputTokens, q.OutputTokens, q.OutputIDsSHA256, q.OutputTextSHA256})
	}
	return fp
}

func (f fingerprint) equal(g fingerprint) bool {
	return f.Effective == g.Effective && reflect.DeepEqual(f.Protocol, g.Protocol) && f.Model == g.Model && slices.Equal(f.Requests, g.Requests)
}

// llamaServerBase starts one llama-server (stopped by its PID at the end)
// serving a synthetic stories15M, and returns the openai base config that
// talks to it; openai's own fields are probed against it.
func llamaServerBase(t *testing.T, bin, dir string) map[string]string {
	t.Helper()
	base := startLlamaServer(t, bin, dir, 2)
	t.Setenv("LLEM_TEST_KEY", "not-a-real-key")
	// openai's own fields, probed against this server.
	for field, p := range map[string]probe{
		"openai.base_url":       {set: m("openai.base_url", "'"+strings.Replace(base, "127.0.0.1", "localhost", 1)+"/v1'")},
		"openai.server_command": {set: m("openai.server_command", "[sleep, '30']")},
		"openai.health_url":     {with: m("openai.server_command", "[sleep, '30']"), set: m("openai.health_url", "'"+base+"/health'")},
		"model":                 {set: m("model", "another-model")},
		"precision":             {set: m("precision", "q8_0")},
	} {
		pr := probes[field]
		if pr.on == nil {
			pr.on = map[config.Backend]probe{}
		}
		pr.on[config.BackendOpenAI] = p
		probes[field] = pr
	}
	return m("model", "stories15M", "backend", "openai", "openai.base_url", "'"+base+"/v1'")
}

// startLlamaServer starts llama-server (stopped by its PID at the end) with
// slots parallel slots, serving a synthetic stories15M as "stories15M", and
// returns its base URL once healthy.
func startLlamaServer(t *testing.T, bin, dir string, slots int) string {
	t.Helper()
	model := filepath.Join(dir, "stories15M.gguf")
	if err := native.SynthesizeGGUFFile(model, "stories15M", 1, "f32"); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(filepath.Join(bin, "llama-server"), "-m", model, "--alias", "stories15M", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "-np", fmt.Sprint(slots), "-c", "8192", "-t", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("llama-server did not become healthy at %s", base)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return base
}
