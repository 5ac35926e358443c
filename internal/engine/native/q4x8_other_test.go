//go:build !amd64

package native

// forQ40Variants runs f once: other architectures have one (portable)
// variant.
func forQ40Variants(f func(variant string)) { f("portable") }
