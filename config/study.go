package config

import "fmt"

// CycleOrder is the order in which a study's runs execute.
type CycleOrder string

// Cycle orders: sequential runs all cycles of one config before the next;
// interleaved runs every config once per cycle; shuffled is interleaved with
// a seeded shuffle per cycle.
const (
	OrderSequential  CycleOrder = "sequential"
	OrderInterleaved CycleOrder = "interleaved"
	OrderShuffled    CycleOrder = "shuffled"
	OrderReverse     CycleOrder = "reverse"
	OrderLatinSquare CycleOrder = "latin_square"
)

// CycleOrders lists every cycle order, in a fixed order.
func CycleOrders() []CycleOrder {
	return []CycleOrder{OrderSequential, OrderInterleaved, OrderShuffled, OrderReverse, OrderLatinSquare}
}

// CycleOrderNames is CycleOrders as strings, for flag help, completion and
// error messages.
func CycleOrderNames() []string { return names(CycleOrders()) }

// Execution is how a study runs; it never enters StudyDesignHash.
type Execution struct {
	// NCycles is how many times every experiment runs (library default 1).
	NCycles int `json:"n_cycles" yaml:"n_cycles"`
	// CycleOrder is sequential, interleaved, shuffled, reverse or latin_square (see Plan).
	CycleOrder CycleOrder `json:"cycle_order" yaml:"cycle_order" jsonschema:"enum=sequential,enum=interleaved,enum=shuffled,enum=reverse,enum=latin_square"`
	// ConfigGapSeconds is the pause between experiments; unset means the
	// user config's machine-local default.
	ConfigGapSeconds *float64 `json:"config_gap_seconds,omitempty" yaml:"config_gap_seconds,omitempty"`
	// CycleGapSeconds is the pause between cycles; unset means the user
	// config's machine-local default.
	CycleGapSeconds *float64 `json:"cycle_gap_seconds,omitempty" yaml:"cycle_gap_seconds,omitempty"`
	// GapMode is fixed (default) or temperature: wait until the device is
	// within TemperatureBandC of its pre-run temperature, at most MaxGapSeconds.
	GapMode string `json:"gap_mode,omitempty" yaml:"gap_mode,omitempty" jsonschema:"enum=fixed,enum=temperature"`
	// TemperatureBandC is the band, in °C, of gap_mode temperature.
	TemperatureBandC float64 `json:"temperature_band_c,omitempty" yaml:"temperature_band_c,omitempty"`
	// MaxGapSeconds bounds a temperature-mode gap.
	MaxGapSeconds float64 `json:"max_gap_seconds,omitempty" yaml:"max_gap_seconds,omitempty"`
	// ShuffleSeed unset means one derived from the study design hash.
	ShuffleSeed *int64 `json:"shuffle_seed,omitempty" yaml:"shuffle_seed,omitempty"`
	// ExperimentTimeoutSeconds kills an experiment run that takes longer.
	ExperimentTimeoutSeconds float64 `json:"experiment_timeout_seconds" yaml:"experiment_timeout_seconds"`
	// MaxConsecutiveFailures: 0 off, 1 fail-fast, N opens the circuit after N
	// failures in a row, waits CircuitCooldownSeconds, then tries once more.
	MaxConsecutiveFailures int `json:"max_consecutive_failures" yaml:"max_consecutive_failures"`
	// CircuitCooldownSeconds is the wait before a half-open retry.
	CircuitCooldownSeconds float64 `json:"circuit_cooldown_seconds,omitempty" yaml:"circuit_cooldown_seconds,omitempty"`
	// WallClockTimeoutHours stops the whole study; 0 means no limit.
	WallClockTimeoutHours float64 `json:"wall_clock_timeout_hours,omitempty" yaml:"wall_clock_timeout_hours,omitempty"`
}

// StudyConfig is a resolved study: every experiment expanded from the sweep
// and the explicit list, validated, plus how to execute them.
type StudyConfig struct {
	// Name is used in the output folder; default the file name without extension.
	Name string `json:"name"`
	// Path is the study file it came from, empty when built in code.
	Path string `json:"path,omitempty"`
	// Experiments are the study's configurations, expanded from its sweep and list, defaults applied.
	Experiments []ExperimentConfig `json:"experiments"`
	// Skipped are sweep-generated configs a backend cannot run, with why (CFG-4b).
	Skipped []SkippedConfig `json:"skipped,omitempty"`
	// Execution says how the experiments are run: cycles, order, gaps and timeouts.
	Execution Execution `json:"execution"`
	// ExecutionFromFile reports whether the file had an execution: block
	// (the CLI then keeps its n_cycles instead of the CLI default of 3).
	ExecutionFromFile bool `json:"-"`
	// Declared reports whether the file declared a study (`sweep:` or
	// `experiments:`): it is run and stored as one, with a manifest, even
	// when it resolves to a single run.
	Declared bool `json:"-"`
	// Origins, parallel to Experiments when the study came from a file,
	// says which sweep point or list entry produced each experiment.
	Origins []Origin `json:"-"`

	// written, parallel to Experiments, is filled by Parse.
	written []written
}

// SkippedConfig is a generated configuration that was not run, and why.
type SkippedConfig struct {
	// Config is the configuration that was not run.
	Config ExperimentConfig `json:"config"`
	// Reason says why it was not run.
	Reason string `json:"reason"`
}

// Run is one execution of one experiment: an experiment × cycle, in order.
type Run struct {
	Index int `json:"index"`
	// Cycle counts from 1.
	Cycle int `json:"cycle"`
	// Experiment indexes StudyConfig.Experiments.
	Experiment            int    `json:"experiment"`
	MeasurementConfigHash string `json:"measurement_config_hash"`
}

// Origin says where one resolved experiment came from.
type Origin struct {
	// Source is "file" (an experiment file), "sweep" (a grid point) or
	// "experiments" (an entry of the explicit list).
	Source string `json:"source"`
	// Entry indexes the `experiments:` list when Source is "experiments".
	Entry int `json:"entry,omitempty"`
	// Swept lists the sweep axes and the values that produced a grid
	// point, in axis order (backend first when the study has several).
	Swept []SweptValue `json:"swept,omitempty"`
}

// SweptValue is one axis of a grid point: the sweep key as written and the
// value taken (a scalar, or a mapping for a dependent group).
type SweptValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// written records which defaults of one experiment were filled in rather
// than written, so that later layers (flags, user config) can replace them.
type written struct {
	// defaultPrecision is the precision filled in by default ("" when the
	// file wrote one or the default is the model's own types).
	defaultPrecision string
	precisionSet     bool
	baselineSet      bool
	// at is where each written field's value is in the file (for errors
	// found after parsing, by the pre-flight).
	at func(field string) pos
}

// SettingError builds the error for a problem with field of experiment i
// that was found after parsing (the pre-flight): it names the file and,
// when the field or its nearest parent was written there, its line; with
// several experiments the message says which one, by its label (Labels:
// the caller computes them once for all its errors).
func (sc *StudyConfig) SettingError(i int, label, field, msg string) *FieldError {
	e := &FieldError{File: sc.Path, Field: field, Msg: msg}
	if i < len(sc.written) && sc.written[i].at != nil {
		p := sc.written[i].at(field)
		e.Line, e.Col = p.line, p.col
	}
	if len(sc.Experiments) > 1 {
		e.Msg = fmt.Sprintf("%s (configuration [%d]: %s)", msg, i, label)
	}
	return e
}
