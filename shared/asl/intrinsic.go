package asl

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Intrinsic functions ("States.Format('{}', $.x)") as the Amazon States Language defines them
// for JSONPath states. They are parsed once, when the definition is parsed, so syntax errors,
// unknown functions and wrong argument counts are validation errors; type and value errors
// can only be seen at run time and raise States.IntrinsicFailure.

// maxIntrinsicNesting is AWS's limit on nested intrinsic invocations in one field.
const maxIntrinsicNesting = 10

// intrinsicArg is a literal (string, json.Number, bool or nil), a path or a nested call.
type intrinsicArg struct {
	lit  any
	raw  string // a string literal as written between the quotes, escapes kept (States.Format needs them)
	path *path
	call *intrinsicCall
}

func (a intrinsicArg) isLiteral() bool { return a.path == nil && a.call == nil }

type intrinsicCall struct {
	name string
	fn   *intrinsicFunc
	args []intrinsicArg
}

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	// lits lists, per argument position, the literal types allowed there (string, number, bool,
	// null); paths and nested calls are always allowed, their type is checked at run time. The
	// last entry applies to the remaining arguments.
	lits []string
	eval func(c *intrinsicCall, args []any) (any, error)
}

var intrinsicFuncs = map[string]*intrinsicFunc{
	"States.Format":       {1, -1, []string{"string", "string number boolean null"}, fnFormat},
	"States.StringToJson": {1, 1, []string{"string"}, fnStringToJSON},
	"States.MathAdd":      {2, 2, []string{"number"}, fnMathAdd},
}

// refusedIntrinsics are the other ASL intrinsics: the workflow does not use them, so Parse names
// them instead of running code nobody exercises.
var refusedIntrinsics = strings.Fields(`States.JsonToString States.Array States.ArrayPartition
	States.ArrayContains States.ArrayRange States.ArrayGetItem States.ArrayLength States.ArrayUnique
	States.Base64Encode States.Base64Decode States.Hash States.JsonMerge States.MathRandom
	States.StringSplit States.UUID`)

// isIntrinsic reports whether a payload-template value is an intrinsic invocation (vs a path).
func isIntrinsic(s string) bool { return strings.HasPrefix(s, "States.") }

func parseIntrinsic(src string) (*intrinsicCall, error) {
	p := &intrinsicParser{src: src}
	call, err := p.call(1)
	if err == nil {
		p.skipSpace()
		if p.pos != len(src) {
			err = p.errorf("unexpected %q after the closing parenthesis", src[p.pos:])
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", src, err)
	}
	return call, nil
}

type intrinsicParser struct {
	src string
	pos int
}

func (p *intrinsicParser) errorf(format string, a ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, a...))
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *intrinsicParser) call(depth int) (*intrinsicCall, error) {
	if depth > maxIntrinsicNesting {
		return nil, p.errorf("intrinsic functions nest at most %d deep", maxIntrinsicNesting)
	}
	start := p.pos
	for p.pos < len(p.src) && (isIdentByte(p.src[p.pos]) || p.src[p.pos] == '.') {
		p.pos++
	}
	c := &intrinsicCall{name: p.src[start:p.pos]}
	var ok bool
	switch c.fn, ok = intrinsicFuncs[c.name]; {
	case !ok && slices.Contains(refusedIntrinsics, c.name):
		return nil, fmt.Errorf("intrinsic function %s is not supported by this interpreter (supported: States.Format, States.StringToJson, States.MathAdd)", c.name)
	case !ok:
		return nil, fmt.Errorf("unknown intrinsic function %q", c.name)
	case p.pos >= len(p.src) || p.src[p.pos] != '(':
		return nil, p.errorf("expected '(' after %s", c.name)
	}
	p.pos++
	if err := p.args(c, depth); err != nil {
		return nil, err
	}
	if n := len(c.args); n < c.fn.minArgs || (c.fn.maxArgs >= 0 && n > c.fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, got %d", c.name, arity(c.fn), n)
	}
	return c, c.checkLiterals()
}

