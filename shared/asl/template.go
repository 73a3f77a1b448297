package asl

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// tnode is a compiled Parameters or ResultSelector value: JSON in which every object field whose
// name ends in ".$" is replaced by the value of its path or of its States.MathAdd invocation.
type tnode struct {
	lit   any
	path  *path
	add   *mathAdd
	obj   map[string]*tnode // by output name (".$" removed)
	arr   []*tnode
	isArr bool
	key   string // a dynamic field as written, for messages
}

// template compiles a payload template; it returns nil for an absent one.
func (v *validator) template(raw json.RawMessage, loc string) *tnode {
	if raw == nil {
		return nil
	}
	val, err := DecodeJSON(raw)
	if err != nil {
		v.addf(loc, "%v", err)
	}
	return v.node(val, loc)
}

func (v *validator) node(val any, loc string) *tnode {
	switch x := val.(type) {
	case map[string]any:
		n := &tnode{obj: map[string]*tnode{}}
		for _, key := range sortedKeys(x) {
			floc := loc + "/" + escapePointer(key)
			name, dynamic := strings.CutSuffix(key, ".$")
			if _, dup := n.obj[name]; dup {
				v.addf(floc, "field %q duplicates another field: both produce %q", key, name)
				continue
			}
			if !dynamic {
				n.obj[name] = v.node(x[key], floc)
				continue
			}
			c, err := &tnode{key: key}, error(nil)
			switch s, ok := x[key].(string); {
			case !ok:
				err = fmt.Errorf("the value of a field ending in \".$\" must be a string holding a path or an intrinsic function, got %s", jsonType(x[key]))
			case strings.HasPrefix(s, "States."):
				c.add, err = parseMathAdd(s)
			default:
				c.path, err = parsePath(s)
			}
			if err != nil {
				v.addf(floc, "%v", err)
			}
			n.obj[name] = c
		}
		return n
	case []any:
		n := &tnode{isArr: true}
		for i, item := range x {
			n.arr = append(n.arr, v.node(item, fmt.Sprintf("%s/%d", loc, i)))
		}
		return n
	}
	return &tnode{lit: val}
}

func (n *tnode) eval(input any, token string) (any, error) {
	switch {
	case n.path != nil:
		v, ok := n.path.get(input, token)
		if !ok {
			return nil, RuntimeError(fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input", n.path.src, n.key))
		}
		return v, nil
	case n.add != nil:
		return n.add.eval(input)
	case n.obj != nil:
		out := make(map[string]any, len(n.obj))
		for name, c := range n.obj {
			v, err := c.eval(input, token)
			if err != nil {
				return nil, err
			}
			out[name] = v
		}
		return out, nil
	case n.isArr:
		out := make([]any, len(n.arr))
		for i, c := range n.arr {
			v, err := c.eval(input, token)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return n.lit, nil
}

// usesToken reports whether some path of the template reads $$.Task.Token (only callback tasks may).
func (n *tnode) usesToken() bool {
	if n == nil {
		return false
	}
	uses := n.path != nil && n.path.token
	for _, c := range n.obj {
		uses = uses || c.usesToken()
	}
	for _, c := range n.arr {
		uses = uses || c.usesToken()
	}
	return uses
}

// mathAdd is States.MathAdd(a, b), the one intrinsic function the interpreter implements; each
// argument is a *path or a json.Number.
type mathAdd struct{ args [2]any }

func parseMathAdd(src string) (*mathAdd, error) {
	name, rest, _ := strings.Cut(src, "(")
	if name = strings.TrimSpace(name); name != "States.MathAdd" {
		return nil, fmt.Errorf("intrinsic function %s is not supported (only States.MathAdd)", name)
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), ")")
	if parts := strings.Split(body, ","); !ok || len(parts) != 2 {
		return nil, fmt.Errorf("invalid intrinsic function %q: States.MathAdd takes 2 arguments, got %d (in parentheses)", src, len(parts))
	}
	c := &mathAdd{}
	for i, a := range strings.Split(body, ",") {
		a = strings.TrimSpace(a)
		if strings.HasPrefix(a, "$") {
			p, err := parsePath(a)
			if err != nil {
				return nil, err
			}
			c.args[i] = p
			continue
		}
		lit, err := DecodeJSON([]byte(a))
		if _, isNum := lit.(json.Number); err != nil || !isNum {
			return nil, fmt.Errorf("invalid intrinsic function %q: argument %d of States.MathAdd must be a number or a path", src, i+1)
		}
		c.args[i] = lit
	}
	return c, nil
}

// eval adds the arguments. AWS documents the int32 range and rounds non-integers to the nearest
// integer (half up, like Java's Math.round). A missing path raises States.Runtime (as for any
// path); a bad value raises States.IntrinsicFailure.
func (c *mathAdd) eval(input any) (any, error) {
	var sum int64
	for i, a := range c.args {
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
	switch v.(type) {
	case string, bool: // StringEquals, BooleanEquals: a literal equals only a value of its type
		return v == r.literal, nil
	}
	return false, nil
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
		for _, k := range sortedKeys(m) {
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
