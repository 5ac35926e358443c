package report

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llenergymeasure/llem/config"
)

// Comparison is several studies side by side (Compare computes it): each
// configuration present in any study, matched across the studies by its
// measurement config hash or, failing that, by its swept values, with each
// study's figures and their ratio to the reference study (the first), and
// the environment fields that differ between the studies.
type Comparison struct {
	// Reference is the ID of the study every ratio is relative to.
	Reference string `json:"reference"`
	// Studies are the compared studies, the reference first.
	Studies []ComparedStudy `json:"studies"`
	// Environment lists only the environment fields whose values differ
	// between the studies; empty means the same environment.
	Environment []Difference `json:"environment_differences"`
	// ConfigDifferences are the configuration keys that differ between the
	// studies' versions of configurations matched by their swept values.
	ConfigDifferences []Difference `json:"configuration_differences"`
	// Swept are the keys configurations are matched and named by: every
	// key swept within any of the studies.
	Swept []string `json:"swept_parameters"`
	// Configs are all configurations present in any study.
	Configs []ComparedConfig `json:"configurations"`
	// AnyEstimated is true when any figure rests on an estimated energy
	// source.
	AnyEstimated bool `json:"any_estimated"`
	// Method describes in words how configurations are matched and compared.
	Method string `json:"method"`
}

// ComparedStudy is one study of a comparison.
type ComparedStudy struct {
	// ID is S1, S2, … in the order the studies were given; S1 is the
	// reference.
	ID string `json:"id"`
	// Name is the study's name.
	Name string `json:"study_name"`
	// Dir is the study's directory.
	Dir string `json:"dir"`
	// Status is complete, partly failed, interrupted or unfinished.
	Status string `json:"status"`
	// StatusNote explains a status other than complete.
	StatusNote string `json:"status_note,omitempty"`
	// Runs counts the study's runs by state.
	Runs RunCounts `json:"runs"`
	// EnergySources are the study's energy sources as the tables label
	// them: an estimate is marked "≈ estimated".
	EnergySources []string `json:"energy_sources"`
	// Estimated is true when any of its figures rests on an estimated energy source.
	Estimated bool `json:"energy_estimated"`
	// Environment is the study's value of every compared environment
	// field, from its completed runs (values that differ between runs of
	// the study are joined with " / ").
	Environment map[string]string `json:"environment"`
	// Problems are files that could not be read and analysis caveats; omitted when none.
	Problems []string `json:"problems,omitempty"`
}

// Difference is an environment field or a configuration key whose value
// differs between studies: one value per study, in study order ("—" for a
// study without the configuration).
type Difference struct {
	// Name is the environment field or configuration key.
	Name string `json:"name"`
	// Values are its values, one per study in study order ("—" for a study without it).
	Values []string `json:"values"`
}

// How configurations were matched across studies.
const (
	MatchedByHash  = "measurement_config_hash"
	MatchedBySwept = "swept_values"
)

// ComparedConfig is one configuration across the studies.
type ComparedConfig struct {
	// Label names the configuration by its swept values.
	Label string `json:"label"`
	// Params are its values of the swept parameters.
	Params []Param `json:"params"`
	// MatchedBy is MatchedByHash when every study that has the
	// configuration recorded the same measurement config hash,
	// MatchedBySwept when the hashes differ but the swept values are
	// equal, and "" when only one study has it.
	MatchedBy string `json:"matched_by"`
	// Differences are the keys whose values differ between the studies'
	// versions of the configuration.
	Differences []Difference `json:"differences"`
	// In are the IDs of the studies that have the configuration.
	In []string `json:"in_studies"`
	// Cells are the studies' figures, one per study in study order.
	Cells []CompareCell `json:"studies"`
}

