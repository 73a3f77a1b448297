package asl

import (
	"fmt"
	"strings"
)

// payloadTemplate is a compiled Parameters or ResultSelector value: JSON in which every object
// field whose name ends in ".$" is replaced by the value of its path or intrinsic function.
type payloadTemplate struct {
	root tnode
	// usesToken: some path reads $$.Task (only callback tasks may do that).
	usesToken bool
}

type tnode interface {
	eval(input any, en Env) (any, error)
}

// constNode is a subtree without any ".$" field; it is shared between evaluations, which is safe
// because values are never mutated in place.
type constNode struct{ v any }

func (n constNode) eval(any, Env) (any, error) { return n.v, nil }

type objectNode struct{ fields []objectField }

type objectField struct {
	name  string // output name (".$" removed)
	key   string // key as written, for error messages
	node  tnode  // literal subtree, or nil when dynamic
	path  *path
	call  *intrinsicCall
	value string // the path or invocation as written
}

func (n *objectNode) eval(input any, en Env) (any, error) {
	out := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		var v any
		var err error
		switch {
		case f.node != nil:
			v, err = f.node.eval(input, en)
		case f.path != nil:
			var ok bool
			v, ok = f.path.get(input, en)
			if !ok {
				err = RuntimeError(fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input", f.value, f.key))
			}
		default:
			v, err = f.call.eval(input, en)
		}
		if err != nil {
			return nil, err
		}
		out[f.name] = v
	}
	return out, nil
}

type arrayNode struct{ items []tnode }

func (n *arrayNode) eval(input any, en Env) (any, error) {
	out := make([]any, len(n.items))
	for i, item := range n.items {
		v, err := item.eval(input, en)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (t *payloadTemplate) eval(input any, en Env) (any, error) { return t.root.eval(input, en) }

// compileTemplate compiles a payload template, reporting problems through v.
func (v *validator) compileTemplate(val any, loc string) *payloadTemplate {
	t := &payloadTemplate{}
	t.root = v.compileNode(val, loc, t)
	return t
}

func (v *validator) compileNode(val any, loc string, t *payloadTemplate) tnode {
	switch x := val.(type) {
	case map[string]any:
		if n := v.compileObject(x, loc, t); n != nil {
			return n
		}
	case []any:
		n := &arrayNode{}
		dynamic := false
		for i, item := range x {
			c := v.compileNode(item, fmt.Sprintf("%s/%d", loc, i), t)
			if _, ok := c.(constNode); !ok {
				dynamic = true
			}
			n.items = append(n.items, c)
		}
		if dynamic {
			return n
		}
	}
	return constNode{val}
}

// compileObject compiles an object of a template; it returns nil if no field is dynamic.
func (v *validator) compileObject(x map[string]any, loc string, t *payloadTemplate) tnode {
	n := &objectNode{}
	dynamic := false
	seen := map[string]string{}
	for _, key := range sortedKeys(x) {
		floc := loc + "/" + escapePointer(key)
		name, isDyn := strings.CutSuffix(key, ".$")
		if prev, dup := seen[name]; dup {
			v.addf(floc, "field %q duplicates %q: both produce the field %q", key, prev, name)
			continue
		}
		seen[name] = key
		f := objectField{name: name, key: key}
		if isDyn {
			if !v.compileDynamic(&f, x[key], floc, t) {
				continue
			}
			dynamic = true
		} else {
			f.node = v.compileNode(x[key], floc, t)
			if _, ok := f.node.(constNode); !ok {
				dynamic = true
			}
		}
		n.fields = append(n.fields, f)
	}
	if !dynamic {
		return nil
	}
	return n
}

// compileDynamic compiles the value of a "name.$" field: a path or an intrinsic invocation.
func (v *validator) compileDynamic(f *objectField, val any, floc string, t *payloadTemplate) bool {
	s, ok := val.(string)
	if !ok {
		v.addf(floc, "the value of a field ending in \".$\" must be a string holding a path or an intrinsic function, got %s", jsonType(val))
		return false
	}
	f.value = s
	var err error
	if isIntrinsic(s) {
		if f.call, err = parseIntrinsic(s); err == nil {
			t.usesToken = t.usesToken || f.call.usesTaskToken()
		}
	} else if f.path, err = parsePath(s); err == nil {
		t.usesToken = t.usesToken || f.path.usesTaskToken()
	}
	if err != nil {
		v.addf(floc, "%v", err)
		return false
	}
	return true
}
