package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/webhookstate"
)

func ttlTime(t time.Time) time.Time { return time.Unix(webhookstate.TTL(t), 0).UTC() }

func expired(ttl, now time.Time) bool { return !ttl.IsZero() && webhookstate.Expired(ttl.Unix(), now) }

// getJSON decodes the value of key in bucket into v and reports whether it was there.
func getJSON(tx *bbolt.Tx, bucket, key []byte, v any) (bool, error) {
	b := tx.Bucket(bucket).Get(key)
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding %s/%q: %w", bucket, key, err)
	}
	return true, nil
}

func putJSON(tx *bbolt.Tx, bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s item: %w", bucket, err)
	}
	return tx.Bucket(bucket).Put(key, b)
}

// waitKey separates the onboarding id from the kind with a NUL, which neither contains.
func waitKey(onboardingID, kind string) []byte { return []byte(onboardingID + "\x00" + kind) }

// ClaimEvent is the insert-first dedupe claim of an event key: an absent (or expired) key is claimed with a
// lease until now+lease (onboarding.ClaimNew); a completed one is onboarding.ClaimDone; one whose lease is
// still running is onboarding.ClaimBusy; one whose lease ended before it was completed is claimed again
// (onboarding.ClaimRetry). The claim expires at now+ttl. The read and the write share one transaction, so
// concurrent duplicates are decided by the order of their transactions.
func (s *Store) ClaimEvent(ctx context.Context, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, error) {
	if err := webhookstate.CheckClaim(key, lease, ttl); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	now = now.UTC()
	// A duplicate (done) or an event another worker holds (busy) is answered from a read: a read-write
	// transaction would commit, and fsync, even to change nothing. Whatever may write decides again inside
	// the write transaction, so the insert stays the one point where concurrent claims race.
	var seen webhookstate.EventClaim
	var ok bool
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = getJSON(tx, bucketClaims, []byte(key), &seen)
		return err
	}); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	if ok && !expired(seen.ExpiresAt, now) {
		if seen.Done {
			return onboarding.ClaimDone, nil
		}
		if now.Before(seen.LeaseUntil) {
			return onboarding.ClaimBusy, nil
		}
	}
	var res onboarding.ClaimResult
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var c webhookstate.EventClaim
		ok, err := getJSON(tx, bucketClaims, []byte(key), &c)
		if err != nil {
			return err
		}
		switch {
		case !ok || expired(c.ExpiresAt, now):
			c = webhookstate.EventClaim{Key: key, Attempts: 1, LeaseUntil: now.Add(lease), ExpiresAt: ttlTime(now.Add(ttl))}
			res = onboarding.ClaimNew
		case c.Done:
			res = onboarding.ClaimDone
			return nil
		case now.Before(c.LeaseUntil):
			res = onboarding.ClaimBusy
			return nil
		default:
			c.Attempts++
			c.LeaseUntil, c.ExpiresAt = now.Add(lease), ttlTime(now.Add(ttl))
			res = onboarding.ClaimRetry
		}
		return putJSON(tx, bucketClaims, []byte(key), c)
	})
	if err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	return res, nil
}

// CompleteEvent marks the event key processed until now+ttl. It is idempotent, whoever holds the lease, and
// also records a key that was never claimed.
func (s *Store) CompleteEvent(ctx context.Context, key string, now time.Time, ttl time.Duration) error {
	if err := webhookstate.CheckComplete(key, ttl); err != nil {
		return fmt.Errorf("bolt store: CompleteEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: CompleteEvent %s: %w", key, err)
	}
	now = now.UTC()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var c webhookstate.EventClaim
		ok, err := getJSON(tx, bucketClaims, []byte(key), &c)
		if err != nil {
			return err
		}
		if !ok {
			c = webhookstate.EventClaim{Key: key}
		}
		c.Done = true
		if c.CompletedAt.IsZero() {
			c.CompletedAt = now
		}
		c.ExpiresAt = ttlTime(now.Add(ttl))
		return putJSON(tx, bucketClaims, []byte(key), c)
	})
	if err != nil {
		return fmt.Errorf("bolt store: CompleteEvent %s: %w", key, err)
	}
	return nil
}

// AdvanceMessageStatus records status for the message if it ranks above the stored status (or none is
// stored, or it expired) and reports whether it did. An unknown status is an error.
func (s *Store) AdvanceMessageStatus(ctx context.Context, messageID, status string, now time.Time, ttl time.Duration) (bool, error) {
	rank, err := webhookstate.CheckStatus(messageID, status, ttl)
	if err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	now = now.UTC()
	// A stale status (a late "delivered" after "read", or a duplicate) is answered from a read, as in
	// ClaimEvent; the write transaction checks again.
	stale := false
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var cur webhookstate.MessageStatus
		ok, err := getJSON(tx, bucketStatuses, []byte(messageID), &cur)
		stale = ok && cur.Rank >= rank && !expired(cur.ExpiresAt, now)
		return err
	}); err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	if stale {
		return false, nil
	}
	advanced := false
	err = s.db.Update(func(tx *bbolt.Tx) error {
		var cur webhookstate.MessageStatus
		ok, err := getJSON(tx, bucketStatuses, []byte(messageID), &cur)
		if err != nil {
			return err
		}
		if ok && cur.Rank >= rank && !expired(cur.ExpiresAt, now) {
			return nil
		}
		advanced = true
		return putJSON(tx, bucketStatuses, []byte(messageID), webhookstate.MessageStatus{
			MessageID: messageID, Status: status, Rank: rank, UpdatedAt: now, ExpiresAt: ttlTime(now.Add(ttl)),
		})
	})
	if err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	return advanced, nil
}

