package secretsmanager

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxFetchTime bounds a shared fetch when the caller that started it has no earlier deadline: the fetch
// outlives that caller's cancellation (other callers wait for it), so it needs a bound of its own.
const maxFetchTime = 30 * time.Second

// maxSlots bounds the number of cached secrets; a warm Lambda sees many WABAs over its life.
const maxSlots = 1024

// cache keeps values for a TTL and lets concurrent callers for the same key share one fetch (through
// singleflight). Errors are not cached. An invalidation (after an own write) discards the value and detaches
// any fetch in flight, so that a caller never reads back a value fetched before its own write.
type cache[T any] struct {
	ttl   time.Duration
	now   func() time.Time
	fetch func(ctx context.Context, key string) (T, error)
	group singleflight.Group

	mu    sync.Mutex
	slots map[string]*slot[T]
	// flights numbers the fetches: each one is its own singleflight key, so that a detached fetch (after an
	// invalidation or an eviction) is never joined again.
	flights uint64
}

type slot[T any] struct {
	val     T
	expires time.Time
	valid   bool
	// gen counts invalidations; a fetch stores its result only if gen did not change meanwhile.
	gen uint64
	// flight is the number of the fetch in flight for this slot, 0 when idle; waiters counts its callers.
	flight  uint64
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
	if s.flight == 0 {
		c.flights++
		s.flight, s.waiters = c.flights, 0
	}
	flight, gen := s.flight, s.gen
	s.waiters++
	// DoChan runs the fetch in its own goroutine, so it is started under c.mu: an invalidation cannot come
	// between choosing the flight and joining it.
	ch := c.group.DoChan(strconv.FormatUint(flight, 10), func() (any, error) {
		fctx, cancel := detach(ctx)
		defer cancel()
		return c.run(fctx, key, s, flight, gen)
	})
	c.mu.Unlock()

	select {
	case r := <-ch:
		v, _ := r.Val.(T)
		return v, r.Err
	case <-ctx.Done():
		c.mu.Lock()
		if s.flight == flight {
			s.waiters--
		}
		c.mu.Unlock()
		var zero T
		return zero, ctx.Err()
	}
}

// run fetches key for flight and stores the value unless the slot was invalidated since gen.
func (c *cache[T]) run(ctx context.Context, key string, s *slot[T], flight, gen uint64) (T, error) {
	v, err := c.fetch(ctx, key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.flight == flight {
		s.flight = 0
	}
	if err == nil && s.gen == gen {
		s.val, s.valid, s.expires = v, true, c.now().Add(c.ttl)
	}
	return v, err
}

// invalidate drops the cached value of key and detaches the fetch in flight, if any.
func (c *cache[T]) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.slots[key]; s != nil {
		s.gen++
		s.valid = false
		s.flight = 0
		var zero T
		s.val = zero
	}
}

// evictLocked keeps the map bounded: it drops expired idle slots, and everything idle if that is not enough.
// c.mu must be held.
func (c *cache[T]) evictLocked() {
	if len(c.slots) < maxSlots {
		return
	}
	now := c.now()
	for k, s := range c.slots {
		if s.flight == 0 && (!s.valid || !now.Before(s.expires)) {
			delete(c.slots, k)
		}
	}
	if len(c.slots) < maxSlots {
		return
	}
	for k, s := range c.slots {
		if s.flight == 0 {
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
