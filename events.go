package llem

import (
	"github.com/llenergymeasure/llem/event"
	"github.com/llenergymeasure/llem/internal/harness"
)

// progressOf is a harness event as the progress a run reports.
func progressOf(e harness.Event) event.Progress {
	return event.Progress{Phase: e.Phase, PromptsDone: e.PromptsDone, PromptsTotal: e.PromptsTotal,
		TokensPerS: e.TokensPerS, PowerW: e.PowerW, Message: e.Message, Remaining: e.Remaining}
}
