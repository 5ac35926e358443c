package openai

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

// Inspect checks, before anything is measured, that a server already
// running at base_url serves the configured model. A server llem starts
// itself (server_command), or one that does not answer yet, is checked at
// load instead.
func Inspect(cfg config.ExperimentConfig) []*engine.SettingError {
	o := cfg.OpenAI
	if o == nil || len(o.ServerCommand) > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := &Engine{client: &http.Client{}, baseURL: normaliseBaseURL(o.BaseURL), model: cfg.Model}
	if o.APIKeyEnv != nil {
		e.apiKey = os.Getenv(*o.APIKeyEnv)
	}
	var noAnswer noAnswerError
	owner, err := e.serverOwner(ctx)
	switch {
	case errors.As(err, &noAnswer):
		return nil
	case err != nil:
		return []*engine.SettingError{{Field: "model", Msg: err.Error(), Cause: err}}
	}
	if se := serverRefuses(owner, cfg); se != nil {
		return []*engine.SettingError{se}
	}
	return nil
}
