package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/llenergymeasure/llem/internal/digest"
)

// Study-level keys (CFG-4c); every other top-level key is a shared
// experiment field.
var studyKeys = []string{"name", "base", "sweep", "experiments", "execution"}

// maxGenerated bounds a sweep's size so a typo cannot exhaust memory.
const maxGenerated = 1_000_000

// Load reads a study or experiment file and resolves it: sweep expanded,
// defaults applied, every experiment validated. Problems in the file are
// returned together as Errors.
func Load(path string) (*StudyConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("cannot read the config file: %v", err)}}
	}
	return Parse(data, path, filepath.Dir(path))
}

// Parse resolves the YAML of a study or experiment file. filename names it
// in errors and gives the study's default name; baseDir resolves `base:`
// and dataset paths (also those a base file supplies), and jsonl/sharegpt
// files are read there to fill DatasetConfig.FileSHA256.
//
// Expansion order (deterministic): for each backend in the order written
// (`backend: [a, b]` or a `backend` sweep axis), the Cartesian product of
// the sweep axes that apply to it in the order the sweep lists them, the
// first axis varying slowest; then the `experiments:` entries in order.
// A grid point that a backend cannot run is skipped and listed in Skipped
// with the reason; so is a configuration identical to an earlier one. An
// invalid explicit entry or experiment file, or a study whose every
// configuration is invalid, is an error.
func Parse(data []byte, filename, baseDir string) (*StudyConfig, error) {
	r := &resolver{file: filename, baseDir: baseDir, files: map[string]fileDigest{}}
	r.dec = newDecoder(filename, &r.errs)
	sc, err := r.run(data)
	if err != nil {
		return nil, err
	}
	return sc, nil
}

type resolver struct {
	file, baseDir string
	errs          errorList
	dec           *decoder
	files         map[string]fileDigest
	sharedBy      map[Backend]*node
}

type fileDigest struct {
	sum string
	err error
}

// candidate is one experiment tree before decoding.
type candidate struct {
	tree    *node
	origin  Origin
	anchor  pos // where to point when a problem has no field of its own
	backend Backend
}

