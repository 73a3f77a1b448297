package webhook

import (
	"context"
	"fmt"
	"sync"
)

// MemorySink is an in-memory Sink for the tests and benchmarks. It records every accepted
// event in order, and can be told to fail.
type MemorySink struct {
	mu     sync.Mutex
	events []Event
	calls  int
	fail   error
	failN  int // remaining failures; < 0 means every call fails
}

// NewMemorySink returns an empty MemorySink.
func NewMemorySink() *MemorySink { return &MemorySink{} }

// Accept records the events, or returns the injected failure without recording anything.
func (s *MemorySink) Accept(ctx context.Context, events []Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("accepting %d webhook events: %w", len(events), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil && s.failN != 0 {
		if s.failN > 0 {
			s.failN--
		}
		return fmt.Errorf("accepting %d webhook events: %w", len(events), s.fail)
	}
	s.events = append(s.events, events...)
	return nil
}

// FailWith makes the next n calls to Accept fail with err (every call when n < 0); a nil err clears it.
func (s *MemorySink) FailWith(err error, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.failN = err, n
}

// Events returns a copy of the events accepted so far.
func (s *MemorySink) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Len returns the number of events accepted so far.
func (s *MemorySink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// Calls returns how many times Accept was called, failed calls included.
func (s *MemorySink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Reset forgets the recorded events and calls (benchmarks call it so memory stays flat).
func (s *MemorySink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.calls = nil, 0
}
