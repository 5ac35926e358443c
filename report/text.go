package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/llenergymeasure/llem/results"
)

// WriteJSON writes the report as indented JSON (time series left out).
func WriteJSON(w io.Writer, rep *Report) error { return writeIndentedJSON(w, rep) }

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: write JSON: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown: status,
// the effect ranking, the per-configuration table, uncertainty, the Pareto
// front, failed and skipped runs, and the methods.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Study report: %s\n\n", rep.StudyName)
	fmt.Fprintf(&b, "**Status: %s.**", rep.Status)
	if rep.StatusNote != "" {
		fmt.Fprintf(&b, " %s.", rep.StatusNote)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "Runs: %s.\n\n", runCountsText(rep.Runs))
	if rep.AnyEstimated {
		b.WriteString("> **≈ estimated energy:** some figures rest on an estimated energy source, not a measurement; they are marked ≈ in every table.\n\n")
	}

	b.WriteString("## What matters most\n\n")
	writeEffectsMD(&b, rep)
	writeInteractionMD(&b, rep.Interaction)
	fmt.Fprintf(&b, "_Method:_ %s\n\n", rep.Methods.Effects)
	if rep.Interaction != nil {
		fmt.Fprintf(&b, "_Interaction:_ %s\n\n", rep.Methods.Interaction)
	}

	b.WriteString("## Configurations\n\n")
	writeConfigsMD(&b, rep)
	fmt.Fprintf(&b, "_Method:_ %s\n\n", rep.Methods.Table)

	b.WriteString("## Uncertainty\n\n")
	writeUncertaintyMD(&b, rep)
	fmt.Fprintf(&b, "_Method:_ %s\n\n", rep.Methods.Uncertainty)

	b.WriteString("## Energy–latency Pareto front\n\n")
	if len(rep.Frontier) == 0 {
		b.WriteString("No configuration has results yet.\n\n")
	}
	for _, id := range rep.Frontier {
		c := rep.config(id)
		fmt.Fprintf(&b, "- **%s** %s: %s J/token%s at E2E p50 %s s\n", id, c.Label,
			fmtNum(c.EnergyPerOutputTokenJ.Mean), estMark(c.Estimated), fmtNum(c.E2EP50S.Mean))
	}
	fmt.Fprintf(&b, "\n_Method:_ %s\n\n", rep.Methods.Pareto)

	writeFailedMD(&b, rep)
	if len(rep.Warnings) > 0 {
		b.WriteString("## Measurement warnings\n\n| code | runs | example |\n|---|---:|---|\n")
		for _, w := range rep.Warnings {
			runs := "study"
			if w.Runs > 0 {
				runs = fmt.Sprint(w.Runs)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", w.Code, runs, strings.ReplaceAll(w.Example, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	if len(rep.Problems) > 0 {
		b.WriteString("## Problems reading the study\n\n")
		for _, p := range rep.Problems {
			fmt.Fprintf(&b, "- %s\n", p)
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write markdown: %w", err)
	}
	return nil
}

func writeEffectsMD(b *strings.Builder, rep *Report) {
	if len(rep.Effects) == 0 {
		if len(rep.Swept) == 0 {
			b.WriteString("No parameter varies between configurations: there is nothing to rank.\n\n")
		} else {
			b.WriteString("Too few configurations have results to compare the levels of any swept parameter.\n\n")
		}
		return
	}
	est := estMark(rep.AnyEstimated)
	fmt.Fprintf(b, "**%s**\n\n", rep.Headline())
	fmt.Fprintf(b, "Main effect of each swept parameter on %s%s (blocked model, cycle as block), largest first.\n\n", rep.Measure.Label(), est)
	b.WriteString("| rank | parameter | level means (J/token) | high/low ratio [95% CI] | partial η² | P(top) | p (Holm) | resolved | tokens/s ratio | E2E p50 ratio |\n")
	b.WriteString("|---:|---|---|---|---:|---:|---:|---|---|---|\n")
	for _, e := range rep.Effects {
		var lv []string
		for _, l := range e.Levels {
			lv = append(lv, fmt.Sprintf("%s: %s", l.Value, fmtNum(l.MeanJ)))
		}
		fmt.Fprintf(b, "| %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", e.RankText(), e.Parameter, strings.Join(lv, " · "),
			e.RatioText(), e.Eta2Text(), e.PTopText(), e.PText(), e.ResolvedText(), e.Throughput.Text(), e.Latency.Text())
	}
	b.WriteString("\n")
	if notes := rep.CyclesNotes(); len(notes) > 0 {
		b.WriteString("How many cycles would resolve it (80% power, from the observed residual variance):\n\n")
		for _, n := range notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
}

func writeInteractionMD(b *strings.Builder, in *Interaction) {
	if in == nil {
		return
	}
	fmt.Fprintf(b, "Interaction of `%s` (rows) and `%s` (columns), cell means in J/token:\n\n", in.A, in.B)
	b.WriteString("| " + in.A + " \\ " + in.B + " |")
	for _, l := range in.BLevels {
		b.WriteString(" " + l + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(in.BLevels)) + "\n")
	for i, l := range in.ALevels {
		b.WriteString("| " + l + " |")
		for _, m := range in.Means[i] {
			b.WriteString(" " + fmtNum(m) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\nInteraction contrast: %s J/token%s.\n\n", fmtNum(in.ContrastJ), in.CIText())
}

func writeConfigsMD(b *strings.Builder, rep *Report) {
	if len(rep.Configs) == 0 {
		b.WriteString("No configuration has a completed run yet.\n\n")
		for _, r := range rep.NoResults {
			fmt.Fprintf(b, "- %s: %s (runs: %s)\n", r.Label, noCompletedRuns, r.RunsText())
		}
		if len(rep.NoResults) > 0 {
			b.WriteString("\n")
		}
		return
	}
	b.WriteString("Mean [95% CI] across cycles.\n\n")
	b.WriteString("| id | configuration | n | energy source | energy/output token (J) | adjusted energy/output token (J) | prefill energy/input token (J) | decode energy/output token (J) | total energy (J) | adjusted energy (J) | output tokens/s | TTFT p50 (s) | TTFT p99 (s) | ITL p50 (s) | ITL p99 (s) | E2E p50 (s) | avg power (W) |\n")
	b.WriteString("|---|---|---:|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range rep.Configs {
		n := strconv.Itoa(c.Completed)
		if c.Failed > 0 {
			n += fmt.Sprintf(" (%d failed)", c.Failed)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			c.ID, c.Label, n, c.SourceLabel(),
			fmtMetric(c.EnergyPerOutputTokenJ)+estMark(c.Estimated),
			fmtMetric(c.EnergyAdjustedPerOutputTokenJ)+estMark(c.Estimated),
			fmtMetric(c.PrefillPerInputTokenJ)+estMark(c.Estimated && c.PrefillPerInputTokenJ.N > 0),
			fmtMetric(c.DecodePerOutputTokenJ)+estMark(c.Estimated && c.DecodePerOutputTokenJ.N > 0),
			fmtMetric(c.EnergyTotalJ)+estMark(c.Estimated),
			fmtMetric(c.EnergyAdjustedJ)+estMark(c.Estimated),
			fmtMetric(c.OutputTokensPerS), fmtMetric(c.TTFTP50S), fmtMetric(c.TTFTP99S),
			fmtMetric(c.ITLP50S), fmtMetric(c.ITLP99S), fmtMetric(c.E2EP50S),
			fmtMetric(c.AvgPowerW)+estMark(c.Estimated))
	}
	for _, r := range rep.NoResults {
		fmt.Fprintf(b, "| — | %s | %s | %s |%s\n", r.Label, r.RunsText(), noCompletedRuns, strings.Repeat(" |", 13))
	}
	b.WriteString("\n")
}

func writeUncertaintyMD(b *strings.Builder, rep *Report) {
	if len(rep.Configs) > 0 {
		b.WriteString("Standard uncertainties (u, relative to the mean) and the expanded uncertainty U = k·u_c.\n\n")
		b.WriteString("| id | energy source | energy/output token (J) | cycle spread u (ν) | source u | resolution u | combined u_c | ν_eff | k | U (≈95%) | dominant |\n")
		b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
		for _, c := range rep.Configs {
			u := c.Uncertainty
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | ±%s (±%s J) | %s |\n", c.ID, c.SourceLabel(),
				fmtNum(c.EnergyPerOutputTokenJ.Mean)+estMark(c.Estimated), c.CycleSpread(), c.SourceU(), fmtPct(u.ResolutionRelPct),
				fmtPct(u.CombinedStdRelPct), u.NuText(), fmtNum(u.CoverageK), fmtPct(u.CombinedRelPct), fmtNum(u.CombinedJ), u.Dominant)
		}
		b.WriteString("\n")
	}
	b.WriteString("Nominal accuracy of the energy sources used:\n\n| source | ± | counter resolution | basis |\n|---|---:|---:|---|\n")
	for _, a := range rep.Sources {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", sourceLabel(a.Source, a.Source == results.SourceEstimated), fmtPct(a.RelPct), a.ResolutionText(), a.Basis)
	}
	b.WriteString("\n")
}

func writeFailedMD(b *strings.Builder, rep *Report) {
	if len(rep.Failed) > 0 {
		b.WriteString("## Failed runs\n\n| run | cycle | configuration | state | error | reason |\n|---:|---:|---|---|---|---|\n")
		for _, f := range rep.Failed {
			fmt.Fprintf(b, "| %d | %d | %s | %s | %s | %s |\n", f.RunIndex, f.Cycle, f.Label, f.State, f.ErrorType, mdCell(f.Reason))
		}
		b.WriteString("\n")
	}
	if len(rep.Skipped) > 0 {
		b.WriteString("## Skipped configurations\n\n| configuration | reason |\n|---|---|\n")
		for _, s := range rep.Skipped {
			fmt.Fprintf(b, "| %s | %s |\n", s.Label, mdCell(s.Reason))
		}
		b.WriteString("\n")
	}
}

// CycleSpread is the cycle spread's standard uncertainty with its degrees
// of freedom, or why there is none.
func (c ConfigRow) CycleSpread() string {
	if c.EnergyPerOutputTokenJ.N < 2 {
		return "n/a (1 cycle)"
	}
	return fmt.Sprintf("%s (%d)", fmtPct(c.Uncertainty.CycleRelPct), c.Uncertainty.CycleDF)
}

// SourceU is the source's standard uncertainty and the bound it comes from.
func (c ConfigRow) SourceU() string {
	return fmt.Sprintf("%s (±%s/√3)", fmtPct(c.Uncertainty.SourceRelPct), fmtPct(c.Uncertainty.SourceBoundPct))
}

// NuText is the effective degrees of freedom, ∞ for Type B only.
func (u Uncertainty) NuText() string {
	if u.EffectiveDF == nil {
		return "∞"
	}
	return strconv.FormatFloat(*u.EffectiveDF, 'f', 1, 64)
}

// ResolutionText is the counter step, "—" without a counter.
func (a SourceAccuracy) ResolutionText() string {
	switch {
	case a.ResolutionJ == 0:
		return "—"
	case a.ResolutionJ < 1e-3:
		return fmtNum(a.ResolutionJ*1e6) + " µJ"
	}
	return fmtNum(a.ResolutionJ*1e3) + " mJ"
}

func (r *Report) config(id string) ConfigRow {
	for _, c := range r.Configs {
		if c.ID == id {
			return c
		}
	}
	return ConfigRow{}
}

func runCountsText(c RunCounts) string {
	s := fmt.Sprintf("%d total, %d completed, %d failed", c.Total, c.Completed, c.Failed)
	if c.Interrupted > 0 {
		s += fmt.Sprintf(", %d interrupted", c.Interrupted)
	}
	if c.Running > 0 {
		s += fmt.Sprintf(", %d running", c.Running)
	}
	if c.Pending > 0 {
		s += fmt.Sprintf(", %d pending", c.Pending)
	}
	return s + fmt.Sprintf("; skipped configurations: %d", c.SkippedConfigs)
}

// estMark marks a figure resting on an estimated energy source.
func estMark(estimated bool) string {
	if estimated {
		return " ≈"
	}
	return ""
}

// fmtNum formats a figure to about three significant digits.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func fmtPct(v float64) string { return fmtNum(v) + "%" }

// fmtMetric is "mean [low, high]", or the mean alone for one cycle.
func fmtMetric(m Metric) string {
	if m.N == 0 {
		return "—"
	}
	if m.N == 1 {
		return fmtNum(m.Mean)
	}
	return fmt.Sprintf("%s [%s, %s]", fmtNum(m.Mean), fmtNum(m.CILow), fmtNum(m.CIHigh))
}

// ResolvedText says whether the effect stands out from cycle noise.
func (e Effect) ResolvedText() string {
	switch {
	case e.Model == nil:
		return "n/a: no model"
	case e.MinCycles < minResolveCycles:
		return fmt.Sprintf("n/a: %d cycle%s (needs %d per level)", e.MinCycles, plural(e.MinCycles), minResolveCycles)
	case e.Resolved:
		return "yes"
	}
	return "no"
}

// RankText is the rank, marked = when tied.
func (e Effect) RankText() string {
	if e.Tied {
		return fmt.Sprintf("=%d", e.SharedRank)
	}
	return strconv.Itoa(e.Rank)
}

// RatioText is the high/low ratio with its interval, or "—" without one.
func (e Effect) RatioText() string {
	if !e.HasInterval() {
		if e.Model != nil {
			return fmtRatio(e.Model.Ratio)
		}
		return "—"
	}
	s := fmt.Sprintf("%s [%s, %s]", fmtRatio(e.Model.Ratio), fmtRatio(e.Model.CILow), fmtRatio(e.Model.CIHigh))
	if e.Model.Simultaneous {
		s += " (simultaneous)"
	}
	return s
}

// Eta2Text is the partial η², "—" without a model.
func (e Effect) Eta2Text() string {
	if e.Model == nil {
		return "—"
	}
	return strconv.FormatFloat(e.Model.PartialEta2, 'f', 2, 64)
}

// PTopText is the probability of ranking first, "—" without draws.
func (e Effect) PTopText() string {
	if e.RankDraws == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", e.PTop*100)
}

// PText is the Holm-adjusted p-value, "—" without a model.
func (e Effect) PText() string {
	if e.Model == nil {
		return "—"
	}
	return fmtP(e.Model.PHolm)
}

// Text is the metric's ratio with its interval, "—" when there is none.
func (m *MetricEffect) Text() string {
	switch {
	case m == nil:
		return "—"
	case m.CILow == nil:
		return fmtRatio(m.Ratio)
	}
	return fmt.Sprintf("%s [%s, %s]", fmtRatio(m.Ratio), fmtRatio(*m.CILow), fmtRatio(*m.CIHigh))
}

// Headline is the answer to "what matters most", with how settled it is.
func (r *Report) Headline() string {
	top := r.Effects[0]
	est := estMark(r.AnyEstimated)
	s := fmt.Sprintf("Ranked on %s. The largest effect comes from `%s`: from %s J/token%s at `%s` to %s J/token at `%s`",
		r.Measure.Label(), top.Parameter, fmtNum(top.LowMeanJ), est, top.Low, fmtNum(top.HighMeanJ), top.High)
	if top.Model != nil {
		s += fmt.Sprintf(" (%s in the blocked model)", fmtRatio(top.Model.Ratio))
	}
	s += ", " + top.Verdict() + "."
	if top.Tied {
		var with []string
		for _, e := range r.Effects[1:] {
			if e.Tied && e.SharedRank == top.SharedRank {
				with = append(with, "`"+e.Parameter+"`")
			}
		}
		s += fmt.Sprintf(" The ranking is not settled: its interval overlaps %s's.", strings.Join(with, ", "))
	}
	if top.RankDraws > 0 {
		s += fmt.Sprintf(" It ranks first in %.0f%% of cycle-bootstrap draws.", top.PTop*100)
	}
	return s
}

// CyclesNotes are the cycle counts that would resolve each effect not
// resolved (and the --detect size).
func (r *Report) CyclesNotes() []string {
	var out []string
	for _, e := range r.Effects {
		c := e.Cycles
		if c == nil {
			continue
		}
		var parts []string
		if c.Observed != 0 {
			parts = append(parts, fmt.Sprintf("the size seen (%s): %s", fmtRatio(e.Model.Ratio), cyclesText(c.Observed)))
		}
		if c.DetectPct > 0 {
			parts = append(parts, fmt.Sprintf("a %g%% effect: %s", c.DetectPct, cyclesText(c.Detect)))
		}
		out = append(out, fmt.Sprintf("`%s` — %s", e.Parameter, strings.Join(parts, "; ")))
	}
	return out
}

func cyclesText(n int) string {
	if n < 0 {
		return fmt.Sprintf("more than %d cycles", maxCycles)
	}
	return fmt.Sprintf("%d cycles", n)
}

// fmtRatio formats a ratio as "1.52×".
func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmtNum(v) + "×"
}

// pEq is "= p" or "< 0.001".
func pEq(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return "= " + fmtP(p)
}

// fmtP formats a p-value to two significant digits, "< 0.001" below.
func fmtP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 0.001:
		return "< 0.001"
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
}

// mdCell keeps a free-text value on one table row.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
