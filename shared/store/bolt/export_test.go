package bolt

import (
	"context"
	"fmt"
	"maps"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/webhookitem"
)

// ExpiryEntriesForTest counts the entries of the expiry index.
func ExpiryEntriesForTest(s *Store) int {
	n := 0
	_ = s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketExpiries).Stats().KeyN
		return nil
	})
	return n
}

// The inspection methods of storetest.WebhookStoreUnderTest: the contract tests check with them what was
// stored.

// GetEventClaim returns the claim of an event key as stored, expired or not, or onboarding.ErrNotFound.
// It is for tests, not part of onboarding.WebhookStore.
func (s *Store) GetEventClaim(_ context.Context, key string) (webhookitem.EventClaim, error) {
	var c webhookitem.EventClaim
	if err := s.inspect(bucketClaims, key, &c); err != nil {
		return webhookitem.EventClaim{}, fmt.Errorf("bolt store: event claim %s: %w", key, err)
	}
	return c, nil
}

// MessageStatus returns the status recorded for a message, expired or not, or onboarding.ErrNotFound.
// It is for tests, not part of onboarding.WebhookStore.
func (s *Store) MessageStatus(_ context.Context, messageID string) (webhookitem.MessageStatus, error) {
	var m webhookitem.MessageStatus
	if err := s.inspect(bucketStatuses, messageID, &m); err != nil {
		return webhookitem.MessageStatus{}, fmt.Errorf("bolt store: message status %s: %w", messageID, err)
	}
	return m, nil
}

// PartnerState returns what was recorded of a WABA's partner events, or onboarding.ErrNotFound.
// It is for tests, not part of onboarding.WebhookStore.
func (s *Store) PartnerState(_ context.Context, wabaID string) (webhookitem.Partner, error) {
	var p webhookitem.Partner
	if err := s.inspect(bucketPartners, wabaID, &p); err != nil {
		return webhookitem.Partner{}, fmt.Errorf("bolt store: partner state %s: %w", wabaID, err)
	}
	p.EventAt = maps.Clone(p.EventAt)
	return p, nil
}

func (s *Store) inspect(bucket []byte, key string, v any) error {
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		found, err = getJSON(tx, bucket, []byte(key), v)
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return onboarding.ErrNotFound
	}
	return nil
}
