package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The YAML document is first turned into a small tree of our own that keeps
// every value's position; sweeps are expanded on that tree (so each
// generated experiment still points at the lines that produced it), then
// each experiment's tree is decoded into an ExperimentConfig.

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindBool
	kindInt
	kindFloat
	kindString
	kindMap
	kindSeq
)

func (k nodeKind) String() string {
	return [...]string{"null", "boolean", "integer", "number", "string", "mapping", "list"}[k]
}

type pos struct{ line, col int }

type node struct {
	kind  nodeKind
	pos   pos
	b     bool
	i     int64
	f     float64
	s     string
	keys  []*entry // kindMap, in document order
	items []*node  // kindSeq
}

type entry struct {
	key    string
	keyPos pos
	val    *node
}

// describe renders a scalar for messages: `string "x"`, `integer 3`.
func (n *node) describe() string {
	switch n.kind {
	case kindString:
		return fmt.Sprintf("string %q", n.s)
	case kindInt:
		return fmt.Sprintf("integer %d", n.i)
	case kindFloat:
		return "number " + strconv.FormatFloat(n.f, 'g', -1, 64)
	case kindBool:
		return fmt.Sprintf("boolean %t", n.b)
	default:
		return n.kind.String()
	}
}

// text renders a scalar as written, for sweep labels.
func (n *node) text() string {
	switch n.kind {
	case kindString:
		return n.s
	case kindInt:
		return strconv.FormatInt(n.i, 10)
	case kindFloat:
		return strconv.FormatFloat(n.f, 'g', -1, 64)
	case kindBool:
		return strconv.FormatBool(n.b)
	case kindNull:
		return "null"
	default:
		return fmt.Sprint(n.toAny())
	}
}

func (n *node) get(key string) *entry {
	if n == nil || n.kind != kindMap {
		return nil
	}
	for _, e := range n.keys {
		if e.key == key {
			return e
		}
	}
	return nil
}

// lookup finds the entry at a dotted path (`decoder.num_beams`).
func (n *node) lookup(path string) *entry {
	var e *entry
	cur := n
	for part := range strings.SplitSeq(path, ".") {
		e = cur.get(part)
		if e == nil {
			return nil
		}
		cur = e.val
	}
	return e
}

// set replaces or appends key in a mapping.
func (n *node) set(key string, keyPos pos, val *node) {
	if e := n.get(key); e != nil {
		e.val, e.keyPos = val, keyPos
		return
	}
	n.keys = append(n.keys, &entry{key: key, keyPos: keyPos, val: val})
}

func (n *node) remove(key string) {
	for i, e := range n.keys {
		if e.key == key {
			n.keys = append(n.keys[:i:i], n.keys[i+1:]...)
			return
		}
	}
}

// cloneMap copies the mapping spine so that merging into the copy never
// touches n; scalar and list leaves are shared (they are never mutated).
func (n *node) cloneMap() *node {
	c := *n
	c.keys = make([]*entry, len(n.keys))
	for i, e := range n.keys {
		ce := *e
		if e.val.kind == kindMap {
			ce.val = e.val.cloneMap()
		}
		c.keys[i] = &ce
	}
	return &c
}

// mergeInto lays src over dst at one level after another: mappings merge
// key by key, anything else replaces. dst must be a mapping owned by the
// caller (a clone).
func mergeInto(dst, src *node) {
	for _, e := range src.keys {
		old := dst.get(e.key)
		if old != nil && old.val.kind == kindMap && e.val.kind == kindMap {
			merged := old.val.cloneMap()
			mergeInto(merged, e.val)
			old.val, old.keyPos = merged, e.keyPos
			continue
		}
		dst.set(e.key, e.keyPos, e.val)
	}
}

// toAny converts a subtree to plain Go values (for passthrough_kwargs and
// sweep labels).
func (n *node) toAny() any {
	switch n.kind {
	case kindBool:
		return n.b
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindString:
		return n.s
	case kindMap:
		m := make(map[string]any, len(n.keys))
		for _, e := range n.keys {
			m[e.key] = e.val.toAny()
		}
		return m
	case kindSeq:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.toAny()
		}
		return s
	}
	return nil
}

// maxTreeNodes bounds alias expansion ("billion laughs").
const maxTreeNodes = 1_000_000

// parseTree parses one YAML document into a tree. Problems are returned as
// Errors located in file.
func parseTree(data []byte, file string) (root *node, err error) {
	defer func() {
		// The YAML library is third-party code; a panic in it must not
		// take the caller down with it.
		if r := recover(); r != nil {
			root, err = nil, Errors{{File: file, Msg: fmt.Sprintf("YAML parser failed: %v", r)}}
		}
	}()
	f, perr := parser.ParseBytes(data, 0)
	if perr != nil {
		var ye yaml.Error
		if errors.As(perr, &ye) {
			fe := &FieldError{File: file, Msg: "invalid YAML: " + ye.GetMessage()}
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				fe.Line, fe.Col = tk.Position.Line, tk.Position.Column
			}
			return nil, Errors{fe}
		}
		return nil, Errors{{File: file, Msg: "invalid YAML: " + perr.Error()}}
	}
	c := &converter{file: file, anchors: map[string]*node{}}
	var body ast.Node
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if body != nil {
			return nil, Errors{{File: file, Line: posOf(d.Body).line, Col: posOf(d.Body).col, Msg: "more than one YAML document; put one study or experiment per file"}}
		}
		body = d.Body
	}
	if body == nil {
		return &node{kind: kindMap, pos: pos{1, 1}}, nil
	}
	root = c.convert(body)
	if err := c.errs.err(); err != nil {
		return nil, err
	}
	return root, nil
}

