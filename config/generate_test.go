package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
	sjson "github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite the generated files: ../schema/*.schema.json and ../docs/config-reference.md")

const modulePath = "github.com/llenergymeasure/llem/config"

// generated maps each generated file (relative to this package) to its
// generator. `go test ./config -run TestGenerated -update` rewrites them;
// without -update the test fails when a checked-in file is stale.
func generated(t *testing.T) map[string]func() []byte {
	r := newReflector(t)
	return map[string]func() []byte{
		"../schema/experiment.schema.json": func() []byte { return marshalSchema(t, experimentSchema(r)) },
		"../schema/study.schema.json":      func() []byte { return marshalSchema(t, studySchema(r)) },
		"../docs/config-reference.md":      func() []byte { return referenceMarkdown(r.CommentMap) },
	}
}

func TestGeneratedFilesFresh(t *testing.T) {
	for path, gen := range generated(t) {
		want := gen()
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale or missing (%v); regenerate with: go test ./config -run TestGenerated -update", path, err)
		}
	}
}

// TestExamplesMatchSchema checks every example against the generated study
// schema, so the schema accepts what the loader accepts.
func TestExamplesMatchSchema(t *testing.T) {
	validate := compileSchema(t, marshalSchema(t, studySchema(newReflector(t))))
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, f := range files {
		if err := validate(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	dir := t.TempDir()
	for src, ok := range map[string]bool{
		"model: m\npytorch.batch_size: 8\nbackend: pytorch\n":    true,
		"model: m\nmodle: x\n":                                   false,
		"model: m\nbackend: pytroch\n":                           false,
		"model: m\ndataset: {name: synthetic, file_sha256: x}\n": false,
	} {
		p := filepath.Join(dir, "f.yaml")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := validate(p); (err == nil) != ok {
			t.Errorf("schema on %q: got %v, want valid=%v", src, err, ok)
		}
	}
}

func newReflector(t *testing.T) *jsonschema.Reflector {
	t.Helper()
	r := &jsonschema.Reflector{RequiredFromJSONSchemaTags: true, DoNotReference: true}
	if err := r.AddGoComments(modulePath, "./"); err != nil {
		t.Fatalf("read Go comments: %v", err)
	}
	plain := *r
	r.Mapper = func(typ reflect.Type) *jsonschema.Schema {
		if typ != datasetType {
			return nil
		}
		obj := plain.ReflectFromType(datasetType)
		obj.Version, obj.ID = "", ""
		obj.Properties.Delete("file_sha256")
		return &jsonschema.Schema{
			Description: "The prompts measured: a name (synthetic, builtin, aienergyscore), a path to a .jsonl or .json file, or a mapping.",
			OneOf:       []*jsonschema.Schema{{Type: "string"}, obj},
		}
	}
	return r
}

func marshalSchema(t *testing.T, s *jsonschema.Schema) []byte {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// dottedKeys allows `section.field: value` at the top level.
const dottedKeys = `^(pytorch|vllm|tensorrt|native|openai|dataset|decoder|warmup|baseline|lora)\.[a-z0-9_.]+$`

func experimentSchema(r *jsonschema.Reflector) *jsonschema.Schema {
	s := r.Reflect(&ExperimentConfig{})
	s.ID = "https://github.com/llenergymeasure/llem/schema/experiment.schema.json"
	s.Title = "llem experiment"
	s.Description = "One measurement point. Unset fields take llem's defaults (docs/config-reference.md)."
	if p, ok := s.Properties.Get("precision"); ok {
		p.Enum = anyList(append([]string{""}, AllPrecisions()...))
	}
	s.Properties.Delete("model_sha256") // filled by Load, never written
	one := json.Number("1")
	s.Properties.Set("batch_size", &jsonschema.Schema{Type: "integer", Minimum: one,
		Description: "Universal batch knob: sets pytorch.batch_size, vllm.max_num_seqs, tensorrt.max_batch_size, native.batch_size or openai.concurrency for the experiment's backend."})
	s.PatternProperties = map[string]*jsonschema.Schema{dottedKeys: {Description: "A dotted key sets one nested field (pytorch.batch_size: 8)."}}
	return s
}

func studySchema(r *jsonschema.Reflector) *jsonschema.Schema {
	s := experimentSchema(r)
	s.ID = "https://github.com/llenergymeasure/llem/schema/study.schema.json"
	s.Title = "llem study or experiment file"
	s.Description = "A study (with sweep: or experiments:) or an experiment file. Top-level experiment fields are shared by every experiment."
	if b, ok := s.Properties.Get("backend"); ok {
		one := uint64(1)
		s.Properties.Set("backend", &jsonschema.Schema{Description: "One backend, or a list: each backend gets its own grid.",
			OneOf: []*jsonschema.Schema{b, {Type: "array", Items: b, MinItems: &one}}})
	}
	entry := experimentSchema(r)
	entry.Version, entry.ID, entry.Title = "", "", ""
	entry.Description = "An explicit experiment: shared fields overridden by these."
	one := uint64(1)
	s.Properties.Set("name", &jsonschema.Schema{Type: "string", Description: "The study's name, used in the output folder (default: the file name without extension)."})
	s.Properties.Set("base", &jsonschema.Schema{Type: "string", Description: "An experiment file, relative to this file, whose fields are defaults under the inline ones."})
	s.Properties.Set("sweep", &jsonschema.Schema{Type: "object",
		Description:          "Sweep axes: a field (precision, batch_size), a dotted field (pytorch.batch_size, decoder.temperature) or a group name, each with a list of values (a list of mappings for a dependent group).",
		AdditionalProperties: &jsonschema.Schema{Type: "array", MinItems: &one}})
	s.Properties.Set("experiments", &jsonschema.Schema{Type: "array", Items: entry, MinItems: &one,
		Description: "Explicit experiments, run after the grid."})
	ex := r.Reflect(&Execution{})
	ex.Version, ex.ID = "", ""
	ex.Description = "How the study runs; not part of study_design_hash."
	ex.Properties.Set("experiment_gap_seconds", &jsonschema.Schema{Type: "number", Minimum: json.Number("0"), Description: "Upstream's name for config_gap_seconds."})
	s.Properties.Set("execution", ex)
	return s
}

// referenceMarkdown renders docs/config-reference.md from the types, their
// comments, the defaults and the capabilities table.
func referenceMarkdown(comments map[string]string) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# llem configuration reference\n\n")
	w("Generated from the Go types in `config/` by `go test ./config -run TestGenerated -update`; do not edit by hand.\n")
	w("JSON Schemas for editors: `schema/experiment.schema.json`, `schema/study.schema.json`.\n\n")
	w("A file with `sweep:` or `experiments:` is a study; any other file is an experiment file (a study of one experiment).\n")
	w("Unknown fields, wrong types and values outside the allowed ones are errors, all reported at once as `file:line:col: field: message`.\n\n")

	w("## Study-level keys\n\n| key | type | default | description |\n|---|---|---|---|\n")
	w("| `name` | string | file name without extension | The study's name, used in the output folder. |\n")
	w("| `base` | string | — | An experiment file, relative to the study file, whose fields are shared defaults under the inline ones (its own study-level keys are ignored). |\n")
	w("| `sweep` | mapping | — | Axes, each a list of values. A plain key (`precision`, `n`, `batch_size`) or a key into an experiment section (`decoder.temperature`, `dataset.input_len`) applies to every backend; a key into a backend section (`pytorch.batch_size`) only to that backend's grid, and is an error when the study does not use that backend. `backend` may be an axis. A key naming no field whose value is a list of mappings is a dependent group: its alternatives are unioned, then crossed with the other axes. |\n")
	w("| `experiments` | list | — | Explicit experiments, each the shared fields overridden by the entry; run after the grid. |\n")
	w("| `execution` | mapping | see below | How the study runs; never part of `study_design_hash`. |\n\n")
	w("Everything else at the top level is an experiment field shared by every experiment. `backend:` may be a list in a study (each backend gets its own grid). ")
	w("Expansion order: backends in the order written; within a backend the Cartesian product of its axes in the order the sweep lists them, the first varying slowest; then the explicit experiments. ")
	w("A generated configuration a backend cannot run is skipped and listed with its reason; an invalid explicit entry, an invalid experiment file or a study where every configuration is invalid is an error.\n\n")

	d := DefaultExperiment()
	ApplyDefaults(&d)
	w("## Experiment fields\n\n| field | type | default | allowed | description |\n|---|---|---|---|---|\n")
	w("| `batch_size` | integer | engine default | ≥ 1 | Universal batch knob: sets the backend's own field (%s). |\n", batchFields())
	fieldRows(&b, comments, reflect.ValueOf(d), "")
	w("\nBackend fields left unset mean the engine's own default: the effective value is recorded in the result, and only values written enter `measurement_config_hash`.\n\n")

	w("## Backend capabilities\n\n| backend | precisions | default precision | decoding strategies | LoRA | batch field |\n|---|---|---|---|---|---|\n")
	for _, be := range Backends() {
		c := capabilities[be]
		own := "model's own"
		if be == BackendOpenAI {
			own = "the server's"
		}
		w("| %s | %s | %s | %s | %s | `%s` |\n", be, describePrecisions(c.Precisions), orDash(c.DefaultPrecision, own), strings.Join(c.DecodingStrategies, ", "), loraText(c.LoRA), c.BatchField)
	}

	w("\nSpeculative decoding: %s. `max_input_tokens` (llem cuts prompts with the model's tokenizer): %s. `passthrough_kwargs`: %s.\n",
		strings.Join(backendsWith(func(c Capabilities) bool { return c.SpeculativeDecoding }), ", "),
		strings.Join(backendsWith(func(c Capabilities) bool { return c.TruncatesPrompts }), ", "),
		strings.Join(backendsWith(func(c Capabilities) bool { return c.Passthrough }), ", "))

	w("\n## Every setting takes effect or is refused\n\n")
	w("A value that could not change what runs is a configuration error (exit 2, naming the file, line and field), found when the file is read or by the pre-flight before anything is measured (also at `--dry-run`): a sampling knob under greedy decoding, a warm-up field with warm-up off, a batch larger than `n`, a precision on a GGUF file, a prompt that does not fit the context, and so on. ")
	w("The field-coverage test (`internal/harness/fields_test.go`) checks every field on every backend that runs here. These fields alone are accepted and recorded without effect under a condition, and `--dry-run` warns when a sweep varies nothing else:\n\n| field | without effect when | why it is accepted |\n|---|---|---|\n")
	for _, r := range RecordedOnlyFields() {
		w("| `%s` | %s | %s |\n", r.Field, r.When, r.Why)
	}

	w("\n## Execution\n\n| field | type | default | allowed | description |\n|---|---|---|---|---|\n")
	fieldRows(&b, comments, reflect.ValueOf(DefaultExecution()), "execution")
	w("| `execution.experiment_gap_seconds` | number | — |  | Upstream's name for `config_gap_seconds`. |\n")
	w("\n`llem run` uses %d cycles in %s order when the file has no `execution:` block (the library default is 1).\n", CLIDefaultCycles, CLIDefaultOrder)

	w("\n## User config\n\nMachine-local settings, from `$LLEM_CONFIG`, else `$XDG_CONFIG_HOME/llem/config.yaml`, else `~/.config/llem/config.yaml`. ")
	w("Precedence: flags > study file > environment > user config > defaults.\n\n| key | type | default | environment | description |\n|---|---|---|---|---|\n")
	u := DefaultUserConfig()
	uv := reflect.ValueOf(u)
	env := map[string]string{}
	for _, k := range userKeys {
		env[k.key] = k.env
	}
	env["runners"] = "LLEM_<BACKEND>_PYTHON, LLEM_<BACKEND>_IMAGE"
	for i := range uv.NumField() {
		f := uv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		w("| `%s` | %s | %s | %s | %s |\n", name, typeName(f.Type), defaultText(uv.Field(i)), orDash(env[name], ""), cell(comments[modulePath+".UserConfig."+f.Name]))
	}
	return b.Bytes()
}

func batchFields() string {
	var out []string
	for _, be := range Backends() {
		out = append(out, fmt.Sprintf("%s: `%s`", be, capabilities[be].BatchField))
	}
	return strings.Join(out, ", ")
}

func loraText(l LoRASupport) string {
	return [...]string{"yes", "with vllm.enable_lora", "no (merge the adapter first)", "no"}[l]
}

func orDash(s, empty string) string {
	if s == "" {
		if empty == "" {
			return "—"
		}
		return empty
	}
	return s
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
}

// fieldRows writes one row per leaf field of v, nested sections flattened
// into dotted paths.
func fieldRows(b *bytes.Buffer, comments map[string]string, v reflect.Value, prefix string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || f.Tag.Get("yaml") == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		desc := comments[modulePath+"."+t.Name()+"."+f.Name]
		if desc == "" {
			desc = jsonschemaDescription(f)
		}
		ft := f.Type
		fv := v.Field(i)
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
			ft, fv = ft.Elem(), reflect.New(ft.Elem()).Elem()
		}
		if ft.Kind() == reflect.Struct {
			if desc != "" {
				fmt.Fprintf(b, "| `%s` | mapping | | | %s |\n", path, cell(desc))
			}
			fieldRows(b, comments, fv, path)
			continue
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", path, typeName(f.Type), fieldDefault(path, v.Field(i)), allowed(path, f), cell(desc))
	}
}

func jsonschemaDescription(f reflect.StructField) string {
	for part := range strings.SplitSeq(f.Tag.Get("jsonschema"), ",") {
		if d, ok := strings.CutPrefix(part, "description="); ok {
			return d
		}
	}
	return ""
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "mapping"
	}
	return t.Kind().String()
}

