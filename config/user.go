package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Runner says where a Python-driven backend runs: a local interpreter, or
// the engine's Docker image with the worker script mounted in. Exactly one
// is set.
type Runner struct {
	// Python is the interpreter path (a virtual environment's bin/python).
	Python string `json:"python,omitempty" yaml:"python,omitempty"`
	// Image is a Docker image reference (e.g. vllm/vllm-openai:v0.8.5).
	Image string `json:"image,omitempty" yaml:"image,omitempty"`
}

// UserConfig is the machine-local configuration (CFG-7): where results go,
// default gaps, sampling, runners and the carbon context. None of it
// enters a measurement hash; the effective values are recorded in results.
type UserConfig struct {
	// ResultsDir is where studies write their output (default ./results).
	ResultsDir string `json:"results_dir" yaml:"results_dir"`
	// ConfigGapSeconds is the pause between experiments (default 60); a
	// study's execution.config_gap_seconds wins.
	ConfigGapSeconds float64 `json:"config_gap_seconds" yaml:"config_gap_seconds"`
	// CycleGapSeconds is the pause between cycles (default 300).
	CycleGapSeconds float64 `json:"cycle_gap_seconds" yaml:"cycle_gap_seconds"`
	// SamplingIntervalSeconds is the time-series period (default 1; at
	// least 0.01, i.e. 100 Hz).
	SamplingIntervalSeconds float64 `json:"sampling_interval_seconds" yaml:"sampling_interval_seconds"`
	// BaselineDurationSeconds is the idle-power measurement length for
	// experiments that do not set baseline.duration_seconds (default 30).
	BaselineDurationSeconds float64 `json:"baseline_duration_seconds" yaml:"baseline_duration_seconds"`
	// Runners says where each Python backend (pytorch, vllm, tensorrt) runs.
	Runners map[Backend]Runner `json:"runners,omitempty" yaml:"runners,omitempty"`
	// CarbonIntensity in gCO2/kWh of the grid; 0 means unknown (no carbon
	// figure is computed).
	CarbonIntensity float64 `json:"carbon_intensity_gco2_kwh,omitempty" yaml:"carbon_intensity_gco2_kwh,omitempty"`
	// DatacenterPUE is the power usage effectiveness (default 1.0).
	DatacenterPUE float64 `json:"datacenter_pue" yaml:"datacenter_pue"`
	// DatacenterLocation is free text (a region or grid name).
	DatacenterLocation string `json:"datacenter_location,omitempty" yaml:"datacenter_location,omitempty"`
	// CPUTDPWatts is the CPU's thermal design power for the labelled
	// estimate where no sensor can be read; 0 means look it up.
	CPUTDPWatts float64 `json:"cpu_tdp_watts,omitempty" yaml:"cpu_tdp_watts,omitempty"`

	// Path is the user config file that was read; empty when none was.
	Path string `json:"-" yaml:"-"`
	// Sources says where each value came from, by key (`results_dir`,
	// `runners.vllm`): "default", "user config PATH", "env LLEM_X", or
	// whatever a caller passed to Set (e.g. "flag --output").
	Sources map[string]string `json:"-" yaml:"-"`
}

// Provenance labels used in UserConfig.Sources.
const (
	SourceDefault = "default"
)

// userKeys are the scalar keys in display order, with their environment
// variable.
var userKeys = []struct{ key, env string }{
	{"results_dir", "LLEM_RESULTS_DIR"},
	{"config_gap_seconds", "LLEM_CONFIG_GAP_SECONDS"},
	{"cycle_gap_seconds", "LLEM_CYCLE_GAP_SECONDS"},
	{"sampling_interval_seconds", "LLEM_SAMPLING_INTERVAL"},
	{"baseline_duration_seconds", "LLEM_BASELINE_DURATION"},
	{"carbon_intensity_gco2_kwh", "LLEM_CARBON_INTENSITY"},
	{"datacenter_pue", "LLEM_DATACENTER_PUE"},
	{"datacenter_location", "LLEM_DATACENTER_LOCATION"},
	{"cpu_tdp_watts", "LLEM_CPU_TDP_WATTS"},
}