// CompareCell is one study's figures for a configuration.
type CompareCell struct {
	// Study is the study's ID (S1, S2, …).
	Study string `json:"study"`
	// Present is false when the study does not have the configuration.
	Present bool `json:"present"`
	// MeasurementConfigHash identifies the study's version of the configuration; omitted when absent.
	MeasurementConfigHash string `json:"measurement_config_hash,omitempty"`
	// Completed is the number of completed runs.
	Completed int `json:"completed"`
	// Failed is the number of failed runs: failed or interrupted ones, or,
	// without a completed run, failed or unreadable ones.
	Failed int `json:"failed"`
	// Unfinished counts runs pending, running or interrupted of a
	// configuration without a completed run.
	Unfinished int `json:"unfinished"`
	// EnergySource is the energy source of its runs, several joined with "+".
	EnergySource string `json:"energy_source,omitempty"`
	// Estimated is true when any run's energy is an estimate.
	Estimated bool `json:"energy_estimated"`
	// EnergyPerOutputTokenJ is energy per output token across cycles, in joules.
	EnergyPerOutputTokenJ Metric `json:"energy_per_output_token_j"`
	// EnergyTotalJ is the measured window's total energy across cycles, in joules.
	EnergyTotalJ Metric `json:"energy_total_j"`
	// OutputTokensPerS is output throughput across cycles, in tokens/s.
	OutputTokensPerS Metric `json:"output_tokens_per_s"`
	// TTFTP50S is the median time to first token across cycles, in seconds.
	TTFTP50S Metric `json:"ttft_p50_s"`
	// Ratio is each mean over the reference study's mean for the same
	// configuration; nil for the reference itself and when either has no
	// completed run.
	Ratio *Ratios `json:"ratio_to_reference"`

	flat map[string]string
}

// Ratios are a study's means over the reference study's; a ratio is null
// when the reference's mean is not above 0.
type Ratios struct {
	// EnergyPerOutputToken is the ratio of mean energy per output token.
	EnergyPerOutputToken *float64 `json:"energy_per_output_token"`
	// EnergyTotal is the ratio of mean total energy.
	EnergyTotal *float64 `json:"energy_total"`
	// OutputTokensPerS is the ratio of mean output throughput.
	OutputTokensPerS *float64 `json:"output_tokens_per_s"`
	// TTFTP50 is the ratio of mean median time to first token.
	TTFTP50 *float64 `json:"ttft_p50"`
}

// SourceLabel is the cell's energy source as tables show it.
func (c CompareCell) SourceLabel() string { return sourceLabel(c.EnergySource, c.Estimated) }

// Compare builds a comparison of two or more loaded studies; the first is
// the reference. Each study is summarised as Build summarises it, so the
// figures and their intervals are the single-study report's.
func Compare(studies []*Study) (*Comparison, error) {
	if len(studies) < 2 {
		return nil, fmt.Errorf("report: compare: give at least two studies (got %d): %w", len(studies), ErrOption)
	}
	for i, s := range studies {
		if s == nil {
			return nil, fmt.Errorf("report: compare: study %d is nil", i+1)
		}
		for _, o := range studies[:i] {
			if sameDir(s.Dir, o.Dir) {
				return nil, fmt.Errorf("report: compare: %s and %s are the same study directory: %w", o.Dir, s.Dir, ErrOption)
			}
		}
	}
	cmp := &Comparison{Reference: "S1", Environment: []Difference{}, ConfigDifferences: []Difference{}, Configs: []ComparedConfig{}}
	cells := make([][]CompareCell, len(studies))
	for i, s := range studies {
		rep, err := Build(s)
		if err != nil {
			return nil, fmt.Errorf("report: compare %s: %w", s.Dir, err)
		}
		id := fmt.Sprintf("S%d", i+1)
		st := ComparedStudy{ID: id, Name: rep.StudyName, Dir: s.Dir, Status: rep.Status, StatusNote: rep.StatusNote,
			Runs: rep.Runs, EnergySources: []string{}, Environment: studyEnvironment(s), Problems: rep.Problems}
		for _, c := range rep.Configs {
			cells[i] = append(cells[i], CompareCell{Study: id, Present: true, MeasurementConfigHash: c.MeasurementConfigHash,
				Completed: c.Completed, Failed: c.Failed, EnergySource: c.EnergySource, Estimated: c.Estimated,
				EnergyPerOutputTokenJ: c.EnergyPerOutputTokenJ, EnergyTotalJ: c.EnergyTotalJ, OutputTokensPerS: c.OutputTokensPerS,
				TTFTP50S: c.TTFTP50S, flat: c.flat})
			if l := c.SourceLabel(); !slices.Contains(st.EnergySources, l) {
				st.EnergySources = append(st.EnergySources, l)
			}
			st.Estimated = st.Estimated || c.Estimated
		}
		for _, r := range rep.NoResults {
			cells[i] = append(cells[i], CompareCell{Study: id, Present: true, MeasurementConfigHash: r.MeasurementConfigHash,
				Failed: r.Failed, Unfinished: r.Unfinished, flat: r.flat})
		}
		cmp.AnyEstimated = cmp.AnyEstimated || st.Estimated
		cmp.Studies = append(cmp.Studies, st)
	}
	cmp.Swept = sweptInAny(cells)
	cmp.Configs = matchConfigs(cells, cmp.Studies, cmp.Swept)
	cmp.ConfigDifferences = studyConfigDifferences(cmp.Configs, len(studies))
	cmp.Environment = environmentDifferences(cmp.Studies)
	cmp.Method = compareMethod
	return cmp, nil
}

