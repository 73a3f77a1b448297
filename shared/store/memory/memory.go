// Package memory is an in-memory onboarding.Store and onboarding.WebhookStore for unit tests and the local
// runner. It keeps the semantics of the DynamoDB store (shared/store/dynamodb), checked by the same contract
// tests (shared/store/storetest): versions, the one-active-onboarding-per-WABA+phone guard, index order,
// dedupe claims, monotonic message statuses, waits, partner events, errors. Records are deep-copied on the
// way in and out, so callers never share state with the store. SetFault and FailNext inject failures.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Store is an in-memory onboarding.Store, safe for concurrent use. The zero value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	records map[string]*onboarding.Record
	// guards maps a WABA+phone guard key to the id of the onboarding holding it, as the DynamoDB store's guard
	// items do. Each method holds mu throughout, so a guard is always released together with the status
	// change that ends it, and no holder is ever without a record.
	guards map[guardKey]string
	// wh holds the webhook items (webhook.go).
	wh webhookState
	// clock judges the expiry of waits in TakeWait; time.Now unless SetClock changed it.
	clock onboarding.Clock

	// faultMu guards the injected faults, apart from mu so that a fault function may call the store.
	faultMu  sync.Mutex
	fault    func(op string) error
	failNext map[string][]error
}

type guardKey struct{ wabaID, phoneNumberID string }

var _ onboarding.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		records:  map[string]*onboarding.Record{},
		guards:   map[guardKey]string{},
		wh:       newWebhookState(),
		clock:    time.Now,
		failNext: map[string][]error{},
	}
}

// SetClock replaces the clock that judges the expiry of waits (TakeWait); nil restores time.Now. The other
// webhook methods take the time as an argument.
func (s *Store) SetClock(c onboarding.Clock) {
	if c == nil {
		c = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = c
}

// SetFault installs a fault hook for reliability tests: every operation first calls fn with its name (the
// method's: "Create", "Get", "Update", "FindByPhone", "FindByWABA", "ListByCustomer", "ListWABAs", "ClaimEvent", "CompleteEvent",
// "AdvanceMessageStatus", "PutWait", "TakeWait", "RecordPartnerEvent"), and a non-nil error fails the
// operation, wrapped, before it changes anything; for example dynamodb.ThrottleError(op) to exercise the
// callers' throttling path. nil removes the hook. The inspection methods are not hooked.
func (s *Store) SetFault(fn func(op string) error) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.fault = fn
}

// FailNext makes the next call of operation op (named as for SetFault) fail with err, wrapped, before it
// changes anything. Calls queue up: FailNext twice fails the next two calls. It applies before the SetFault
// hook.
func (s *Store) FailNext(op string, err error) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.failNext[op] = append(s.failNext[op], err)
}

// injected returns the fault injected for op, if any.
func (s *Store) injected(op string) error {
	s.faultMu.Lock()
	if q := s.failNext[op]; len(q) > 0 {
		err := q[0]
		if len(q) == 1 {
			delete(s.failNext, op)
		} else {
			s.failNext[op] = q[1:]
		}
		s.faultMu.Unlock()
		return err
	}
	fn := s.fault
	s.faultMu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(op)
}

