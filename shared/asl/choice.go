package asl

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Choice rules. A rule whose Variable does not exist raises States.Runtime, as on AWS; only
// IsPresent tolerates a missing Variable. A value of the wrong type for the operator (a number
// for StringEquals) makes the comparison false.

type condition interface {
	eval(input any, en Env) (bool, error)
}

type choiceRule struct {
	next string
	cond condition
}

type andCond []condition

func (c andCond) eval(input any, en Env) (bool, error) {
	for _, sub := range c {
		ok, err := sub.eval(input, en)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

type orCond []condition

func (c orCond) eval(input any, en Env) (bool, error) {
	for _, sub := range c {
		ok, err := sub.eval(input, en)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

type notCond struct{ sub condition }

func (c notCond) eval(input any, en Env) (bool, error) {
	ok, err := c.sub.eval(input, en)
	return !ok, err
}

// comparisons are the supported comparison operators: how they compare a value with the literal.
var comparisons = map[string]func(v, lit any) bool{
	"StringEquals":             func(v, lit any) bool { s, ok := v.(string); return ok && s == lit },
	"BooleanEquals":            func(v, lit any) bool { b, ok := v.(bool); return ok && b == lit },
	"NumericEquals":            numeric(func(c int) bool { return c == 0 }),
	"NumericLessThan":          numeric(func(c int) bool { return c < 0 }),
	"NumericGreaterThan":       numeric(func(c int) bool { return c > 0 }),
	"NumericLessThanEquals":    numeric(func(c int) bool { return c <= 0 }),
	"NumericGreaterThanEquals": numeric(func(c int) bool { return c >= 0 }),
}

func numeric(holds func(int) bool) func(v, lit any) bool {
	return func(v, lit any) bool {
		a, ok1 := toFloat(v)
		b, ok2 := toFloat(lit)
		return ok1 && ok2 && holds(cmp.Compare(a, b))
	}
}

// aslOperatorRE matches every Choice operator of the ASL, so that the ones this interpreter does
// not implement are refused by name rather than reported as unknown fields.
var aslOperatorRE = regexp.MustCompile(`^((String|Numeric|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)(Path)?|StringMatches|BooleanEquals(Path)?|Is(Null|Present|String|Numeric|Boolean|Timestamp)|And|Or|Not)$`)

type compareCond struct {
	variable *path
	test     func(v, lit any) bool
	literal  any
}

func missingVariable(p *path) error {
	return RuntimeError(fmt.Sprintf("Invalid path '%s': the choice state's condition path references an undefined value", p.src))
}

func (c *compareCond) eval(input any, en Env) (bool, error) {
	v, ok := c.variable.get(input, en)
	if !ok {
		return false, missingVariable(c.variable)
	}
	return c.test(v, c.literal), nil
}

// presentCond is IsPresent (which tolerates a missing Variable) or IsNull (which does not).
type presentCond struct {
	variable *path
	isNull   bool
	want     bool
}

func (c *presentCond) eval(input any, en Env) (bool, error) {
	v, ok := c.variable.get(input, en)
	if !c.isNull {
		return ok == c.want, nil
	}
	if !ok {
		return false, missingVariable(c.variable)
	}
	return (v == nil) == c.want, nil
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
	var operators []string
	for _, key := range sortedKeys(o.m) {
		if key != "Variable" && aslOperatorRE.MatchString(key) {
			operators = append(operators, key)
		}
	}
	if len(operators) != 1 {
		if len(operators) == 0 {
			v.addf(loc, "a Choice rule needs exactly one comparison operator or And, Or, Not")
		} else {
			v.addf(loc, "a Choice rule has exactly one operator, found %s", strings.Join(operators, ", "))
		}
		for _, op := range operators {
			o.take(op)
		}
		o.optString("Variable")
		o.done()
		return nil, next
	}
	cond := v.compileOperator(o, operators[0])
	o.done()
	return cond, next
}

// compileOperator compiles the rule's one operator: And, Or, Not, or a comparison of Variable.
func (v *validator) compileOperator(o *obj, op string) condition {
	oloc := o.loc + "/" + op
	if op != "And" && op != "Or" && op != "Not" {
		return v.compileComparison(o, op, oloc, v.reqPath(o, "Variable", o.loc))
	}
	if o.has("Variable") {
		o.take("Variable")
		v.addf(o.loc+"/Variable", "%s rules have no Variable", op)
	}
	sub := o.take(op)
	if op == "Not" {
		if _, ok := sub.(map[string]any); !ok {
			v.addf(oloc, "Not takes a single rule object, got %s", jsonType(sub))
			return nil
		}
		c, _ := v.compileRule(sub, oloc, false)
		return notCond{c}
	}
	subs, _ := sub.([]any)
	if len(subs) == 0 {
		v.addf(oloc, "%s needs a non-empty array of rules", op)
	}
	var conds []condition
	for i, sub := range subs {
		c, _ := v.compileRule(sub, fmt.Sprintf("%s/%d", oloc, i), false)
		conds = append(conds, c)
	}
	if op == "And" {
		return andCond(conds)
	}
	return orCond(conds)
}

func (v *validator) compileComparison(o *obj, op, oloc string, variable *path) condition {
	val := o.take(op)
	if op == "IsPresent" || op == "IsNull" {
		b, ok := val.(bool)
		if !ok {
			v.addf(oloc, "%s takes true or false, got %s", op, jsonType(val))
		}
		return &presentCond{variable: variable, isNull: op == "IsNull", want: b}
	}
	test, ok := comparisons[op]
	if !ok {
		v.addf(oloc, "the Choice operator %s is not supported by this interpreter (StringEquals, BooleanEquals, NumericEquals, NumericLessThan(Equals), NumericGreaterThan(Equals), IsPresent, IsNull, And, Or, Not)", op)
		return nil
	}
	want := map[byte]string{'S': "a string", 'B': "true or false", 'N': "a number"}[op[0]]
	valid := false
	switch val.(type) {
	case string:
		valid = op[0] == 'S'
	case bool:
		valid = op[0] == 'B'
	case json.Number:
		valid = op[0] == 'N'
	}
	if !valid {
		v.addf(oloc, "%s takes %s, got %s", op, want, jsonType(val))
	}
	return &compareCond{variable: variable, test: test, literal: val}
}