const compareMethod = "Configurations are matched across studies by their measurement config hash; those whose hashes " +
	"differ are matched by their swept values (the values of every key swept within any of the studies), and the keys " +
	"that differ between the matched configurations are listed. Each study's figures are computed as its own report " +
	"computes them: the mean over the configuration's completed cycles with the 95% Student-t interval of that mean " +
	"(clipped at 0; none with one cycle). A ratio is a study's mean over the reference study's (S1) mean for the same " +
	"configuration, without an interval. Between studies an energy source's systematic error does not cancel when the " +
	"sources or machines differ, and a difference in environment (listed above) may explain a ratio as well as the " +
	"configuration can."

// sameDir is true when a and b name the same directory.
func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// sweptInAny is the union of the keys swept within each study.
func sweptInAny(cells [][]CompareCell) []string {
	var swept []string
	for _, cs := range cells {
		if len(cs) == 0 {
			continue
		}
		flats := make([]map[string]string, len(cs))
		for i, c := range cs {
			flats[i] = c.flat
		}
		for _, k := range config.SweptKeys(flats) {
			if !slices.Contains(swept, k) {
				swept = append(swept, k)
			}
		}
	}
	slices.Sort(swept)
	return swept
}

// matchConfigs puts each study's configurations into rows: a row of a
// configuration with the same hash first, else one with the same swept
// values, else a new row; a row holds at most one configuration per study.
func matchConfigs(cells [][]CompareCell, studies []ComparedStudy, swept []string) []ComparedConfig {
	var rows [][]CompareCell // per row, one cell per study (Present false where absent)
	find := func(si int, same func(CompareCell) bool) int {
		for r, row := range rows {
			if row[si].Present {
				continue
			}
			for _, c := range row {
				if c.Present && same(c) {
					return r
				}
			}
		}
		return -1
	}
	for si, cs := range cells {
		var rest []CompareCell
		for _, c := range cs {
			if r := find(si, func(o CompareCell) bool { return o.MeasurementConfigHash == c.MeasurementConfigHash }); r >= 0 {
				rows[r][si] = c
			} else {
				rest = append(rest, c)
			}
		}
		for _, c := range rest {
			key := config.LabelFor(c.flat, swept)
			r := find(si, func(o CompareCell) bool { return config.LabelFor(o.flat, swept) == key })
			if r < 0 {
				r = len(rows)
				row := make([]CompareCell, len(cells))
				for i := range row {
					row[i] = CompareCell{Study: studies[i].ID}
				}
				rows = append(rows, row)
			}
			rows[r][si] = c
		}
	}
	out := make([]ComparedConfig, len(rows))
	for r, row := range rows {
		out[r] = comparedConfig(row, swept)
	}
	return out
}

// comparedConfig describes one row: its name, how it was matched, what
// differs, and each study's ratio to the reference.
func comparedConfig(row []CompareCell, swept []string) ComparedConfig {
	cc := ComparedConfig{Differences: []Difference{}, In: []string{}, Cells: row}
	var flats []map[string]string
	var hashes []string
	for _, c := range row {
		if !c.Present {
			continue
		}
		if flats == nil {
			cc.Label, cc.Params = config.LabelFor(c.flat, swept), paramsOf(c.flat, swept)
		}
		cc.In = append(cc.In, c.Study)
		flats = append(flats, c.flat)
		if !slices.Contains(hashes, c.MeasurementConfigHash) {
			hashes = append(hashes, c.MeasurementConfigHash)
		}
	}
	if len(flats) > 1 {
		cc.MatchedBy = MatchedByHash
		if len(hashes) > 1 {
			cc.MatchedBy = MatchedBySwept
		}
		for _, k := range config.SweptKeys(flats) {
			d := Difference{Name: k}
			for _, c := range row {
				v := "—"
				if c.Present {
					v = config.Level(c.flat, k)
				}
				d.Values = append(d.Values, v)
			}
			cc.Differences = append(cc.Differences, d)
		}
	}
	ref := row[0]
	for i := 1; i < len(row); i++ {
		if c := row[i]; c.Completed > 0 && ref.Completed > 0 {
			row[i].Ratio = &Ratios{
				EnergyPerOutputToken: ratioOf(c.EnergyPerOutputTokenJ, ref.EnergyPerOutputTokenJ),
				EnergyTotal:          ratioOf(c.EnergyTotalJ, ref.EnergyTotalJ),
				OutputTokensPerS:     ratioOf(c.OutputTokensPerS, ref.OutputTokensPerS),
				TTFTP50:              ratioOf(c.TTFTP50S, ref.TTFTP50S),
			}
		}
	}
	return cc
}