// Create stores a copy of r at version 1 and sets r.Version. An active record takes the guard of its WABA and
// phone number (*onboarding.ActiveOnboardingError if another active onboarding holds it); an existing id is
// onboarding.ErrVersionConflict.
func (s *Store) Create(_ context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("memory store: create: %w", err)
	}
	if err := s.injected("Create"); err != nil {
		return fmt.Errorf("memory store: create %s: %w", r.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keyOf(r)
	// Same order of checks as the DynamoDB store: the guard first, then the id.
	if r.Status.Active() {
		if err := s.checkGuard(k, r.ID); err != nil {
			return err
		}
	}
	if _, ok := s.records[r.ID]; ok {
		return fmt.Errorf("memory store: create %s: record already exists: %w", r.ID, onboarding.ErrVersionConflict)
	}
	c := r.Clone()
	c.Version = 1
	s.records[r.ID] = c
	if r.Status.Active() {
		s.guards[k] = r.ID
	}
	r.Version = 1
	return nil
}

// Get returns a copy of the record, or onboarding.ErrNotFound.
func (s *Store) Get(_ context.Context, id string) (*onboarding.Record, error) {
	if err := s.injected("Get"); err != nil {
		return nil, fmt.Errorf("memory store: get %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok {
		return nil, fmt.Errorf("memory store: get %s: %w", id, onboarding.ErrNotFound)
	}
	return rec.Clone(), nil
}

// Update stores a copy of r if the stored version equals r.Version, then increments r.Version. Moving into
// an active status takes the guard (*onboarding.ActiveOnboardingError if another onboarding holds it);
// moving out of one releases it. WABAID and PhoneNumberID cannot change.
func (s *Store) Update(_ context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("memory store: update: %w", err)
	}
	if err := s.injected("Update"); err != nil {
		return fmt.Errorf("memory store: update %s: %w", r.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.records[r.ID]
	if !ok {
		return fmt.Errorf("memory store: update %s: %w", r.ID, onboarding.ErrNotFound)
	}
	if old.Version != r.Version {
		return fmt.Errorf("memory store: update %s: stored version %d, caller has %d: %w", r.ID, old.Version, r.Version, onboarding.ErrVersionConflict)
	}
	if old.WABAID != r.WABAID || (old.PhoneNumberID != r.PhoneNumberID && !onboarding.PhoneAssignable(old, r)) {
		return fmt.Errorf("memory store: update %s: %w", r.ID, &onboarding.InvalidTransitionError{Reason: "waba_id and phone_number_id cannot change"})
	}
	if old.CustomerRef != r.CustomerRef {
		return fmt.Errorf("memory store: update %s: %w", r.ID, &onboarding.InvalidTransitionError{Reason: "customer_ref cannot change"})
	}
	k := keyOf(r)
	if !old.Status.Active() && r.Status.Active() {
		if err := s.checkGuard(k, r.ID); err != nil {
			return err
		}
		s.guards[k] = r.ID
	}
	if old.Status.Active() && !r.Status.Active() && s.guards[k] == r.ID {
		delete(s.guards, k)
	}
	c := r.Clone()
	c.Version = r.Version + 1
	s.records[r.ID] = c
	r.Version = c.Version
	return nil
}

// FindByPhone returns a copy of the most recently created record of the phone number, or
// onboarding.ErrNotFound.
func (s *Store) FindByPhone(_ context.Context, phoneNumberID string) (*onboarding.Record, error) {
	if err := s.injected("FindByPhone"); err != nil {
		return nil, fmt.Errorf("memory store: find by phone %s: %w", phoneNumberID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var newest *onboarding.Record
	for _, rec := range s.records {
		if phoneNumberID != "" && rec.PhoneNumberID == phoneNumberID && (newest == nil || newerFirst(rec, newest) < 0) {
			newest = rec
		}
	}
	if newest == nil {
		return nil, fmt.Errorf("memory store: find by phone %s: %w", phoneNumberID, onboarding.ErrNotFound)
	}
	return newest.Clone(), nil
}

// FindByWABA returns copies of the WABA's records, most recently created first, at most limit (all if
// limit <= 0).
func (s *Store) FindByWABA(_ context.Context, wabaID string, limit int) ([]*onboarding.Record, error) {
	if err := s.injected("FindByWABA"); err != nil {
		return nil, fmt.Errorf("memory store: find by waba %s: %w", wabaID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := []*onboarding.Record{}
	for _, rec := range s.records {
		if wabaID != "" && rec.WABAID == wabaID {
			recs = append(recs, rec)
		}
	}
	slices.SortFunc(recs, newerFirst)
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	for i, rec := range recs {
		recs[i] = rec.Clone()
	}
	return recs, nil
}

// ListByCustomer returns copies of a page of the customer's records, most recently created first (the
// DynamoDB store's gsi3 order), filtered by status when it is not empty.
func (s *Store) ListByCustomer(_ context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", fmt.Errorf("memory store: list by customer: limit %d outside 1..%d", limit, onboarding.MaxListLimit)
	}
	var after *onboarding.Record
	if cursor != "" {
		created, id, err := onboarding.ParseListCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("memory store: list by customer: %w", err)
		}
		after = &onboarding.Record{ID: id, CreatedAt: created}
	}
	if err := s.injected("ListByCustomer"); err != nil {
		return nil, "", fmt.Errorf("memory store: list by customer: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := []*onboarding.Record{}
	for _, rec := range s.records {
		if customerRef == "" || rec.CustomerRef != customerRef || (status != "" && rec.Status != status) {
			continue
		}
		if after != nil && newerFirst(rec, after) <= 0 {
			continue
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, newerFirst)
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		last := recs[limit-1]
		next = onboarding.ListCursor(last.CreatedAt, last.ID)
	}
	for i, rec := range recs {
		recs[i] = rec.Clone()
	}
	return recs, next, nil
}

// ListWABAs returns a page of the ids of the WABAs that have records, in ascending order of id.
func (s *Store) ListWABAs(_ context.Context, limit int, cursor string) ([]string, string, error) {
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", fmt.Errorf("memory store: list wabas: limit %d outside 1..%d", limit, onboarding.MaxListLimit)
	}
	after := ""
	if cursor != "" {
		w, err := onboarding.ParseWABACursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("memory store: list wabas: %w", err)
		}
		after = w
	}
	if err := s.injected("ListWABAs"); err != nil {
		return nil, "", fmt.Errorf("memory store: list wabas: %w", err)
	}
	s.mu.Lock()
	seen := map[string]bool{}
	ids := []string{}
	for _, rec := range s.records {
		if !seen[rec.WABAID] && rec.WABAID > after {
			seen[rec.WABAID] = true
			ids = append(ids, rec.WABAID)
		}
	}
	s.mu.Unlock()
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = onboarding.WABACursor(ids[limit-1])
	}
	return ids, next, nil
}

// checkGuard returns *onboarding.ActiveOnboardingError if an active onboarding other than id holds the guard.
// A guard whose holder is no longer active is free, as in the DynamoDB store (where it is taken over).
func (s *Store) checkGuard(k guardKey, id string) error {
	holder, ok := s.guards[k]
	if !ok || holder == id {
		return nil
	}
	if rec, ok := s.records[holder]; ok && rec.Status.Active() {
		return &onboarding.ActiveOnboardingError{ExistingID: holder}
	}
	return nil
}

// newerFirst orders records as the DynamoDB indexes do (descending "<created_at>#<id>").
func newerFirst(a, b *onboarding.Record) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

func keyOf(r *onboarding.Record) guardKey { return guardKey{r.WABAID, r.PhoneNumberID} }
