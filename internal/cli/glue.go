package cli

import (
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/dataset"
)

// baseDirEnv tells a child process the study file's folder, against which
// relative dataset paths resolve.
const baseDirEnv = "LLEM_STUDY_BASEDIR"

// loadUserConfig reads the user config in effect (file, then LLEM_* env).
func loadUserConfig(stdio *IO) (config.UserConfig, error) {
	return config.LoadUserConfig(stdio.Getenv)
}

func datasetOptions(stdio *IO, base string) dataset.Options {
	o := dataset.OptionsFromEnv(stdio.Getenv)
	o.BaseDir = base
	return o
}
