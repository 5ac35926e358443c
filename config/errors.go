package config

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in a configuration, located where it was
// written when that is known. Its text is `file:line:col: field: message`.
type FieldError struct {
	// File is the file the problem is in; empty for configs built in code
	// and for command-line flags.
	File string
	// Line and Col are 1-based; 0 when unknown.
	Line, Col int
	// Field is the dotted path of the field (`decoder.temperature`,
	// `sweep.pytorch.batch_size`, `experiments[2].precision`), or a flag
	// name such as `--batch-size`.
	Field string
	Msg   string
}

// Error renders `file:line:col: field: message`, leaving out the parts
// that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Col)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, reported at once.
// The CLI maps it to exit status 2 (bad input); test for it with
//
//	var ce config.Errors
//	if errors.As(err, &ce) { ... }
type Errors []*FieldError

// Error lists the problems one per line, in file order.
func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no configuration errors"
	case 1:
		return es[0].Error()
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d configuration errors:\n  %s", len(es), strings.Join(lines, "\n  "))
}

// errorList collects problems, dropping exact duplicates (a mistake in a
// shared field shows once, not once per generated experiment).
type errorList struct {
	errs Errors
	seen map[FieldError]bool
}

func (l *errorList) add(e *FieldError) {
	if l.seen == nil {
		l.seen = map[FieldError]bool{}
	}
	if l.seen[*e] {
		return
	}
	l.seen[*e] = true
	l.errs = append(l.errs, e)
}

func (l *errorList) addAll(es Errors) {
	for _, e := range es {
		l.add(e)
	}
}

// err returns the problems sorted by file position, or nil.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	out := append(Errors(nil), l.errs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// suggest returns " (did you mean "x"?)" for the candidate nearest to got
// when it is close enough to be a plausible typo, else "".
func suggest(got string, candidates []string) string {
	best, bestD := "", -1
	g := strings.ToLower(got)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(g, lc)
		// A shortened name (carbon_intensity for carbon_intensity_gco2_kwh)
		// is compared with the candidate's start.
		if len(g) >= 6 && len(lc) > len(g) {
			d = min(d, editDistance(g, lc[:len(g)])+1)
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(3, len(got)/3))
	if bestD < 0 || bestD > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Damerau–Levenshtein (optimal string alignment)
// distance, so a swapped pair of letters counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// quoteList renders allowed values as `a, b, c`.
func quoteList(vals []string) string {
	return strings.Join(vals, ", ")
}
