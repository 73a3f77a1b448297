package memory

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/webhookitem"
)

var _ onboarding.WebhookStore = (*Store)(nil)

type waitKey struct{ onboardingID, kind string }

// webhookState holds the webhook items, as the DynamoDB store's EVT#, MSG#, WAIT# and PARTNER items do.
// Expired items stay until they are overwritten, like items DynamoDB's TTL has not yet deleted, and count
// as absent by the same rules (webhookitem.Expired).
type webhookState struct {
	claims   map[string]webhookitem.EventClaim
	statuses map[string]webhookitem.MessageStatus
	waits    map[waitKey]onboarding.Wait
	partners map[string]webhookitem.Partner
}

func newWebhookState() webhookState {
	return webhookState{
		claims:   map[string]webhookitem.EventClaim{},
		statuses: map[string]webhookitem.MessageStatus{},
		waits:    map[waitKey]onboarding.Wait{},
		partners: map[string]webhookitem.Partner{},
	}
}

// ClaimEvent is the insert-first dedupe claim of an event key, by webhookitem.Claim's rules.
func (s *Store) ClaimEvent(_ context.Context, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, error) {
	if err := webhookitem.CheckClaim(key, lease, ttl); err != nil {
		return 0, fmt.Errorf("memory store: ClaimEvent: %w", err)
	}
	if err := s.injected("ClaimEvent"); err != nil {
		return 0, fmt.Errorf("memory store: ClaimEvent %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.wh.claims[key]
	res, next := webhookitem.Claim(c, ok, key, now, lease, ttl)
	if next != nil {
		s.wh.claims[key] = *next
	}
	return res, nil
}

// CompleteEvent marks the event key processed until now+ttl. It is idempotent, whoever holds the lease, and
// also records a key that was never claimed.
func (s *Store) CompleteEvent(_ context.Context, key string, now time.Time, ttl time.Duration) error {
	if err := webhookitem.CheckComplete(key, ttl); err != nil {
		return fmt.Errorf("memory store: CompleteEvent: %w", err)
	}
	if err := s.injected("CompleteEvent"); err != nil {
		return fmt.Errorf("memory store: CompleteEvent %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.wh.claims[key]
	s.wh.claims[key] = webhookitem.Complete(c, ok, key, now, ttl)
	return nil
}

// AdvanceMessageStatus records status for the message if it ranks above the stored status (or none is
// stored, or it expired) and reports whether it did. An unknown status is an error.
func (s *Store) AdvanceMessageStatus(_ context.Context, messageID, status string, now time.Time, ttl time.Duration) (bool, error) {
	rank, err := webhookitem.CheckStatus(messageID, status, ttl)
	if err != nil {
		return false, fmt.Errorf("memory store: AdvanceMessageStatus: %w", err)
	}
	if err := s.injected("AdvanceMessageStatus"); err != nil {
		return false, fmt.Errorf("memory store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.wh.statuses[messageID]
	next, advanced := webhookitem.Advance(cur, ok, messageID, status, rank, now, ttl)
	if advanced {
		s.wh.statuses[messageID] = next
	}
	return advanced, nil
}

// PutWait stores w, replacing the onboarding's wait of the same kind.
func (s *Store) PutWait(_ context.Context, w onboarding.Wait) error {
	if err := webhookitem.CheckWait(w); err != nil {
		return fmt.Errorf("memory store: PutWait: %w", err)
	}
	if err := s.injected("PutWait"); err != nil {
		return fmt.Errorf("memory store: PutWait %s of %s: %w", w.Kind, w.OnboardingID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.ExpiresAt = w.ExpiresAt.UTC()
	s.wh.waits[waitKey{w.OnboardingID, w.Kind}] = w
	return nil
}

// TakeWait removes and returns the onboarding's wait of that kind. A missing or expired wait (by the store's
// clock) is onboarding.ErrNotFound; of concurrent callers exactly one gets the wait.
func (s *Store) TakeWait(_ context.Context, onboardingID, kind string) (onboarding.Wait, error) {
	if err := s.injected("TakeWait"); err != nil {
		return onboarding.Wait{}, fmt.Errorf("memory store: TakeWait %s of %s: %w", kind, onboardingID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := waitKey{onboardingID, kind}
	w, ok := s.wh.waits[k]
	delete(s.wh.waits, k)
	if !ok || webhookitem.WaitExpired(w, s.clock()) {
		return onboarding.Wait{}, fmt.Errorf("memory store: TakeWait %s of %s: %w", kind, onboardingID, onboarding.ErrNotFound)
	}
	return w, nil
}

// RecordPartnerEvent records an account_update event of a WABA at its time (webhookitem.RecordPartner).
func (s *Store) RecordPartnerEvent(_ context.Context, wabaID, event string, at time.Time) error {
	if _, err := webhookitem.CheckPartner(wabaID, event); err != nil {
		return fmt.Errorf("memory store: RecordPartnerEvent: %w", err)
	}
	if err := s.injected("RecordPartnerEvent"); err != nil {
		return fmt.Errorf("memory store: RecordPartnerEvent %s of %s: %w", event, wabaID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.wh.partners[wabaID]
	s.wh.partners[wabaID] = webhookitem.RecordPartner(p, ok, wabaID, event, at)
	return nil
}

// GetEventClaim returns the claim of an event key as stored, expired or not, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) GetEventClaim(_ context.Context, key string) (webhookitem.EventClaim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.wh.claims[key]
	if !ok {
		return webhookitem.EventClaim{}, fmt.Errorf("memory store: event claim %s: %w", key, onboarding.ErrNotFound)
	}
	return c, nil
}

// MessageStatus returns the status recorded for a message, expired or not, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) MessageStatus(_ context.Context, messageID string) (webhookitem.MessageStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.wh.statuses[messageID]
	if !ok {
		return webhookitem.MessageStatus{}, fmt.Errorf("memory store: message status %s: %w", messageID, onboarding.ErrNotFound)
	}
	return m, nil
}

// PartnerState returns what was recorded of a WABA's partner events, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) PartnerState(_ context.Context, wabaID string) (webhookitem.Partner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.wh.partners[wabaID]
	if !ok {
		return webhookitem.Partner{}, fmt.Errorf("memory store: partner state %s: %w", wabaID, onboarding.ErrNotFound)
	}
	p.EventAt = maps.Clone(p.EventAt)
	return p, nil
}
