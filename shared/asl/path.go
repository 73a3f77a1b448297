package asl

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// taskToken is the one field of the context object the workflow reads: a callback task passes it
// to its function.
const taskToken = "$$.Task.Token"

// path is a reference path in dot notation: $ (the input) then .field segments ($.a.b), or
// $$.Task.Token. Brackets, array indexes, wildcards, filters, recursive descent and the rest of
// the context object are refused: the workflow does not use them.
type path struct {
	src   string
	token bool // $$.Task.Token
	segs  []string
}

func parsePath(s string) (*path, error) {
	if s == taskToken {
		return &path{src: s, token: true}, nil
	}
	if strings.HasPrefix(s, "$$") {
		return nil, fmt.Errorf("invalid path %q: the only context object field supported is %s", s, taskToken)
	}
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, fmt.Errorf("invalid path %q: a path must start with '$' (or be %s)", s, taskToken)
	}
	p := &path{src: s}
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

// get evaluates the path against the input ($$.Task.Token: the task token, "" when there is none)
// and reports whether the node exists.
func (p *path) get(input any, token string) (any, bool) {
	if p.token {
		return token, token != ""
	}
	cur := input
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