type converter struct {
	file    string
	anchors map[string]*node
	count   int
	errs    errorList
}

func posOf(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return pos{tk.Position.Line, tk.Position.Column}
	}
	return pos{}
}

func (c *converter) fail(p pos, format string, args ...any) *node {
	c.errs.add(&FieldError{File: c.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
	return &node{kind: kindNull, pos: p}
}

func (c *converter) convert(n ast.Node) *node {
	c.count++
	if c.count > maxTreeNodes {
		return c.fail(posOf(n), "document too large (more than %d values after alias expansion)", maxTreeNodes)
	}
	p := posOf(n)
	switch v := n.(type) {
	case nil:
		return &node{kind: kindNull}
	case *ast.NullNode:
		return &node{kind: kindNull, pos: p}
	case *ast.BoolNode:
		return &node{kind: kindBool, pos: p, b: v.Value}
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return &node{kind: kindInt, pos: p, i: x}
		case uint64:
			if x > math.MaxInt64 {
				return c.fail(p, "integer %d is too large", x)
			}
			return &node{kind: kindInt, pos: p, i: int64(x)}
		}
		return c.fail(p, "unreadable integer %q", v.Token.Value)
	case *ast.FloatNode:
		return &node{kind: kindFloat, pos: p, f: v.Value}
	case *ast.InfinityNode:
		return &node{kind: kindFloat, pos: p, f: v.Value}
	case *ast.NanNode:
		return &node{kind: kindFloat, pos: p, f: math.NaN()}
	case *ast.StringNode:
		return &node{kind: kindString, pos: p, s: v.Value}
	case *ast.LiteralNode:
		if v.Value == nil {
			return &node{kind: kindString, pos: p}
		}
		return &node{kind: kindString, pos: p, s: v.Value.Value}
	case *ast.TagNode:
		return c.convert(v.Value)
	case *ast.AnchorNode:
		val := c.convert(v.Value)
		if v.Name != nil {
			c.anchors[v.Name.String()] = val
		}
		return val
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.String()
		}
		val, ok := c.anchors[name]
		if !ok {
			return c.fail(p, "unknown alias *%s", name)
		}
		c.count += countNodes(val)
		if c.count > maxTreeNodes {
			return c.fail(p, "document too large (more than %d values after alias expansion)", maxTreeNodes)
		}
		return val
	case *ast.MappingValueNode:
		m := &node{kind: kindMap, pos: p}
		c.addPair(m, v, map[string]bool{})
		return m
	case *ast.MappingNode:
		m := &node{kind: kindMap, pos: p}
		seen := map[string]bool{}
		for _, mv := range v.Values {
			c.addPair(m, mv, seen)
		}
		return m
	case *ast.SequenceNode:
		s := &node{kind: kindSeq, pos: p, items: make([]*node, 0, len(v.Values))}
		for _, it := range v.Values {
			s.items = append(s.items, c.convert(it))
		}
		return s
	case *ast.CommentGroupNode:
		return &node{kind: kindNull, pos: p}
	default:
		return c.fail(p, "unsupported YAML construct (%s)", n.Type())
	}
}

func countNodes(n *node) int {
	total := 1
	for _, e := range n.keys {
		total += countNodes(e.val)
	}
	for _, it := range n.items {
		total += countNodes(it)
	}
	return total
}

// addPair adds one key: value to m. A merge key (`<<: *defaults`) adds the
// aliased mapping's keys that m does not set itself.
func (c *converter) addPair(m *node, mv *ast.MappingValueNode, seen map[string]bool) {
	if mv == nil || mv.Key == nil {
		return
	}
	val := c.convert(mv.Value)
	kp := posOf(mv.Key)
	if mv.Key.IsMergeKey() {
		srcs := []*node{val}
		if val.kind == kindSeq {
			srcs = val.items
		}
		for _, src := range srcs {
			if src.kind != kindMap {
				c.fail(kp, "a merge key (<<) needs a mapping, got %s", src.kind)
				continue
			}
			for _, e := range src.keys {
				if m.get(e.key) == nil {
					m.keys = append(m.keys, e)
				}
			}
		}
		return
	}
	key := mapKey(mv.Key)
	if seen[key] {
		c.fail(kp, "duplicate key %q", key)
		return
	}
	seen[key] = true
	// A key set earlier by a merge key is overridden by the explicit one.
	m.remove(key)
	m.keys = append(m.keys, &entry{key: key, keyPos: kp, val: val})
}

func mapKey(k ast.MapKeyNode) string {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.MappingKeyNode:
		if v.Value != nil {
			if s, ok := v.Value.(*ast.StringNode); ok {
				return s.Value
			}
			return v.Value.String()
		}
	}
	return k.String()
}