// args parses the arguments after '(' up to and including ')'.
func (p *intrinsicParser) args(c *intrinsicCall, depth int) error {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		arg, err := p.arg(depth)
		if err != nil {
			return err
		}
		c.args = append(c.args, arg)
		p.skipSpace()
		switch {
		case p.pos >= len(p.src):
			return p.errorf("missing ')' to close %s", c.name)
		case p.src[p.pos] == ')':
			p.pos++
			return nil
		case p.src[p.pos] != ',':
			return p.errorf("expected ',' or ')' in the arguments of %s, found %q", c.name, p.src[p.pos])
		}
		p.pos++
	}
}

func arity(fn *intrinsicFunc) string {
	if fn.maxArgs < 0 {
		return fmt.Sprintf("at least %d argument(s)", fn.minArgs)
	}
	return fmt.Sprintf("%d argument(s)", fn.minArgs)
}

// checkLiterals rejects literal arguments of a type the function can never accept.
func (c *intrinsicCall) checkLiterals() error {
	for i, a := range c.args {
		if !a.isLiteral() {
			continue
		}
		allowed, got := strings.Fields(c.fn.lits[min(i, len(c.fn.lits)-1)]), jsonType(a.lit)
		if !slices.Contains(allowed, got) {
			for j, w := range allowed {
				allowed[j] = litWords[w]
			}
			return fmt.Errorf("argument %d of %s must be %s, a path or an intrinsic function, not %s", i+1, c.name, strings.Join(allowed, ", "), litWords[got])
		}
	}
	return nil
}

var litWords = map[string]string{"string": "a string", "number": "a number", "boolean": "a boolean", "null": "null"}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	rest := p.src[p.pos:]
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(rest, word) && (len(rest) == len(word) || !isIdentByte(rest[len(word)])) {
			p.pos += len(word)
			return intrinsicArg{lit: v}, nil
		}
	}
	switch {
	case rest == "":
		return intrinsicArg{}, p.errorf("missing argument")
	case rest[0] == '\'':
		return p.stringLit()
	case rest[0] == '$':
		return p.pathArg(rest)
	case strings.HasPrefix(rest, "States."):
		call, err := p.call(depth + 1)
		return intrinsicArg{call: call}, err
	case rest[0] == '-' || (rest[0] >= '0' && rest[0] <= '9'):
		end := 0
		for end < len(rest) && strings.IndexByte("+-.eE0123456789", rest[end]) >= 0 {
			end++
		}
		if lit := rest[:end]; !json.Valid([]byte(lit)) {
			return intrinsicArg{}, p.errorf("invalid number %q", lit)
		}
		p.pos += end
		return intrinsicArg{lit: json.Number(rest[:end])}, nil
	}
	return intrinsicArg{}, p.errorf("unexpected %q: an argument is a 'string', a number, true, false, null, a path or an intrinsic function", rest[:1])
}

// pathArg parses a path argument, which ends at the first ',', ')' or space outside a quoted
// ['...'] segment.
func (p *intrinsicParser) pathArg(rest string) (intrinsicArg, error) {
	end, quote := 0, byte(0)
	for ; end < len(rest); end++ {
		ch := rest[end]
		switch {
		case quote != 0 && ch == '\\':
			end++
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == ',' || ch == ')' || ch == ' ':
			pth, err := parsePath(rest[:end])
			p.pos += end
			return intrinsicArg{path: pth}, err
		}
	}
	pth, err := parsePath(rest)
	p.pos += len(rest)
	return intrinsicArg{path: pth}, err
}

// stringLit parses a single-quoted literal. Only \' \{ \} and \\ are escapes; AWS rejects any
// other ("open") backslash.
func (p *intrinsicParser) stringLit() (intrinsicArg, error) {
	p.pos++ // opening quote
	start := p.pos
	var b strings.Builder
	for ; p.pos < len(p.src); p.pos++ {
		switch c := p.src[p.pos]; c {
		case '\\':
			if p.pos+1 >= len(p.src) || strings.IndexByte(`'{}\`, p.src[p.pos+1]) < 0 {
				return intrinsicArg{}, p.errorf(`open escape '\' in a string literal: only \', \{, \} and \\ are allowed`)
			}
			p.pos++
			b.WriteByte(p.src[p.pos])
		case '\'':
			raw := p.src[start:p.pos]
			p.pos++
			return intrinsicArg{lit: b.String(), raw: raw}, nil
		default:
			b.WriteByte(c)
		}
	}
	return intrinsicArg{}, p.errorf("unterminated string literal")
}

