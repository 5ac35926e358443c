package energy

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/llenergymeasure/llem/internal/stats"
)

// DefaultBaselineCVThreshold is the coefficient of variation of idle power
// above which a baseline is unstable.
const DefaultBaselineCVThreshold = 0.10

// Baseline is idle power measured before a run (MEA-3).
type Baseline struct {
	Duration time.Duration
	// CVThreshold is the CV above which a domain is unstable.
	CVThreshold float64
	Domains     []DomainBaseline
	// Stable is true when every domain is stable.
	Stable bool
}

// DomainBaseline is one domain's idle power.
type DomainBaseline struct {
	Domain Domain
	Source Source
	// PowerW is the mean idle power: the window's energy over its duration.
	PowerW float64
	// StdW and CV describe the spread of the power samples in the window.
	StdW    float64
	CV      float64
	Samples int
	Stable  bool
}

// PowerW returns the idle power of domain d.
func (b Baseline) PowerW(d Domain) (float64, bool) {
	for _, x := range b.Domains {
		if x.Domain == d {
			return x.PowerW, true
		}
	}
	return 0, false
}

// TotalPowerW is the idle power of all domains together.
func (b Baseline) TotalPowerW() float64 {
	var w float64
	for _, x := range b.Domains {
		w += x.PowerW
	}
	return w
}

// TotalStdW is the standard deviation of the summed idle power, the domains
// taken as independent.
func (b Baseline) TotalStdW() float64 {
	var v float64
	for _, x := range b.Domains {
		v += x.StdW * x.StdW
	}
	if v == 0 {
		return 0
	}
	return math.Sqrt(v)
}

// MeasureBaseline measures idle power over d on a started recorder: the
// samples are tagged PhaseBaseline (the previous phase is restored), the
// mean is the window's energy over its duration and the spread comes from
// the power samples, so use an interval giving several samples in d.
// A domain whose CV exceeds DefaultBaselineCVThreshold is unstable.
func MeasureBaseline(ctx context.Context, rec *Recorder, d time.Duration) (Baseline, error) {
	if d <= 0 {
		return Baseline{}, fmt.Errorf("baseline duration %v must be positive", d)
	}
	prev := rec.Phase()
	rec.Mark(PhaseBaseline)
	defer rec.Mark(prev)
	w := rec.OpenWindow()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		w.Close()
		return Baseline{}, fmt.Errorf("baseline measurement interrupted: %w", ctx.Err())
	case <-timer.C:
	}
	res := w.Close()
	samples := rec.Samples(PhaseBaseline)
	b := Baseline{Duration: res.Duration, CVThreshold: DefaultBaselineCVThreshold, Stable: true}
	for _, dw := range res.Domains {
		var ps []float64
		for _, s := range samples {
			if s.Time.Before(res.Start) || s.Time.After(res.End) {
				continue
			}
			if sd, ok := findDomain(s.Domains, dw.Domain); ok && sd.HasPower {
				ps = append(ps, sd.PowerW)
			}
		}
		db := DomainBaseline{Domain: dw.Domain, Source: dw.Source, PowerW: dw.AvgPowerW, Samples: len(ps), Stable: true}
		if len(ps) >= 2 {
			db.StdW = stats.StdDev(ps)
			db.CV = stats.CV(ps)
			db.Stable = db.CV <= b.CVThreshold
		}
		b.Stable = b.Stable && db.Stable
		b.Domains = append(b.Domains, db)
	}
	return b, nil
}
