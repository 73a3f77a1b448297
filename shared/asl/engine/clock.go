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
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// FakeClock is a virtual clock for tests. Time moves only when Advance is called or when
// something sleeps: by default Sleep returns at once after moving the clock forward by d, so Wait
// states and retry back-off take no real time while history timestamps, Wait Timestamp arithmetic
// and execution timeouts still see the virtual time pass. Timers armed with AfterFunc (task,
// heartbeat and execution timeouts) fire synchronously, in deadline order, inside the Advance or
// Sleep call that moves the clock past them. Durations passed to Sleep are recorded (Sleeps).
//
// Because sleeping moves the shared clock, a sleep in one execution can fire a timeout in another
// execution running concurrently on the same FakeClock; tests that need several executions with
// timeouts should use SetInstantSleep(false) and drive time explicitly with Advance.
type FakeClock struct {
	mu       sync.Mutex
	now      time.Time
	seq      int
	timers   []*fakeTimer
	sleeps   []time.Duration
	blocking bool          // Sleep blocks until Advance (SetInstantSleep(false))
	changed  chan struct{} // closed and replaced whenever timers or sleepers change
}

type fakeTimer struct {
	when  time.Time
	seq   int
	f     func()        // AfterFunc
	wake  chan struct{} // blocking Sleep
	fired bool
}

// NewFakeClock returns a FakeClock set to start, with instant sleeps.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

// SetInstantSleep chooses whether Sleep returns at once (true, the default) or blocks until
// Advance moves the clock past its end (false), which lets a test observe an execution inside a
// Wait state or a retry back-off.
func (c *FakeClock) SetInstantSleep(instant bool) {
	c.mu.Lock()
	c.blocking = !instant
	c.mu.Unlock()
}

// Now returns the virtual time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleeps returns the durations passed to Sleep so far, in call order.
func (c *FakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// Pending returns the number of armed timers and blocked sleepers.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until at least n timers or sleepers are pending, or ctx is done.
func (c *FakeClock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Sleep records d and, with instant sleeps, moves the clock forward by d at once.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	if !c.blocking {
		c.mu.Unlock()
		if d > 0 {
			c.Advance(d)
		}
		return context.Cause(ctx)
	}
	if d <= 0 {
		c.mu.Unlock()
		return context.Cause(ctx)
	}
	t := c.addLocked(d, nil)
	c.mu.Unlock()
	select {
	case <-t.wake:
		return context.Cause(ctx)
	case <-ctx.Done():
		c.remove(t)
		return context.Cause(ctx)
	}
}

// AfterFunc arms a virtual timer.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	t := c.addLocked(d, f)
	c.mu.Unlock()
	return func() bool { return c.remove(t) }
}

func (c *FakeClock) addLocked(d time.Duration, f func()) *fakeTimer {
	c.seq++
	t := &fakeTimer{when: c.now.Add(d), seq: c.seq, f: f}
	if f == nil {
		t.wake = make(chan struct{})
	}
	c.timers = append(c.timers, t)
	c.notifyLocked()
	return t
}

func (c *FakeClock) remove(t *fakeTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.fired {
		return false
	}
	c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
	t.fired = true
	c.notifyLocked()
	return true
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock forward by d, firing every timer that falls due on the way, each with
// the clock set to its deadline. Callbacks run synchronously, outside the clock's lock.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.advanceTo(target)
}

// AdvanceToNext moves the clock to the earliest pending timer or sleeper and fires it. It returns
// the distance moved and false when nothing was pending.
func (c *FakeClock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return 0, false
	}
	next := c.earliestLocked()
	from := c.now
	c.mu.Unlock()
	c.advanceTo(next.when)
	return max(next.when.Sub(from), 0), true
}

func (c *FakeClock) earliestLocked() *fakeTimer {
	var best *fakeTimer
	for _, t := range c.timers {
		if best == nil || t.when.Before(best.when) || (t.when.Equal(best.when) && t.seq < best.seq) {
			best = t
		}
	}
	return best
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
		t.fired = true
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.notifyLocked()
		c.mu.Unlock()
		if t.f != nil {
			t.f()
		} else {
			close(t.wake)
		}
	}
}
