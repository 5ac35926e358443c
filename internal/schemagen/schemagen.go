// Package schemagen generates the JSON Schemas and column descriptions in
// schema/ from llem's Go types, and checks documents against them. Only
// tests use it: each package's test generates the schemas of the types it
// owns, compares them with the checked-in files (-update rewrites them) and
// validates real outputs against them.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invopop/jsonschema"
	sjson "github.com/santhosh-tekuri/jsonschema/v6"
)

// Module is llem's module path.
const Module = "github.com/llenergymeasure/llem"

// BaseURL is the prefix of every generated schema's $id; a schema's $id is
// BaseURL + its file name, so schemas refer to one another by file name.
const BaseURL = "https://github.com/llenergymeasure/llem/schema/"

// Reflector returns a reflector whose descriptions are the Go doc comments
// of the types reachable from roots. pkg is the import path of the calling
// test's package: the test runs in that package's directory, so the other
// packages' directories are found relative to it. Every property without
// omitempty is required, and no object takes properties its type lacks.
func Reflector(pkg string, roots ...any) (*jsonschema.Reflector, error) {
	r := &jsonschema.Reflector{AllowAdditionalProperties: false}
	rel, ok := strings.CutPrefix(pkg, Module)
	if !ok {
		return nil, fmt.Errorf("schemagen: %s is not in %s", pkg, Module)
	}
	up := strings.Count(rel, "/") // directories from the test's package up to the module root
	pkgs := map[string]bool{}
	seen := map[reflect.Type]bool{}
	for _, v := range roots {
		collectPackages(reflect.TypeOf(v), seen, pkgs)
	}
	for p := range pkgs {
		sub, ok := strings.CutPrefix(p, Module)
		if !ok || sub == "" {
			continue // outside the module, or the root package, whose walk would take in the whole module: no comments
		}
		dir := "." + sub
		if up > 0 {
			dir = strings.Repeat("../", up) + strings.TrimPrefix(sub, "/")
		}
		// AddGoComments keys a file's comments by path.Join(base, its
		// directory), which for a relative directory is the import path
		// when base is the calling package's.
		if err := r.AddGoComments(pkg, filepath.Clean(dir)); err != nil {
			return nil, fmt.Errorf("schemagen: comments of %s: %w", p, err)
		}
		if err := addUnexportedFieldComments(r, p, filepath.Clean(dir)); err != nil {
			return nil, fmt.Errorf("schemagen: comments of %s: %w", p, err)
		}
	}
	return r, nil
}

// addUnexportedFieldComments adds the doc comments of the exported fields
// of pkg's unexported struct types (the CLI's --json documents), which
// AddGoComments skips, to r.CommentMap under the key it would use.
func addUnexportedFieldComments(r *jsonschema.Reflector, pkg, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok || ast.IsExported(ts.Name.Name) {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, field := range st.Fields.List {
					txt := strings.TrimSpace(field.Doc.Text())
					if txt == "" {
						continue
					}
					for _, n := range field.Names {
						if n.IsExported() {
							if r.CommentMap == nil {
								r.CommentMap = map[string]string{}
							}
							r.CommentMap[pkg+"."+ts.Name.Name+"."+n.Name] = txt
						}
					}
				}
			}
		}
	}
	return nil
}

// collectPackages adds the import path of every named type reachable from t.
func collectPackages(t reflect.Type, seen map[reflect.Type]bool, pkgs map[string]bool) {
	if t == nil || seen[t] {
		return
	}
	seen[t] = true
	if t.PkgPath() != "" {
		pkgs[t.PkgPath()] = true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		collectPackages(t.Elem(), seen, pkgs)
	case reflect.Map:
		collectPackages(t.Key(), seen, pkgs)
		collectPackages(t.Elem(), seen, pkgs)
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range t.NumField() {
			collectPackages(t.Field(i).Type, seen, pkgs)
		}
	}
}

// Reflect generates the schema of v's type, named file (its $id is
// BaseURL+file) and titled title. A field that encoding/json writes as
// null (a nil slice, map or pointer without omitempty) accepts null.
func Reflect(r *jsonschema.Reflector, v any, file, title string) *jsonschema.Schema {
	s := r.Reflect(v)
	s.ID = jsonschema.ID(BaseURL + file)
	s.Title = title
	nullableFields(s, reflect.TypeOf(v), map[reflect.Type]bool{})
	return s
}

