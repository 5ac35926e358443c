package energy

import (
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/internal/schemagen"
)

var update = flag.Bool("update", false, "rewrite the generated files of ../../schema this package owns")

// TestGeneratedColumns fails when schema/run_timeseries.columns.json, the
// columns of each run's timeseries.parquet, differs from what TimeseriesRow
// and its doc comments give; -update rewrites it.
func TestGeneratedColumns(t *testing.T) {
	r, err := schemagen.Reflector(schemagen.Module+"/internal/energy", TimeseriesRow{})
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[TimeseriesRow]()
	doc := schemagen.Columns{
		Table:       "run_timeseries",
		Description: "timeseries.parquet of a run directory: " + strings.Join(strings.Fields(r.CommentMap[typ.PkgPath()+".TimeseriesRow"]), " "),
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		desc := strings.Join(strings.Fields(r.CommentMap[typ.PkgPath()+".TimeseriesRow."+f.Name]), " ")
		if desc == "" {
			t.Errorf("TimeseriesRow.%s has no doc comment", f.Name)
		}
		if strings.Contains(opts, "optional") {
			desc += " Null when not read."
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		kind := map[reflect.Kind]string{reflect.Float64: "double", reflect.Int32: "int32", reflect.Int64: "int64", reflect.String: "string", reflect.Bool: "bool"}[ft.Kind()]
		if kind == "" {
			t.Fatalf("TimeseriesRow.%s: no column type for %s", f.Name, ft)
		}
		doc.Columns = append(doc.Columns, schemagen.Column{Name: name, Type: kind, Unit: schemagen.Unit(name), Description: desc})
	}
	schemagen.CheckFresh(t, "../../schema/run_timeseries.columns.json", schemagen.Marshal(t, doc), *update,
		"go test ./internal/energy -run TestGeneratedColumns -update")
}
