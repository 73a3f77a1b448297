package asl

import (
	"math"
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
				if got := (&State{retry: []*retrier{&tt.r}}).RetryDelay(0, int64(n), tt.rnd); got != want {
					t.Errorf("delay(%d) = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestRetryDelayJitterBounds(t *testing.T) {
	st := &State{retry: []*retrier{{interval: 4, backoff: 2, maxDelay: 60, jitterFull: true}}}
	for n := int64(0); n < 8; n++ {
		ceiling := time.Duration(math.Min(4*math.Pow(2, float64(n)), 60) * float64(time.Second))
		if got := st.RetryDelay(0, n, func() float64 { return 0 }); got != 0 {
			t.Errorf("delay(%d) with rand 0 = %v, want 0", n, got)
		}
		if got := st.RetryDelay(0, n, func() float64 { return math.Nextafter(1, 0) }); got >= ceiling || got < ceiling-time.Microsecond {
			t.Errorf("delay(%d) with rand just below 1 = %v, want just below %v", n, got, ceiling)
		}
	}
}

func TestRetryDelayDoesNotOverflow(t *testing.T) {
	r := retrier{interval: maxSeconds, backoff: 1000}
	if got := (&State{retry: []*retrier{&r}}).RetryDelay(0, maxSeconds, nil); got <= 0 || got > maxRetryDelay {
		t.Errorf("delay = %v, want a positive delay of at most %v", got, maxRetryDelay)
	}
}