// usesTaskToken reports whether any path argument reads $$.Task.
func (c *intrinsicCall) usesTaskToken() bool {
	for _, a := range c.args {
		if (a.path != nil && a.path.usesTaskToken()) || (a.call != nil && a.call.usesTaskToken()) {
			return true
		}
	}
	return false
}

// eval runs the invocation. Missing paths raise States.Runtime (as for any path); everything the
// function itself rejects raises States.IntrinsicFailure.
func (c *intrinsicCall) eval(input any, en Env) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.path != nil:
			v, ok := a.path.get(input, en)
			if !ok {
				return nil, RuntimeError(fmt.Sprintf("The JSONPath %s in the arguments of %s could not be found in the input", a.path.src, c.name))
			}
			args[i] = v
		case a.call != nil:
			v, err := a.call.eval(input, en)
			if err != nil {
				return nil, err
			}
			args[i] = v
		default:
			args[i] = a.lit
		}
	}
	v, err := c.fn.eval(c, args)
	if err != nil {
		return nil, &Error{Name: ErrorIntrinsicFailure, Cause: fmt.Sprintf("%s: %v", c.name, err)}
	}
	return v, nil
}

func stringArg(args []any, i int) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("argument %d must be a string, got %s", i+1, jsonType(args[i]))
	}
	return s, nil
}

func fnFormat(c *intrinsicCall, args []any) (any, error) {
	tmpl, err := stringArg(args, 0)
	if err != nil {
		return nil, err
	}
	// A literal template keeps its escapes so that \{\} is text, not a placeholder.
	literal := c.args[0].isLiteral()
	if literal {
		tmpl = c.args[0].raw
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		switch {
		case literal && tmpl[i] == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case tmpl[i] == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(args) {
				return nil, fmt.Errorf("the template has more {} placeholders than the %d value argument(s)", len(args)-1)
			}
			if err := formatValue(&b, args[next], next); err != nil {
				return nil, err
			}
			next++
			i++
		default:
			b.WriteByte(tmpl[i])
		}
	}
	if next != len(args) {
		return nil, fmt.Errorf("the template has %d {} placeholder(s) but %d value argument(s) were given", next-1, len(args)-1)
	}
	return b.String(), nil
}

func formatValue(b *strings.Builder, v any, i int) error {
	switch x := v.(type) {
	case string:
		b.WriteString(x)
	case json.Number:
		b.WriteString(string(x))
	case bool, nil:
		b.WriteString(jsonString(x))
	default:
		return fmt.Errorf("argument %d must be a string, number, boolean or null, got %s", i+1, jsonType(v))
	}
	return nil
}

func fnStringToJSON(_ *intrinsicCall, args []any) (any, error) {
	s, err := stringArg(args, 0)
	if err != nil {
		return nil, err
	}
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("argument is not valid JSON: %v", err)
	}
	return v, nil
}

// int32Arg reads a States.MathAdd argument: AWS documents the int32 range, and rounds
// non-integers to the nearest integer (half up, like Java's Math.round).
func int32Arg(args []any, i int) (int64, error) {
	f, ok := toFloat(args[i])
	if !ok {
		return 0, fmt.Errorf("argument %d must be a number, got %s", i+1, jsonType(args[i]))
	}
	n := math.Floor(f + 0.5)
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("argument %d is outside the range %d..%d", i+1, math.MinInt32, math.MaxInt32)
	}
	return int64(n), nil
}

func fnMathAdd(_ *intrinsicCall, args []any) (any, error) {
	a, err := int32Arg(args, 0)
	if err != nil {
		return nil, err
	}
	b, err := int32Arg(args, 1)
	if err != nil {
		return nil, err
	}
	return intNumber(a + b), nil
}
