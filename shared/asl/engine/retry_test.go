package engine

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	half := func() float64 { return 0.5 }
	tests := []struct {
		name string
		r    retrier
		rnd  func() float64
		want []time.Duration // delays before retries 0, 1, 2, ...
	}{
		{"defaults", retrier{interval: 1, backoff: 2}, nil, []time.Duration{sec(1), sec(2), sec(4), sec(8)}},
		{"rate 1 is constant", retrier{interval: 5, backoff: 1}, nil, []time.Duration{sec(5), sec(5), sec(5)}},
		{"fractional rate", retrier{interval: 2, backoff: 1.5}, nil, []time.Duration{sec(2), sec(3), sec(4.5), sec(6.75)}},
		{"capped by MaxDelaySeconds", retrier{interval: 3, backoff: 2, maxDelay: 10}, nil, []time.Duration{sec(3), sec(6), sec(10), sec(10)}},
		{"full jitter scales the capped delay", retrier{interval: 3, backoff: 2, maxDelay: 10, jitterFull: true}, half, []time.Duration{sec(1.5), sec(3), sec(5), sec(5)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, want := range tt.want {
				if got := tt.r.delay(int64(n), tt.rnd); got != want {
					t.Errorf("delay(%d) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestRetryDelayJitterBounds(t *testing.T) {
	r := retrier{interval: 4, backoff: 2, maxDelay: 60, jitterFull: true}
	for n := int64(0); n < 8; n++ {
		ceiling := time.Duration(math.Min(4*math.Pow(2, float64(n)), 60) * float64(time.Second))
		if got := r.delay(n, func() float64 { return 0 }); got != 0 {
			t.Errorf("delay(%d) with rand 0 = %v, want 0", n, got)
		}
		if got := r.delay(n, func() float64 { return math.Nextafter(1, 0) }); got >= ceiling || got < ceiling-time.Microsecond {
			t.Errorf("delay(%d) with rand just below 1 = %v, want just below %v", n, got, ceiling)
		}
	}
}

func TestRetryDelayDoesNotOverflow(t *testing.T) {
	r := retrier{interval: maxSeconds, backoff: 1000}
	if got := r.delay(maxSeconds, nil); got <= 0 || got > maxRetryDelay {
		t.Errorf("delay = %v, want a positive delay of at most %v", got, maxRetryDelay)
	}
}

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
