package asl

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// template is a compiled Parameters or ResultSelector value: JSON in which every object field
// whose name ends in ".$" is replaced by the value of its path or of its States.MathAdd invocation.
// token is the task token ($$.Task.Token), or "".
type template func(input any, token string) (any, error)

// template compiles a payload template; it returns nil for an absent one. It sets *token when the
// template reads $$.Task.Token (only callback tasks may).
func (v *validator) template(raw json.RawMessage, loc string, token *bool) template {
	if raw == nil {
		return nil
	}
	val, err := DecodeJSON(raw)
	if err != nil {
		v.addf(loc, "%v", err)
	}
	return v.node(val, loc, token)
}

func (v *validator) node(val any, loc string, token *bool) template {
	switch x := val.(type) {
	case map[string]any:
		fields := map[string]template{} // by output name (".$" removed)
		for _, key := range slices.Sorted(maps.Keys(x)) {
			floc := loc + "/" + escapePointer(key)
			name, dynamic := strings.CutSuffix(key, ".$")
			if _, dup := fields[name]; dup {
				v.addf(floc, "field %q duplicates another field: both produce %q", key, name)
			} else if dynamic {
				fields[name] = v.dynamic(key, x[key], floc, token)
			} else {
				fields[name] = v.node(x[key], floc, token)
			}
		}
		return func(input any, tok string) (any, error) {
			out := make(map[string]any, len(fields))
			for name, f := range fields {
				v, err := f(input, tok)
				if err != nil {
					return nil, err
				}
				out[name] = v
			}
			return out, nil
		}
	case []any:
		items := make([]template, len(x))
		for i, item := range x {
			items[i] = v.node(item, fmt.Sprintf("%s/%d", loc, i), token)
		}
		return func(input any, tok string) (any, error) {
			out := make([]any, len(items))
			for i, f := range items {
				v, err := f(input, tok)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}
	}
	return func(any, string) (any, error) { return val, nil }
}

// dynamic compiles the value of a field ending in ".$": a path or a States.MathAdd invocation.
func (v *validator) dynamic(key string, val any, loc string, token *bool) template {
	s, ok := val.(string)
	switch {
	case !ok:
		v.addf(loc, "the value of a field ending in \".$\" must be a string holding a path or an intrinsic function, got %s", jsonType(val))
	case strings.HasPrefix(s, "States."):
		add, err := parseMathAdd(s)
		if err == nil {
			return add
		}
		v.addf(loc, "%v", err)
	default:
		p, err := parsePath(s)
		if err == nil {
			*token = *token || p.token
			return func(input any, tok string) (any, error) {
				v, ok := p.get(input, tok)
				if !ok {
					return nil, RuntimeError(fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input", p.src, key))
				}
				return v, nil
			}
		}
		v.addf(loc, "%v", err)
	}
	return nil
}

// parseMathAdd compiles States.MathAdd(a, b), the one intrinsic function the interpreter
// implements; each argument is a path or a number. AWS documents the int32 range and rounds
// non-integers to the nearest integer (half up, like Java's Math.round). A missing path raises
// States.Runtime (as for any path); a bad value raises States.IntrinsicFailure.
func parseMathAdd(src string) (template, error) {
	name, rest, _ := strings.Cut(src, "(")
	if name = strings.TrimSpace(name); name != "States.MathAdd" {
		return nil, fmt.Errorf("intrinsic function %s is not supported (only States.MathAdd)", name)
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
	if parts := strings.Split(body, ","); !ok || len(parts) != 2 {
		return nil, fmt.Errorf("invalid intrinsic function %q: States.MathAdd takes 2 arguments, got %d (in parentheses)", src, len(parts))
	}
	var args [2]any // *path or json.Number
	for i, a := range strings.Split(body, ",") {
		a = strings.TrimSpace(a)
		if strings.HasPrefix(a, "$") {
			p, err := parsePath(a)
			if err != nil {
				return nil, err
			}
			args[i] = p
			continue
		}
		lit, err := DecodeJSON([]byte(a))
		if _, isNum := lit.(json.Number); err != nil || !isNum {
			return nil, fmt.Errorf("invalid intrinsic function %q: argument %d of States.MathAdd must be a number or a path", src, i+1)
		}
		args[i] = lit
	}
	return func(input any, _ string) (any, error) {
		var sum int64
		for i, a := range args {
			if p, ok := a.(*path); ok {
				if a, ok = p.get(input, ""); !ok {
					return nil, RuntimeError(fmt.Sprintf("The JSONPath %s in the arguments of States.MathAdd could not be found in the input", p.src))
				}
			}
			f, ok := toFloat(a)
			n := math.Floor(f + 0.5)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				return nil, &Error{Name: ErrorIntrinsicFailure, Cause: fmt.Sprintf("States.MathAdd: argument %d must be a number within the int32 range, got %s", i+1, JSONString(a))}
			}
			sum += int64(n)
		}
		return json.Number(strconv.FormatInt(sum, 10)), nil
	}, nil
}

// choiceRule is a top-level Choice rule: one comparison of Variable with a literal. A missing
// Variable raises States.Runtime, as on AWS. A value of the wrong type for the operator (a number
// for StringEquals) makes the comparison false.
type choiceRule struct {
	next     string
	variable *path
	op       string
	literal  any
}

// comparisons are the supported operators, with the type of literal they take.
var comparisons = map[string]string{"StringEquals": "string", "BooleanEquals": "boolean", "NumericGreaterThan": "number"}

func (r *choiceRule) eval(input any) (bool, error) {
	v, ok := r.variable.get(input, "")
	if !ok {
		return false, RuntimeError(fmt.Sprintf("Invalid path '%s': the choice state's condition path references an undefined value", r.variable.src))
	}
	if r.op == "NumericGreaterThan" {
		a, isNum := toFloat(v)
		b, _ := toFloat(r.literal)
		return isNum && a > b, nil
	}
	// StringEquals, BooleanEquals: the literal is a string or a boolean (Parse checks), so == is
	// false for a value of another type and cannot panic on an object or an array.
	return v == r.literal, nil
}

func (v *validator) choice(st *State, r *rawState, loc string) {
	if len(r.Choices) == 0 {
		v.addf(loc+"/Choices", "Choices must be a non-empty array of rules")
	}
	for i, raw := range r.Choices {
		rloc := fmt.Sprintf("%s/Choices/%d", loc, i)
		val, _ := DecodeJSON(raw)
		m, _ := val.(map[string]any)
		var rule choiceRule
		var ops []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s, _ := m[k].(string)
			switch k {
			case "Comment":
			case "Next":
				rule.next = v.target(rloc+"/Next", s)
			case "Variable":
				rule.variable = v.optPath(rloc+"/Variable", &s)
			default:
				ops = append(ops, k)
			}
		}
		if m["Variable"] == nil || m["Next"] == nil {
			v.addf(rloc, "a Choice rule needs a Variable and a Next (And, Or and Not are not supported)")
		}
		if len(ops) != 1 {
			v.addf(rloc, "a Choice rule needs exactly one operator, found %q", ops)
			continue
		}
		rule.op, rule.literal = ops[0], m[ops[0]]
		if lit, ok := comparisons[rule.op]; !ok {
			v.addf(rloc+"/"+rule.op, "the Choice operator %s is not supported (StringEquals, BooleanEquals, NumericGreaterThan)", rule.op)
		} else if got := jsonType(rule.literal); got != lit {
			v.addf(rloc+"/"+rule.op, "%s takes a %s, got %s", rule.op, lit, got)
		}
		st.choices = append(st.choices, rule)
	}
	if r.Default != nil {
		st.defaultNext = v.target(loc+"/Default", *r.Default)
	}
}
