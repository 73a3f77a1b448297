package asl

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// path is a parsed JSONPath restricted to Reference Path syntax: it names at most one node.
// Supported: $, $$ (the context object), .name, ['name'] / ["name"] with \' \" \\ escapes, [n].
// Everything that can select several nodes (.., *, filters, slices, unions, negative indexes)
// is rejected at parse time with a message naming the construct, so a definition that would
// behave differently here than on AWS fails validation instead of at run time.
type path struct {
	src     string
	context bool // starts with $$
	segs    []pathSeg
}

type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// maxPathIndex bounds array indexes so that hostile paths cannot allocate or overflow.
const maxPathIndex = 1 << 30

func parsePath(s string) (*path, error) {
	p, err := parsePathSyntax(s)
	if err != nil {
		return nil, fmt.Errorf("invalid path %q: %w", s, err)
	}
	return p, nil
}

func parsePathSyntax(s string) (*path, error) {
	p := &path{src: s}
	var rest string
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context, rest = true, s[2:]
	case strings.HasPrefix(s, "$"):
		rest = s[1:]
	default:
		return nil, errors.New("a path must start with '$' (or '$$' for the context object)")
	}
	for i := 0; i < len(rest); {
		switch rest[i] {
		case '.':
			i++
			if i < len(rest) && rest[i] == '.' {
				return nil, errors.New("recursive descent '..' is not supported (only Reference Paths)")
			}
			start := i
			for i < len(rest) && rest[i] != '.' && rest[i] != '[' {
				i++
			}
			name := rest[start:i]
			if err := checkDotName(name); err != nil {
				return nil, err
			}
			p.segs = append(p.segs, pathSeg{key: name})
		case '[':
			seg, n, err := parseBracket(rest[i:])
			if err != nil {
				return nil, err
			}
			p.segs = append(p.segs, seg)
			i += n
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d (expected '.' or '[')", rest[i], len(s)-len(rest)+i)
		}
	}
	return p, nil
}

func checkDotName(name string) error {
	if name == "" {
		return errors.New("empty field name after '.'")
	}
	if name == "*" {
		return errors.New("wildcard '*' is not supported (only Reference Paths)")
	}
	for _, r := range name {
		switch {
		case r == '*':
			return errors.New("wildcard '*' is not supported (only Reference Paths)")
		case r == '@' || r == '?' || r == '(' || r == ')':
			return errors.New("filter and script expressions are not supported (only Reference Paths)")
		case r == ',' || r == ':':
			return fmt.Errorf("character %q is not allowed in a field name; use ['...'] notation", r)
		case r == '\'' || r == '"' || r == '\\' || r == ']' || r == '$':
			return fmt.Errorf("character %q is not allowed in a field name; use ['...'] notation", r)
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return errors.New("whitespace is not allowed in a field name; use ['...'] notation")
		}
	}
	return nil
}

// parseBracket parses one [...] segment at the start of s and returns it with its length.
func parseBracket(s string) (pathSeg, int, error) {
	if len(s) < 2 {
		return pathSeg{}, 0, errors.New("unterminated '['")
	}
	switch c := s[1]; {
	case c == '\'' || c == '"':
		var b strings.Builder
		for i := 2; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 >= len(s) {
					return pathSeg{}, 0, errors.New("unterminated escape in quoted field name")
				}
				i++
				b.WriteByte(s[i])
			case c:
				if i+1 >= len(s) || s[i+1] != ']' {
					if i+1 < len(s) && s[i+1] == ',' {
						return pathSeg{}, 0, errors.New("unions ['a','b'] are not supported (only Reference Paths)")
					}
					return pathSeg{}, 0, errors.New("expected ']' after quoted field name")
				}
				return pathSeg{key: b.String()}, i + 2, nil
			default:
				b.WriteByte(s[i])
			}
		}
		return pathSeg{}, 0, errors.New("unterminated quoted field name")
	case c >= '0' && c <= '9':
		i := 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i >= len(s) {
			return pathSeg{}, 0, errors.New("unterminated '['")
		}
		switch s[i] {
		case ']':
		case ':':
			return pathSeg{}, 0, errors.New("array slices [a:b] are not supported (only Reference Paths)")
		case ',':
			return pathSeg{}, 0, errors.New("unions [a,b] are not supported (only Reference Paths)")
		default:
			return pathSeg{}, 0, fmt.Errorf("unexpected character %q in array index", s[i])
		}
		n, err := strconv.Atoi(s[1:i])
		if err != nil || n > maxPathIndex {
			return pathSeg{}, 0, errors.New("array index out of range")
		}
		return pathSeg{index: n, isIndex: true}, i + 1, nil
	case c == '*':
		return pathSeg{}, 0, errors.New("wildcard '[*]' is not supported (only Reference Paths)")
	case c == '?' || c == '(':
		return pathSeg{}, 0, errors.New("filter and script expressions are not supported (only Reference Paths)")
	case c == '-':
		return pathSeg{}, 0, errors.New("negative array indexes are not supported (only Reference Paths)")
	case c == ':':
		return pathSeg{}, 0, errors.New("array slices [a:b] are not supported (only Reference Paths)")
	}
	return pathSeg{}, 0, fmt.Errorf("unexpected character %q after '['", s[1])
}

