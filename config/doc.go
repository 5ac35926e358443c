// Package config is llem's configuration layer: the experiment and study
// types, the YAML loader, sweep expansion, validation against what each
// backend can do, the identity hashes, run planning and the machine-local
// user config. It is the first box of DESIGN.md's picture: everything
// downstream (runner, harness, results) receives resolved, validated
// ExperimentConfig values and never reads YAML.
//
// # Files
//
// One format family: a file with `sweep:` or `experiments:` is a study;
// any other file is an experiment file, i.e. a study of one experiment.
// Load (or Parse) returns a *StudyConfig either way. Study-level keys are
// `name`, `base`, `sweep`, `experiments` and `execution`; every other top-level
// key is an experiment field shared by all experiments of the study.
// A `base:` experiment file supplies shared fields under the inline ones.
//
// Parsing is strict: unknown fields (with a "did you mean"), wrong types,
// values outside a field's allowed set and invalid combinations are all
// reported at once as Errors, each `file:line:col: field: message`.
//
// # Sweeps
//
// `sweep:` maps keys to lists. A plain key (`precision`, `n`, `batch_size`)
// or a key into an experiment section (`decoder.temperature`,
// `dataset.input_len`) is a universal axis, applied to every backend's grid.
// A key into a backend section (`pytorch.batch_size`) is an axis of that
// backend's grid only, and an error if the study does not use that backend.
// `backend:` at the top level may be a list, and `backend` may be a sweep
// axis: each backend gets its own grid, the product of its axes. A key whose
// value is a list of mappings and that names no field is a dependent group:
// its alternatives are unioned, not crossed, and crossed with the other
// axes. `batch_size` is universal: it sets each backend's own batch knob
// (see Capabilities.BatchField). Explicit `experiments:` entries follow the
// grid. Grid points a backend cannot run are listed in StudyConfig.Skipped
// with the reason; invalid explicit entries are errors.
//
// # Identity
//
// MeasurementConfigHash identifies an experiment (canonical JSON, defaults
// applied, unset backend knobs left out); StudyDesignHash identifies the set
// of experiments, without the execution block, so adding cycles keeps it.
// Plan lays out runs for each cycle order.
//
// # User config
//
// UserConfig holds machine-local settings (results folder, gaps, sampling,
// runners, carbon context), from defaults, the user config file, LLEM_*
// variables and the caller's flags, with each value's source kept for
// `llem config`.
//
// The JSON Schemas under schema/ and docs/config-reference.md are generated
// from these types by `go test ./config -run TestGenerated -update`.
package config
