package report

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/llenergymeasure/llem/internal/stats"
)

// Effect is one factor's main effect on energy per output token. A factor
// is a swept parameter, or several that always change together (a grouped
// sweep, an explicit list pairing them): their effects cannot be told
// apart, so they are ranked once, named "a+b", with levels "x+y".
type Effect struct {
	Rank      int    `json:"rank"`
	Parameter string `json:"parameter"`
	// Parameters are the configuration keys of the factor, sorted: one for
	// a parameter swept on its own.
	Parameters []string `json:"parameters"`
	Levels     []Level  `json:"levels"`
	// Low and High are the levels with the lowest and highest marginal mean.
	Low       string  `json:"low_level"`
	High      string  `json:"high_level"`
	LowMeanJ  float64 `json:"low_mean_j"`
	HighMeanJ float64 `json:"high_mean_j"`
	// EffectJ is High's marginal mean minus Low's, in J per output token;
	// RelativePct is it relative to Low's.
	EffectJ     float64 `json:"effect_j"`
	RelativePct float64 `json:"relative_pct"`
	CILow       float64 `json:"ci95_low"`
	CIHigh      float64 `json:"ci95_high"`
	// MinCycles is the fewest completed cycles of any configuration at the
	// two compared levels; below 2 there is no interval.
	MinCycles int `json:"min_cycles"`
	// Resolved is true when the interval excludes 0 and MinCycles is at
	// least minResolveCycles.
	Resolved bool `json:"resolved"`
}

// minResolveCycles is the fewest completed cycles every configuration at
// the two compared levels needs before an effect is called resolved: a
// bootstrap over two cycles sees at most three distinct means per
// configuration, so its interval is far too narrow to trust.
const minResolveCycles = 3

// HasInterval is true when every configuration at the compared levels has
// at least two cycles; with one, resampling it adds no spread and the
// interval would pass for a measured one.
func (e Effect) HasInterval() bool { return e.MinCycles >= 2 }

// MarshalJSON writes the interval as null when the effect has none.
func (e Effect) MarshalJSON() ([]byte, error) {
	type plain Effect
	out := struct {
		plain
		CILow  *float64 `json:"ci95_low"`
		CIHigh *float64 `json:"ci95_high"`
	}{plain: plain(e)}
	if e.HasInterval() {
		out.CILow, out.CIHigh = &e.CILow, &e.CIHigh
	}
	return json.Marshal(out)
}

// Level is one value of a swept parameter and its marginal mean.
type Level struct {
	Value   string  `json:"value"`
	MeanJ   float64 `json:"mean_j"`
	Configs int     `json:"configs"`
	Runs    int     `json:"runs"`
}

// Interaction is the two-way table of the two top-ranked parameters.
type Interaction struct {
	A       string   `json:"a"`
	B       string   `json:"b"`
	ALevels []string `json:"a_levels"`
	BLevels []string `json:"b_levels"`
	// Means[i][j] is the cell mean at ALevels[i], BLevels[j].
	Means [][]float64 `json:"means_j"`
	// ContrastJ is (B high − B low) at A high minus the same at A low.
	ContrastJ float64 `json:"contrast_j"`
	CILow     float64 `json:"ci95_low"`
	CIHigh    float64 `json:"ci95_high"`
	// MinCycles is the fewest completed cycles of any configuration in the
	// table; below 2 there is no interval.
	MinCycles int `json:"min_cycles"`
}

// HasInterval is true when every configuration in the table has at least
// two cycles.
func (in Interaction) HasInterval() bool { return in.MinCycles >= 2 }

// MarshalJSON writes the interval as null when the contrast has none.
func (in Interaction) MarshalJSON() ([]byte, error) {
	type plain Interaction
	out := struct {
		plain
		CILow  *float64 `json:"ci95_low"`
		CIHigh *float64 `json:"ci95_high"`
	}{plain: plain(in)}
	if in.HasInterval() {
		out.CILow, out.CIHigh = &in.CILow, &in.CIHigh
	}
	return json.Marshal(out)
}

// CIText is ", 95% CI [low, high]", or why there is no interval.
func (in Interaction) CIText() string {
	if !in.HasInterval() {
		return " (no interval: a configuration has one cycle)"
	}
	return fmt.Sprintf(", 95%% CI [%s, %s]", fmtNum(in.CILow), fmtNum(in.CIHigh))
}

