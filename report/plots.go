package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figure is one rendered plot.
type Figure struct {
	// Name is the file stem, e.g. "effect_native.batch_size".
	Name    string
	Title   string
	Caption string
	SVG     []byte
	PNG     []byte
}

const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// WritePlots renders every plot of the report into dir (created if needed)
// as SVG and PNG, and returns the paths written.
func WritePlots(dir string, rep *Report) ([]string, error) {
	figs, err := Figures(rep)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: plots directory: %w", err)
	}
	var paths []string
	for _, f := range figs {
		for _, out := range []struct {
			ext  string
			data []byte
		}{{".svg", f.SVG}, {".png", f.PNG}} {
			p := filepath.Join(dir, f.Name+out.ext)
			if err := os.WriteFile(p, out.data, 0o644); err != nil {
				return paths, fmt.Errorf("report: write plot: %w", err)
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// Figures renders the report's plots: the effect ranking, energy per
// output token against each swept parameter, the energy–latency Pareto
// front and power over time. A report without results has none.
func Figures(rep *Report) ([]Figure, error) { return figures(rep, true) }

// figures renders the plots as SVG and, when withPNG, as PNG too.
func figures(rep *Report, withPNG bool) ([]Figure, error) {
	var figs []Figure
	add := func(name, title, caption string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		f := Figure{Name: name, Title: title, Caption: caption}
		h := plotHeight
		if name == "effects" {
			h = min(plotHeight, vg.Inch*(1.3+0.45*vg.Length(len(rep.Effects))))
		}
		if f.SVG, err = render(p, h, "svg"); err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		if !withPNG {
			figs = append(figs, f)
			return nil
		}
		if f.PNG, err = render(p, h, "png"); err != nil {
			return fmt.Errorf("report: plot %s: %w", name, err)
		}
		figs = append(figs, f)
		return nil
	}
	est := estTitle(rep.AnyEstimated)
	if len(rep.Effects) > 0 {
		p, err := effectsPlot(rep)
		if err := add("effects", "Main effects"+est, "Effect of each swept parameter: the blocked model's ratio of the highest to the lowest level's marginal mean, as a percent change, with its 95% t-interval (simultaneous over level pairs for more than two levels).", p, err); err != nil {
			return nil, err
		}
	}
	for _, e := range rep.Effects {
		p, err := parameterPlot(rep, e)
		caption := fmt.Sprintf("Energy per output token against %s: each cycle (grey), each configuration's mean with its 95%% CI (black), and the marginal mean per level (blue line).", e.Parameter)
		if err := add("energy_vs_"+fileSafe(e.Parameter), "Energy per output token vs "+e.Parameter+est, caption, p, err); err != nil {
			return nil, err
		}
	}
	if len(rep.Configs) > 0 {
		p, err := paretoPlot(rep)
		var names []string
		for _, id := range rep.Frontier {
			names = append(names, id+" = "+rep.config(id).Label)
		}
		caption := "Mean energy per output token against mean E2E p50 latency, 95% CIs both ways; the line joins the Pareto front: " + strings.Join(names, "; ") + "."
		if err := add("pareto", "Energy–latency Pareto front"+est, caption, p, err); err != nil {
			return nil, err
		}
	}
	if len(rep.Power) > 0 {
		p, err := powerPlot(rep)
		caption := "Power over time of each domain, first completed cycle of each Pareto-front configuration (from timeseries.parquet; time 0 is the start of the recorder, so baseline and warm-up come first)."
		if err := add("power", "Power over time"+estTitle(anyEstimatedSeries(rep.Power)), caption, p, err); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// pngDPI is the resolution of PNG plots: sharp on high-density screens and in print.
const pngDPI = 150

func render(p *plot.Plot, height vg.Length, format string) ([]byte, error) {
	var wt io.WriterTo
	if format == "png" {
		c := vgimg.NewWith(vgimg.UseWH(plotWidth, height), vgimg.UseDPI(pngDPI))
		p.Draw(draw.New(c))
		wt = vgimg.PngCanvas{Canvas: c}
	} else {
		var err error
		if wt, err = p.WriterTo(plotWidth, height, format); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func estTitle(estimated bool) string {
	if estimated {
		return " (≈ estimated energy)"
	}
	return ""
}

func anyEstimatedSeries(ps []PowerSeries) bool {
	for _, s := range ps {
		if s.Estimated {
			return true
		}
	}
	return false
}

var unsafeFile = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(s string) string { return unsafeFile.ReplaceAllString(s, "_") }

// errPoints are points with asymmetric vertical and horizontal errors.
type errPoints struct {
	plotter.XYs
	yerr, xerr [][2]float64
}

func (e errPoints) YError(i int) (float64, float64) { return e.yerr[i][0], e.yerr[i][1] }
func (e errPoints) XError(i int) (float64, float64) { return e.xerr[i][0], e.xerr[i][1] }

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

var (
	colorCycle  = color.RGBA{R: 150, G: 150, B: 150, A: 255}
	colorMean   = color.RGBA{A: 255}
	colorMarg   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorFront  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colorOthers = color.RGBA{R: 90, G: 90, B: 90, A: 255}
)

// effectsPlot is a horizontal bar per parameter, largest effect on top:
// the blocked model's high/low ratio as a percent change, with its
// interval (the arithmetic relative effect without a model).
func effectsPlot(rep *Report) (*plot.Plot, error) {
	p := newPlot("Main effects on "+rep.Measure.Label()+estTitle(rep.AnyEstimated), "effect (% change, highest vs lowest level)", "")
	n := len(rep.Effects)
	vals := make(plotter.Values, n)
	names := make([]string, n)
	pts := errPoints{XYs: make(plotter.XYs, n), xerr: make([][2]float64, n)}
	pct := func(r float64) float64 { return (r - 1) * 100 }
	p.X.Min = 0
	for i, e := range rep.Effects {
		k := n - 1 - i // rank 1 at the top
		v := e.RelativePct
		if e.Model != nil {
			v = pct(e.Model.Ratio)
		}
		vals[k] = v
		names[k] = e.Parameter
		pts.XYs[k] = plotter.XY{X: v, Y: float64(k)}
		if e.HasInterval() { // else no bar: one cycle has no spread
			lo, hi := pct(e.Model.CILow), pct(e.Model.CIHigh)
			pts.xerr[k] = [2]float64{v - lo, hi - v}
			p.X.Min = min(p.X.Min, lo)
			p.X.Max = max(p.X.Max, hi*1.05)
		}
		p.X.Max = max(p.X.Max, v*1.05)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(18))
	if err != nil {
		return nil, err
	}
	bars.Horizontal = true
	bars.Color = colorMarg
	bars.LineStyle.Width = 0
	xe, err := plotter.NewXErrorBars(pts)
	if err != nil {
		return nil, err
	}
	p.Add(bars, xe)
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.Legend.Top = false
	return p, nil
}

// parameterPlot shows energy per output token at each level of one parameter.
func parameterPlot(rep *Report, e Effect) (*plot.Plot, error) {
	p := newPlot("Energy per output token vs "+e.Parameter+estTitle(rep.AnyEstimated), e.Parameter, "J per output token")
	levels := make([]string, len(e.Levels))
	for i, l := range e.Levels {
		levels[i] = l.Value
	}
	var cycles plotter.XYs
	var ids []string
	means := errPoints{}
	for i, l := range levels {
		var at []ConfigRow
		for _, c := range rep.Configs {
			if factorValue(c, e.Parameters) == l {
				at = append(at, c)
			}
		}
		for j, c := range at {
			x := float64(i)
			if len(at) > 1 {
				x += -0.25 + 0.5*float64(j)/float64(len(at)-1)
			}
			for _, cy := range c.Cycles {
				cycles = append(cycles, plotter.XY{X: x - 0.04, Y: cy.EnergyPerOutputTokenJ})
			}
			m := c.EnergyPerOutputTokenJ
			ids = append(ids, c.ID)
			means.XYs = append(means.XYs, plotter.XY{X: x, Y: m.Mean})
			means.yerr = append(means.yerr, [2]float64{m.Mean - m.CILow, m.CIHigh - m.Mean})
		}
	}
	cs, err := plotter.NewScatter(cycles)
	if err != nil {
		return nil, err
	}
	cs.GlyphStyle = draw.GlyphStyle{Color: colorCycle, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	ms, err := plotter.NewScatter(means.XYs)
	if err != nil {
		return nil, err
	}
	ms.GlyphStyle = draw.GlyphStyle{Color: colorMean, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
	eb, err := plotter.NewYErrorBars(means)
	if err != nil {
		return nil, err
	}
	var marg plotter.XYs
	for i, l := range e.Levels {
		marg = append(marg, plotter.XY{X: float64(i), Y: l.MeanJ})
	}
	ml, err := plotter.NewLine(marg)
	if err != nil {
		return nil, err
	}
	ml.Color = colorMarg
	ml.Width = vg.Points(1.5)
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: means.XYs, Labels: ids})
	if err != nil {
		return nil, err
	}
	lb.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(-3)}
	p.Add(ml, cs, eb, ms, lb)
	p.Legend.Add("cycle", cs)
	p.Legend.Add("configuration mean ± 95% CI", ms)
	p.Legend.Add("marginal mean", ml)
	p.NominalX(levels...)
	p.X.Min, p.X.Max = -0.6, float64(len(levels))-0.4
	p.Y.Min = 0
	legendRoom(p, 3)
	return p, nil
}

// paretoPlot places every configuration by latency and energy and joins the front.
func paretoPlot(rep *Report) (*plot.Plot, error) {
	p := newPlot("Energy vs latency: Pareto front"+estTitle(rep.AnyEstimated), "E2E latency p50 (s)", "J per output token")
	pts := errPoints{}
	var labels []string
	for _, c := range rep.Configs {
		e, l := c.EnergyPerOutputTokenJ, c.E2EP50S
		pts.XYs = append(pts.XYs, plotter.XY{X: l.Mean, Y: e.Mean})
		pts.yerr = append(pts.yerr, [2]float64{e.Mean - e.CILow, e.CIHigh - e.Mean})
		pts.xerr = append(pts.xerr, [2]float64{l.Mean - l.CILow, l.CIHigh - l.Mean})
		labels = append(labels, c.ID+estMark(c.Estimated))
	}
	var front plotter.XYs
	for _, id := range rep.Frontier {
		c := rep.config(id)
		front = append(front, plotter.XY{X: c.E2EP50S.Mean, Y: c.EnergyPerOutputTokenJ.Mean})
	}
	all, err := plotter.NewScatter(pts.XYs)
	if err != nil {
		return nil, err
	}
	all.GlyphStyle = draw.GlyphStyle{Color: colorOthers, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	ye, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return nil, err
	}
	xe, err := plotter.NewXErrorBars(pts)
	if err != nil {
		return nil, err
	}
	fl, fs, err := plotter.NewLinePoints(front)
	if err != nil {
		return nil, err
	}
	fl.Color = colorFront
	fl.Width = vg.Points(1.5)
	fs.GlyphStyle = draw.GlyphStyle{Color: colorFront, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts.XYs, Labels: labels})
	if err != nil {
		return nil, err
	}
	lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
	p.Add(ye, xe, all, fl, fs, lb)
	p.Legend.Add("configuration (mean, 95% CI)", all)
	p.Legend.Add("Pareto front", fl, fs)
	p.Y.Min = 0
	p.X.Min = 0
	p.X.Max += (p.X.Max - p.X.Min) * 0.06 // room for the rightmost label
	legendRoom(p, 2)
	return p, nil
}

// powerPlot draws one line per run and domain.
func powerPlot(rep *Report) (*plot.Plot, error) {
	p := newPlot("Power over time"+estTitle(anyEstimatedSeries(rep.Power)), "time since recorder start (s)", "power (W)")
	for i, s := range rep.Power {
		xy := make(plotter.XYs, len(s.TimeS))
		for k := range s.TimeS {
			xy[k] = plotter.XY{X: s.TimeS[k], Y: s.PowerW[k]}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.2)
		l.Dashes = plotutil.Dashes(i / len(plotutil.DefaultColors))
		p.Add(l)
		p.Legend.Add(s.Name(), l)
	}
	p.Y.Min = 0
	legendRoom(p, len(rep.Power))
	return p, nil
}

// legendRoom raises the top of the Y axis so a top-right legend of n
// entries sits above the data instead of over it.
func legendRoom(p *plot.Plot, n int) {
	p.Y.Max += (p.Y.Max - p.Y.Min) * (0.1*float64(n) + 0.06)
}
