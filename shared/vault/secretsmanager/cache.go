package secretsmanager

import (
	"context"
	"sync"
	"time"
)

// maxFetchTime bounds a shared fetch when the caller that started it has no earlier deadline: the fetch
// outlives that caller's cancellation (other callers wait for it), so it needs a bound of its own.
const maxFetchTime = 30 * time.Second

// maxSlots bounds the number of cached secrets; a warm Lambda sees many WABAs over its life.
const maxSlots = 1024

// cache keeps values for a TTL and lets concurrent callers for the same key share one fetch (a
// singleflight). Errors are not cached. An invalidation (after an own write) discards the value and detaches
// any fetch in flight, so that a caller never reads back a value fetched before its own write.
type cache[T any] struct {
	ttl   time.Duration
	now   func() time.Time
	fetch func(ctx context.Context, key string) (T, error)

	mu    sync.Mutex
	slots map[string]*slot[T]
}

type slot[T any] struct {
	val     T
	expires time.Time
	valid   bool
	// gen counts invalidations; a fetch stores its result only if gen did not change meanwhile.
	gen  uint64
	call *call[T]
}

type call[T any] struct {
	done    chan struct{}
	val     T
	err     error
	waiters int
}

func newCache[T any](ttl time.Duration, now func() time.Time, fetch func(ctx context.Context, key string) (T, error)) *cache[T] {
	return &cache[T]{ttl: ttl, now: now, fetch: fetch, slots: map[string]*slot[T]{}}
}

// get returns the cached value of key, or joins (or starts) a fetch of it. A caller whose ctx ends stops
// waiting; the fetch goes on for the others.
func (c *cache[T]) get(ctx context.Context, key string) (T, error) {
	c.mu.Lock()
	s := c.slots[key]
	if s == nil {
		c.evictLocked()
		s = &slot[T]{}
		c.slots[key] = s
	}
	if s.valid && c.now().Before(s.expires) {
		v := s.val
		c.mu.Unlock()
		return v, nil
	}
	cl := s.call
	if cl == nil {
		cl = &call[T]{done: make(chan struct{})}
		s.call = cl
		fctx, cancel := detach(ctx)
		go c.run(fctx, cancel, key, s, s.gen, cl)
	}
	cl.waiters++
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.val, cl.err
	case <-ctx.Done():
		c.mu.Lock()
		cl.waiters--
		c.mu.Unlock()
		var zero T
		return zero, ctx.Err()
	}
}

func (c *cache[T]) run(ctx context.Context, cancel context.CancelFunc, key string, s *slot[T], gen uint64, cl *call[T]) {
	defer cancel()
	v, err := c.fetch(ctx, key)
	c.mu.Lock()
	if s.call == cl {
		s.call = nil
	}
	if err == nil && s.gen == gen {
		s.val, s.valid, s.expires = v, true, c.now().Add(c.ttl)
	}
	cl.val, cl.err = v, err
	c.mu.Unlock()
	close(cl.done)
}

// invalidate drops the cached value of key and detaches the fetch in flight, if any.
func (c *cache[T]) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.slots[key]; s != nil {
		s.gen++
		s.valid = false
		s.call = nil
		var zero T
		s.val = zero
	}
}

// waiting returns how many callers wait for the fetch of key in flight (for tests).
func (c *cache[T]) waiting(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.slots[key]; s != nil && s.call != nil {
		return s.call.waiters
	}
	return 0
}

// evictLocked keeps the map bounded: it drops expired idle slots, and everything idle if that is not enough.
// c.mu must be held.
func (c *cache[T]) evictLocked() {
	if len(c.slots) < maxSlots {
		return
	}
	now := c.now()
	for k, s := range c.slots {
		if s.call == nil && (!s.valid || !now.Before(s.expires)) {
			delete(c.slots, k)
		}
	}
	if len(c.slots) < maxSlots {
		return
	}
	for k, s := range c.slots {
		if s.call == nil {
			delete(c.slots, k)
		}
	}
}

// detach returns a context for a shared fetch: it keeps ctx's values (request ids for logs) but not its
// cancellation, since other callers may be waiting for the result; it keeps ctx's deadline, capped.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	deadline := time.Now().Add(maxFetchTime)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	return context.WithDeadline(d, deadline)
}