// factorSep joins the keys of a factor into its name and their values into
// its levels.
const factorSep = "+"

// factorsOf groups the swept keys into factors: keys whose levels split
// the configurations with results into the same groups (they always change
// together, so their effects are one and the same) form one factor. Keys
// that vary only among configurations without results stay on their own.
func factorsOf(configs []ConfigRow, swept []string) [][]string {
	var out [][]string
	at := make(map[string]int) // partition signature -> factor
	for _, key := range swept {
		if len(levelsOf(configs, []string{key})) < 2 {
			out = append(out, []string{key})
			continue
		}
		// Number each configuration by the first configuration sharing its
		// level: two keys with the same numbering co-vary perfectly.
		first := make(map[string]int)
		sig := make([]string, len(configs))
		for i, c := range configs {
			v := paramValue(c, key)
			if _, ok := first[v]; !ok {
				first[v] = i
			}
			sig[i] = strconv.Itoa(first[v])
		}
		k := strings.Join(sig, ",")
		if i, ok := at[k]; ok {
			out[i] = append(out[i], key)
			continue
		}
		at[k] = len(out)
		out = append(out, []string{key})
	}
	return out
}

// factorValue is a configuration's level of a factor: its values of the
// factor's keys, joined.
func factorValue(c ConfigRow, keys []string) string {
	vs := make([]string, len(keys))
	for i, k := range keys {
		vs[i] = paramValue(c, k)
	}
	return strings.Join(vs, factorSep)
}

// mainEffects ranks the factors of the swept parameters by main effect,
// largest first.
func mainEffects(configs []ConfigRow, swept []string) []Effect {
	effects := []Effect{}
	for _, keys := range factorsOf(configs, swept) {
		levels := levelsOf(configs, keys)
		if len(levels) < 2 {
			continue // varies only among configurations without results
		}
		key := strings.Join(keys, factorSep)
		e := Effect{Parameter: key, Parameters: keys}
		means := cellMeans(configs, keys, levels, configMeans(configs))
		lo, hi := 0, 0
		for i, l := range levels {
			e.Levels = append(e.Levels, Level{Value: l, MeanJ: means[i]})
			if means[i] < means[lo] {
				lo = i
			}
			if means[i] > means[hi] {
				hi = i
			}
		}
		e.MinCycles = math.MaxInt
		for _, c := range configs {
			i := slices.Index(levels, factorValue(c, keys))
			e.Levels[i].Configs++
			e.Levels[i].Runs += c.Completed
			if i == lo || i == hi {
				e.MinCycles = min(e.MinCycles, len(c.Cycles))
			}
		}
		e.Low, e.High = levels[lo], levels[hi]
		e.LowMeanJ, e.HighMeanJ = means[lo], means[hi]
		e.EffectJ = means[hi] - means[lo]
		if means[lo] != 0 {
			e.RelativePct = e.EffectJ / math.Abs(means[lo]) * 100
		}
		e.CILow, e.CIHigh = bootstrapCI(configs, seedFor(key), func(cm []float64) float64 {
			m := cellMeans(configs, keys, []string{e.High, e.Low}, cm)
			return m[0] - m[1]
		})
		e.Resolved = e.MinCycles >= minResolveCycles && (e.CILow > 0 || e.CIHigh < 0)
		effects = append(effects, e)
	}
	slices.SortStableFunc(effects, func(a, b Effect) int {
		if c := cmpFloat(b.EffectJ, a.EffectJ); c != 0 {
			return c
		}
		return strings.Compare(a.Parameter, b.Parameter)
	})
	for i := range effects {
		effects[i].Rank = i + 1
	}
	return effects
}

