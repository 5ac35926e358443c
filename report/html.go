package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

//go:embed report.html.tmpl
var htmlTemplate string

// WriteHTML writes the report as one self-contained HTML page: plots are
// embedded as SVG data URIs, styles and the table-sorting script are
// inline, and nothing is fetched from the network.
func WriteHTML(w io.Writer, rep *Report) error {
	figs, err := figures(rep, false)
	if err != nil {
		return err
	}
	t, err := template.New("report").Funcs(template.FuncMap{
		"num":    fmtNum,
		"pct":    fmtPct,
		"metric": fmtMetric,
		"est":    estMark,
		"source": sourceLabel,
		"sortv": func(v float64) string {
			if math.IsNaN(v) {
				return ""
			}
			return fmt.Sprint(v)
		},
		"svg": func(b []byte) template.URL {
			return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b))
		},
		"frontierLabel": func(id string) string { return rep.config(id).Label },
		"runs":          runCountsText,
		"code":          codeHTML,
		"dict": func(m Metric, est bool) map[string]any {
			return map[string]any{"M": m, "Est": est}
		},
	}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("report: HTML template: %w", err)
	}
	data := struct {
		*Report
		Figures []Figure
	}{rep, figs}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("report: write HTML: %w", err)
	}
	return nil
}

// HeadlineHTML is the headline with its `code` spans as HTML, the rest
// escaped.
func (r *Report) HeadlineHTML() template.HTML { return codeHTML(r.Headline()) }

// codeHTML escapes s and renders its `code` spans as <code>.
func codeHTML(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
			continue
		}
		b.WriteString(template.HTMLEscapeString(p))
	}
	return template.HTML(b.String())
}
