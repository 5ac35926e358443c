package native

// forQ40Variants runs f once per variant of the repacked Q4_0 kernels
// this CPU runs: AVX2, and VNNI where it has it.
func forQ40Variants(f func(variant string)) {
	defer func(v bool) { q40VNNI = v }(q40VNNI)
	q40VNNI = false
	f("avx2")
	if hasVNNI() {
		q40VNNI = true
		f("vnni")
	}
}
