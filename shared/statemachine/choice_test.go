package statemachine

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
	input := `{"s":"apple","t":"banana","n":10,"f":2.5,"big":1e3,"b":true,"z":null,"ts":"2024-01-02T03:04:05Z",
	  "ts2":"2024-01-02T05:04:05+02:00","bad":"2024-01-02T03:04:05","o":{},"a":[],"emoji":"😀","bmp":"\uffff",
	  "glob":"log-2024.txt","star":"a*b","back":"a\\b"}`
	tests := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"apple"}`, true},
		{`{"Variable":"$.s","StringEquals":"Apple"}`, false},
		{`{"Variable":"$.n","StringEquals":"10"}`, false},
		{`{"Variable":"$.s","StringLessThan":"banana"}`, true},
		{`{"Variable":"$.s","StringGreaterThan":"banana"}`, false},
		{`{"Variable":"$.s","StringLessThanEquals":"apple"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEquals":"apple"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.t"}`, false},
		{`{"Variable":"$.s","StringLessThanPath":"$.t"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.n"}`, false},
		// Java orders strings by UTF-16 code units: U+1F600 (surrogates D83D..) sorts before U+FFFF.
		{`{"Variable":"$.emoji","StringLessThanPath":"$.bmp"}`, true},
		{`{"Variable":"$.glob","StringMatches":"log-*.txt"}`, true},
		{`{"Variable":"$.glob","StringMatches":"*.txt"}`, true},
		{`{"Variable":"$.glob","StringMatches":"log-*"}`, true},
		{`{"Variable":"$.glob","StringMatches":"*"}`, true},
		{`{"Variable":"$.glob","StringMatches":"*2024*"}`, true},
		{`{"Variable":"$.glob","StringMatches":"log-*.csv"}`, false},
		{`{"Variable":"$.glob","StringMatches":"log"}`, false},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.glob","StringMatches":"log-\\*"}`, false},
		{`{"Variable":"$.back","StringMatches":"a\\\\b"}`, true},
		{`{"Variable":"$.n","NumericEquals":10}`, true},
		{`{"Variable":"$.n","NumericEquals":10.0}`, true},
		{`{"Variable":"$.big","NumericEquals":1000}`, true},
		{`{"Variable":"$.s","NumericEquals":10}`, false},
		{`{"Variable":"$.f","NumericLessThan":3}`, true},
		{`{"Variable":"$.f","NumericGreaterThan":2.5}`, false},
		{`{"Variable":"$.f","NumericGreaterThanEquals":2.5}`, true},
		{`{"Variable":"$.f","NumericLessThanEquals":2.4}`, false},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.f"}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.s"}`, false},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEquals":false}`, false},
		{`{"Variable":"$.n","BooleanEquals":true}`, false},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.b"}`, true},
		{`{"Variable":"$.ts","TimestampEquals":"2024-01-02T03:04:05.000Z"}`, true},
		{`{"Variable":"$.ts","TimestampEqualsPath":"$.ts2"}`, true},
		{`{"Variable":"$.ts","TimestampLessThan":"2024-01-02T03:04:06Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThan":"2024-01-02T03:04:06Z"}`, false},
		{`{"Variable":"$.ts","TimestampLessThanEquals":"2024-01-02T03:04:05Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThanEqualsPath":"$.ts2"}`, true},
		{`{"Variable":"$.bad","TimestampLessThan":"2030-01-01T00:00:00Z"}`, false},
		{`{"Variable":"$.n","TimestampLessThan":"2030-01-01T00:00:00Z"}`, false},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.n","IsString":false}`, true},
		{`{"Variable":"$.n","IsNumeric":true}`, true},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.z","IsNull":true}`, true},
		{`{"Variable":"$.o","IsNull":true}`, false},
		{`{"Variable":"$.ts","IsTimestamp":true}`, true},
		{`{"Variable":"$.bad","IsTimestamp":true}`, false},
		{`{"Variable":"$.a","IsNumeric":false}`, true},
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
		`{"Variable":"$.s","StringEqualsPath":"$.missing"}`,
		`{"And":[{"Variable":"$.s","IsPresent":true},{"Variable":"$.missing","NumericEquals":1}]}`,
	}
	in := mustJSON(t, `{"s":"x"}`)
	for _, rule := range rules {
		t.Run(rule, func(t *testing.T) {
			_, err := compileTestRule(t, rule).eval(in, nil)
			var se *stateError
			if !errors.As(err, &se) || se.Name != ErrorRuntime || !strings.Contains(se.Cause, "$.missing") {
				t.Errorf("err = %v, want States.Runtime naming $.missing", err)
			}
		})
	}
}

func TestCompareUTF16(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"a", "b", -1}, {"b", "a", 1}, {"a", "a", 0}, {"a", "ab", -1}, {"", "a", -1},
		{"Z", "a", -1}, {"😀", "\uffff", -1}, {"\uffff", "😀", 1}, {"é", "z", 1},
	}
	for _, tt := range tests {
		got := compareUTF16(tt.a, tt.b)
		if (got < 0 && tt.want >= 0) || (got > 0 && tt.want <= 0) || (got == 0 && tt.want != 0) {
			t.Errorf("compareUTF16(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"**", "abc", true},
		{"a*c", "abbbc", true}, {"a*c", "abbb", false}, {"*a*a*", "banana", true}, {"*x*", "banana", false},
		{"a\\*c", "a*c", true}, {"a\\*c", "abc", false}, {"a\\\\c", "a\\c", true}, {"*.txt", ".txt", true},
		{"a*b*c", "aXbYbZc", true}, {"ü*", "über", true}, {"a", "a", true}, {"a", "ab", false},
		{"a*a", "a", false}, {"a*a", "aa", true}, {"ab*ba", "aba", false}, {"ab*ba", "abba", true},
		{"*ab", "aab", true}, {"ab*", "ab", true}, {"*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 5000), false},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		if got := globMatch(g, tt.s); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
	for _, bad := range []string{"a\\", "a\\b"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) accepted an invalid escape", bad)
		}
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
		if (&stateError{Name: name}).catchable() {
			t.Errorf("%s must not be catchable", name)
		}
	}
}
