package report

import (
	"slices"
	"strconv"
	"strings"

	"github.com/llenergymeasure/llem/config"
)

// sortLevels orders levels numerically when all are numbers, else as text,
// with "unset" first.
func sortLevels(levels []string) {
	numeric := true
	for _, l := range levels {
		if _, err := strconv.ParseFloat(l, 64); err != nil && l != config.Unset {
			numeric = false
		}
	}
	slices.SortFunc(levels, func(a, b string) int {
		if a == config.Unset || b == config.Unset {
			return boolCmp(b == config.Unset, a == config.Unset)
		}
		if numeric {
			x, _ := strconv.ParseFloat(a, 64)
			y, _ := strconv.ParseFloat(b, 64)
			return cmpFloat(x, y)
		}
		return strings.Compare(a, b)
	})
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
