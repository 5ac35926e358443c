package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// grid is a parsed `sweep:` block.
type grid struct {
	// backends comes from a `backend` sweep axis; nil when there is none.
	backends   []Backend
	backendPos pos
	axes       []*axis
}

// axis is one sweep key and its alternatives.
type axis struct {
	key    string
	keyPos pos
	// scope is the backend a dotted key belongs to ("" for every backend).
	scope  Backend
	values []axisValue
}

// axisValue is one alternative: a root-level layer merged into the
// experiment tree.
type axisValue struct {
	layer *node
	label any
	pos   pos
	// scope limits a dependent-group alternative to one backend.
	scope Backend
}

// experimentFieldNames are the top-level keys of an experiment, plus the
// universal batch_size knob.
func experimentFieldNames(d *decoder) []string {
	return append(slices.Clone(d.info(experimentType).names), "batch_size")
}

func (r *resolver) parseSweep(e *entry, backendEntry *entry) *grid {
	if e.val.kind != kindMap {
		r.failAt(e.val.pos, "sweep", "expected a mapping of sweep keys to lists of values, got %s", e.val.describe())
		return nil
	}
	g := &grid{}
	fields := experimentFieldNames(r.dec)
	for _, k := range e.val.keys {
		field := "sweep." + k.key
		if k.key == "backend" {
			if backendEntry != nil && backendEntry.val.kind == kindSeq {
				r.failAt(k.keyPos, field, "backend is already a list at the top level; give it in one place")
				continue
			}
			if k.val.kind != kindSeq {
				r.failAt(k.val.pos, field, "must be a list of values (write [%s] for one value)", k.val.text())
				continue
			}
			g.backends = r.backendList(k, field)
			g.backendPos = k.keyPos
			continue
		}
		if slices.Contains(studyKeys, k.key) {
			r.failAt(k.keyPos, field, "is a study-level key; it cannot be swept")
			continue
		}
		if k.val.kind != kindSeq {
			r.failAt(k.val.pos, field, "must be a list of values (write [%s] for one value)", k.val.text())
			continue
		}
		if len(k.val.items) == 0 {
			r.failAt(k.val.pos, field, "empty list of values")
			continue
		}
		first, _, dotted := strings.Cut(k.key, ".")
		ax := &axis{key: k.key, keyPos: k.keyPos}
		switch {
		case slices.Contains(backendNames(), first):
			ax.scope = Backend(first)
			if !dotted && !allMaps(k.val.items) {
				r.failAt(k.val.pos, field, "values of a backend section must be mappings of %s fields", first)
				continue
			}
			r.pathValues(ax, k)
		case slices.Contains(fields, first):
			r.pathValues(ax, k)
		case !dotted && allMaps(k.val.items):
			r.groupValues(ax, k)
		default:
			cands := append(slices.Clone(fields), backendNames()...)
			r.failAt(k.keyPos, field, "unknown sweep key %q%s", k.key, suggest(first, cands))
			continue
		}
		g.axes = append(g.axes, ax)
	}
	return g
}

func allMaps(items []*node) bool {
	for _, it := range items {
		if it.kind != kindMap {
			return false
		}
	}
	return true
}

// pathValues makes each value a layer that sets the key's (dotted) path.
func (r *resolver) pathValues(ax *axis, k *entry) {
	for _, it := range k.val.items {
		layer := r.expandDotted(&node{kind: kindMap, pos: k.keyPos, keys: []*entry{{key: k.key, keyPos: k.keyPos, val: it}}}, "sweep")
		ax.values = append(ax.values, axisValue{layer: layer, label: it.toAny(), pos: it.pos})
	}
}

// groupValues reads a dependent group: alternatives unioned, each a
// mapping of (possibly dotted) experiment fields; one that names a backend
// section or a backend applies to that backend's grid only.
func (r *resolver) groupValues(ax *axis, k *entry) {
	for i, it := range k.val.items {
		field := fmt.Sprintf("sweep.%s[%d]", k.key, i)
		layer := r.expandDotted(it, field)
		var scope Backend
		for _, e := range layer.keys {
			var s Backend
			switch {
			case slices.Contains(backendNames(), e.key):
				s = Backend(e.key)
			case e.key == "backend" && e.val.kind == kindString:
				s = Backend(e.val.s)
			case slices.Contains(studyKeys, e.key):
				r.failAt(e.keyPos, join(field, e.key), "is a study-level key; it cannot be swept")
			}
			if s == "" {
				continue
			}
			if scope != "" && s != scope {
				r.failAt(it.pos, field, "an alternative may concern one backend only, this one names %s and %s", scope, s)
			}
			scope = s
		}
		ax.values = append(ax.values, axisValue{layer: layer, label: it.toAny(), pos: it.pos, scope: scope})
	}
}

