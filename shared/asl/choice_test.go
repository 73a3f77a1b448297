package asl

import (
	"errors"
	"strings"
	"testing"
)

func compileTestRule(t *testing.T, rule string) condition {
	t.Helper()
	v := &validator{}
	cond, _ := v.compileRule(mustJSON(t, rule), "", false)
	if len(v.problems) > 0 {
		t.Fatalf("rule %s: %v", rule, v.problems)
	}
	return cond
}

func TestChoiceRules(t *testing.T) {
	input := `{"s":"apple","t":"banana","n":10,"f":2.5,"big":1e3,"b":true,"z":null,"o":{},"a":[]}`
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"apple"}`, true},
		{`{"Variable":"$.s","StringEquals":"Apple"}`, false},
		{`{"Variable":"$.n","StringEquals":"10"}`, false},
		{`{"Variable":"$.n","NumericEquals":10}`, true},
		{`{"Variable":"$.n","NumericEquals":10.0}`, true},
		{`{"Variable":"$.big","NumericEquals":1000}`, true},
		{`{"Variable":"$.s","NumericEquals":10}`, false},
		{`{"Variable":"$.f","NumericLessThan":3}`, true},
		{`{"Variable":"$.f","NumericGreaterThan":2.5}`, false},
		{`{"Variable":"$.f","NumericGreaterThanEquals":2.5}`, true},
		{`{"Variable":"$.f","NumericLessThanEquals":2.4}`, false},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEquals":false}`, false},
		{`{"Variable":"$.n","BooleanEquals":true}`, false},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.o","IsNull":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.z","IsPresent":true}`, true},
		{`{"Variable":"$.a","IsPresent":true}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":10},{"Variable":"$.b","BooleanEquals":true}]}`, true},
		{`{"And":[{"Variable":"$.n","NumericEquals":10},{"Variable":"$.b","BooleanEquals":false}]}`, false},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.b","BooleanEquals":true}]}`, true},
		{`{"Or":[{"Variable":"$.n","NumericEquals":1},{"Variable":"$.b","BooleanEquals":false}]}`, false},
		{`{"Not":{"Variable":"$.n","NumericEquals":1}}`, true},
		{`{"Not":{"And":[{"Variable":"$.missing","IsPresent":true},{"Variable":"$.missing","StringEquals":"x"}]}}`, true},
		{`{"Or":[{"Variable":"$.s","IsPresent":true},{"Variable":"$.missing","StringEquals":"x"}]}`, true},
	}
	in := mustJSON(t, input)
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := compileTestRule(t, tt.rule).eval(in, nil)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestChoiceRuleMissingVariable(t *testing.T) {
	rules := []string{
		`{"Variable":"$.missing","StringEquals":"x"}`,
		`{"Variable":"$.missing","IsNull":true}`,
		`{"And":[{"Variable":"$.s","IsPresent":true},{"Variable":"$.missing","NumericEquals":1}]}`,
	}
	in := mustJSON(t, `{"s":"x"}`)
	for _, rule := range rules {
		t.Run(rule, func(t *testing.T) {
			_, err := compileTestRule(t, rule).eval(in, nil)
			var se *Error
			if !errors.As(err, &se) || se.Name != ErrorRuntime || !strings.Contains(se.Cause, "$.missing") {
				t.Errorf("err = %v, want States.Runtime naming $.missing", err)
			}
		})
	}
}

func TestRefusedChoiceOperators(t *testing.T) {
	for _, op := range []string{`"StringLessThan":"a"`, `"StringMatches":"a*"`, `"StringEqualsPath":"$.t"`,
		`"TimestampEquals":"2024-01-02T03:04:05Z"`, `"IsString":true`, `"NumericEqualsPath":"$.n"`, `"BooleanEqualsPath":"$.b"`} {
		t.Run(op, func(t *testing.T) {
			v := &validator{}
			v.compileRule(mustJSON(t, `{"Variable":"$.s",`+op+`}`), "/States/S/Choices/0", false)
			if got := strings.Join(v.problems, "; "); !strings.Contains(got, "is not supported by this interpreter") || !strings.Contains(got, "/States/S/") {
				t.Errorf("problems = %q, want the operator refused at the state", got)
			}
		})
	}
}

func TestErrorMatching(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"Custom.X", "Custom.X", true},
		{"Custom.X", "Custom.Y", false},
		{ErrorAll, "Custom.X", true},
		{ErrorAll, ErrorTimeout, true},
		{ErrorTaskFailed, "TransientError", true},
		{ErrorTaskFailed, ErrorLambdaNotFound, true},
		{ErrorTaskFailed, ErrorTimeout, false},
		{ErrorTaskFailed, ErrorHeartbeatTimeout, false},
		{ErrorTimeout, ErrorTimeout, true},
		{ErrorTimeout, ErrorHeartbeatTimeout, true},
		{ErrorHeartbeatTimeout, ErrorTimeout, false},
		{ErrorHeartbeatTimeout, ErrorHeartbeatTimeout, true},
	}
	for _, tt := range tests {
		if got := errorMatches(tt.pattern, tt.name); got != tt.want {
			t.Errorf("errorMatches(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	for _, name := range []string{ErrorRuntime, ErrorDataLimitExceeded} {
		if (&Error{Name: name}).Catchable() {
			t.Errorf("%s must not be catchable", name)
		}
	}
}
