package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// exposed are the names of every metric the exporter serves.
func exposed(t *testing.T) map[string]bool {
	t.Helper()
	e := New(Options{})
	twoRuns(e)
	fams, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	if len(names) < 12 {
		t.Fatalf("only %d metrics gathered: %v", len(names), names)
	}
	return names
}

var metricName = regexp.MustCompile(`\bllem_[a-z_]+`)

// TestMetricsDocumented: docs/metrics.md's table lists every metric
// served, and names none that is not.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	names := exposed(t)
	rows := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if m := regexp.MustCompile("^\\| `(llem_[a-z_]+)`").FindStringSubmatch(line); m != nil {
			rows[m[1]] = true
		}
	}
	for n := range names {
		if !rows[n] {
			t.Errorf("docs/metrics.md does not list %s", n)
		}
	}
	for n := range rows {
		if !names[n] {
			t.Errorf("docs/metrics.md lists %s, which is not served", n)
		}
	}
}

// TestMetricsGrafanaDashboard: docs/grafana-llem.json is JSON whose
// panels query metrics the exporter serves, through the datasource
// variable.
func TestMetricsGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile("../../docs/grafana-llem.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr       string `json:"expr"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("docs/grafana-llem.json: %v", err)
	}
	if len(d.Templating.List) == 0 || d.Templating.List[0].Name != "datasource" || d.Templating.List[0].Type != "datasource" {
		t.Errorf("no datasource variable: %+v", d.Templating.List)
	}
	names := exposed(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the ${datasource} variable", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: a query's datasource is %q", p.Title, q.Datasource.UID)
			}
			for _, n := range metricName.FindAllString(q.Expr, -1) {
				used[n] = true
				if !names[n] {
					t.Errorf("panel %q queries %s, which llem does not serve", p.Title, n)
				}
			}
		}
	}
	for _, n := range []string{"llem_power_watts", "llem_run_energy_joules", "llem_tokens_per_second", "llem_phase", "llem_run_info"} {
		if !used[n] {
			t.Errorf("the dashboard has no panel on %s", n)
		}
	}
}
