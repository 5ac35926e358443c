package native

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Inspect checks cfg against the model and this machine without loading
// weights: the model is a shape or a readable GGUF of a supported
// architecture, and every native setting can take effect. It returns the
// model's context and tokenizer for the pre-flight's length checks.
func Inspect(cfg config.ExperimentConfig) (engine.ModelFacts, []*engine.SettingError) {
	var errs []*engine.SettingError
	refuse := func(field, format string, args ...any) {
		errs = append(errs, &engine.SettingError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	nc := config.NativeConfig{}
	if cfg.Native != nil {
		nc = *cfg.Native
	}
	if t := nc.Threads; t != nil && *t > runtime.NumCPU() {
		refuse("native.threads", "%d threads on a machine with %d cores: the threads beyond the cores only wait for one, so the setting measures nothing new; use at most %d", *t, runtime.NumCPU(), runtime.NumCPU())
	}
	if k := nc.Kernels; k != nil && *k != "" {
		if _, err := selectKernels(*k); err != nil {
			refuse("native.kernels", "%v", err)
		}
	}
	var facts engine.ModelFacts
	if s, ok := LookupShape(cfg.Model); ok {
		if _, err := precisionType(cfg.Precision); err != nil {
			refuse("precision", "%v", err)
		}
		if tok, err := synthTokenizer(s.Vocab); err != nil {
			refuse("model", "shape %s: tokenizer: %v", s.Name, err)
		} else {
			facts.Tokenizer = tok
		}
		facts.Context, facts.ContextFrom = s.Context, "shape "+s.Name
		return facts, errs
	}
	if _, err := os.Stat(cfg.Model); err != nil {
		refuse("model", "%q is neither a synthetic shape (%s) nor a readable GGUF file: %v", cfg.Model, strings.Join(Shapes(), ", "), err)
		return facts, errs
	}
	g, err := OpenGGUF(cfg.Model)
	if err != nil {
		refuse("model", "%q is not a GGUF file the native engine can read: %v", cfg.Model, err)
		return facts, errs
	}
	defer g.Close()
	arch, _ := g.String("general.architecture")
	switch arch {
	case "llama", "qwen2", "mistral":
	default:
		refuse("model", "%s: unsupported architecture %q (the native engine runs llama, mistral and qwen2)", cfg.Model, arch)
		return facts, errs
	}
	if p := cfg.Precision; p != "" && p != "auto" {
		refuse("precision", "%q cannot apply to %s: a GGUF model runs in its own tensor types (quantise the file with llama-quantize, or use a synthetic shape); remove precision or set it to auto", p, cfg.Model)
	}
	if nc.WeightsSeed != nil {
		refuse("native.weights_seed", "seeds synthetic shapes only; %s is a GGUF file with its own weights", cfg.Model)
	}
	if c, ok := g.Int(arch + ".context_length"); ok {
		facts.Context, facts.ContextFrom = c, "GGUF header of "+cfg.Model
	}
	tok, err := tokenizerFromGGUF(g)
	if err != nil {
		refuse("model", "%s: tokenizer: %v", cfg.Model, err)
		return facts, errs
	}
	facts.Tokenizer = tok
	return facts, errs
}