// nullableFields lets null through wherever encoding/json may write it for
// a field of t or of the struct types reachable from it: the properties of
// the definition named after each struct type.
func nullableFields(s *jsonschema.Schema, t reflect.Type, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeFor[time.Time]() {
		return
	}
	seen[t] = true
	def := s.Definitions[t.Name()]
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			nullableFields(s, f.Type, seen) // embedded: its own definition is not used, but its types are
			continue
		}
		nullableFields(s, f.Type, seen)
		if def == nil || def.Properties == nil || strings.Contains(opts, "omitempty") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			if p, ok := def.Properties.Get(name); ok && p.AnyOf == nil && (p.Type != "" || p.Ref != "") {
				def.Properties.Set(name, Nullable(p))
			}
		}
	}
}

// Nullable returns a schema that takes what s takes, or null; the
// description moves to the wrapper.
func Nullable(s *jsonschema.Schema) *jsonschema.Schema {
	d := s.Description
	s.Description = ""
	return &jsonschema.Schema{Description: d, AnyOf: []*jsonschema.Schema{s, {Type: "null"}}}
}

// Property returns the property name of the definition def of s, or nil.
func Property(s *jsonschema.Schema, def, name string) *jsonschema.Schema {
	d := s.Definitions[def]
	if d == nil || d.Properties == nil {
		return nil
	}
	p, _ := d.Properties.Get(name)
	return p
}

// Marshal is the schema as checked in: indented JSON and a final newline.
func Marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// CheckFresh compares the checked-in file at path with want, or with
// update rewrites it. regen is the command that rewrites it.
func CheckFresh(t testing.TB, path string, want []byte, update bool, regen string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is stale or missing (%v); regenerate with: %s", path, err, regen)
	}
}

// Validator checks JSON documents against the schemas of a folder.
type Validator struct {
	c       *sjson.Compiler
	schemas map[string]*sjson.Schema
}

// NewValidator loads every *.schema.json of dir, so schemas that refer to
// one another by $id resolve.
func NewValidator(dir string) (*Validator, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("schemagen: no schemas in %s (%v)", dir, err)
	}
	c := sjson.NewCompiler()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := sjson.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.AddResource(BaseURL+filepath.Base(f), doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return &Validator{c: c, schemas: map[string]*sjson.Schema{}}, nil
}

// Validate checks the JSON document data against the schema file (a file
// name in the folder, e.g. "result.schema.json").
func (v *Validator) Validate(file string, data []byte) error {
	sch, ok := v.schemas[file]
	if !ok {
		var err error
		if sch, err = v.c.Compile(BaseURL + path.Base(file)); err != nil {
			return fmt.Errorf("schema %s: %w", file, err)
		}
		v.schemas[file] = sch
	}
	inst, err := sjson.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// Column describes one column of a table written as Parquet, CSV or JSON
// Lines, as schema/*.columns.json lists them.
type Column struct {
	Name string `json:"name"`
	// Type is string, int32, int64, double, bool or timestamp (UTC; RFC
	// 3339 in CSV and JSON Lines).
	Type string `json:"type"`
	// Unit is the unit of a quantity, from the column's name suffix.
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description"`
}

// Columns is the document of a schema/*.columns.json file.
type Columns struct {
	Table         string   `json:"table"`
	SchemaVersion string   `json:"table_schema_version"`
	Description   string   `json:"description"`
	Columns       []Column `json:"columns"`
}

// unitSuffixes maps a column-name suffix to its unit, longest first.
var unitSuffixes = []struct{ suffix, unit string }{
	{"tokens_per_s", "tokens/s"},
	{"tokens_per_sec", "tokens/s"},
	{"requests_per_s", "requests/s"},
	{"_seconds", "s"},
	{"_mib", "MiB"},
	{"_mb", "MiB"}, // llem's *_mb figures are MiB (2^20 bytes)
	{"_mhz", "MHz"},
	{"_pct", "%"},
	{"_j", "J"},
	{"_s", "s"},
	{"_w", "W"},
	{"_c", "°C"},
}

// Unit is the unit a column's name states by its suffix (energy_total_j:
// J), or "".
func Unit(name string) string {
	for _, u := range unitSuffixes {
		if strings.HasSuffix(name, u.suffix) {
			return u.unit
		}
	}
	return ""
}