// String renders the path in a canonical form that parses back to the same path.
func (p *path) String() string {
	var b strings.Builder
	b.WriteString("$")
	if p.context {
		b.WriteString("$")
	}
	for _, s := range p.segs {
		switch {
		case s.isIndex:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case checkDotName(s.key) == nil && !strings.ContainsAny(s.key, ".["):
			b.WriteString("." + s.key)
		default:
			b.WriteString("['")
			for i := 0; i < len(s.key); i++ {
				if s.key[i] == '\'' || s.key[i] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(s.key[i])
			}
			b.WriteString("']")
		}
	}
	return b.String()
}

// isRoot reports whether the path is "$" itself.
func (p *path) isRoot() bool { return !p.context && len(p.segs) == 0 }

// lookup follows the path from root and reports whether the node exists.
func (p *path) lookup(root any) (any, bool) {
	cur := root
	for _, s := range p.segs {
		if s.isIndex {
			arr, ok := cur.([]any)
			if !ok || s.index >= len(arr) {
				return nil, false
			}
			cur = arr[s.index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[s.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// get evaluates the path against the input, or against the context object for $$ paths.
func (p *path) get(input any, en Env) (any, bool) {
	if p.context {
		if en == nil {
			return nil, false
		}
		return p.lookup(en.ContextObject())
	}
	return p.lookup(input)
}

// errResultPath reports that a ResultPath cannot be applied to the given input.
var errResultPath = errors.New("result path does not match the input")

// set returns a copy of root with value placed at the path, creating missing intermediate objects
// as Step Functions does for ResultPath. Only the nodes along the path are copied.
func (p *path) set(root, value any) (any, error) {
	return setAt(root, p.segs, value)
}

func setAt(cur any, segs []pathSeg, value any) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0]
	if s.isIndex {
		arr, ok := cur.([]any)
		if !ok {
			return nil, fmt.Errorf("%w: cannot index %s with [%d]", errResultPath, jsonType(cur), s.index)
		}
		if s.index >= len(arr) {
			return nil, fmt.Errorf("%w: index [%d] is beyond the array length %d", errResultPath, s.index, len(arr))
		}
		child, err := setAt(arr[s.index], segs[1:], value)
		if err != nil {
			return nil, err
		}
		out := slices.Clone(arr)
		out[s.index] = child
		return out, nil
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: cannot set field %q in %s", errResultPath, s.key, jsonType(cur))
	}
	next, exists := m[s.key]
	if !exists && len(segs) > 1 {
		next = map[string]any{}
	}
	child, err := setAt(next, segs[1:], value)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(m)
	out[s.key] = child
	return out, nil
}

// usesTaskToken reports whether the path reads $$.Task (only callback tasks have one).
func (p *path) usesTaskToken() bool {
	return p.context && len(p.segs) > 0 && !p.segs[0].isIndex && p.segs[0].key == "Task"
}
