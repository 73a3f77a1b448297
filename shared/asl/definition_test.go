package asl

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/waes/onboarding/internal/corpustest"
)

// invalidCase is one file of testdata/invalid: a definition Parse must reject, and substrings
// its error must contain. A definition given as a JSON string is parsed as raw text.
type invalidCase struct {
	Comment    string          `json:"comment"`
	Definition json.RawMessage `json:"definition"`
	Errors     []string        `json:"errors"`
}

func TestParseRejectsInvalidCorpus(t *testing.T) {
	for name, b := range corpustest.Load(t, "invalid") {
		t.Run(name, func(t *testing.T) {
			var c invalidCase
			corpustest.Decode(t, b, &c)
			def := []byte(c.Definition)
			var text string
			if json.Unmarshal(c.Definition, &text) == nil {
				def = []byte(text)
			}
			_, err := Parse(def)
			if err == nil {
				t.Fatalf("Parse accepted an invalid definition (%s)", c.Comment)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %T, want *ValidationError", err)
			}
			for _, want := range c.Errors {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestDefinitionAccessors(t *testing.T) {
	def, err := Parse([]byte(`{
	  "Comment": "accessors",
	  "StartAt": "A",
	  "TimeoutSeconds": 60,
	  "States": {
	    "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "zeta", "Payload.$": "$"}, "Next": "B"},
	    "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:alpha"}, "Next": "C"},
	    "C": {"Type": "Wait", "Seconds": 1, "Next": "D"},
	    "D": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "zeta"}, "End": true}
	  }}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := def.StateNames(), []string{"A", "B", "C", "D"}; !slices.Equal(got, want) {
		t.Errorf("StateNames() = %q, want %q", got, want)
	}
	if got, want := def.TimeoutSeconds(), int64(60); got != want {
		t.Errorf("TimeoutSeconds() = %d, want %d", got, want)
	}
	if got, want := def.State("B").Task().Function, "arn:aws:lambda:eu-west-1:123456789012:function:alpha"; got != want {
		t.Errorf("B's Function = %q, want %q", got, want)
	}
	if got := def.State("nope"); got != nil {
		t.Errorf("State(nope) = %v, want nil", got)
	}
}

func TestParseAcceptsResourceForms(t *testing.T) {
	tests := []struct {
		name     string
		resource string
	}{
		{"invoke", "arn:aws:states:::lambda:invoke"},
		{"china partition", "arn:aws-cn:states:::lambda:invoke"},
		{"callback", "arn:aws:states:::lambda:invoke.waitForTaskToken"},
		{"regional", "arn:aws:states:eu-west-1:123456789012:lambda:invoke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := map[string]any{"Type": "Task", "Resource": tt.resource, "End": true}
			st["Parameters"] = map[string]any{"FunctionName": "f", "Payload": map[string]any{"t.$": "$$.Task.Token"}}
			if !strings.HasSuffix(tt.resource, "waitForTaskToken") {
				st["Parameters"] = map[string]any{"FunctionName": "f"}
			}
			b, _ := json.Marshal(map[string]any{"StartAt": "A", "States": map[string]any{"A": st}})
			if _, err := Parse(b); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}
