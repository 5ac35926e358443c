package native

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// evexOnly matches what only an AVX-512 CPU runs: the upper sixteen vector
// registers, ZMM registers, mask registers, embedded broadcasts and the
// EVEX-only instructions the kernels use.
var evexOnly = regexp.MustCompile(`\b([XY](1[6-9]|2\d|3[01])|Z\d+|K[1-7])\b|\.BCST|VPDPBUSD|VPDPWSSD|VPERMW|VPXORD|VEXTRACTF32X4|VPMOVDB`)

// TestAVX2KernelsUseNoAVX512 reads the assembly and checks that no kernel
// the AVX2 kernel set runs (every TEXT symbol but the VNNI and AVX-512
// ones, which run only where hasVNNI or hasAVX512VL says so) holds an
// AVX-512 instruction, directly or through a macro: the test machines have
// AVX-512, so a stray one would pass every other test here and fault on an
// AVX2-only CPU.
func TestAVX2KernelsUseNoAVX512(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files: %v", err)
	}
	headers, _ := filepath.Glob("*_amd64.h")
	// Macros whose bodies (or the macros they call) are AVX-512.
	defs := map[string]string{}
	define := regexp.MustCompile(`(?m)^#define (\w+)(?:\([^)]*\))?((?:.*\\\n)*.*)`)
	for _, f := range append(files, headers...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range define.FindAllStringSubmatch(string(src), -1) {
			defs[m[1]] = m[2]
		}
	}
	evexMacro := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, body := range defs {
			if evexMacro[name] {
				continue
			}
			bad := evexOnly.MatchString(body)
			for other := range evexMacro {
				bad = bad || regexp.MustCompile(`\b`+other+`\(`).MatchString(body)
			}
			if bad {
				evexMacro[name], changed = true, true
			}
		}
	}
	text := regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn, inDefine := "", false
		for i, line := range strings.Split(string(src), "\n") {
			// Macro bodies belong to no function (their uses are checked).
			if strings.HasPrefix(line, "#define") || inDefine {
				inDefine = strings.HasSuffix(strings.TrimRight(line, " \t"), "\\")
				continue
			}
			if m := text.FindStringSubmatch(line); m != nil {
				fn = m[1]
				if !strings.Contains(fn, "VNNI") && !strings.Contains(fn, "AVX512") && fn != "q8NegLaneSums" {
					checked++
				}
				continue
			}
			if fn == "" || strings.Contains(fn, "VNNI") || strings.Contains(fn, "AVX512") || fn == "q8NegLaneSums" {
				continue
			}
			code, _, _ := strings.Cut(line, "//")
			if evexOnly.MatchString(code) {
				t.Errorf("%s:%d: %s (an AVX2 kernel) uses AVX-512: %s", f, i+1, fn, strings.TrimSpace(code))
			}
			for name := range evexMacro {
				if strings.Contains(code, name+"(") || strings.TrimSpace(code) == name {
					t.Errorf("%s:%d: %s (an AVX2 kernel) uses the AVX-512 macro %s", f, i+1, fn, name)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d AVX2 kernels found: the scan is broken", checked)
	}
}