func ratioOf(m, ref Metric) *float64 {
	if !(ref.Mean > 0) {
		return nil
	}
	r := m.Mean / ref.Mean
	return &r
}

// studyConfigDifferences gathers the rows' differences by key: each
// study's values of the key among the configurations that differ.
func studyConfigDifferences(rows []ComparedConfig, n int) []Difference {
	values := map[string][][]string{}
	var keys []string
	for _, r := range rows {
		for _, d := range r.Differences {
			if _, ok := values[d.Name]; !ok {
				keys = append(keys, d.Name)
				values[d.Name] = make([][]string, n)
			}
			for i, v := range d.Values {
				if v != "—" && !slices.Contains(values[d.Name][i], v) {
					values[d.Name][i] = append(values[d.Name][i], v)
				}
			}
		}
	}
	slices.Sort(keys)
	out := []Difference{}
	for _, k := range keys {
		d := Difference{Name: k}
		for _, vs := range values[k] {
			d.Values = append(d.Values, joinValues(vs))
		}
		out = append(out, d)
	}
	return out
}

// joinValues is a field's values in one study: "—" when none.
func joinValues(vs []string) string {
	if len(vs) == 0 {
		return "—"
	}
	return strings.Join(vs, " / ")
}

// The environment fields compared, in order; engine versions follow as
// "engine NAME".
var envFields = []string{"GPU", "driver", "CUDA", "CPU", "host", "OS", "llem"}

// studyEnvironment reads the compared environment fields from a study's
// completed runs.
func studyEnvironment(s *Study) map[string]string {
	vals := map[string][]string{}
	add := func(k, v string) {
		if v == "" {
			v = "none"
		}
		if !slices.Contains(vals[k], v) {
			vals[k] = append(vals[k], v)
		}
	}
	for _, r := range s.Runs {
		if r.Result == nil {
			continue
		}
		e := r.Result.Environment
		var gpus []string
		counts := map[string]int{}
		for _, g := range e.GPUs {
			if counts[g.Name]++; counts[g.Name] == 1 {
				gpus = append(gpus, g.Name)
			}
		}
		for i, g := range gpus {
			gpus[i] = fmt.Sprintf("%d× %s", counts[g], g)
		}
		add("GPU", strings.Join(gpus, ", "))
		add("driver", e.DriverVersion)
		add("CUDA", e.CUDAVersion)
		add("CPU", e.CPUModel)
		add("host", e.Hostname)
		add("OS", strings.TrimSpace(e.OS+" "+e.Kernel))
		add("llem", strings.TrimSpace(e.LlemVersion+" "+e.LlemCommit))
		for k, v := range e.EngineVersions {
			add("engine "+k, v)
		}
	}
	out := make(map[string]string, len(vals))
	for k, vs := range vals {
		out[k] = strings.Join(vs, " / ")
	}
	return out
}

// environmentDifferences lists the fields whose values differ between the
// studies ("unknown" for a study without a completed run, "none" for a
// field a study's runs did not record).
func environmentDifferences(studies []ComparedStudy) []Difference {
	fields := slices.Clone(envFields)
	var engines []string
	for _, s := range studies {
		for k := range maps.Keys(s.Environment) {
			if strings.HasPrefix(k, "engine ") && !slices.Contains(engines, k) {
				engines = append(engines, k)
			}
		}
	}
	slices.Sort(engines)
	out := []Difference{}
	for _, f := range append(fields, engines...) {
		d := Difference{Name: f}
		for _, s := range studies {
			v, ok := s.Environment[f]
			switch {
			case len(s.Environment) == 0:
				v = "unknown (no completed run)"
			case !ok:
				v = "none"
			}
			d.Values = append(d.Values, v)
		}
		if slices.ContainsFunc(d.Values, func(v string) bool { return v != d.Values[0] }) {
			out = append(out, d)
		}
	}
	return out
}

