package config

import (
	"slices"
	"testing"
)

// TestAllowedLists checks that the allowed-value lists that flag help,
// completion and validation read agree with what validation accepts.
func TestAllowedLists(t *testing.T) {
	for _, o := range CycleOrders() {
		ex := DefaultExecution()
		ex.CycleOrder = o
		if probs := validateExecution(&ex); len(probs) > 0 {
			t.Errorf("cycle order %q is listed but rejected: %v", o, probs)
		}
	}
	bad := DefaultExecution()
	bad.CycleOrder = "random"
	if len(validateExecution(&bad)) == 0 {
		t.Error("an unlisted cycle order validates")
	}
	for _, b := range PythonBackends() {
		if !slices.Contains(Backends(), b) || !IsPythonBackend(b) {
			t.Errorf("Python backend %q is not a known backend", b)
		}
	}
	for _, b := range []Backend{BackendNative, BackendOpenAI} {
		if IsPythonBackend(b) {
			t.Errorf("IsPythonBackend(%q) = true", b)
		}
	}
	all := AllPrecisions()
	for _, p := range CommonPrecisions() {
		if !slices.Contains(all, p) {
			t.Errorf("common precision %q is accepted by no backend", p)
		}
	}
}
