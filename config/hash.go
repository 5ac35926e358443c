package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// MeasurementConfigHash identifies what an experiment measures: the first
// 16 hex characters of the SHA-256 of cfg's canonical JSON (object keys
// sorted, no insignificant space, fields tagged omitempty left out when
// empty), after ApplyDefaults. So it is stable across key order, YAML
// formatting and defaults written or omitted; backend fields left unset
// ("the engine's own default") stay out of it, values set explicitly are
// in it. Normalised before hashing: decoder.preset (its effect is in the
// decoder fields) and, when the file's SHA-256 is known, dataset.path (the
// content identifies the data, not where it lies). Everything else in
// ExperimentConfig is measurement-relevant and included; carbon context
// and output paths are not in ExperimentConfig at all.
func MeasurementConfigHash(cfg ExperimentConfig) string {
	return shortHash(canonicalJSON(canonicalExperiment(cfg)))
}

// CanonicalExperimentJSON is the exact byte string MeasurementConfigHash
// hashes, for recording next to a result or checking a hash by hand.
func CanonicalExperimentJSON(cfg ExperimentConfig) []byte {
	return canonicalJSON(canonicalExperiment(cfg))
}

func canonicalExperiment(cfg ExperimentConfig) ExperimentConfig {
	ApplyDefaults(&cfg)
	cfg.Decoder.Preset = ""
	if cfg.Dataset.FileSHA256 != "" {
		cfg.Dataset.Path = ""
	}
	return cfg
}

// StudyDesignHash identifies a study's design: the first 16 hex characters
// of the SHA-256 of the canonical JSON list of its experiments'
// measurement_config_hash values, sorted. The execution block is left out
// (adding cycles keeps the identity), so is the order the experiments were
// written in, and so are skipped configurations: the design is the set of
// configurations measured.
func StudyDesignHash(sc *StudyConfig) string {
	hashes := make([]string, len(sc.Experiments))
	for i, e := range sc.Experiments {
		hashes[i] = MeasurementConfigHash(e)
	}
	return designHash(hashes)
}

func designHash(hashes []string) string {
	sorted := slices.Sorted(slices.Values(hashes))
	b, _ := json.Marshal(map[string]any{"experiments": sorted}) // strings always encode
	return shortHash(b)
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// canonicalJSON encodes v with object keys sorted. Struct fields follow
// encoding/json's rules for names and omitempty.
func canonicalJSON(v any) []byte {
	var buf bytes.Buffer
	writeCanonical(&buf, reflect.ValueOf(v))
	return buf.Bytes()
}

type jsonField struct {
	name      string
	index     int
	omitEmpty bool
}

func writeCanonical(buf *bytes.Buffer, v reflect.Value) {
	switch v.Kind() {
	case reflect.Invalid:
		buf.WriteString("null")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		writeCanonical(buf, v.Elem())
	case reflect.Struct:
		t := v.Type()
		var fields []jsonField
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields = append(fields, jsonField{name, i, strings.Contains(opts, "omitempty")})
		}
		slices.SortFunc(fields, func(a, b jsonField) int { return strings.Compare(a.name, b.name) })
		buf.WriteByte('{')
		first := true
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeString(buf, f.name)
			buf.WriteByte(':')
			writeCanonical(buf, fv)
		}
		buf.WriteByte('}')
	case reflect.Map:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeCanonical(buf, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
		}
		buf.WriteByte('}')
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			buf.WriteString("null")
			return
		}
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeCanonical(buf, v.Index(i))
		}
		buf.WriteByte(']')
	case reflect.String:
		writeString(buf, v.String())
	case reflect.Bool:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		buf.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		// encoding/json's number format; configs hold finite numbers only.
		b, err := json.Marshal(v.Float())
		if err != nil {
			buf.WriteString("null")
			return
		}
		buf.Write(b)
	default:
		buf.WriteString("null")
	}
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