// WriteComparisonJSON writes the comparison as indented JSON.
func WriteComparisonJSON(w io.Writer, c *Comparison) error { return writeIndentedJSON(w, c) }

// WriteComparisonMarkdown writes the comparison as GitHub-flavoured
// Markdown: the studies, what differs between them (environment,
// configuration, coverage), energy per output token side by side, every
// figure by study, and the method.
func WriteComparisonMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	var names []string
	for _, s := range c.Studies {
		names = append(names, s.ID+" "+s.Name)
	}
	fmt.Fprintf(&b, "# Cross-study report: %s\n\n", strings.Join(names, " vs "))
	fmt.Fprintf(&b, "Reference: %s. Ratios are a study's mean over %s's for the same configuration.\n\n", c.Reference, c.Reference)
	b.WriteString("## Studies\n\n| id | study | directory | status | runs | energy source |\n|---|---|---|---|---|---|\n")
	for _, s := range c.Studies {
		src := strings.Join(s.EnergySources, ", ")
		if src == "" {
			src = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s |\n", s.ID, mdCell(s.Name), s.Dir, s.Status, runCountsText(s.Runs), src)
	}
	b.WriteString("\n")
	for _, s := range c.Studies {
		if s.StatusNote != "" {
			fmt.Fprintf(&b, "- %s: %s.\n\n", s.ID, s.StatusNote)
		}
	}
	if c.AnyEstimated {
		b.WriteString("> **≈ estimated energy:** some figures rest on an estimated energy source, not a measurement; they are marked ≈ in every table.\n\n")
	}
	b.WriteString("## What differs\n\n")
	writeEnvironmentMD(&b, c)
	writeConfigDifferencesMD(&b, c)
	writeCoverageMD(&b, c)

	b.WriteString("## Energy per output token, side by side\n\n")
	writeSideBySideMD(&b, c)
	b.WriteString("## Configurations by study\n\nMean [95% CI] across cycles; ×" + c.Reference + " is the ratio to the reference's mean.\n\n")
	writeByStudyMD(&b, c)
	fmt.Fprintf(&b, "_Method:_ %s\n\n", c.Method)
	for _, s := range c.Studies {
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "- problem reading %s: %s\n", s.ID, p)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write markdown: %w", err)
	}
	return nil
}

// studyHeader is "| S1 | S2 |" and its alignment row.
func (c *Comparison) studyHeader(b *strings.Builder, first string) {
	b.WriteString("| " + first + " |")
	for _, s := range c.Studies {
		b.WriteString(" " + s.ID + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(c.Studies)) + "\n")
}

func writeEnvironmentMD(b *strings.Builder, c *Comparison) {
	writeDifferencesMD(b, c, c.Environment, "**Environment:** same environment (GPU, driver, CUDA, CPU, host, OS, llem and engine versions are equal).",
		"**Environment:** differs in", "field", func(n string) string { return n })
}

func writeConfigDifferencesMD(b *strings.Builder, c *Comparison) {
	writeDifferencesMD(b, c, c.ConfigDifferences, "**Configuration:** every configuration found in several studies is the same in each (same measurement config hash).",
		"**Configuration:** configurations matched by their swept values differ in", "key", func(n string) string { return "`" + n + "`" })
}

