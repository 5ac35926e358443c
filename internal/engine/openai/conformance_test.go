package openai

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine/enginetest"
)

// TestConformance runs the engine suite against a local streaming server
// that behaves like vLLM's: it ends a text early unless ignore_eos or
// min_tokens asks for more, and refuses min_tokens above max_tokens.
func TestConformance(t *testing.T) {
	for _, endpoint := range []string{"completions", "chat"} {
		t.Run(endpoint, func(t *testing.T) {
			srv := httptest.NewServer(&fakeServer{owner: "vllm", usage: true, naturalLen: 4, tokenDelay: time.Millisecond})
			t.Cleanup(srv.Close)
			ep := endpoint
			enginetest.Run(t, enginetest.Harness{
				New: New,
				Config: config.ExperimentConfig{Model: "m", Backend: config.BackendOpenAI, RandomSeed: 1,
					OpenAI: &config.OpenAIConfig{BaseURL: srv.URL, Endpoint: &ep}},
			})
		})
	}
}
