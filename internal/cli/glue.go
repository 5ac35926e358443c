package cli

import (
	"io"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/internal/engine/engines"
)

// baseDirEnv tells a child process the study file's folder, against which
// relative dataset paths resolve.
const baseDirEnv = "LLEM_STUDY_BASEDIR"

type engineT = engine.Engine

func newEngine(cfg config.ExperimentConfig, user config.UserConfig, log io.Writer) (engine.Engine, error) {
	return engines.New(cfg, user, log)
}

// loadUserConfig reads the user config in effect (file, then LLEM_* env).
func loadUserConfig(stdio *IO) (config.UserConfig, error) {
	return config.LoadUserConfig(stdio.Getenv)
}

func datasetOptions(stdio *IO, base string) dataset.Options {
	o := dataset.OptionsFromEnv(stdio.Getenv)
	o.BaseDir = base
	return o
}

func quickExperiment() config.ExperimentConfig { return config.QuickExperiment() }

func quickExecution() config.Execution { return config.DefaultExecution() }