// runnerBackends are the backends that take a runner.
var runnerBackends = PythonBackends()

// DefaultUserConfig is the user config with nothing set by the user.
func DefaultUserConfig() UserConfig {
	u := UserConfig{
		ResultsDir:              DefaultResultsDir,
		ConfigGapSeconds:        DefaultConfigGapSeconds,
		CycleGapSeconds:         DefaultCycleGapSeconds,
		SamplingIntervalSeconds: DefaultSamplingIntervalSeconds,
		BaselineDurationSeconds: DefaultBaselineSeconds,
		DatacenterPUE:           DefaultDatacenterPUE,
		Sources:                 map[string]string{},
	}
	for _, k := range userKeys {
		u.Sources[k.key] = SourceDefault
	}
	return u
}

// UserConfigPath is the user config file: $LLEM_CONFIG when set (explicit
// is then true and the file must exist), else
// $XDG_CONFIG_HOME/llem/config.yaml, else ~/.config/llem/config.yaml.
func UserConfigPath(getenv func(string) string) (path string, explicit bool) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv("LLEM_CONFIG"); p != "" {
		return p, true
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "llem", "config.yaml"), false
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "llem", "config.yaml"), false
	}
	return "", false
}

// LoadUserConfig builds the user config in effect: defaults, then the
// user config file (UserConfigPath; a missing file at the default place is
// fine), then LLEM_* environment overrides. getenv looks variables up
// (nil means os.Getenv). Command-line flags go on top with Set; a study
// file's own values win over all of these (ApplyUserConfig fills only what
// the study leaves unset). Problems are returned as Errors.
func LoadUserConfig(getenv func(string) string) (UserConfig, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	u := DefaultUserConfig()
	path, explicit := UserConfigPath(getenv)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := u.mergeFile(data, path); err != nil {
				return u, err
			}
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		default:
			return u, Errors{{File: path, Field: "LLEM_CONFIG", Msg: fmt.Sprintf("cannot read the user config: %v", err)}}
		}
	}
	if err := u.ApplyEnv(getenv); err != nil {
		return u, err
	}
	return u, nil
}

// ParseUserConfig reads a user config file's YAML over the defaults.
func ParseUserConfig(data []byte, filename string) (UserConfig, error) {
	u := DefaultUserConfig()
	err := u.mergeFile(data, filename)
	return u, err
}

func (u *UserConfig) mergeFile(data []byte, filename string) error {
	root, err := parseTree(data, filename)
	if err != nil {
		return err
	}
	if root.kind != kindMap && root.kind != kindNull {
		return Errors{{File: filename, Line: root.pos.line, Col: root.pos.col, Msg: "the user config must be a mapping of settings, got " + root.kind.String()}}
	}
	var errs errorList
	d := newDecoder(filename, &errs)
	file := *u
	file.Runners = nil
	d.decode(reflect.ValueOf(&file).Elem(), root, "", nil)
	source := "user config " + filename
	for _, e := range root.keys {
		if e.key == "runners" {
			for _, re := range e.val.keys {
				if !slices.Contains(runnerBackends, Backend(re.key)) {
					errs.add(&FieldError{File: filename, Line: re.keyPos.line, Col: re.keyPos.col, Field: "runners." + re.key,
						Msg: fmt.Sprintf("no runner is needed or possible for %q (runners are for: pytorch, vllm, tensorrt)", re.key)})
				}
			}
		}
	}
	for _, p := range file.problems() {
		at := pos{}
		if e := root.lookup(p.field); e != nil {
			at = e.val.pos
		}
		errs.add(&FieldError{File: filename, Line: at.line, Col: at.col, Field: p.field, Msg: p.msg})
	}
	if err := errs.err(); err != nil {
		return err
	}
	sources := u.Sources
	*u = file
	u.Path = filename
	u.Sources = sources
	for _, e := range root.keys {
		if e.key == "runners" {
			for _, re := range e.val.keys {
				u.Sources["runners."+re.key] = source
			}
			continue
		}
		u.Sources[e.key] = source
	}
	return nil
}

