package energy

import (
	"math"
	"testing"
	"time"
)

// FuzzCounterDelta checks that a delta is never negative and that a
// forward move of the counter through its wrap range adds up.
func FuzzCounterDelta(f *testing.F) {
	f.Add(uint64(900), uint64(100), uint64(1000))
	f.Add(uint64(0), uint64(0), uint64(0))
	f.Add(uint64(262143000000), uint64(671150), uint64(262143328850))
	f.Fuzz(func(t *testing.T, prev, cur, max uint64) {
		d, err := CounterDelta(prev, cur, max)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("negative delta %d from %d→%d (max %d)", d, prev, cur, max)
		}
		if cur >= prev && uint64(d) != cur-prev {
			t.Fatalf("forward delta %d, want %d", d, cur-prev)
		}
		if cur < prev && (max == 0 || uint64(d) != max-prev+cur) {
			t.Fatalf("wrap delta %d from %d→%d (max %d)", d, prev, cur, max)
		}
	})
}

// FuzzIntegrate checks that constant power integrates to power × covered
// time for any sample spacing and window.
func FuzzIntegrate(f *testing.F) {
	f.Add(150.0, int64(3), uint16(10), int64(0), int64(30))
	f.Add(0.5, int64(1), uint16(2), int64(-5), int64(1))
	f.Fuzz(func(t *testing.T, watts float64, stepMS int64, n uint16, fromMS, toMS int64) {
		if math.IsNaN(watts) || math.Abs(watts) > 1e6 || stepMS <= 0 || stepMS > 1e6 || n > 2000 || fromMS < -1e9 || toMS > 1e9 {
			return
		}
		t0 := time.Unix(1_700_000_000, 0)
		ps := make([]PowerPoint, n)
		for i := range ps {
			ps[i] = PowerPoint{Time: t0.Add(time.Duration(int64(i)*stepMS) * time.Millisecond), Watts: watts}
		}
		e, covered := Integrate(ps, t0.Add(time.Duration(fromMS)*time.Millisecond), t0.Add(time.Duration(toMS)*time.Millisecond))
		if covered < 0 || covered > time.Duration(toMS-fromMS)*time.Millisecond && toMS > fromMS {
			t.Fatalf("covered %v outside the window", covered)
		}
		want := watts * covered.Seconds()
		if math.Abs(e.Joules()-want) > 1e-6*math.Max(1, math.Abs(want))+2e-6 {
			t.Fatalf("constant %v W over %v: %v J, want %v J", watts, covered, e.Joules(), want)
		}
	})
}
