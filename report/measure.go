package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Measure is the energy figure effects are ranked on: energy per output
// token from the total energy of the measured window, or from the
// baseline-adjusted energy (total − idle power × duration). Both are
// always shown; the ranking measure is named in the headline.
type Measure string

// The ranking measures; the zero value ranks on total energy.
const (
	MeasureTotal    Measure = "total"
	MeasureAdjusted Measure = "adjusted"
)

// Measures are the valid values of Options.Measure, for flag help.
var Measures = []Measure{MeasureTotal, MeasureAdjusted}

func (m Measure) value(p CyclePoint) float64 {
	if m == MeasureAdjusted {
		return p.AdjustedPerOutputTokenJ
	}
	return p.EnergyPerOutputTokenJ
}

// Label is how the measure is named in the report.
func (m Measure) Label() string {
	if m == MeasureAdjusted {
		return "baseline-adjusted energy per output token"
	}
	return "energy per output token"
}

// Options are the choices of a report; the zero value ranks on total
// energy per output token and asks for no particular effect size.
type Options struct {
	// Measure is what effects are ranked on.
	Measure Measure
	// DetectPct, when above 0, is an effect size (in percent of energy per
	// output token) for which the report says how many cycles would
	// resolve it.
	DetectPct float64
}

// ErrOption marks an invalid report option: the user's to fix.
var ErrOption = errors.New("invalid report option")

func (o Options) check() (Options, error) {
	switch o.Measure {
	case "":
		o.Measure = MeasureTotal
	case MeasureTotal, MeasureAdjusted:
	default:
		return o, fmt.Errorf("report: unknown measure %q (allowed: %s): %w", o.Measure, MeasureNames(), ErrOption)
	}
	if o.DetectPct < 0 || o.DetectPct >= 1000 {
		return o, fmt.Errorf("report: detect size %g%% out of range (0 < size < 1000%%): %w", o.DetectPct, ErrOption)
	}
	return o, nil
}

// MeasureNames lists the measures for flag help.
func MeasureNames() string {
	names := make([]string, len(Measures))
	for i, m := range Measures {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// ParseDetect reads an effect size such as "5%" or "5" (percent); "" is
// none.
func ParseDetect(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || !(v > 0) || v >= 1000 {
		return 0, fmt.Errorf("report: --detect %q: want a size in percent above 0, such as 5%%: %w", s, ErrOption)
	}
	return v, nil
}
