package asl

import (
	"errors"
	"strings"
	"testing"
)

func evalIntrinsic(t *testing.T, expr, input string) (any, error) {
	t.Helper()
	call, err := parseIntrinsic(expr)
	if err != nil {
		t.Fatalf("parseIntrinsic(%q): %v", expr, err)
	}
	en := staticEnv{map[string]any{"State": map[string]any{"Name": "S"}}}
	return call.eval(mustJSON(t, input), en)
}

// The examples are those of the AWS documentation for intrinsic functions, plus edge cases.
func TestIntrinsics(t *testing.T) {
	tests := []struct {
		name, expr, input, want string
	}{
		{"Format literal", "States.Format('Hello, my name is {}.', $.name)", `{"name":"Arnav"}`, `"Hello, my name is Arnav."`},
		{"Format from path", "States.Format($.template, $.name)", `{"name":"Arnav","template":"Hello, my name is {}."}`, `"Hello, my name is Arnav."`},
		{"Format escapes", `States.Format('\{\} \'q\' \\ {}', 'x')`, `{}`, `"{} 'q' \\ x"`},
		{"Format value types", "States.Format('{}|{}|{}|{}', 1.50, true, null, -3)", `{}`, `"1.50|true|null|-3"`},
		{"Format no placeholders", "States.Format('plain')", `{}`, `"plain"`},
		{"Format context", "States.Format('in {}', $$.State.Name)", `{}`, `"in S"`},
		{"StringToJson", "States.StringToJson($.escapedJsonString)", `{"escapedJsonString":"{\"foo\": \"bar\"}"}`, `{"foo":"bar"}`},
		{"StringToJson number", "States.StringToJson('12.5')", `{}`, `12.5`},
		{"MathAdd", "States.MathAdd($.value1, $.step)", `{"value1":111,"step":-1}`, `110`},
		{"MathAdd rounds", "States.MathAdd($.a, 1)", `{"a":1.5}`, `3`},
		{"MathAdd rounds half up", "States.MathAdd($.a, 0)", `{"a":-2.5}`, `-2`},
		{"nested", "States.Format('{}+1={}', $.n, States.MathAdd($.n, 1))", `{"n":41}`, `"41+1=42"`},
		{"spaces between arguments", "States.MathAdd( 1 ,  $.a )", `{"a":2}`, `3`},
		{"quoted path argument with comma", "States.MathAdd($['a,b'], 0)", `{"a,b":1}`, `1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalIntrinsic(t, tt.expr, tt.input)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !jsonEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", jsonString(got), tt.want)
			}
		})
	}
}

func TestIntrinsicFailures(t *testing.T) {
	tests := []struct {
		name, expr, input, wantErr, want string
	}{
		{"Format too few values", "States.Format('{} {}', 1)", `{}`, ErrorIntrinsicFailure, "more {} placeholders"},
		{"Format too many values", "States.Format('{}', 1, 2)", `{}`, ErrorIntrinsicFailure, "1 {} placeholder(s) but 2"},
		{"Format object value", "States.Format('{}', $.o)", `{"o":{}}`, ErrorIntrinsicFailure, "got object"},
		{"Format template not string", "States.Format($.n)", `{"n":1}`, ErrorIntrinsicFailure, "must be a string"},
		{"StringToJson invalid", "States.StringToJson($.s)", `{"s":"{nope"}`, ErrorIntrinsicFailure, "not valid JSON"},
		{"MathAdd string", "States.MathAdd($.a, 1)", `{"a":"1"}`, ErrorIntrinsicFailure, "must be a number"},
		{"MathAdd range", "States.MathAdd($.a, 1)", `{"a":2147483648}`, ErrorIntrinsicFailure, "outside the range"},
		{"missing path argument", "States.Format('{}', $.missing)", `{}`, ErrorRuntime, "The JSONPath $.missing"},
		{"nested failure keeps its name", "States.Format('{}', States.MathAdd($.a, 1))", `{"a":"x"}`, ErrorIntrinsicFailure, "States.MathAdd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := evalIntrinsic(t, tt.expr, tt.input)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a %s", err, tt.wantErr)
			}
			if se.Name != tt.wantErr || !strings.Contains(se.Cause, tt.want) {
				t.Errorf("got %s %q, want %s containing %q", se.Name, se.Cause, tt.wantErr, tt.want)
			}
		})
	}
}

func TestParseIntrinsicRejects(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"States.Nope()", "unknown intrinsic function"},
		{"States.Format", "expected '('"},
		{"States.Format('a'", "missing ')'"},
		{"States.Format('a') x", "unexpected"},
		{"States.Format('a\\qb')", "open escape"},
		{"States.Format('unterminated)", "unterminated string"},
		{"States.MathAdd(1)", "takes 2 argument(s)"},
		{"States.Format('{}',)", "unexpected"},
		{"States.Format('{}', @)", "unexpected"},
		{"States.Format('{}', $..a)", "recursive descent"},
		{"States.MathAdd(1.2.3, 1)", "invalid number"},
		{"States.Format('{}', truth)", "unexpected"},
		{"States.MathAdd($.a, 'no')", "must be a number"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := parseIntrinsic(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseIntrinsic(%q) = %v, want an error mentioning %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestParseIntrinsicRefusesUnusedFunctions(t *testing.T) {
	for _, name := range refusedIntrinsics {
		_, err := parseIntrinsic(name + "()")
		if err == nil || !strings.Contains(err.Error(), name+" is not supported by this interpreter") {
			t.Errorf("parseIntrinsic(%s()) = %v, want it refused by name", name, err)
		}
	}
}