// Verdict completes the headline sentence about the effect: resolved from
// the cycle-to-cycle noise, not resolved, or too few cycles to say.
func (e Effect) Verdict() string {
	switch {
	case e.MinCycles < minResolveCycles:
		return fmt.Sprintf("not called resolved: a configuration at the compared levels has %d completed cycle%s, "+
			"and the report calls an effect resolved only with at least %d completed cycles per level",
			e.MinCycles, plural(e.MinCycles), minResolveCycles)
	case e.Resolved:
		return "beyond the cycle-to-cycle noise (its 95% interval excludes 0)"
	}
	return "not resolved from the cycle-to-cycle noise (its 95% interval includes 0)"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// interaction returns the two-way table of a and b, or nil when some pair
// of their levels has no configuration.
func interaction(configs []ConfigRow, a, b Effect) *Interaction {
	in := &Interaction{A: a.Parameter, B: b.Parameter}
	for _, l := range a.Levels {
		in.ALevels = append(in.ALevels, l.Value)
	}
	for _, l := range b.Levels {
		in.BLevels = append(in.BLevels, l.Value)
	}
	cells := func(cm []float64) [][]float64 {
		out := make([][]float64, len(in.ALevels))
		for i, al := range in.ALevels {
			out[i] = make([]float64, len(in.BLevels))
			for j, bl := range in.BLevels {
				var xs []float64
				for k, c := range configs {
					if factorValue(c, a.Parameters) == al && factorValue(c, b.Parameters) == bl {
						xs = append(xs, cm[k])
					}
				}
				out[i][j] = stats.Mean(xs) // NaN for an empty cell
			}
		}
		return out
	}
	in.Means = cells(configMeans(configs))
	for _, row := range in.Means {
		for _, m := range row {
			if math.IsNaN(m) {
				return nil
			}
		}
	}
	ah, al := slices.Index(in.ALevels, a.High), slices.Index(in.ALevels, a.Low)
	bh, bl := slices.Index(in.BLevels, b.High), slices.Index(in.BLevels, b.Low)
	contrast := func(m [][]float64) float64 { return (m[ah][bh] - m[ah][bl]) - (m[al][bh] - m[al][bl]) }
	in.ContrastJ = contrast(in.Means)
	in.MinCycles = math.MaxInt
	for _, c := range configs {
		in.MinCycles = min(in.MinCycles, len(c.Cycles))
	}
	in.CILow, in.CIHigh = bootstrapCI(configs, seedFor(a.Parameter+"×"+b.Parameter), func(cm []float64) float64 {
		return contrast(cells(cm))
	})
	return in
}

func paramValue(c ConfigRow, key string) string {
	for _, p := range c.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return unsetLevel
}

// levelsOf returns the sorted levels of a factor among configurations with
// results. A factor of several keys is sorted by its first key's levels:
// its keys change together, so the first decides the order.
func levelsOf(configs []ConfigRow, keys []string) []string {
	var levels, firsts []string
	for _, c := range configs {
		if v := factorValue(c, keys); !slices.Contains(levels, v) {
			levels = append(levels, v)
			firsts = append(firsts, paramValue(c, keys[0]))
		}
	}
	if len(keys) == 1 {
		sortLevels(levels)
		return levels
	}
	order := slices.Clone(firsts)
	sortLevels(order)
	idx := make([]int, len(levels))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return slices.Index(order, firsts[a]) - slices.Index(order, firsts[b])
	})
	sorted := make([]string, len(levels))
	for i, j := range idx {
		sorted[i] = levels[j]
	}
	return sorted
}

func configMeans(configs []ConfigRow) []float64 {
	out := make([]float64, len(configs))
	for i, c := range configs {
		out[i] = c.EnergyPerOutputTokenJ.Mean
	}
	return out
}

// cellMeans returns, for each level of a factor, the mean of the
// configuration means cm at that level.
func cellMeans(configs []ConfigRow, keys []string, levels []string, cm []float64) []float64 {
	out := make([]float64, len(levels))
	for i, l := range levels {
		var xs []float64
		for k, c := range configs {
			if factorValue(c, keys) == l {
				xs = append(xs, cm[k])
			}
		}
		out[i] = stats.Mean(xs)
	}
	return out
}

// bootstrapCI is the percentile-bootstrap 95% interval of statistic, which
// maps configuration means to a number: each draw resamples every
// configuration's cycles with replacement.
func bootstrapCI(configs []ConfigRow, seed uint64, statistic func(configMeans []float64) float64) (low, high float64) {
	rng := rand.New(rand.NewPCG(seed, 0x6c6c656d))
	draws := make([]float64, bootstrapResamples)
	cm := make([]float64, len(configs))
	for d := range draws {
		for k, c := range configs {
			n := len(c.Cycles)
			var sum float64
			for range n {
				sum += c.Cycles[rng.IntN(n)].EnergyPerOutputTokenJ
			}
			cm[k] = sum / float64(n)
		}
		draws[d] = statistic(cm)
	}
	return stats.Percentile(draws, 2.5), stats.Percentile(draws, 97.5)
}

// seedFor derives a fixed bootstrap seed from a name, so a report is
// reproducible and each parameter draws its own stream.
func seedFor(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
