package native

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// GGUF value types (gguf_type in ggml).
const (
	ggufUint8   = 0
	ggufInt8    = 1
	ggufUint16  = 2
	ggufInt16   = 3
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
	ggufInt64   = 11
	ggufFloat64 = 12
)

const (
	ggufMagic            = 0x46554747 // "GGUF" little endian
	ggufDefaultAlignment = 32
)

// GGUFFile is a parsed GGUF file: its metadata, tensor directory and the
// bytes of its data section (memory-mapped when read from disk).
type GGUFFile struct {
	Version   uint32
	Metadata  map[string]any
	Tensors   []TensorInfo
	Alignment int
	// Data is the tensor data section; TensorInfo.Offset is relative to it.
	Data  []byte
	unmap func() error
}

// TensorInfo describes one tensor of a GGUF file. Dims are in ggml order:
// Dims[0] is the contiguous (innermost) dimension.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   GGMLType
	Offset uint64
}

// Elements is the number of elements of the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Bytes is the size of the tensor's data.
func (t TensorInfo) Bytes() (uint64, error) {
	bs, ts, err := t.Type.blockSize()
	if err != nil {
		return 0, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	n := t.Elements()
	if len(t.Dims) > 0 && t.Dims[0]%uint64(bs) != 0 {
		return 0, fmt.Errorf("tensor %s: row length %d is not a multiple of the %s block size %d", t.Name, t.Dims[0], t.Type, bs)
	}
	return n / uint64(bs) * uint64(ts), nil
}

// OpenGGUF memory-maps a GGUF file and parses its header. Close releases it.
func OpenGGUF(path string) (*GGUFFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat gguf %s: %w", path, err)
	}
	if st.Size() < 24 {
		return nil, fmt.Errorf("gguf %s: file too small (%d bytes)", path, st.Size())
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap gguf %s: %w", path, err)
	}
	g, err := ParseGGUF(data)
	if err != nil {
		_ = unix.Munmap(data)
		return nil, fmt.Errorf("gguf %s: %w", path, err)
	}
	g.unmap = func() error { return unix.Munmap(data) }
	return g, nil
}

// release hands the pages wholly inside b, a view of the file mapping, back
// to the kernel (madvise MADV_DONTNEED): the data stays valid and is read
// in again from the file if used. A no-op for files parsed from memory.
func (g *GGUFFile) release(b []byte) {
	if g.unmap == nil || len(b) == 0 {
		return
	}
	ps := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + ps - 1) &^ (ps - 1)
	hi := (p + uintptr(len(b))) &^ (ps - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_DONTNEED)
}

// Close unmaps the file, if it was mapped. Tensors viewing its data must not
// be used afterwards.
func (g *GGUFFile) Close() error {
	if g.unmap == nil {
		return nil
	}
	err := g.unmap()
	g.unmap = nil
	return err
}

// ParseGGUF parses a whole GGUF file held in memory.
func ParseGGUF(buf []byte) (*GGUFFile, error) {
	r := &byteReader{b: buf}
	if r.u32() != ggufMagic {
		return nil, errors.New("not a GGUF file (bad magic)")
	}
	g := &GGUFFile{Version: r.u32(), Metadata: map[string]any{}, Alignment: ggufDefaultAlignment}
	if g.Version < 2 || g.Version > 3 {
		return nil, fmt.Errorf("unsupported GGUF version %d (want 2 or 3)", g.Version)
	}
	nt, nkv := r.u64(), r.u64()
	if r.err != nil {
		return nil, r.err
	}
	if nt > 1<<24 || nkv > 1<<24 {
		return nil, fmt.Errorf("implausible GGUF header: %d tensors, %d keys", nt, nkv)
	}
	for i := uint64(0); i < nkv; i++ {
		k := r.str()
		v := r.value(r.u32(), 0)
		if r.err != nil {
			return nil, fmt.Errorf("metadata %d (%q): %w", i, k, r.err)
		}
		g.Metadata[k] = v
	}
	if a, ok := g.Metadata["general.alignment"]; ok {
		av, ok := toInt(a)
		if !ok || av <= 0 || av&(av-1) != 0 {
			return nil, fmt.Errorf("bad general.alignment %v", a)
		}
		g.Alignment = av
	}
	for i := uint64(0); i < nt; i++ {
		var t TensorInfo
		t.Name = r.str()
		nd := r.u32()
		if nd > 4 {
			return nil, fmt.Errorf("tensor %q has %d dimensions (max 4)", t.Name, nd)
		}
		for j := uint32(0); j < nd; j++ {
			t.Dims = append(t.Dims, r.u64())
		}
		t.Type = GGMLType(r.u32())
		t.Offset = r.u64()
		if r.err != nil {
			return nil, fmt.Errorf("tensor info %d: %w", i, r.err)
		}
		g.Tensors = append(g.Tensors, t)
	}
	start := alignUp(uint64(r.off), uint64(g.Alignment))
	if start > uint64(len(buf)) && len(g.Tensors) == 0 {
		start = uint64(len(buf)) // vocabulary-only files may end unpadded
	}
	if start > uint64(len(buf)) {
		return nil, fmt.Errorf("data section starts at %d beyond end of file (%d bytes)", start, len(buf))
	}
	g.Data = buf[start:]
	for _, t := range g.Tensors {
		n, err := t.Bytes()
		if err != nil {
			// Unknown types are reported when the tensor is used, so a file
			// can still be inspected.
			continue
		}
		if t.Offset+n > uint64(len(g.Data)) {
			return nil, fmt.Errorf("tensor %s (%d bytes at %d) runs past the end of the file", t.Name, n, t.Offset)
		}
	}
	return g, nil
}

