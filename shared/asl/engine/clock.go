package engine

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is the engine's source of time. The engine sleeps through Wait states and retry back-off
// with Sleep, and arms task, heartbeat and execution timeouts with AfterFunc. Production and the
// local runner use the real clock (the default); tests use a FakeClock so that nothing sleeps.
type Clock interface {
	Now() time.Time
	// Sleep blocks for d, or until ctx is done, in which case it returns context.Cause(ctx).
	Sleep(ctx context.Context, d time.Duration) error
	// AfterFunc arranges for f to run once d has elapsed; stop cancels it and reports whether it
	// did so before f ran.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// FakeClock is a virtual clock for tests. Time moves only in Advance, AdvanceToNext and Sleep,
// which returns at once after moving the clock by d (and records d: Sleeps), so waits and
// back-off take no real time. Advance and Sleeps, which only this package's tests call, are in
// clock_test.go. Timers fire synchronously, in deadline order, inside the call that
// moves the clock past them; a sleep in one execution can so fire another execution's timeout.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer // in the order they were armed
	sleeps []time.Duration
}

type fakeTimer struct {
	when time.Time
	f    func()
}

// NewFakeClock returns a FakeClock set to start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the virtual time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep records d and moves the clock forward by d at once.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	target := c.now.Add(max(d, 0))
	c.mu.Unlock()
	c.advanceTo(target)
	return context.Cause(ctx)
}

// AfterFunc arms a virtual timer.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{when: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		n := len(c.timers)
		c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
		return len(c.timers) < n // still pending: not fired
	}
}

// AdvanceToNext moves the clock to the earliest pending timer and fires it. It returns the
// distance moved and false when nothing was pending.
func (c *FakeClock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	next, from := c.earliestLocked(), c.now
	c.mu.Unlock()
	if next == nil {
		return 0, false
	}
	c.advanceTo(next.when)
	return max(next.when.Sub(from), 0), true
}

// earliestLocked returns the timer due first; of timers due at once, the one armed first.
func (c *FakeClock) earliestLocked() *fakeTimer {
	if len(c.timers) == 0 {
		return nil
	}
	return slices.MinFunc(c.timers, func(a, b *fakeTimer) int { return a.when.Compare(b.when) })
}

func (c *FakeClock) advanceTo(target time.Time) {
	for {
		c.mu.Lock()
		t := c.earliestLocked()
		if t == nil || t.when.After(target) {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
	}
}