// ApplyEnv lays the LLEM_* environment variables over u: LLEM_RESULTS_DIR,
// LLEM_CONFIG_GAP_SECONDS, LLEM_CYCLE_GAP_SECONDS, LLEM_SAMPLING_INTERVAL,
// LLEM_BASELINE_DURATION, LLEM_CARBON_INTENSITY, LLEM_DATACENTER_PUE,
// LLEM_DATACENTER_LOCATION, LLEM_CPU_TDP_WATTS, and per Python backend
// LLEM_<BACKEND>_PYTHON / LLEM_<BACKEND>_IMAGE (e.g. LLEM_VLLM_IMAGE).
func (u *UserConfig) ApplyEnv(getenv func(string) string) error {
	var errs errorList
	set := func(key, env string) {
		v := getenv(env)
		if v == "" {
			return
		}
		if err := u.Set(key, v, "env "+env); err != nil {
			errs.add(&FieldError{Field: env, Msg: err.Error()})
		}
	}
	for _, k := range userKeys {
		set(k.key, k.env)
	}
	for _, b := range runnerBackends {
		up := strings.ToUpper(string(b))
		set("runners."+string(b)+".python", "LLEM_"+up+"_PYTHON")
		set("runners."+string(b)+".image", "LLEM_"+up+"_IMAGE")
	}
	return errs.err()
}

// Set changes one setting from text and records source as its provenance
// (the CLI passes e.g. "flag --output"). Keys are the YAML names;
// runners take `runners.<backend>.python` or `.image` (setting one clears
// the other).
func (u *UserConfig) Set(key, value, source string) error {
	next := *u
	num := func() (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: expected a number, got %q", key, value)
		}
		return f, nil
	}
	var err error
	switch key {
	case "results_dir":
		next.ResultsDir = value
	case "datacenter_location":
		next.DatacenterLocation = value
	case "config_gap_seconds":
		next.ConfigGapSeconds, err = num()
	case "cycle_gap_seconds":
		next.CycleGapSeconds, err = num()
	case "sampling_interval_seconds":
		next.SamplingIntervalSeconds, err = num()
	case "baseline_duration_seconds":
		next.BaselineDurationSeconds, err = num()
	case "carbon_intensity_gco2_kwh":
		next.CarbonIntensity, err = num()
	case "datacenter_pue":
		next.DatacenterPUE, err = num()
	case "cpu_tdp_watts":
		next.CPUTDPWatts, err = num()
	default:
		rest, ok := strings.CutPrefix(key, "runners.")
		b, kind, ok2 := strings.Cut(rest, ".")
		if !ok || !ok2 || !slices.Contains(runnerBackends, Backend(b)) || (kind != "python" && kind != "image") {
			names := make([]string, 0, len(userKeys)+2)
			for _, k := range userKeys {
				names = append(names, k.key)
			}
			names = append(names, "runners.<pytorch|vllm|tensorrt>.python", "runners.<pytorch|vllm|tensorrt>.image")
			return fmt.Errorf("unknown setting %q%s (known: %s)", key, suggest(key, names), quoteList(names))
		}
		next.Runners = make(map[Backend]Runner, len(u.Runners)+1)
		for k, v := range u.Runners {
			next.Runners[k] = v
		}
		r := Runner{Python: value}
		if kind == "image" {
			r = Runner{Image: value}
		}
		next.Runners[Backend(b)] = r
		key = "runners." + b
	}
	if err != nil {
		return err
	}
	if ps := next.problems(); len(ps) > 0 {
		return fmt.Errorf("%s", joinProblems(ps))
	}
	next.Sources = make(map[string]string, len(u.Sources)+1)
	for k, v := range u.Sources {
		next.Sources[k] = v
	}
	next.Sources[key] = source
	*u = next
	return nil
}

