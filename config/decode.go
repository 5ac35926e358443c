package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// decoder turns trees into Go values strictly: unknown fields (with a
// "did you mean"), wrong types and values outside a field's `enum` (read
// from the jsonschema tags, the one list of allowed values) are errors
// located where they were written.
type decoder struct {
	file  string
	errs  *errorList
	infos map[reflect.Type]*structInfo
}

type fieldInfo struct {
	name  string
	index int
	enum  []string
}

type structInfo struct {
	fields map[string]*fieldInfo
	names  []string
}

func newDecoder(file string, errs *errorList) *decoder {
	return &decoder{file: file, errs: errs, infos: map[reflect.Type]*structInfo{}}
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.infos[t]; ok {
		return si
	}
	si := &structInfo{fields: map[string]*fieldInfo{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		// yaml:"-" marks fields the loader computes (dataset.file_sha256).
		if name == "" || name == "-" || !f.IsExported() || f.Tag.Get("yaml") == "-" {
			continue
		}
		si.fields[name] = &fieldInfo{name: name, index: i, enum: enumOf(f)}
		si.names = append(si.names, name)
	}
	d.infos[t] = si
	return si
}

// enumOf reads `enum=a,enum=b` from a jsonschema tag.
func enumOf(f reflect.StructField) []string {
	var out []string
	for part := range strings.SplitSeq(f.Tag.Get("jsonschema"), ",") {
		if v, ok := strings.CutPrefix(part, "enum="); ok {
			out = append(out, v)
		}
	}
	return out
}

func (d *decoder) fail(p pos, field, format string, args ...any) {
	d.errs.add(&FieldError{File: d.file, Line: p.line, Col: p.col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var (
	datasetType    = reflect.TypeFor[DatasetConfig]()
	experimentType = reflect.TypeFor[ExperimentConfig]()
)

// decode lays n over v (which already holds the defaults).
func (d *decoder) decode(v reflect.Value, n *node, path string, enum []string) {
	if n.kind == kindNull {
		// null means "unset": the default stays, a pointer becomes nil.
		if v.Kind() == reflect.Pointer || v.Kind() == reflect.Map || v.Kind() == reflect.Slice {
			v.SetZero()
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(v.Elem(), n, path, enum)
	case reflect.Struct:
		if v.Type() == datasetType && n.kind == kindString {
			// The short form names the data; seed and order keep their defaults.
			cur := v.Interface().(DatasetConfig)
			ds := DatasetFromString(n.s)
			ds.Seed, ds.Order = cur.Seed, cur.Order
			v.Set(reflect.ValueOf(ds))
			if ds.Path == "" && ds.Name != DatasetSynthetic && ds.Name != DatasetBuiltin && ds.Name != DatasetAIEnergyScore {
				d.fail(n.pos, path, "unknown dataset %q (allowed: synthetic, builtin, aienergyscore, or a path to a .jsonl or .json file)%s",
					n.s, suggest(n.s, []string{DatasetSynthetic, DatasetBuiltin, DatasetAIEnergyScore}))
			}
			return
		}
		if n.kind != kindMap {
			d.fail(n.pos, path, "expected a mapping, got %s", n.describe())
			return
		}
		si := d.info(v.Type())
		for _, e := range n.keys {
			fi, ok := si.fields[e.key]
			if !ok {
				names := si.names
				if v.Type() == experimentType {
					names = append(slices.Clone(names), "batch_size")
				}
				d.unknown(e, path, names)
				continue
			}
			d.decode(v.Field(fi.index), e.val, join(path, e.key), fi.enum)
		}
	case reflect.String:
		if n.kind != kindString {
			d.fail(n.pos, path, "expected a string, got %s", n.describe())
			return
		}
		if len(enum) > 0 && !slices.Contains(enum, n.s) {
			d.fail(n.pos, path, "invalid value %q (allowed: %s)%s", n.s, quoteList(enum), suggest(n.s, enum))
			return
		}
		v.SetString(n.s)
	case reflect.Bool:
		if n.kind != kindBool {
			d.fail(n.pos, path, "expected true or false, got %s", n.describe())
			return
		}
		v.SetBool(n.b)
	case reflect.Int, reflect.Int64:
		i, ok := n.i, n.kind == kindInt
		if n.kind == kindFloat && n.f == math.Trunc(n.f) && math.Abs(n.f) < 1<<53 {
			i, ok = int64(n.f), true
		}
		if !ok {
			d.fail(n.pos, path, "expected an integer, got %s", n.describe())
			return
		}
		if v.OverflowInt(i) {
			d.fail(n.pos, path, "integer %d is out of range", i)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f := n.f
		switch n.kind {
		case kindInt:
			f = float64(n.i)
		case kindFloat:
		default:
			d.fail(n.pos, path, "expected a number, got %s", n.describe())
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n.pos, path, "must be a finite number, got %s", n.describe())
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		if n.kind != kindSeq {
			d.fail(n.pos, path, "expected a list, got %s", n.describe())
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, it := range n.items {
			d.decode(s.Index(i), it, fmt.Sprintf("%s[%d]", path, i), nil)
		}
		v.Set(s)
	case reflect.Map:
		if n.kind != kindMap {
			d.fail(n.pos, path, "expected a mapping, got %s", n.describe())
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.keys))
		for _, e := range n.keys {
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(ev, e.val, join(path, e.key), nil)
			m.SetMapIndex(reflect.ValueOf(e.key).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Interface:
		if bad := firstNonFinite(n); bad != nil {
			d.fail(bad.pos, path, "must be a finite number, got %s", bad.describe())
			return
		}
		v.Set(reflect.ValueOf(n.toAny()))
	default:
		d.fail(n.pos, path, "cannot be set from YAML (internal: %s)", v.Kind())
	}
}

func (d *decoder) unknown(e *entry, path string, names []string) {
	msg := fmt.Sprintf("unknown field %q", e.key)
	if s := suggest(e.key, names); s != "" {
		msg += s
	} else {
		msg += fmt.Sprintf(" (known: %s)", quoteList(names))
	}
	d.errs.add(&FieldError{File: d.file, Line: e.keyPos.line, Col: e.keyPos.col, Field: join(path, e.key), Msg: msg})
}

func firstNonFinite(n *node) *node {
	if n.kind == kindFloat && (math.IsNaN(n.f) || math.IsInf(n.f, 0)) {
		return n
	}
	for _, e := range n.keys {
		if b := firstNonFinite(e.val); b != nil {
			return b
		}
	}
	for _, it := range n.items {
		if b := firstNonFinite(it); b != nil {
			return b
		}
	}
	return nil
}