// PutWait stores w, replacing the onboarding's wait of the same kind.
func (s *Store) PutWait(ctx context.Context, w onboarding.Wait) error {
	if err := webhookstate.CheckWait(w); err != nil {
		return fmt.Errorf("bolt store: PutWait: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: PutWait %s of %s: %w", w.Kind, w.OnboardingID, err)
	}
	w.ExpiresAt = w.ExpiresAt.UTC()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return putJSON(tx, bucketWaits, waitKey(w.OnboardingID, w.Kind), w)
	})
	if err != nil {
		return fmt.Errorf("bolt store: PutWait %s of %s: %w", w.Kind, w.OnboardingID, err)
	}
	return nil
}

// TakeWait removes and returns the onboarding's wait of that kind. A missing or expired wait (by the store's
// clock) is onboarding.ErrNotFound; of concurrent callers exactly one gets the wait.
func (s *Store) TakeWait(ctx context.Context, onboardingID, kind string) (onboarding.Wait, error) {
	if err := ctx.Err(); err != nil {
		return onboarding.Wait{}, fmt.Errorf("bolt store: TakeWait %s of %s: %w", kind, onboardingID, err)
	}
	var w onboarding.Wait
	found := false
	err := s.db.Update(func(tx *bbolt.Tx) error {
		k := waitKey(onboardingID, kind)
		ok, err := getJSON(tx, bucketWaits, k, &w)
		if err != nil || !ok {
			return err
		}
		found = true
		return tx.Bucket(bucketWaits).Delete(k)
	})
	if err != nil {
		return onboarding.Wait{}, fmt.Errorf("bolt store: TakeWait %s of %s: %w", kind, onboardingID, err)
	}
	if !found || webhookstate.WaitExpired(w, s.clock()) {
		return onboarding.Wait{}, fmt.Errorf("bolt store: TakeWait %s of %s: %w", kind, onboardingID, onboarding.ErrNotFound)
	}
	return w, nil
}

// RecordPartnerEvent records an account_update event of a WABA at its time: the event's own latest time
// and, unless a later event was recorded already, the WABA's last event. Out-of-order deliveries therefore
// never make an older event the last one; of two events at the same time the first recorded stays last.
func (s *Store) RecordPartnerEvent(ctx context.Context, wabaID, event string, at time.Time) error {
	if _, err := webhookstate.CheckPartner(wabaID, event); err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent %s of %s: %w", event, wabaID, err)
	}
	at = at.UTC()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var p webhookstate.Partner
		ok, err := getJSON(tx, bucketPartners, []byte(wabaID), &p)
		if err != nil {
			return err
		}
		if !ok {
			p = webhookstate.Partner{WABAID: wabaID}
		}
		if p.EventAt == nil {
			p.EventAt = map[string]time.Time{}
		}
		if !ok || p.LastEventAt.Before(at) {
			p.LastEvent, p.LastEventAt = event, at
		}
		if prev, seen := p.EventAt[event]; !seen || prev.Before(at) {
			p.EventAt[event] = at
		}
		return putJSON(tx, bucketPartners, []byte(wabaID), p)
	})
	if err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent %s of %s: %w", event, wabaID, err)
	}
	return nil
}

// GetEventClaim returns the claim of an event key as stored, expired or not, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) GetEventClaim(_ context.Context, key string) (webhookstate.EventClaim, error) {
	var c webhookstate.EventClaim
	if err := s.inspect(bucketClaims, key, &c); err != nil {
		return webhookstate.EventClaim{}, fmt.Errorf("bolt store: event claim %s: %w", key, err)
	}
	return c, nil
}

// MessageStatus returns the status recorded for a message, expired or not, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) MessageStatus(_ context.Context, messageID string) (webhookstate.MessageStatus, error) {
	var m webhookstate.MessageStatus
	if err := s.inspect(bucketStatuses, messageID, &m); err != nil {
		return webhookstate.MessageStatus{}, fmt.Errorf("bolt store: message status %s: %w", messageID, err)
	}
	return m, nil
}

// PartnerState returns what was recorded of a WABA's partner events, or onboarding.ErrNotFound.
// It is for tests and debugging, not part of onboarding.WebhookStore.
func (s *Store) PartnerState(_ context.Context, wabaID string) (webhookstate.Partner, error) {
	var p webhookstate.Partner
	if err := s.inspect(bucketPartners, wabaID, &p); err != nil {
		return webhookstate.Partner{}, fmt.Errorf("bolt store: partner state %s: %w", wabaID, err)
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
