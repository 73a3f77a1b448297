package engine

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestRetryDelaysThroughEngine checks that the engine sleeps exactly the computed back-off, with
// the injected random source and TimeScale applied.
func TestRetryDelaysThroughEngine(t *testing.T) {
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"fn"},"End":true,
	  "Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":4,"MaxDelaySeconds":30,"JitterStrategy":"FULL"}]}}}`)
	rands := []float64{0.5, 1.0 / 3, 0.25, 0.1}
	clock := NewFakeClock(corpusStart)
	eng := New(def, Options{
		Clock: clock, TimeScale: 0.5,
		Rand: func() float64 {
			r := rands[0]
			rands = rands[1:]
			return r
		},
		Functions: map[string]lambdaHandler{"fn": failingHandler("Boom")},
	})
	arn := startAndWait(t, eng, "")
	if d, _ := eng.DescribeExecution(arn); d.Status != StatusFailed || d.Error != "Boom" {
		t.Fatalf("got %s %s, want FAILED Boom", d.Status, d.Error)
	}
	// computed: 2, 6, 18, 54->30; jittered: 1, 2, 4.5, 3; scaled by 0.5.
	want := []time.Duration{500 * time.Millisecond, time.Second, 2250 * time.Millisecond, 1500 * time.Millisecond}
	if got := clock.Sleeps(); !slices.Equal(got, want) {
		t.Errorf("sleeps = %v, want %v", got, want)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
