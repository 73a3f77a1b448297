package statemachine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Choice rules. A rule whose Variable (or *Path operand) does not exist raises States.Runtime, as
// on AWS; only IsPresent tolerates a missing Variable. A value of the wrong type for the operator
// (a number for StringEquals, a non-timestamp string for TimestampEquals) makes the comparison false.

type condition interface {
	eval(input any, en *env) (bool, error)
}

type choiceRule struct {
	next string
	cond condition
}

type andCond []condition

func (c andCond) eval(input any, en *env) (bool, error) {
	for _, sub := range c {
		ok, err := sub.eval(input, en)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

type orCond []condition

func (c orCond) eval(input any, en *env) (bool, error) {
	for _, sub := range c {
		ok, err := sub.eval(input, en)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

type notCond struct{ sub condition }

func (c notCond) eval(input any, en *env) (bool, error) {
	ok, err := c.sub.eval(input, en)
	return !ok, err
}

type valueKind int

const (
	kindString valueKind = iota
	kindNumber
	kindBoolean
	kindTimestamp
)

type compareOp int

const (
	opEquals compareOp = iota
	opLessThan
	opGreaterThan
	opLessThanEquals
	opGreaterThanEquals
	opMatches
)

type comparison struct {
	kind valueKind
	op   compareOp
}

// comparisonOperators maps every comparison operator (without its Path suffix) to its semantics.
var comparisonOperators = func() map[string]comparison {
	m := map[string]comparison{"StringMatches": {kindString, opMatches}, "BooleanEquals": {kindBoolean, opEquals}}
	ops := map[string]compareOp{
		"Equals": opEquals, "LessThan": opLessThan, "GreaterThan": opGreaterThan,
		"LessThanEquals": opLessThanEquals, "GreaterThanEquals": opGreaterThanEquals,
	}
	for prefix, kind := range map[string]valueKind{"String": kindString, "Numeric": kindNumber, "Timestamp": kindTimestamp} {
		for suffix, op := range ops {
			m[prefix+suffix] = comparison{kind, op}
		}
	}
	return m
}()

// typeTests are the Is* operators; IsPresent is handled separately because it tolerates absence.
var typeTests = map[string]func(any) bool{
	"IsNull":    func(v any) bool { return v == nil },
	"IsString":  func(v any) bool { _, ok := v.(string); return ok },
	"IsNumeric": func(v any) bool { _, ok := toFloat(v); return ok },
	"IsBoolean": func(v any) bool { _, ok := v.(bool); return ok },
	"IsTimestamp": func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := parseTimestamp(s)
		return err == nil
	},
}

type compareCond struct {
	variable *path
	cmp      comparison
	operator string
	literal  any
	ref      *path // *Path operators
	matcher  []globPart
}

func missingVariable(p *path) error {
	return runtimeError(fmt.Sprintf("Invalid path '%s': the choice state's condition path references an undefined value", p.src))
}

func (c *compareCond) eval(input any, en *env) (bool, error) {
	v, ok := c.variable.get(input, en)
	if !ok {
		return false, missingVariable(c.variable)
	}
	want := c.literal
	if c.ref != nil {
		if want, ok = c.ref.get(input, en); !ok {
			return false, missingVariable(c.ref)
		}
	}
	switch c.cmp.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		if c.cmp.op == opMatches {
			return globMatch(c.matcher, s), nil
		}
		w, ok := want.(string)
		if !ok {
			return false, nil
		}
		return c.cmp.op.holds(compareUTF16(s, w)), nil
	case kindNumber:
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(want)
		if !ok1 || !ok2 {
			return false, nil
		}
		return c.cmp.op.holds(compareFloat(a, b)), nil
	case kindBoolean:
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b, nil
	case kindTimestamp:
		a, ok1 := timestampValue(v)
		b, ok2 := timestampValue(want)
		if !ok1 || !ok2 {
			return false, nil
		}
		return c.cmp.op.holds(a.Compare(b)), nil
	}
	return false, nil
}

func (op compareOp) holds(c int) bool {
	switch op {
	case opEquals:
		return c == 0
	case opLessThan:
		return c < 0
	case opGreaterThan:
		return c > 0
	case opLessThanEquals:
		return c <= 0
	case opGreaterThanEquals:
		return c >= 0
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareUTF16 orders strings by UTF-16 code units, as Java's String.compareTo (and so Step
// Functions) does; Go's byte order differs for characters outside the Basic Multilingual Plane.
func compareUTF16(a, b string) int {
	if a == b {
		return 0
	}
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

type typeCond struct {
	variable *path
	test     func(any) bool
	want     bool
}

func (c *typeCond) eval(input any, en *env) (bool, error) {
	v, ok := c.variable.get(input, en)
	if !ok {
		return false, missingVariable(c.variable)
	}
	return c.test(v) == c.want, nil
}

type presentCond struct {
	variable *path
	want     bool
}

func (c *presentCond) eval(input any, en *env) (bool, error) {
	_, ok := c.variable.get(input, en)
	return ok == c.want, nil
}

// parseTimestamp accepts the RFC 3339 profile the ASL requires: uppercase T, and Z or a numeric offset.
func parseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

func timestampValue(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseTimestamp(s)
	return t, err == nil
}

// globPart is one piece of a StringMatches pattern: literal text or a '*' wildcard.
type globPart struct {
	star bool
	text string
}

// compileGlob parses a StringMatches pattern: '*' matches any run of characters, '\*' is a
// literal star and '\\' a literal backslash.
func compileGlob(pattern string) ([]globPart, error) {
	var parts []globPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, globPart{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			if i+1 >= len(pattern) || (pattern[i+1] != '*' && pattern[i+1] != '\\') {
				return nil, fmt.Errorf(`invalid escape in StringMatches pattern %q: only \* and \\ are escapes`, pattern)
			}
			i++
			lit.WriteByte(pattern[i])
		case '*':
			flush()
			if len(parts) == 0 || !parts[len(parts)-1].star {
				parts = append(parts, globPart{star: true})
			}
		default:
			lit.WriteByte(pattern[i])
		}
	}
	flush()
	return parts, nil
}

func globMatch(parts []globPart, s string) bool {
	// With '*' as the only wildcard, anchoring the first and last literals and then taking each
	// literal in between at its leftmost position is exact, and linear: no backtracking blow-up
	// on patterns like "*a*a*a*b".
	if len(parts) == 0 {
		return s == ""
	}
	first, last := 0, len(parts)-1
	if !parts[first].star {
		rest, ok := strings.CutPrefix(s, parts[first].text)
		if !ok {
			return false
		}
		if first == last {
			return rest == ""
		}
		s, first = rest, first+1
	}
	if !parts[last].star {
		rest, ok := strings.CutSuffix(s, parts[last].text)
		if !ok {
			return false
		}
		s, last = rest, last-1
	}
	for _, p := range parts[first : last+1] {
		if p.star {
			continue
		}
		k := strings.Index(s, p.text)
		if k < 0 {
			return false
		}
		s = s[k+len(p.text):]
	}
	return true
}

// compileRule compiles a Choice rule object; top-level rules carry Next, nested ones must not.
func (v *validator) compileRule(raw any, loc string, top bool) (condition, string) {
	o := v.object(raw, loc)
	if o == nil {
		return nil, ""
	}
	o.what = "a Choice rule"
	o.optString("Comment")
	next := ""
	if top {
		if !o.has("Next") {
			v.addf(loc, "missing required field %q", "Next")
		}
		next = v.targetName(o, "Next")
	} else if o.has("Next") {
		o.take("Next")
		v.addf(loc+"/Next", "only top-level Choice rules have Next; a rule nested in And, Or or Not must not")
	}
	var cond condition
	var operators []string
	for _, key := range sortedKeys(o.m) {
		if key == "Variable" || key == "Comment" || key == "Next" {
			continue
		}
		_, isCmp := comparisonOperators[strings.TrimSuffix(key, "Path")]
		_, isType := typeTests[key]
		if key == "And" || key == "Or" || key == "Not" || key == "IsPresent" || isCmp || isType {
			operators = append(operators, key)
		}
	}
	switch {
	case len(operators) == 0:
		v.addf(loc, "a Choice rule needs exactly one comparison operator or And, Or, Not")
		o.optString("Variable")
		o.done()
		return nil, next
	case len(operators) > 1:
		v.addf(loc, "a Choice rule has exactly one operator, found %s", strings.Join(operators, ", "))
		for _, op := range operators {
			o.take(op)
		}
		o.optString("Variable")
		o.done()
		return nil, next
	}
	op := operators[0]
	oloc := loc + "/" + op
	switch op {
	case "And", "Or":
		subs, _ := o.take(op).([]any)
		if len(subs) == 0 {
			v.addf(oloc, "%s needs a non-empty array of rules", op)
		}
		var conds []condition
		for i, sub := range subs {
			c, _ := v.compileRule(sub, fmt.Sprintf("%s/%d", oloc, i), false)
			conds = append(conds, c)
		}
		if o.has("Variable") {
			o.take("Variable")
			v.addf(loc+"/Variable", "%s rules have no Variable", op)
		}
		if op == "And" {
			cond = andCond(conds)
		} else {
			cond = orCond(conds)
		}
	case "Not":
		sub := o.take(op)
		if _, ok := sub.(map[string]any); !ok {
			v.addf(oloc, "Not takes a single rule object, got %s", jsonType(sub))
		} else {
			c, _ := v.compileRule(sub, oloc, false)
			cond = notCond{c}
		}
		if o.has("Variable") {
			o.take("Variable")
			v.addf(loc+"/Variable", "Not rules have no Variable")
		}
	default:
		variable := v.reqPath(o, "Variable", loc)
		cond = v.compileComparison(o, op, oloc, variable)
	}
	o.done()
	return cond, next
}

func (v *validator) compileComparison(o *obj, op, oloc string, variable *path) condition {
	val := o.take(op)
	if op == "IsPresent" {
		b, ok := val.(bool)
		if !ok {
			v.addf(oloc, "IsPresent takes true or false, got %s", jsonType(val))
		}
		return &presentCond{variable: variable, want: b}
	}
	if test, ok := typeTests[op]; ok {
		b, ok := val.(bool)
		if !ok {
			v.addf(oloc, "%s takes true or false, got %s", op, jsonType(val))
		}
		return &typeCond{variable: variable, test: test, want: b}
	}
	base, isPath := strings.CutSuffix(op, "Path")
	cmp, ok := comparisonOperators[base]
	if !ok || (isPath && cmp.op == opMatches) {
		// StringMatchesPath does not exist.
		v.addf(oloc, "unknown comparison operator %q", op)
		return nil
	}
	c := &compareCond{variable: variable, cmp: cmp, operator: op}
	if isPath {
		s, ok := val.(string)
		if !ok {
			v.addf(oloc, "%s takes a path string, got %s", op, jsonType(val))
			return c
		}
		p, err := parsePath(s)
		if err != nil {
			v.addf(oloc, "%v", err)
		}
		c.ref = p
		return c
	}
	switch cmp.kind {
	case kindString, kindTimestamp:
		s, ok := val.(string)
		if !ok {
			v.addf(oloc, "%s takes a string, got %s", op, jsonType(val))
			return c
		}
		if cmp.kind == kindTimestamp {
			if _, err := parseTimestamp(s); err != nil {
				v.addf(oloc, "%s takes an RFC 3339 timestamp such as 2016-08-18T17:33:00Z, got %q", op, s)
			}
		}
		if cmp.op == opMatches {
			g, err := compileGlob(s)
			if err != nil {
				v.addf(oloc, "%v", err)
			}
			c.matcher = g
		}
		c.literal = s
	case kindNumber:
		n, ok := val.(json.Number)
		if !ok {
			v.addf(oloc, "%s takes a number, got %s", op, jsonType(val))
		}
		c.literal = n
	case kindBoolean:
		b, ok := val.(bool)
		if !ok {
			v.addf(oloc, "%s takes true or false, got %s", op, jsonType(val))
		}
		c.literal = b
	}
	return c
}
