package asl

import (
	"encoding/json"
	"errors"
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

type argKind int

const (
	argString argKind = iota
	argNumber
	argBool
	argNull
	argPath
	argCall
)

type intrinsicArg struct {
	kind argKind
	str  string // argString: unescaped value
	raw  string // argString: text between the quotes, escapes kept (States.Format needs them)
	num  json.Number
	b    bool
	path *path
	call *intrinsicCall
}

type intrinsicCall struct {
	src  string
	name string
	fn   *intrinsicFunc
	args []intrinsicArg
}

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	// lits lists, per argument position, the literal kinds allowed there ("s" string, "n" number,
	// "b" boolean, "z" null, "*" any); paths and nested calls are always allowed, their type is
	// checked at run time. The last entry applies to the remaining arguments.
	lits []string
	eval func(c *intrinsicCall, args []any, en Env) (any, error)
}

var intrinsicFuncs = map[string]*intrinsicFunc{
	"States.Format":       {1, -1, []string{"s", "snbz"}, fnFormat},
	"States.StringToJson": {1, 1, []string{"s"}, fnStringToJSON},
	"States.MathAdd":      {2, 2, []string{"n"}, fnMathAdd},
}

// refusedIntrinsics are the other ASL intrinsics: the workflow does not use them, so Parse names
// them instead of running code nobody exercises.
var refusedIntrinsics = strings.Fields(`States.JsonToString States.Array States.ArrayPartition
	States.ArrayContains States.ArrayRange States.ArrayGetItem States.ArrayLength States.ArrayUnique
	States.Base64Encode States.Base64Decode States.Hash States.JsonMerge States.MathRandom
	States.StringSplit States.UUID`)

var literalKindNames = map[argKind]string{argString: "s", argNumber: "n", argBool: "b", argNull: "z"}

var literalKindWords = map[string]string{"s": "a string", "n": "a number", "b": "a boolean", "z": "null"}

// checkLiterals rejects literal arguments of a type the function can never accept.
func (c *intrinsicCall) checkLiterals() error {
	for i, a := range c.args {
		k, literal := literalKindNames[a.kind]
		if !literal || len(c.fn.lits) == 0 {
			continue
		}
		allowed := c.fn.lits[min(i, len(c.fn.lits)-1)]
		if allowed == "*" || strings.Contains(allowed, k) {
			continue
		}
		if allowed == "" {
			return fmt.Errorf("argument %d of %s must be a path or an intrinsic function, not a literal", i+1, c.name)
		}
		var words []string
		for _, w := range allowed {
			words = append(words, literalKindWords[string(w)])
		}
		return fmt.Errorf("argument %d of %s must be %s, a path or an intrinsic function, not %s", i+1, c.name, strings.Join(words, ", "), literalKindWords[k])
	}
	return nil
}

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
	name := p.src[start:p.pos]
	fn, ok := intrinsicFuncs[name]
	if !ok && slices.Contains(refusedIntrinsics, name) {
		return nil, fmt.Errorf("intrinsic function %s is not supported by this interpreter (supported: States.Format, States.StringToJson, States.MathAdd)", name)
	}
	if !ok {
		return nil, fmt.Errorf("unknown intrinsic function %q", name)
	}
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errorf("expected '(' after %s", name)
	}
	p.pos++
	c := &intrinsicCall{name: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			arg, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errorf("missing ')' to close %s", name)
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, p.errorf("expected ',' or ')' in the arguments of %s, found %q", name, p.src[p.pos])
			}
			p.pos++
		}
	}
	c.src = p.src[start:p.pos]
	if len(c.args) < fn.minArgs || (fn.maxArgs >= 0 && len(c.args) > fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arity(fn), len(c.args))
	}
	if err := c.checkLiterals(); err != nil {
		return nil, err
	}
	return c, nil
}