func (u *UserConfig) problems() []problem {
	c := &checker{}
	if strings.TrimSpace(u.ResultsDir) == "" {
		c.add("results_dir", "must not be empty")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"config_gap_seconds", u.ConfigGapSeconds}, {"cycle_gap_seconds", u.CycleGapSeconds}, {"carbon_intensity_gco2_kwh", u.CarbonIntensity}, {"cpu_tdp_watts", u.CPUTDPWatts}} {
		if f.v < 0 {
			c.add(f.name, "must not be negative, got %g", f.v)
		}
	}
	if s := u.SamplingIntervalSeconds; s < 0.01 || s > 60 {
		c.add("sampling_interval_seconds", "must be between 0.01 (100 Hz) and 60 s, got %g", s)
	}
	if b := u.BaselineDurationSeconds; b < MinBaselineSeconds || b > MaxBaselineSeconds {
		c.add("baseline_duration_seconds", "must be between %d and %d s, got %g", MinBaselineSeconds, MaxBaselineSeconds, b)
	}
	if u.DatacenterPUE < 1 {
		c.add("datacenter_pue", "must be at least 1.0 (total facility power over IT power), got %g", u.DatacenterPUE)
	}
	for _, b := range runnerBackends {
		r, ok := u.Runners[b]
		if ok && (r.Python == "") == (r.Image == "") {
			c.add("runners."+string(b), "set exactly one of python and image")
		}
	}
	return c.probs
}

// Setting is one user-config value with where it came from, for `llem
// config`.
type Setting struct {
	// Key is the user-config key (e.g. results_dir, runners.vllm).
	Key string `json:"key"`
	// Value is the effective value, as text.
	Value string `json:"value"`
	// Source says where the value came from: "default", "user config PATH", "env LLEM_X" or a flag.
	Source string `json:"source"`
}

// Settings lists every value in effect, in a fixed order, with its source.
func (u UserConfig) Settings() []Setting {
	vals := map[string]string{
		"results_dir":               u.ResultsDir,
		"config_gap_seconds":        fmtFloat(u.ConfigGapSeconds),
		"cycle_gap_seconds":         fmtFloat(u.CycleGapSeconds),
		"sampling_interval_seconds": fmtFloat(u.SamplingIntervalSeconds),
		"baseline_duration_seconds": fmtFloat(u.BaselineDurationSeconds),
		"carbon_intensity_gco2_kwh": fmtFloat(u.CarbonIntensity),
		"datacenter_pue":            fmtFloat(u.DatacenterPUE),
		"datacenter_location":       u.DatacenterLocation,
		"cpu_tdp_watts":             fmtFloat(u.CPUTDPWatts),
	}
	out := make([]Setting, 0, len(userKeys)+len(u.Runners))
	for _, k := range userKeys {
		out = append(out, Setting{Key: k.key, Value: vals[k.key], Source: u.source(k.key)})
	}
	for _, b := range runnerBackends {
		r, ok := u.Runners[b]
		if !ok {
			continue
		}
		v := "python " + r.Python
		if r.Image != "" {
			v = "image " + r.Image
		}
		out = append(out, Setting{Key: "runners." + string(b), Value: v, Source: u.source("runners." + string(b))})
	}
	return out
}

func (u UserConfig) source(key string) string {
	if s, ok := u.Sources[key]; ok {
		return s
	}
	return SourceDefault
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// ApplyUserConfig fills what a study leaves to the machine: the baseline
// duration of experiments whose file did not set baseline.duration_seconds,
// and the execution gaps the study does not set. Values the study file
// wrote always win (precedence flags > study file > env > user config >
// defaults). Experiments built in code (no Parse) are left alone.
func ApplyUserConfig(sc *StudyConfig, u UserConfig) {
	for i := range sc.Experiments {
		if i < len(sc.written) && !sc.written[i].baselineSet {
			sc.Experiments[i].Baseline.DurationSeconds = u.BaselineDurationSeconds
		}
	}
	if sc.Execution.ConfigGapSeconds == nil {
		g := u.ConfigGapSeconds
		sc.Execution.ConfigGapSeconds = &g
	}
	if sc.Execution.CycleGapSeconds == nil {
		g := u.CycleGapSeconds
		sc.Execution.CycleGapSeconds = &g
	}
}
