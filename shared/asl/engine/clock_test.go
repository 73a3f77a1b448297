package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// The FakeClock methods only this package's tests (and its examples) use.

// Sleeps returns the durations passed to Sleep so far, in call order.
func (c *FakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// Advance moves the clock forward by d, firing every timer that falls due on the way, each with
// the clock set to its deadline. Callbacks run synchronously, outside the clock's lock.
func (c *FakeClock) Advance(d time.Duration) { c.advanceTo(c.Now().Add(d)) }

func TestFakeClockAdvanceFiresInOrder(t *testing.T) {
	c := NewFakeClock(corpusStart)
	var mu sync.Mutex
	var fired []string
	at := map[string]time.Time{}
	arm := func(name string, d time.Duration) func() bool {
		return c.AfterFunc(d, func() {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, name)
			at[name] = c.Now()
		})
	}
	arm("b", 2*time.Second)
	arm("a", time.Second)
	stopC := arm("c", 3*time.Second)
	arm("d", 10*time.Second)
	if !stopC() {
		t.Error("stopping a pending timer reported false")
	}
	c.Advance(5 * time.Second)
	if want := []string{"a", "b"}; !slices.Equal(fired, want) {
		t.Errorf("fired %q, want %q", fired, want)
	}
	if got, want := at["b"], corpusStart.Add(2*time.Second); !got.Equal(want) {
		t.Errorf("b ran at %v, want its deadline %v", got, want)
	}
	if got, want := c.Now(), corpusStart.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v, want %v", got, want)
	}
	if d, ok := c.AdvanceToNext(); !ok || d != 5*time.Second || !slices.Equal(fired, []string{"a", "b", "d"}) {
		t.Errorf("AdvanceToNext = %v, %v; fired %q", d, ok, fired)
	}
	if _, ok := c.AdvanceToNext(); ok {
		t.Error("AdvanceToNext with nothing pending reported true")
	}
}

func TestFakeClockInstantSleep(t *testing.T) {
	c := NewFakeClock(corpusStart)
	fired := false
	c.AfterFunc(3*time.Second, func() { fired = true })
	if err := c.Sleep(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !fired || !c.Now().Equal(corpusStart.Add(5*time.Second)) {
		t.Errorf("after an instant 5 s sleep: timer fired %v, now %v", fired, c.Now())
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("closed")
	cancel(cause)
	if err := c.Sleep(ctx, time.Second); !errors.Is(err, cause) {
		t.Errorf("Sleep on a cancelled context = %v, want its cause", err)
	}
	if got, want := c.Sleeps(), []time.Duration{5 * time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("Sleeps() = %v, want %v", got, want)
	}
}

func TestRealClock(t *testing.T) {
	var c realClock
	if err := c.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Sleep = %v", err)
	}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired
	if c.AfterFunc(time.Hour, func() {})() != true {
		t.Error("stop of a pending real timer reported false")
	}
}