// checkScopes rejects backend-scoped keys for backends the study does not
// use (upstream silently turned such a study into another backend's).
func (r *resolver) checkScopes(g *grid, backends []Backend) {
	for _, ax := range g.axes {
		if ax.scope != "" && !slices.Contains(backends, ax.scope) {
			r.failAt(ax.keyPos, "sweep."+ax.key, "is for backend %s, which this study does not use (backends: %s)", ax.scope, joinBackends(backends))
		}
		for _, v := range ax.values {
			if v.scope != "" && !slices.Contains(backends, v.scope) {
				r.failAt(v.pos, "sweep."+ax.key, "alternative is for backend %s, which this study does not use (backends: %s)", v.scope, joinBackends(backends))
			}
		}
	}
}

// axesFor is the axes of backend b's grid, dependent-group alternatives
// for other backends left out.
func (g *grid) axesFor(b Backend) []*axis {
	var out []*axis
	for _, ax := range g.axes {
		if ax.scope != "" && ax.scope != b {
			continue
		}
		keep := ax
		if slices.ContainsFunc(ax.values, func(v axisValue) bool { return v.scope != "" && v.scope != b }) {
			keep = &axis{key: ax.key, keyPos: ax.keyPos, scope: ax.scope}
			for _, v := range ax.values {
				if v.scope == "" || v.scope == b {
					keep.values = append(keep.values, v)
				}
			}
			if len(keep.values) == 0 {
				continue
			}
		}
		out = append(out, keep)
	}
	return out
}

// expandGrid builds every grid point, backend by backend, as an odometer
// over the axes (the last axis varies fastest).
func (r *resolver) expandGrid(g *grid, shared *node, backends []Backend, backendEntry *entry) []candidate {
	bpos := g.backendPos
	if g.backends == nil && backendEntry != nil {
		bpos = backendEntry.keyPos
	}
	total := 0
	perBackend := make([][]*axis, len(backends))
	for i, b := range backends {
		perBackend[i] = g.axesFor(b)
		n := 1
		for _, ax := range perBackend[i] {
			n *= len(ax.values)
			if n > maxGenerated {
				break
			}
		}
		total += n
		if total > maxGenerated {
			r.failAt(bpos, "sweep", "generates more than %d configurations; reduce the axes", maxGenerated)
			return nil
		}
	}
	for i, b := range backends {
		r.checkOverlap(perBackend[i], b)
	}
	labelBackend := len(backends) > 1 || g.backends != nil
	out := make([]candidate, 0, total)
	for i, b := range backends {
		axes := perBackend[i]
		base := r.sharedFor(shared, b)
		bnode := &node{kind: kindString, pos: bpos, s: string(b)}
		idx := make([]int, len(axes))
		for {
			tree := base.cloneMap()
			tree.set("backend", bpos, bnode)
			var swept []SweptValue
			if labelBackend {
				swept = append(swept, SweptValue{Key: "backend", Value: string(b)})
			}
			for j, ax := range axes {
				v := ax.values[idx[j]]
				mergeInto(tree, r.translateBatch(v.layer, b))
				swept = append(swept, SweptValue{Key: ax.key, Value: v.label})
			}
			out = append(out, candidate{tree: tree, origin: Origin{Source: "sweep", Swept: swept}, anchor: bpos, backend: b})
			j := len(idx) - 1
			for ; j >= 0; j-- {
				idx[j]++
				if idx[j] < len(axes[j].values) {
					break
				}
				idx[j] = 0
			}
			if j < 0 {
				break
			}
		}
	}
	return out
}

// checkOverlap refuses two axes that set the same field for backend b
// (`native.batch_size` and `batch_size`, or a group and a plain axis):
// merged into one configuration, one axis would silently win and the grid
// points that differ only in the other would be dropped as duplicates.
func (r *resolver) checkOverlap(axes []*axis, b Backend) {
	owner := map[string]*axis{}
	for _, ax := range axes {
		mine := map[string]bool{}
		for _, v := range ax.values {
			for _, p := range leafPaths(r.translateBatch(v.layer, b), "") {
				mine[p] = true
			}
		}
		for _, p := range slices.Sorted(maps.Keys(mine)) {
			if first, ok := owner[p]; ok && first != ax {
				r.failAt(ax.keyPos, "sweep."+ax.key, "sets %s for backend %s, which sweep.%s also sets; sweep each field in one axis (a dependent group if the values go together)", p, b, first.key)
				break
			}
			owner[p] = ax
		}
	}
}

// leafPaths lists the dotted paths of the scalar and list values under n.
func leafPaths(n *node, prefix string) []string {
	if n.kind != kindMap {
		return []string{prefix}
	}
	var out []string
	for _, e := range n.keys {
		out = append(out, leafPaths(e.val, join(prefix, e.key))...)
	}
	return out
}
