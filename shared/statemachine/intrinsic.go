package statemachine

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"math"
	mrand "math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Intrinsic functions ("States.Format('{}', $.x)") as the Amazon States Language defines them
// for JSONPath states. They are parsed once, when the definition is parsed, so syntax errors,
// unknown functions and wrong argument counts are validation errors; type and value errors
// can only be seen at run time and raise States.IntrinsicFailure.

// maxIntrinsicNesting is AWS's limit on nested intrinsic invocations in one field.
const maxIntrinsicNesting = 10

// maxIntrinsicString is AWS's input limit for States.Base64Encode/Decode and States.Hash.
const maxIntrinsicString = 10000

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
	eval func(c *intrinsicCall, args []any, en *env) (any, error)
}

var intrinsicFuncs = map[string]*intrinsicFunc{
	"States.Format":         {1, -1, []string{"s", "snbz"}, fnFormat},
	"States.StringToJson":   {1, 1, []string{"s"}, fnStringToJSON},
	"States.JsonToString":   {1, 1, []string{""}, fnJSONToString},
	"States.Array":          {0, -1, []string{"*"}, fnArray},
	"States.ArrayPartition": {2, 2, []string{"", "n"}, fnArrayPartition},
	"States.ArrayContains":  {2, 2, []string{"", "*"}, fnArrayContains},
	"States.ArrayRange":     {3, 3, []string{"n"}, fnArrayRange},
	"States.ArrayGetItem":   {2, 2, []string{"", "n"}, fnArrayGetItem},
	"States.ArrayLength":    {1, 1, []string{""}, fnArrayLength},
	"States.ArrayUnique":    {1, 1, []string{""}, fnArrayUnique},
	"States.Base64Encode":   {1, 1, []string{"s"}, fnBase64Encode},
	"States.Base64Decode":   {1, 1, []string{"s"}, fnBase64Decode},
	"States.Hash":           {2, 2, []string{"s"}, fnHash},
	"States.JsonMerge":      {3, 3, []string{"", "", "b"}, fnJSONMerge},
	"States.MathRandom":     {2, 3, []string{"n"}, fnMathRandom},
	"States.MathAdd":        {2, 2, []string{"n"}, fnMathAdd},
	"States.StringSplit":    {2, 2, []string{"s"}, fnStringSplit},
	"States.UUID":           {0, 0, nil, fnUUID},
}

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
func (c *intrinsicCall) eval(input any, en *env) (any, error) {
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
				return nil, runtimeError(fmt.Sprintf("The JSONPath %s in the arguments of %s could not be found in the input", a.path.src, c.name))
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
		var se *stateError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &stateError{Name: ErrorIntrinsicFailure, Cause: fmt.Sprintf("%s: %v", c.name, err)}
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

func intArg(args []any, i int) (int64, error) {
	n, ok := toInt(args[i])
	if !ok {
		return 0, fmt.Errorf("argument %d must be an integer, got %s", i+1, jsonString(args[i]))
	}
	return n, nil
}

func fnFormat(c *intrinsicCall, args []any, _ *env) (any, error) {
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

func fnStringToJSON(_ *intrinsicCall, args []any, _ *env) (any, error) {
	s, err := argType[string](args, 0, "a string")
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("argument is not valid JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(_ *intrinsicCall, args []any, _ *env) (any, error) {
	b, err := marshalJSON(args[0])
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func fnArray(_ *intrinsicCall, args []any, _ *env) (any, error) {
	return append([]any{}, args...), nil
}

func fnArrayPartition(_ *intrinsicCall, args []any, _ *env) (any, error) {
	arr, err := argType[[]any](args, 0, "an array")
	if err != nil {
		return nil, err
	}
	size, err := intArg(args, 1)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, errors.New("the chunk size must be a positive integer")
	}
	out := []any{}
	for i, n := int64(0), int64(len(arr)); i < n; i += size {
		out = append(out, append([]any{}, arr[i:min(i+size, n)]...))
	}
	return out, nil
}

func fnArrayContains(_ *intrinsicCall, args []any, _ *env) (any, error) {
	arr, err := argType[[]any](args, 0, "an array")
	if err != nil {
		return nil, err
	}
	for _, v := range arr {
		if jsonEqual(v, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

// maxArrayRange is AWS's limit on the size of the array States.ArrayRange returns.
const maxArrayRange = 1000

func fnArrayRange(_ *intrinsicCall, args []any, _ *env) (any, error) {
	var n [3]int64
	for i := range n {
		v, err := intArg(args, i)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, errors.New("the step must not be 0")
	}
	out := []any{}
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		if len(out) == maxArrayRange {
			return nil, fmt.Errorf("the range has more than %d items", maxArrayRange)
		}
		out = append(out, intNumber(v))
	}
	return out, nil
}

func fnArrayGetItem(_ *intrinsicCall, args []any, _ *env) (any, error) {
	arr, err := argType[[]any](args, 0, "an array")
	if err != nil {
		return nil, err
	}
	i, err := intArg(args, 1)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(arr)) {
		return nil, fmt.Errorf("index %d is out of bounds for an array of length %d", i, len(arr))
	}
	return arr[i], nil
}

func fnArrayLength(_ *intrinsicCall, args []any, _ *env) (any, error) {
	arr, err := argType[[]any](args, 0, "an array")
	if err != nil {
		return nil, err
	}
	return intNumber(int64(len(arr))), nil
}

func fnArrayUnique(_ *intrinsicCall, args []any, _ *env) (any, error) {
	arr, err := argType[[]any](args, 0, "an array")
	if err != nil {
		return nil, err
	}
	out := []any{}
next:
	for _, v := range arr {
		for _, seen := range out {
			if jsonEqual(v, seen) {
				continue next
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func limitedString(args []any, i int) (string, error) {
	s, err := argType[string](args, i, "a string")
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) > maxIntrinsicString {
		return "", fmt.Errorf("argument %d is longer than %d characters", i+1, maxIntrinsicString)
	}
	return s, nil
}

func fnBase64Encode(_ *intrinsicCall, args []any, _ *env) (any, error) {
	s, err := limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ *intrinsicCall, args []any, _ *env) (any, error) {
	s, err := limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("argument is not valid base64: %v", err)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("the decoded data is not UTF-8 text")
	}
	return string(b), nil
}

var hashAlgorithms = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New,
}

func fnHash(_ *intrinsicCall, args []any, _ *env) (any, error) {
	s, err := limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	alg, err := argType[string](args, 1, "a string")
	if err != nil {
		return nil, err
	}
	newHash, ok := hashAlgorithms[alg]
	if !ok {
		return nil, fmt.Errorf("unsupported hash algorithm %q (MD5, SHA-1, SHA-256, SHA-384, SHA-512)", alg)
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ *intrinsicCall, args []any, _ *env) (any, error) {
	a, err := argType[map[string]any](args, 0, "an object")
	if err != nil {
		return nil, err
	}
	b, err := argType[map[string]any](args, 1, "an object")
	if err != nil {
		return nil, err
	}
	deep, err := argType[bool](args, 2, "a boolean")
	if err != nil {
		return nil, err
	}
	if deep {
		return nil, errors.New("only shallow merging is supported: the third argument must be false")
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out, nil
}

// int32 range: AWS's documented bounds for States.MathAdd and States.MathRandom arguments.
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

func fnMathAdd(_ *intrinsicCall, args []any, _ *env) (any, error) {
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

func fnMathRandom(_ *intrinsicCall, args []any, en *env) (any, error) {
	start, err := int32Arg(args, 0)
	if err != nil {
		return nil, err
	}
	end, err := int32Arg(args, 1)
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, errors.New("the end must be greater than the start")
	}
	var f float64
	if len(args) == 3 {
		seed, err := int32Arg(args, 2)
		if err != nil {
			return nil, err
		}
		f = mrand.New(mrand.NewPCG(uint64(seed), 0)).Float64()
	} else {
		f = en.random()
	}
	return intNumber(start + int64(f*float64(end-start))), nil
}

func fnStringSplit(_ *intrinsicCall, args []any, _ *env) (any, error) {
	s, err := argType[string](args, 0, "a string")
	if err != nil {
		return nil, err
	}
	delims, err := argType[string](args, 1, "a string")
	if err != nil {
		return nil, err
	}
	// Every character of the second argument is a delimiter and empty tokens are dropped
	// (AWS: "This.is+a,test=string" split by ".+,=" gives five words).
	out := []any{}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, tok)
	}
	return out, nil
}

func fnUUID(_ *intrinsicCall, _ []any, _ *env) (any, error) { return newUUID(), nil }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
