// Package enginetest is the conformance suite every engine.Engine passes
// (restic's backend tests are the model): each engine package's tests call
// Run with its own setup, so a behaviour the harness relies on — ids kept
// in order, token times inside the request, exact output lengths where
// claimed, prompt cancellation, idempotent Close — is checked once, the
// same way, for native, openai and pyworker.
package enginetest