func (r *resolver) failAt(p pos, field, format string, args ...any) {
	r.errs.add(&FieldError{File: r.file, Line: p.line, Col: p.col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (r *resolver) run(data []byte) (*StudyConfig, error) {
	root, err := parseTree(data, r.file)
	if err != nil {
		return nil, err
	}
	if root.kind != kindMap {
		return nil, Errors{{File: r.file, Line: root.pos.line, Col: root.pos.col, Msg: "a study or experiment file must be a mapping of fields, got " + root.kind.String()}}
	}
	sc := &StudyConfig{Name: strings.TrimSuffix(filepath.Base(r.file), filepath.Ext(r.file)), Path: r.file, Execution: DefaultExecution()}
	if r.file == "" {
		sc.Name = "study"
	}
	shared := &node{kind: kindMap, pos: root.pos}
	var sweep, explicit, base *entry
	for _, e := range root.keys {
		switch e.key {
		case "name":
			if e.val.kind != kindString || strings.TrimSpace(e.val.s) == "" {
				r.failAt(e.val.pos, "name", "expected a non-empty string, got %s", e.val.describe())
			} else if strings.ContainsAny(e.val.s, `/\`) {
				r.failAt(e.val.pos, "name", "must not contain path separators (it names the output folder), got %q", e.val.s)
			} else {
				sc.Name = e.val.s
			}
		case "base":
			base = e
		case "sweep":
			sweep = e
		case "experiments":
			explicit = e
		case "execution":
			r.execution(e, sc)
		default:
			shared.keys = append(shared.keys, e)
		}
	}
	shared = r.expandDotted(shared, "")
	if base != nil {
		if bt := r.loadBase(base); bt != nil {
			merged := bt.cloneMap()
			mergeInto(merged, shared)
			shared = merged
		}
	}
	sc.Declared = sweep != nil || explicit != nil
	cands := r.candidates(shared, sweep, explicit)
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	r.resolveAll(sc, cands)
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	return sc, nil
}

// execution decodes the execution: block over the library defaults.
func (r *resolver) execution(e *entry, sc *StudyConfig) {
	sc.ExecutionFromFile = true
	n := e.val
	if n.kind == kindMap {
		if alias := n.get("experiment_gap_seconds"); alias != nil {
			if n.get("config_gap_seconds") != nil {
				r.failAt(alias.keyPos, "execution.experiment_gap_seconds", "is another name for config_gap_seconds; set only one of them")
			}
			n = n.cloneMap()
			n.remove("experiment_gap_seconds")
			n.set("config_gap_seconds", alias.keyPos, alias.val)
		}
	}
	r.dec.decode(reflect.ValueOf(&sc.Execution).Elem(), n, "execution", nil)
	for _, p := range validateExecution(&sc.Execution) {
		at := e.keyPos
		if f := n.lookup(strings.TrimPrefix(p.field, "execution.")); f != nil && n.kind == kindMap {
			at = f.val.pos
		}
		r.failAt(at, p.field, "%s", p.msg)
	}
}

// loadBase reads the experiment file named by `base:`; its own study-level
// keys are ignored.
func (r *resolver) loadBase(e *entry) *node {
	if e.val.kind != kindString || e.val.s == "" {
		r.failAt(e.val.pos, "base", "expected the path of an experiment file, got %s", e.val.describe())
		return nil
	}
	path := e.val.s
	if !filepath.IsAbs(path) {
		path = filepath.Join(r.baseDir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		r.failAt(e.val.pos, "base", "cannot read base experiment file %s: %v", path, err)
		return nil
	}
	bt, err := parseTree(data, path)
	if err != nil {
		if es, ok := err.(Errors); ok {
			r.errs.addAll(es)
		}
		return nil
	}
	if bt.kind != kindMap {
		r.failAt(e.val.pos, "base", "%s must be a mapping of experiment fields", path)
		return nil
	}
	out := &node{kind: kindMap, pos: bt.pos}
	for _, be := range bt.keys {
		if !slices.Contains(studyKeys, be.key) {
			out.keys = append(out.keys, be)
		}
	}
	// Errors in the base file's fields are reported against the base file.
	sub := &resolver{file: path, baseDir: r.baseDir}
	out = sub.expandDotted(out, "")
	r.errs.addAll(sub.errs.errs)
	return out
}

// expandDotted turns root-level `a.b: v` keys into nested mappings.
func (r *resolver) expandDotted(layer *node, where string) *node {
	hasDot := false
	for _, e := range layer.keys {
		if strings.Contains(e.key, ".") {
			hasDot = true
			break
		}
	}
	if !hasDot {
		return layer
	}
	out := &node{kind: kindMap, pos: layer.pos}
	// Plain keys first, so a dotted key that repeats a nested one is caught
	// whatever the order they were written in.
	for _, e := range layer.keys {
		if !strings.Contains(e.key, ".") {
			ce := *e // out's entries are its own: merging below rewrites them
			out.keys = append(out.keys, &ce)
		}
	}
	for _, e := range layer.keys {
		parts := strings.Split(e.key, ".")
		if len(parts) == 1 {
			continue
		}
		if slices.Contains(parts, "") {
			r.failAt(e.keyPos, join(where, e.key), "malformed dotted key")
			continue
		}
		if ex := out.lookup(e.key); ex != nil {
			r.failAt(e.keyPos, join(where, e.key), "set twice (as %q and in a nested mapping)", e.key)
			continue
		}
		nested := e.val
		for i := len(parts) - 1; i >= 1; i-- {
			nested = &node{kind: kindMap, pos: e.keyPos, keys: []*entry{{key: parts[i], keyPos: e.keyPos, val: nested}}}
		}
		mergeInto(out, &node{kind: kindMap, keys: []*entry{{key: parts[0], keyPos: e.keyPos, val: nested}}})
	}
	return out
}

// translateBatch moves the universal `batch_size` key of one layer to
// backend b's own batch field.
func (r *resolver) translateBatch(layer *node, b Backend) *node {
	e := layer.get("batch_size")
	if e == nil {
		return layer
	}
	out := layer.cloneMap()
	out.remove("batch_size")
	caps, ok := capabilities[b]
	if !ok {
		return out // the unknown backend is reported on its own
	}
	section, field, _ := strings.Cut(caps.BatchField, ".")
	if out.lookup(caps.BatchField) != nil {
		r.failAt(e.keyPos, "batch_size", "set together with %s; set only one of them", caps.BatchField)
		return out
	}
	mergeInto(out, &node{kind: kindMap, keys: []*entry{{key: section, keyPos: e.keyPos,
		val: &node{kind: kindMap, pos: e.keyPos, keys: []*entry{{key: field, keyPos: e.keyPos, val: e.val}}}}}})
	return out
}

// backendList reads a `backend:` value that may be a list.
func (r *resolver) backendList(e *entry, field string) []Backend {
	items := []*node{e.val}
	if e.val.kind == kindSeq {
		items = e.val.items
		if len(items) == 0 {
			r.failAt(e.val.pos, field, "empty list of backends")
		}
	}
	var out []Backend
	for _, it := range items {
		if it.kind != kindString {
			r.failAt(it.pos, field, "expected a backend name, got %s", it.describe())
			continue
		}
		b := Backend(it.s)
		if _, ok := capabilities[b]; !ok {
			r.failAt(it.pos, field, "invalid value %q (allowed: %s)%s", it.s, quoteList(backendNames()), suggest(it.s, backendNames()))
			continue
		}
		if slices.Contains(out, b) {
			r.failAt(it.pos, field, "backend %s listed twice", b)
			continue
		}
		out = append(out, b)
	}
	return out
}

// sharedFor is the shared layer for backend b, batch_size translated.
func (r *resolver) sharedFor(shared *node, b Backend) *node {
	if t, ok := r.sharedBy[b]; ok {
		return t
	}
	t := r.translateBatch(shared, b)
	r.sharedBy[b] = t
	return t
}

// candidates expands the file into experiment trees.
func (r *resolver) candidates(shared *node, sweep, explicit *entry) []candidate {
	r.sharedBy = map[Backend]*node{}
	backendEntry := shared.get("backend")
	sharedNoBackend := shared
	var backends []Backend
	backendFromList := false
	if backendEntry != nil {
		sharedNoBackend = shared.cloneMap()
		sharedNoBackend.remove("backend")
		backends = r.backendList(backendEntry, "backend")
		backendFromList = backendEntry.val.kind == kindSeq
	}
	var g *grid
	if sweep != nil {
		g = r.parseSweep(sweep, backendEntry)
		if g != nil && g.backends != nil {
			backends = g.backends
		}
	}
	if len(backends) == 0 && backendEntry == nil {
		backends = []Backend{DefaultBackend}
	}
	if g != nil {
		r.checkScopes(g, backends)
	}
	var out []candidate
	if g != nil || backendFromList {
		if g == nil {
			g = &grid{}
		}
		out = r.expandGrid(g, sharedNoBackend, backends, backendEntry)
	}
	if explicit != nil {
		out = append(out, r.explicitEntries(explicit, sharedNoBackend, backends, backendFromList, backendEntry)...)
	}
	if sweep == nil && explicit == nil && !backendFromList {
		b := DefaultBackend
		if len(backends) == 1 {
			b = backends[0]
		}
		tree := r.sharedFor(sharedNoBackend, b).cloneMap()
		if backendEntry != nil {
			tree.set("backend", backendEntry.keyPos, backendEntry.val)
		}
		out = append(out, candidate{tree: tree, origin: Origin{Source: "file"}, backend: b})
	}
	return out
}

func (r *resolver) explicitEntries(explicit *entry, shared *node, backends []Backend, backendFromList bool, backendEntry *entry) []candidate {
	if explicit.val.kind != kindSeq {
		r.failAt(explicit.val.pos, "experiments", "expected a list of experiments, got %s", explicit.val.describe())
		return nil
	}
	if len(explicit.val.items) == 0 {
		r.failAt(explicit.val.pos, "experiments", "empty list; remove the key or add experiments")
	}
	var out []candidate
	for i, it := range explicit.val.items {
		field := fmt.Sprintf("experiments[%d]", i)
		if it.kind != kindMap {
			r.failAt(it.pos, field, "expected a mapping of experiment fields, got %s", it.describe())
			continue
		}
		for _, e := range it.keys {
			if slices.Contains(studyKeys, e.key) {
				r.failAt(e.keyPos, join(field, e.key), "is a study-level key; it cannot appear inside an experiment")
			}
		}
		layer := r.expandDotted(it, field)
		var b Backend
		be := layer.get("backend")
		switch {
		case be != nil:
			bs := r.backendList(be, join(field, "backend"))
			if be.val.kind == kindSeq {
				r.failAt(be.val.pos, join(field, "backend"), "an explicit experiment has one backend; list one entry per backend")
				continue
			}
			if len(bs) == 0 {
				continue
			}
			b = bs[0]
		case backendFromList:
			r.failAt(it.pos, field, "the study lists several backends (%s); name this experiment's backend", joinBackends(backends))
			continue
		case len(backends) == 1:
			b = backends[0]
		default:
			b = DefaultBackend
		}
		tree := r.sharedFor(shared, b).cloneMap()
		if backendEntry != nil && be == nil {
			tree.set("backend", backendEntry.keyPos, backendEntry.val)
		}
		mergeInto(tree, r.translateBatch(layer, b))
		out = append(out, candidate{tree: tree, origin: Origin{Source: "experiments", Entry: i}, anchor: it.pos, backend: b})
	}
	return out
}

func joinBackends(bs []Backend) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}

// resolveAll decodes, defaults and validates every candidate.
func (r *resolver) resolveAll(sc *StudyConfig, cands []candidate) {
	base := DefaultExperiment()
	// The dataset is decoded over its identity-free defaults; the rest of
	// its defaults depend on its kind (ApplyDefaults).
	base.Dataset = DatasetConfig{Seed: base.Dataset.Seed, Order: base.Dataset.Order}
	seen := make(map[string]int, len(cands))
	hasher := newHasher()
	sc.Experiments = make([]ExperimentConfig, 0, len(cands))
	sc.Origins = make([]Origin, 0, len(cands))
	sc.written = make([]written, 0, len(cands))
	var skippedReasons []string
	for _, c := range cands {
		before := len(r.errs.errs)
		cfg := base
		if p := c.tree.lookup("decoder.preset"); p != nil && p.val.kind == kindString {
			if preset, ok := decoderPresets[p.val.s]; ok {
				cfg.Decoder = preset
			}
		}
		r.dec.decode(reflect.ValueOf(&cfg).Elem(), c.tree, "", nil)
		if p := c.tree.get("precision"); p != nil && p.val.kind == kindString && p.val.s != "" && !slices.Contains(AllPrecisions(), p.val.s) {
			// A precision no backend knows is a typo, not a combination to skip.
			all := AllPrecisions()
			r.failAt(p.val.pos, "precision", "invalid value %q (allowed: %s)%s", p.val.s, quoteList(all), suggest(p.val.s, all))
		}
		w := written{precisionSet: c.tree.get("precision") != nil, baselineSet: c.tree.lookup("baseline.duration_seconds") != nil, at: c.locate}
		ApplyDefaults(&cfg)
		if !w.precisionSet {
			w.defaultPrecision = cfg.Precision
		}
		if len(r.errs.errs) != before {
			continue // typos and wrong types are errors wherever they are
		}
		r.digestDataset(&cfg, c.tree)
		r.digestModel(&cfg, c.tree)
		if len(r.errs.errs) != before {
			continue
		}
		// A setting that could never take effect is an error even on a
		// sweep point: the axis itself is wrong, not one combination.
		probs := validateExperiment(&cfg, true)
		if hard := checkWritten(&cfg, c.tree); len(hard) > 0 {
			if c.origin.Source != "sweep" {
				hard = append(probs, hard...)
			}
			for _, p := range hard {
				r.failAt(c.locate(p.field), c.fieldPrefix()+p.field, "%s", p.msg)
			}
			continue
		}
		if len(probs) > 0 {
			if c.origin.Source == "sweep" {
				reason := joinProblems(probs)
				sc.Skipped = append(sc.Skipped, SkippedConfig{Config: cfg, Reason: reason})
				skippedReasons = append(skippedReasons, reason)
				continue
			}
			for _, p := range probs {
				r.failAt(c.locate(p.field), c.fieldPrefix()+p.field, "%s", p.msg)
			}
			continue
		}
		h := hasher.hash(cfg)
		if j, dup := seen[h]; dup {
			sc.Skipped = append(sc.Skipped, SkippedConfig{Config: cfg, Reason: fmt.Sprintf("duplicate of experiment %d (same measurement_config_hash %s)", j, h)})
			continue
		}
		seen[h] = len(sc.Experiments)
		sc.Experiments = append(sc.Experiments, cfg)
		sc.Origins = append(sc.Origins, c.origin)
		sc.written = append(sc.written, w)
	}
	if len(sc.Experiments) == 0 && len(r.errs.errs) == 0 {
		msg := "no experiment to run"
		if len(skippedReasons) > 0 {
			uniq := slices.Compact(slices.Sorted(slices.Values(skippedReasons)))
			msg = fmt.Sprintf("every generated configuration is invalid (%d skipped): %s", len(sc.Skipped), strings.Join(uniq, "; "))
		}
		r.failAt(pos{}, "", "%s", msg)
	}
}

// fieldPrefix names an explicit entry's fields (`experiments[2].`).
func (c candidate) fieldPrefix() string {
	if c.origin.Source == "experiments" {
		return fmt.Sprintf("experiments[%d].", c.origin.Entry)
	}
	return ""
}

// locate is where a problem about field points: the field's value, else
// its nearest written parent, else the candidate's anchor.
func (c candidate) locate(field string) pos {
	for f := field; f != ""; {
		if e := c.tree.lookup(f); e != nil {
			return e.val.pos
		}
		i := strings.LastIndex(f, ".")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return c.anchor
}

func joinProblems(ps []problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// digestDataset fills FileSHA256 for file datasets so the file's content,
// not only its name, is part of the experiment's identity.
func (r *resolver) digestDataset(cfg *ExperimentConfig, tree *node) {
	ds := &cfg.Dataset
	if ds.Path == "" || (ds.Name != DatasetJSONL && ds.Name != DatasetShareGPT) {
		return
	}
	sum, err := r.digest(ds.Path)
	if err != nil {
		at := pos{}
		if e := tree.lookup("dataset.path"); e != nil {
			at = e.val.pos
		} else if e := tree.get("dataset"); e != nil {
			at = e.val.pos
		}
		r.failAt(at, "dataset.path", "%v", err)
		return
	}
	ds.FileSHA256 = sum
}

// digestModel fills ModelSHA256 when the model is a file, so replacing a
// GGUF under the same name changes the measurement_config_hash. Model
// paths are used as written (relative to the working directory), as the
// engines open them.
func (r *resolver) digestModel(cfg *ExperimentConfig, tree *node) {
	if err := ModelDigest(cfg); err != nil {
		at := pos{}
		if e := tree.get("model"); e != nil {
			at = e.val.pos
		}
		r.failAt(at, "model", "%v", err)
	}
}

// ModelDigest fills cfg.ModelSHA256 when cfg.Model names a file (a config
// built in code or changed by a flag).
func ModelDigest(cfg *ExperimentConfig) error {
	cfg.ModelSHA256 = ""
	if st, err := os.Stat(cfg.Model); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	sum, err := digest.File(cfg.Model)
	if err != nil {
		return fmt.Errorf("model %s: %w", cfg.Model, err)
	}
	cfg.ModelSHA256 = sum
	return nil
}

func (r *resolver) digest(path string) (string, error) {
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(r.baseDir, full)
	}
	if d, ok := r.files[full]; ok {
		return d.sum, d.err
	}
	sum, err := digest.File(full)
	if err != nil {
		err = fmt.Errorf("dataset file: %w", err)
	}
	r.files[full] = fileDigest{sum, err}
	return sum, err
}