// writeDifferencesMD says what differs between the studies, then each
// study's values in a table; same is the sentence when nothing differs.
func writeDifferencesMD(b *strings.Builder, c *Comparison, ds []Difference, same, differs, column string, name func(string) string) {
	if len(ds) == 0 {
		b.WriteString(same + "\n\n")
		return
	}
	var names []string
	for _, d := range ds {
		names = append(names, name(d.Name))
	}
	fmt.Fprintf(b, "%s %s.\n\n", differs, strings.Join(names, ", "))
	c.studyHeader(b, column)
	for _, d := range ds {
		b.WriteString("| " + name(d.Name) + " |")
		for _, v := range d.Values {
			b.WriteString(" " + mdCell(v) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func writeCoverageMD(b *strings.Builder, c *Comparison) {
	var partial []ComparedConfig
	for _, r := range c.Configs {
		if len(r.In) < len(c.Studies) {
			partial = append(partial, r)
		}
	}
	if len(partial) == 0 {
		fmt.Fprintf(b, "**Coverage:** all %d configurations are in every study.\n\n", len(c.Configs))
		return
	}
	fmt.Fprintf(b, "**Coverage:** %d of the %d configurations %s only in some studies:\n\n", len(partial), len(c.Configs), isAre(len(partial)))
	for _, r := range partial {
		var missing []string
		for _, s := range c.Studies {
			if !slices.Contains(r.In, s.ID) {
				missing = append(missing, s.ID)
			}
		}
		fmt.Fprintf(b, "- %s: only in %s (not in %s)\n", r.Label, strings.Join(r.In, ", "), strings.Join(missing, ", "))
	}
	b.WriteString("\n")
}

// matchText says how a row was matched, and what differs.
func (r ComparedConfig) matchText() string {
	switch r.MatchedBy {
	case MatchedByHash:
		return "same hash"
	case MatchedBySwept:
		var keys []string
		for _, d := range r.Differences {
			keys = append(keys, "`"+d.Name+"`")
		}
		if len(keys) == 0 {
			return "swept values (hashes differ)"
		}
		return "swept values; differs in " + strings.Join(keys, ", ")
	}
	return "only in " + strings.Join(r.In, ", ")
}

// energyText is a cell's energy per output token as tables show it.
func (c CompareCell) energyText() string {
	switch {
	case !c.Present:
		return "not in study"
	case c.Completed == 0:
		return noCompletedRuns
	}
	return fmtMetric(c.EnergyPerOutputTokenJ) + estMark(c.Estimated)
}

func ratioText(r *Ratios, get func(*Ratios) *float64) string {
	if r == nil || get(r) == nil {
		return "—"
	}
	return fmtRatio(*get(r))
}

func writeSideBySideMD(b *strings.Builder, c *Comparison) {
	b.WriteString("J per output token, mean [95% CI].\n\n| configuration | matched by |")
	for _, s := range c.Studies {
		b.WriteString(" " + s.ID + " |")
	}
	for _, s := range c.Studies[1:] {
		b.WriteString(" " + s.ID + "/" + c.Reference + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", 2*len(c.Studies)-1) + "\n")
	for _, r := range c.Configs {
		fmt.Fprintf(b, "| %s | %s |", r.Label, r.matchText())
		for _, cell := range r.Cells {
			b.WriteString(" " + cell.energyText() + " |")
		}
		for _, cell := range r.Cells[1:] {
			b.WriteString(" " + ratioText(cell.Ratio, func(r *Ratios) *float64 { return r.EnergyPerOutputToken }) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func writeByStudyMD(b *strings.Builder, c *Comparison) {
	ref := "×" + c.Reference
	fmt.Fprintf(b, "| configuration | study | config hash | n | energy source | energy/output token (J) | %s | total energy per run (J) | %s | output tokens/s | %s | TTFT p50 (s) | %s |\n", ref, ref, ref, ref)
	b.WriteString("|---|---|---|---:|---|---|---:|---|---:|---|---:|---|---:|\n")
	for _, r := range c.Configs {
		for _, cell := range r.Cells {
			if !cell.Present {
				fmt.Fprintf(b, "| %s | %s | — | — | — | not in study |%s\n", r.Label, cell.Study, strings.Repeat(" |", 7))
				continue
			}
			n := fmt.Sprint(cell.Completed)
			if cell.Completed == 0 {
				n = NoResultRow{Failed: cell.Failed, Unfinished: cell.Unfinished}.RunsText()
			} else if cell.Failed > 0 {
				n += fmt.Sprintf(" (%d failed)", cell.Failed)
			}
			if cell.Completed == 0 {
				fmt.Fprintf(b, "| %s | %s | `%s` | %s | — | %s |%s\n", r.Label, cell.Study, cell.MeasurementConfigHash, n, noCompletedRuns, strings.Repeat(" |", 7))
				continue
			}
			fmt.Fprintf(b, "| %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Label, cell.Study,
				cell.MeasurementConfigHash, n, cell.SourceLabel(),
				cell.energyText(), ratioText(cell.Ratio, func(r *Ratios) *float64 { return r.EnergyPerOutputToken }),
				fmtMetric(cell.EnergyTotalJ)+estMark(cell.Estimated), ratioText(cell.Ratio, func(r *Ratios) *float64 { return r.EnergyTotal }),
				fmtMetric(cell.OutputTokensPerS), ratioText(cell.Ratio, func(r *Ratios) *float64 { return r.OutputTokensPerS }),
				fmtMetric(cell.TTFTP50S), ratioText(cell.Ratio, func(r *Ratios) *float64 { return r.TTFTP50 }))
		}
	}
	b.WriteString("\n")
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