func arity(fn *intrinsicFunc) string {
	switch {
	case fn.maxArgs < 0:
		return fmt.Sprintf("at least %d argument(s)", fn.minArgs)
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d argument(s)", fn.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
}

func isIdentByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	if p.pos >= len(p.src) {
		return intrinsicArg{}, p.errorf("missing argument")
	}
	rest := p.src[p.pos:]
	switch c := rest[0]; {
	case c == '\'':
		return p.stringLit()
	case c == '$':
		// A path argument ends at the first ',' or ')' outside a quoted ['...'] segment.
		end, quote := 0, byte(0)
		for end < len(rest) {
			ch := rest[end]
			if quote != 0 {
				if ch == '\\' {
					end++
				} else if ch == quote {
					quote = 0
				}
			} else if ch == '\'' || ch == '"' {
				quote = ch
			} else if ch == ',' || ch == ')' || ch == ' ' {
				break
			}
			end++
		}
		pth, err := parsePath(rest[:min(end, len(rest))])
		if err != nil {
			return intrinsicArg{}, err
		}
		p.pos += min(end, len(rest))
		return intrinsicArg{kind: argPath, path: pth}, nil
	case strings.HasPrefix(rest, "States."):
		call, err := p.call(depth + 1)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{kind: argCall, call: call}, nil
	case strings.HasPrefix(rest, "true") && !identContinues(rest, 4):
		p.pos += 4
		return intrinsicArg{kind: argBool, b: true}, nil
	case strings.HasPrefix(rest, "false") && !identContinues(rest, 5):
		p.pos += 5
		return intrinsicArg{kind: argBool}, nil
	case strings.HasPrefix(rest, "null") && !identContinues(rest, 4):
		p.pos += 4
		return intrinsicArg{kind: argNull}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		end := 0
		for end < len(rest) && strings.IndexByte("+-.eE0123456789", rest[end]) >= 0 {
			end++
		}
		lit := rest[:end]
		if !json.Valid([]byte(lit)) {
			return intrinsicArg{}, p.errorf("invalid number %q", lit)
		}
		p.pos += end
		return intrinsicArg{kind: argNumber, num: json.Number(lit)}, nil
	}
	return intrinsicArg{}, p.errorf("unexpected %q: an argument is a 'string', a number, true, false, null, a path or an intrinsic function", rest[:1])
}

func identContinues(s string, n int) bool { return len(s) > n && isIdentByte(s[n]) }

// stringLit parses a single-quoted literal. Only \' \{ \} and \\ are escapes; AWS rejects any
// other ("open") backslash.
func (p *intrinsicParser) stringLit() (intrinsicArg, error) {
	p.pos++ // opening quote
	start := p.pos
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) || strings.IndexByte(`'{}\`, p.src[p.pos+1]) < 0 {
				return intrinsicArg{}, p.errorf(`open escape '\' in a string literal: only \', \{, \} and \\ are allowed`)
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case '\'':
			raw := p.src[start:p.pos]
			p.pos++
			return intrinsicArg{kind: argString, str: b.String(), raw: raw}, nil
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return intrinsicArg{}, p.errorf("unterminated string literal")
}

// usesTaskToken reports whether any path argument reads $$.Task.
func (c *intrinsicCall) usesTaskToken() bool {
	for _, a := range c.args {
		if (a.kind == argPath && a.path.usesTaskToken()) || (a.kind == argCall && a.call.usesTaskToken()) {
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
		switch a.kind {
		case argString:
			args[i] = a.str
		case argNumber:
			args[i] = a.num
		case argBool:
			args[i] = a.b
		case argNull:
			args[i] = nil
		case argPath:
			v, ok := a.path.get(input, en)
			if !ok {
				return nil, RuntimeError(fmt.Sprintf("The JSONPath %s in the arguments of %s could not be found in the input", a.path.src, c.name))
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(input, en)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	v, err := c.fn.eval(c, args, en)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &Error{Name: ErrorIntrinsicFailure, Cause: fmt.Sprintf("%s: %v", c.name, err)}
	}
	return v, nil
}

func argType[T any](args []any, i int, want string) (T, error) {
	v, ok := args[i].(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("argument %d must be %s, got %s", i+1, want, jsonType(args[i]))
	}
	return v, nil
}

func fnFormat(c *intrinsicCall, args []any, _ Env) (any, error) {
	tmpl, err := argType[string](args, 0, "a string")
	if err != nil {
		return nil, err
	}
	// A literal template keeps its escapes so that \{\} is text, not a placeholder.
	literal := c.args[0].kind == argString
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
			s, err := formatValue(args[next], next)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
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

func formatValue(v any, i int) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case nil:
		return "null", nil
	}
	return "", fmt.Errorf("argument %d must be a string, number, boolean or null, got %s", i+1, jsonType(v))
}

func fnStringToJSON(_ *intrinsicCall, args []any, _ Env) (any, error) {
	s, err := argType[string](args, 0, "a string")
	if err != nil {
		return nil, err
	}
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("argument is not valid JSON: %v", err)
	}
	return v, nil
}

// int32 range: AWS's documented bounds for States.MathAdd arguments.
func int32Arg(args []any, i int) (int64, error) {
	f, ok := toFloat(args[i])
	if !ok {
		return 0, fmt.Errorf("argument %d must be a number, got %s", i+1, jsonType(args[i]))
	}
	// Non-integers are rounded to the nearest integer (half up, like Java's Math.round).
	n := math.Floor(f + 0.5)
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("argument %d is outside the range %d..%d", i+1, math.MinInt32, math.MaxInt32)
	}
	return int64(n), nil
}

func fnMathAdd(_ *intrinsicCall, args []any, _ Env) (any, error) {
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
