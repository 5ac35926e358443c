package energy

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Energy is an amount of energy in microjoules, the unit of RAPL counters.
// Like time.Duration, it keeps joules and millijoules from mixing: convert
// with the constants (3*Joule, Energy(mj)*Millijoule) and read back with
// Joules.
type Energy int64

// Energy units.
const (
	Microjoule Energy = 1
	Millijoule        = 1000 * Microjoule
	Joule             = 1000 * Millijoule
	Kilojoule         = 1000 * Joule
)

// EnergyFromJoules converts joules to Energy, rounding to the microjoule.
func EnergyFromJoules(j float64) Energy { return Energy(math.Round(j * float64(Joule))) }

// Joules returns e in joules.
func (e Energy) Joules() float64 { return float64(e) / float64(Joule) }

// String formats e with a unit chosen for readability, e.g. "1.5 J",
// "250 mJ", "12.3 kJ".
func (e Energy) String() string {
	a := e
	if a < 0 {
		a = -a
	}
	switch {
	case a >= Kilojoule:
		return trimFloat(float64(e)/float64(Kilojoule)) + " kJ"
	case a >= Joule:
		return trimFloat(float64(e)/float64(Joule)) + " J"
	case a >= Millijoule:
		return trimFloat(float64(e)/float64(Millijoule)) + " mJ"
	default:
		return fmt.Sprintf("%d µJ", int64(e))
	}
}

func trimFloat(f float64) string { return fmt.Sprintf("%.4g", f) }

// Power returns the average power in watts of e spent over d (0 when d <= 0).
func (e Energy) Power(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return e.Joules() / d.Seconds()
}

// ErrCounterReset says a cumulative counter went backwards and the source
// does not declare a wrap range, so the delta is unknown (a driver reload or
// a reset, not a wrap).
var ErrCounterReset = errors.New("energy counter went backwards with no wrap range: counter was reset")

// CounterDelta returns the energy between two raw readings of a cumulative
// counter in microjoules. A counter that wraps at maxUJ (RAPL's
// max_energy_range_uj) and reads lower the second time wrapped once: the
// delta is maxUJ - prev + cur. With maxUJ == 0 (counters that do not wrap,
// like NVML's) a lower reading is ErrCounterReset. Callers must read often
// enough that a counter cannot wrap twice between readings (RAPL wraps after
// minutes at full load).
func CounterDelta(prevUJ, curUJ, maxUJ uint64) (Energy, error) {
	if curUJ >= prevUJ {
		return Energy(curUJ - prevUJ), nil
	}
	if maxUJ == 0 {
		return 0, fmt.Errorf("%w (from %d µJ to %d µJ)", ErrCounterReset, prevUJ, curUJ)
	}
	if prevUJ > maxUJ {
		return 0, fmt.Errorf("energy counter %d µJ above its range %d µJ: wrong max_energy_range_uj", prevUJ, maxUJ)
	}
	return Energy(maxUJ - prevUJ + curUJ), nil
}

// PowerPoint is one power sample.
type PowerPoint struct {
	Time  time.Time
	Watts float64
}

// Integrate returns the energy under the power curve sampled by points over
// [from, to] by the trapezoid rule, and the part of the window the samples
// cover. Points need not be sorted. The curve is linearly interpolated at
// the window's edges and never extrapolated: a window reaching past the
// first or last sample gets covered < to-from, and fewer than two points
// cover nothing.
func Integrate(points []PowerPoint, from, to time.Time) (Energy, time.Duration) {
	if !to.After(from) || len(points) < 2 {
		return 0, 0
	}
	ps := points
	if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].Time.Before(ps[j].Time) }) {
		ps = append([]PowerPoint(nil), points...)
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Time.Before(ps[j].Time) })
	}
	var joules float64
	var covered time.Duration
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if !b.Time.After(a.Time) || !b.Time.After(from) || !a.Time.Before(to) {
			continue
		}
		a = clipPoint(a, b, from, true)
		b = clipPoint(a, b, to, false)
		dt := b.Time.Sub(a.Time)
		joules += (a.Watts + b.Watts) / 2 * dt.Seconds()
		covered += dt
	}
	return EnergyFromJoules(joules), covered
}

// clipPoint moves the start (start == true) or the end of segment a→b to t
// when t falls inside the segment, interpolating the power linearly.
func clipPoint(a, b PowerPoint, t time.Time, start bool) PowerPoint {
	if start && a.Time.Before(t) || !start && b.Time.After(t) {
		f := t.Sub(a.Time).Seconds() / b.Time.Sub(a.Time).Seconds()
		return PowerPoint{Time: t, Watts: a.Watts + f*(b.Watts-a.Watts)}
	}
	if start {
		return a
	}
	return b
}

// BaselineEnergy is the energy an idle machine drawing baselineW watts spends
// over d.
func BaselineEnergy(baselineW float64, d time.Duration) Energy {
	return EnergyFromJoules(baselineW * d.Seconds())
}

// RelativeDifference is |a-b| / max(|a|,|b|), 0 when both are 0. It is how
// the two energy paths are compared.
func RelativeDifference(a, b Energy) float64 {
	fa, fb := math.Abs(float64(a)), math.Abs(float64(b))
	m := math.Max(fa, fb)
	if m == 0 {
		return 0
	}
	return math.Abs(float64(a)-float64(b)) / m
}

// EnergyPoint is a domain's energy accumulated by a moment, At from the
// start of a window.
type EnergyPoint struct {
	At     time.Duration
	Energy Energy
}

// EnergyFractionAt is the share of a window's energy spent by at, from the
// cumulative readings inside it (in time order, the window's open reading
// first and its close reading last): the cumulative energy interpolated
// linearly between the readings around at, over the last reading's. With
// no reading between open and close the split is proportional to time, at
// the sensor's resolution; with no energy at all it is at/end.
func EnergyFractionAt(points []EnergyPoint, at time.Duration) float64 {
	if len(points) == 0 {
		return 0
	}
	last := points[len(points)-1]
	switch {
	case at <= points[0].At:
		return 0
	case at >= last.At:
		return 1
	case last.Energy <= 0:
		return float64(at-points[0].At) / float64(last.At-points[0].At)
	}
	// The first reading at or after at (one exists: at < last.At); a
	// batch's attribution asks at every token arrival.
	i, _ := slices.BinarySearchFunc(points, at, func(p EnergyPoint, t time.Duration) int { return cmp.Compare(p.At, t) })
	a, b := points[i-1], points[i]
	e := float64(a.Energy)
	if b.At > a.At {
		e += float64(b.Energy-a.Energy) * float64(at-a.At) / float64(b.At-a.At)
	}
	return min(max(e/float64(last.Energy), 0), 1)
}