// Tensor returns the info of the named tensor.
func (g *GGUFFile) Tensor(name string) (TensorInfo, bool) {
	for _, t := range g.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// TensorData returns the raw bytes of a tensor.
func (g *GGUFFile) TensorData(t TensorInfo) ([]byte, error) {
	n, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	return g.Data[t.Offset : t.Offset+n], nil
}

// String returns a string metadata value.
func (g *GGUFFile) String(key string) (string, bool) {
	s, ok := g.Metadata[key].(string)
	return s, ok
}

// Int returns an integer metadata value of any integer type.
func (g *GGUFFile) Int(key string) (int, bool) {
	return toInt(g.Metadata[key])
}

// Float returns a float metadata value (f32 or f64; integers are accepted).
func (g *GGUFFile) Float(key string) (float64, bool) {
	switch v := g.Metadata[key].(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	i, ok := toInt(g.Metadata[key])
	return float64(i), ok
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case uint8:
		return int(x), true
	case int8:
		return int(x), true
	case uint16:
		return int(x), true
	case int16:
		return int(x), true
	case uint32:
		return int(x), true
	case int32:
		return int(x), true
	case uint64:
		return int(x), true
	case int64:
		return int(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

type byteReader struct {
	b   []byte
	off int
	err error
}

func (r *byteReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = fmt.Errorf("unexpected end of GGUF header at byte %d", r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *byteReader) u32() uint32 {
	s := r.take(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (r *byteReader) u64() uint64 {
	s := r.take(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

func (r *byteReader) str() string {
	n := r.u64()
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("string length %d at byte %d exceeds file", n, r.off)
		return ""
	}
	return string(r.take(int(n)))
}

func (r *byteReader) value(typ uint32, depth int) any {
	switch typ {
	case ggufUint8:
		if s := r.take(1); s != nil {
			return s[0]
		}
	case ggufInt8:
		if s := r.take(1); s != nil {
			return int8(s[0])
		}
	case ggufUint16:
		if s := r.take(2); s != nil {
			return binary.LittleEndian.Uint16(s)
		}
	case ggufInt16:
		if s := r.take(2); s != nil {
			return int16(binary.LittleEndian.Uint16(s))
		}
	case ggufUint32:
		return r.u32()
	case ggufInt32:
		return int32(r.u32())
	case ggufFloat32:
		return math.Float32frombits(r.u32())
	case ggufBool:
		if s := r.take(1); s != nil {
			return s[0] != 0
		}
	case ggufString:
		return r.str()
	case ggufUint64:
		return r.u64()
	case ggufInt64:
		return int64(r.u64())
	case ggufFloat64:
		return math.Float64frombits(r.u64())
	case ggufArray:
		if depth > 2 {
			r.err = errors.New("nested GGUF arrays too deep")
			return nil
		}
		et, n := r.u32(), r.u64()
		// Each element takes at least one byte (a string eight, for its
		// length), so a longer array cannot be in the file; checking first
		// keeps a damaged length from allocating without bound.
		minSize := uint64(1)
		switch et {
		case ggufString, ggufUint64, ggufInt64, ggufFloat64:
			minSize = 8
		case ggufUint32, ggufInt32, ggufFloat32:
			minSize = 4
		case ggufUint16, ggufInt16:
			minSize = 2
		}
		if rest := uint64(len(r.b) - r.off); r.err != nil || n > rest/minSize {
			if r.err == nil {
				r.err = fmt.Errorf("array of %d elements at byte %d exceeds the file", n, r.off)
			}
			return nil
		}
		return r.array(et, int(n), depth)
	default:
		r.err = fmt.Errorf("unknown GGUF value type %d", typ)
	}
	return nil
}

func (r *byteReader) array(et uint32, n int, depth int) any {
	switch et {
	case ggufString:
		out := make([]string, n)
		for i := range out {
			if out[i] = r.str(); r.err != nil {
				return nil
			}
		}
		return out
	case ggufInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(r.u32())
		}
		return out
	case ggufUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = r.u32()
		}
		return out
	case ggufFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(r.u32())
		}
		return out
	}
	out := make([]any, n)
	for i := range out {
		out[i] = r.value(et, depth+1)
		if r.err != nil {
			return nil
		}
	}
	return out
}

// GGUFWriter writes a GGUF v3 file: metadata and tensors are collected, then
// WriteTo lays them out with the file's alignment.
type GGUFWriter struct {
	kv      []ggufKV
	tensors []ggufTensorOut
}

type ggufKV struct {
	key string
	val any
}

type ggufTensorOut struct {
	info TensorInfo
	data func(w io.Writer) error
	size uint64
}

// Set adds a metadata key. Supported Go types: uint8, int8, uint16, int16,
// uint32, int32, uint64, int64, float32, float64, bool, string, []string,
// []int32, []uint32, []float32.
func (w *GGUFWriter) Set(key string, v any) { w.kv = append(w.kv, ggufKV{key, v}) }

// AddTensor adds a tensor whose data (exactly its size in bytes) is produced
// by write when the file is written. dims are in ggml order.
func (w *GGUFWriter) AddTensor(name string, typ GGMLType, dims []uint64, write func(io.Writer) error) error {
	t := TensorInfo{Name: name, Dims: dims, Type: typ}
	n, err := t.Bytes()
	if err != nil {
		return err
	}
	w.tensors = append(w.tensors, ggufTensorOut{info: t, data: write, size: n})
	return nil
}

// WriteTo writes the file.
func (w *GGUFWriter) WriteTo(out io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	le := func(v any) { _ = binary.Write(cw, binary.LittleEndian, v) }
	wstr := func(s string) { le(uint64(len(s))); _, _ = io.WriteString(cw, s) }
	le(uint32(ggufMagic))
	le(uint32(3))
	le(uint64(len(w.tensors)))
	le(uint64(len(w.kv)))
	for _, kv := range w.kv {
		wstr(kv.key)
		if err := writeValue(cw, le, wstr, kv.val); err != nil {
			return cw.n, fmt.Errorf("metadata %s: %w", kv.key, err)
		}
	}
	align := uint64(ggufDefaultAlignment)
	var off uint64
	for i := range w.tensors {
		t := &w.tensors[i]
		t.info.Offset = off
		wstr(t.info.Name)
		le(uint32(len(t.info.Dims)))
		for _, d := range t.info.Dims {
			le(d)
		}
		le(uint32(t.info.Type))
		le(off)
		off = alignUp(off+t.size, align)
	}
	pad := func() {
		for uint64(cw.n)%align != 0 {
			_, _ = cw.Write([]byte{0})
		}
	}
	pad()
	base := uint64(cw.n)
	for _, t := range w.tensors {
		if uint64(cw.n)-base != t.info.Offset {
			return cw.n, fmt.Errorf("internal layout error at tensor %s", t.info.Name)
		}
		before := cw.n
		if err := t.data(cw); err != nil {
			return cw.n, fmt.Errorf("tensor %s: %w", t.info.Name, err)
		}
		if uint64(cw.n-before) != t.size {
			return cw.n, fmt.Errorf("tensor %s: wrote %d bytes, want %d", t.info.Name, cw.n-before, t.size)
		}
		pad()
	}
	if cw.err != nil {
		return cw.n, cw.err
	}
	return cw.n, cw.w.(*bufio.Writer).Flush()
}

func writeValue(cw io.Writer, le func(any), wstr func(string), v any) error {
	switch x := v.(type) {
	case uint8:
		le(uint32(ggufUint8))
		le(x)
	case int8:
		le(uint32(ggufInt8))
		le(x)
	case uint16:
		le(uint32(ggufUint16))
		le(x)
	case int16:
		le(uint32(ggufInt16))
		le(x)
	case uint32:
		le(uint32(ggufUint32))
		le(x)
	case int32:
		le(uint32(ggufInt32))
		le(x)
	case uint64:
		le(uint32(ggufUint64))
		le(x)
	case int64:
		le(uint32(ggufInt64))
		le(x)
	case float32:
		le(uint32(ggufFloat32))
		le(x)
	case float64:
		le(uint32(ggufFloat64))
		le(x)
	case bool:
		le(uint32(ggufBool))
		le(x)
	case string:
		le(uint32(ggufString))
		wstr(x)
	case []string:
		le(uint32(ggufArray))
		le(uint32(ggufString))
		le(uint64(len(x)))
		for _, s := range x {
			wstr(s)
		}
	case []int32:
		le(uint32(ggufArray))
		le(uint32(ggufInt32))
		le(uint64(len(x)))
		le(x)
	case []uint32:
		le(uint32(ggufArray))
		le(uint32(ggufUint32))
		le(uint64(len(x)))
		le(x)
	case []float32:
		le(uint32(ggufArray))
		le(uint32(ggufFloat32))
		le(uint64(len(x)))
		le(x)
	default:
		return fmt.Errorf("unsupported metadata type %T", v)
	}
	return nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// MetadataKeys returns the metadata keys in sorted order.
func (g *GGUFFile) MetadataKeys() []string {
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
