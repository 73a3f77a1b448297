package asl

import (
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	vars := map[string]string{
		"SubscribeFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:subscribe",
		"Timeout":              "60",
		"Stage.Name":           "prod",
	}
	tests := []struct {
		name, in, want string
	}{
		{"string value", `{"FunctionName":"${SubscribeFunctionArn}"}`, `{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:subscribe"}`},
		{"raw number", `{"TimeoutSeconds":${Timeout}}`, `{"TimeoutSeconds":60}`},
		{"inside a string", `{"Comment":"stage ${Stage.Name}, timeout ${Timeout}s"}`, `{"Comment":"stage prod, timeout 60s"}`},
		{"escape", `{"Comment":"${!Timeout} stays"}`, `{"Comment":"${Timeout} stays"}`},
		{"not a placeholder", `{"x.$":"States.Format('${} and $ and ${ }', 1)"}`, `{"x.$":"States.Format('${} and $ and ${ }', 1)"}`},
		{"unterminated", `{"Comment":"${Timeout"}`, `{"Comment":"${Timeout"}`},
		{"nothing to do", `{"a":1}`, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Substitute([]byte(tt.in), vars)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSubstituteMissing(t *testing.T) {
	_, err := Substitute([]byte(`{"a":"${One}","b":"${Two}","c":"${One}","d":"${Known}"}`), map[string]string{"Known": "k"})
	if err == nil || !strings.Contains(err.Error(), "no value for ${One}, ${Two}") {
		t.Errorf("err = %v, want it to list ${One}, ${Two} once each", err)
	}
}

func TestSubstituteThenParse(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"${Fn}","Payload.$":"$"},"TimeoutSeconds":${Timeout},"End":true}}}`
	if _, err := Parse([]byte(def)); err == nil {
		t.Fatal("Parse accepted a definition with placeholders")
	}
	out, err := Substitute([]byte(def), map[string]string{"Fn": "subscribe", "Timeout": "30"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse after Substitute: %v", err)
	}
	if got := d.State("T").Task().Function; got != "subscribe" {
		t.Errorf("Function = %q, want subscribe", got)
	}
}
