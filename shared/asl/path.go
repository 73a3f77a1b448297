package asl

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// path is a reference path in dot notation: $ (the input) or $$ (the context object), then
// .field segments ($.a.b, $$.Execution.Input.x, $$.Task.Token). Brackets, array indexes,
// wildcards, filters and recursive descent are refused: the workflow does not use them.
type path struct {
	src     string
	context bool // starts with $$
	segs    []string
}

func parsePath(s string) (*path, error) {
	p := &path{src: s}
	rest, ok := strings.CutPrefix(s, "$$")
	if p.context = ok; !ok {
		if rest, ok = strings.CutPrefix(s, "$"); !ok {
			return nil, fmt.Errorf("invalid path %q: a path must start with '$' (or '$$' for the context object)", s)
		}
	}
	if rest == "" {
		return p, nil
	}
	segs := strings.Split(rest, ".")
	if segs[0] != "" || slices.ContainsFunc(segs[1:], badName) {
		return nil, fmt.Errorf("invalid path %q: only dot notation with plain field names ($.a.b) is supported", s)
	}
	p.segs = segs[1:]
	return p, nil
}

func badName(seg string) bool {
	return seg == "" || strings.ContainsFunc(seg, func(r rune) bool {
		return r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// String renders the path in canonical form.
func (p *path) String() string {
	root := "$"
	if p.context {
		root = "$$"
	}
	if len(p.segs) == 0 {
		return root
	}
	return root + "." + strings.Join(p.segs, ".")
}

// isRoot reports whether the path is "$" itself.
func (p *path) isRoot() bool { return !p.context && len(p.segs) == 0 }

// get evaluates the path against the input, or against the context object for $$ paths, and
// reports whether the node exists.
func (p *path) get(input any, en Env) (any, bool) {
	cur := input
	if p.context {
		if en == nil {
			return nil, false
		}
		cur = en.ContextObject()
	}
	for _, s := range p.segs {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// set returns a copy of root with value placed at the path, creating missing intermediate objects
// as Step Functions does for ResultPath. Only the objects along the path are copied.
func (p *path) set(root, value any) (any, error) { return setAt(root, p.segs, value) }

func setAt(cur any, segs []string, value any) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("cannot set field %q in %s", segs[0], jsonType(cur))
	}
	next, exists := m[segs[0]]
	if !exists && len(segs) > 1 {
		next = map[string]any{}
	}
	child, err := setAt(next, segs[1:], value)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(m)
	out[segs[0]] = child
	return out, nil
}

// usesTaskToken reports whether the path reads $$.Task (only callback tasks have one).
func (p *path) usesTaskToken() bool { return p.context && len(p.segs) > 0 && p.segs[0] == "Task" }
