package cli

import (
	"github.com/llenergymeasure/llem/config"
)

// loadUserConfig reads the user config in effect (file, then LLEM_* env).
func loadUserConfig(stdio *IO) (config.UserConfig, error) {
	return config.LoadUserConfig(stdio.Getenv)
}
