package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
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
	return newHasher().hash(cfg)
}

// hasher hashes many configurations, reusing its buffer and the sorted
// field lists of each struct type.
type hasher struct {
	buf    bytes.Buffer
	fields map[reflect.Type][]jsonField
}

func newHasher() *hasher { return &hasher{fields: map[reflect.Type][]jsonField{}} }

func (h *hasher) hash(cfg ExperimentConfig) string {
	c := canonicalExperiment(cfg)
	h.buf.Reset()
	h.write(reflect.ValueOf(c))
	return shortHash(h.buf.Bytes())
}

// CanonicalExperimentJSON is the exact byte string MeasurementConfigHash
// hashes, for recording next to a result or checking a hash by hand.
func CanonicalExperimentJSON(cfg ExperimentConfig) []byte {
	h := newHasher()
	h.write(reflect.ValueOf(canonicalExperiment(cfg)))
	return h.buf.Bytes()
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
	return designHash(experimentHashes(sc.Experiments))
}

func experimentHashes(exps []ExperimentConfig) []string {
	h := newHasher()
	out := make([]string, len(exps))
	for i, e := range exps {
		out[i] = h.hash(e)
	}
	return out
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

type jsonField struct {
	name      string
	index     int
	omitEmpty bool
}

// structFields lists t's JSON fields sorted by name, following
// encoding/json's rules for names and omitempty.
func (h *hasher) structFields(t reflect.Type) []jsonField {
	if fs, ok := h.fields[t]; ok {
		return fs
	}
	var fields []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, jsonField{name, i, strings.Contains(opts, "omitempty")})
	}
	slices.SortFunc(fields, func(a, b jsonField) int { return strings.Compare(a.name, b.name) })
	h.fields[t] = fields
	return fields
}

// write encodes v as JSON with object keys sorted.
func (h *hasher) write(v reflect.Value) {
	buf := &h.buf
	switch v.Kind() {
	case reflect.Invalid:
		buf.WriteString("null")
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		h.write(v.Elem())
	case reflect.Struct:
		buf.WriteByte('{')
		first := true
		for _, f := range h.structFields(v.Type()) {
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
			h.write(fv)
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
			h.write(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
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
			h.write(v.Index(i))
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
		var tmp [32]byte
		buf.Write(appendFloat(tmp[:0], v.Float()))
	default:
		buf.WriteString("null")
	}
}

// writeString writes s as a JSON string (as encoding/json does, without
// HTML escaping).
func writeString(buf *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
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

// appendFloat formats f as encoding/json does (configs hold finite
// numbers only: the decoder rejects NaN and infinities).
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as in encoding/json.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
