package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/waes/onboarding/shared/asl"
)

// chainDefinition builds n states of one kind, each passing to the next.
func chainDefinition(n int, state func(i int) string) []byte {
	var b strings.Builder
	b.WriteString(`{"StartAt":"S0","States":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		next := fmt.Sprintf(`"Next":"S%d"`, i+1)
		if i == n-1 {
			next = `"End":true`
		}
		fmt.Fprintf(&b, `"S%d":{%s,%s}`, i, state(i), next)
	}
	b.WriteString("}}")
	return []byte(b.String())
}

const benchInput = `{"onboardingId":"0b7c6d2e","wabaId":"102290129340398","phoneNumberId":"106540352242922","steps":{"exchange":"done"}}`

// BenchmarkTransition measures the per-state overhead of the interpreter: a chain of Pass states,
// and a chain of Task states calling a trivial in-process handler through lambda:invoke (JSON
// in and out, history events, ResultSelector and ResultPath). It reports ns/transition.
func BenchmarkTransition(b *testing.B) {
	const states = 100
	trivial := lambda.NewHandler(func(_ context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"ok": true}, nil
	})
	chains := []struct {
		name  string
		state func(i int) string
	}{
		{"pass", func(i int) string {
			return fmt.Sprintf(`"Type":"Pass","Parameters":{"step":%d,"id.$":"$.onboardingId","steps.$":"$.steps"},"ResultPath":"$.last"`, i)
		}},
		{"task", func(i int) string {
			return `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload.$":"$"},` +
				`"ResultSelector":{"ok.$":"$.Payload.ok"},"ResultPath":"$.last","TimeoutSeconds":60,` +
				`"Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":2,"MaxAttempts":3,"JitterStrategy":"FULL"}]`
		}},
	}
	for _, c := range chains {
		b.Run(c.name, func(b *testing.B) {
			def, err := asl.Parse(chainDefinition(states, c.state))
			if err != nil {
				b.Fatal(err)
			}
			eng := New(def, Options{Clock: NewFakeClock(corpusStart), Functions: map[string]lambdaHandler{"step": trivial}})
			defer eng.Shutdown(context.Background())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				arn, err := eng.StartExecution(context.Background(), fmt.Sprintf("bench-%d", i), []byte(benchInput))
				if err != nil {
					b.Fatal(err)
				}
				if d, _ := eng.Wait(context.Background(), arn); d.Status != StatusSucceeded {
					b.Fatalf("status %s: %s", d.Status, d.Cause)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*states), "ns/transition")
		})
	}
}

// BenchmarkRetry measures a retry-heavy task: 50 failures with back-off before a success (on a
// FakeClock, so back-off costs no time).
func BenchmarkRetry(b *testing.B) {
	const failures = 50
	def, err := asl.Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"flaky"},"ResultSelector":{"done.$":"$.Payload.done"},
	  "Retry":[{"ErrorEquals":["Graph.TransientError"],"IntervalSeconds":1,"BackoffRate":1.5,"MaxAttempts":60,"MaxDelaySeconds":30,"JitterStrategy":"FULL"}],"End":true}}}`))
	if err != nil {
		b.Fatal(err)
	}
	calls := 0 // invocations of one function are serialised
	flaky := lambda.NewHandler(func(context.Context) (json.RawMessage, error) {
		if calls++; calls%(failures+1) != 0 {
			return nil, messages.InvokeResponse_Error{Type: "Graph.TransientError", Message: "(#2) Service temporarily unavailable"}
		}
		return json.RawMessage(`{"done":true}`), nil
	})
	eng := New(def, Options{Clock: NewFakeClock(corpusStart), Functions: map[string]lambdaHandler{"flaky": flaky}})
	defer eng.Shutdown(context.Background())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		arn, err := eng.StartExecution(context.Background(), fmt.Sprintf("retry-%d", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		if d, _ := eng.Wait(context.Background(), arn); d.Status != StatusSucceeded {
			b.Fatalf("status %s: %s %s", d.Status, d.Error, d.Cause)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(failures+1)), "ns/attempt")
}

// BenchmarkParse measures parsing and validating a definition of 100 Task states.
func BenchmarkParse(b *testing.B) {
	def := chainDefinition(100, func(int) string {
		return `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"step","Payload":{"id.$":"$.id","n.$":"States.MathAdd($.a, 1)"}},` +
			`"Retry":[{"ErrorEquals":["TransientError"],"JitterStrategy":"FULL","MaxDelaySeconds":30}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"S99","ResultPath":"$.error"}]`
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := asl.Parse(def); err != nil {
			b.Fatal(err)
		}
	}
}