func fieldDefault(path string, v reflect.Value) string {
	switch path {
	case "model":
		return "(required)"
	case "precision":
		return "per backend, see below"
	case "dataset.input_len", "dataset.output_len":
		return defaultText(v) + " (synthetic)"
	case "dataset.revision":
		return "`" + DefaultAIEnergyScoreRevision[:12] + "…` (aienergyscore)"
	}
	if strings.Count(path, ".") == 1 {
		if _, ok := capabilities[Backend(strings.Split(path, ".")[0])]; ok && v.Kind() == reflect.Pointer {
			return "engine default"
		}
	}
	return defaultText(v)
}

func defaultText(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		if v.IsNil() || v.Len() == 0 {
			return "—"
		}
	case reflect.String:
		if v.String() == "" {
			return "—"
		}
		return "`" + v.String() + "`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

func allowed(path string, f reflect.StructField) string {
	switch path {
	case "precision":
		return "per backend, see below"
	case "decoder.decoding_strategy":
		return "greedy, sampling, beam (per backend, see below)"
	case "decoder.preset":
		return strings.Join(DecoderPresets(), ", ")
	case "backend":
		return strings.Join(backendNames(), ", ")
	}
	if e := enumOf(f); len(e) > 0 {
		return strings.Join(e, ", ")
	}
	return ""
}

// compileSchema returns a validator of YAML files against schema.
func compileSchema(t *testing.T, schema []byte) func(path string) error {
	t.Helper()
	doc, err := sjson.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := sjson.NewCompiler()
	if err := c.AddResource("study.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("study.schema.json")
	if err != nil {
		t.Fatalf("the generated schema does not compile: %v", err)
	}
	return func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		tree, err := parseTree(data, path)
		if err != nil {
			return err
		}
		// Round-trip through JSON so numbers take the validator's types.
		j, err := json.Marshal(tree.toAny())
		if err != nil {
			return err
		}
		inst, err := sjson.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			return err
		}
		return sch.Validate(inst)
	}
}
