package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/webhookitem"
)

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

// ClaimEvent is the insert-first dedupe claim of an event key, by webhookitem.Claim's rules. The read and the
// write share one transaction, so concurrent duplicates are decided by the order of their transactions.
func (s *Store) ClaimEvent(ctx context.Context, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, error) {
	if err := webhookitem.CheckClaim(key, lease, ttl); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	// A duplicate (done) or an event another worker holds (busy) is answered from a read: a read-write
	// transaction would commit, and fsync, even to change nothing. Whatever may write decides again inside
	// the write transaction, so the insert stays the one point where concurrent claims race.
	var res onboarding.ClaimResult
	var next *webhookitem.EventClaim
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var c webhookitem.EventClaim
		ok, err := getJSON(tx, bucketClaims, []byte(key), &c)
		res, next = webhookitem.Claim(c, ok, key, now, lease, ttl)
		return err
	}); err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	if next == nil {
		return res, nil
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var c webhookitem.EventClaim
		ok, err := getJSON(tx, bucketClaims, []byte(key), &c)
		if err != nil {
			return err
		}
		if res, next = webhookitem.Claim(c, ok, key, now, lease, ttl); next == nil {
			return nil
		}
		if err := moveExpiry(tx, kindClaim, []byte(key), unixOf(c.ExpiresAt), unixOf(next.ExpiresAt)); err != nil {
			return err
		}
		return putJSON(tx, bucketClaims, []byte(key), next)
	})
	if err != nil {
		return 0, fmt.Errorf("bolt store: ClaimEvent %s: %w", key, err)
	}
	return res, nil
}

// CompleteEvent marks the event key processed until now+ttl. It is idempotent, whoever holds the lease, and
// also records a key that was never claimed.
func (s *Store) CompleteEvent(ctx context.Context, key string, now time.Time, ttl time.Duration) error {
	if err := webhookitem.CheckComplete(key, ttl); err != nil {
		return fmt.Errorf("bolt store: CompleteEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: CompleteEvent %s: %w", key, err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var c webhookitem.EventClaim
		ok, err := getJSON(tx, bucketClaims, []byte(key), &c)
		if err != nil {
			return err
		}
		next := webhookitem.Complete(c, ok, key, now, ttl)
		if err := moveExpiry(tx, kindClaim, []byte(key), unixOf(c.ExpiresAt), unixOf(next.ExpiresAt)); err != nil {
			return err
		}
		return putJSON(tx, bucketClaims, []byte(key), next)
	})
	if err != nil {
		return fmt.Errorf("bolt store: CompleteEvent %s: %w", key, err)
	}
	return nil
}

// AdvanceMessageStatus records status for the message if it ranks above the stored status (or none is
// stored, or it expired) and reports whether it did. An unknown status is an error.
func (s *Store) AdvanceMessageStatus(ctx context.Context, messageID, status string, now time.Time, ttl time.Duration) (bool, error) {
	rank, err := webhookitem.CheckStatus(messageID, status, ttl)
	if err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	// A stale status (a late "delivered" after "read", or a duplicate) is answered from a read, as in
	// ClaimEvent; the write transaction decides again.
	var next webhookitem.MessageStatus
	advanced := false
	if err := s.db.View(func(tx *bbolt.Tx) error {
		var cur webhookitem.MessageStatus
		ok, err := getJSON(tx, bucketStatuses, []byte(messageID), &cur)
		next, advanced = webhookitem.Advance(cur, ok, messageID, status, rank, now, ttl)
		return err
	}); err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	if !advanced {
		return false, nil
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		var cur webhookitem.MessageStatus
		ok, err := getJSON(tx, bucketStatuses, []byte(messageID), &cur)
		if err != nil {
			return err
		}
		if next, advanced = webhookitem.Advance(cur, ok, messageID, status, rank, now, ttl); !advanced {
			return nil
		}
		if err := moveExpiry(tx, kindStatus, []byte(messageID), unixOf(cur.ExpiresAt), unixOf(next.ExpiresAt)); err != nil {
			return err
		}
		return putJSON(tx, bucketStatuses, []byte(messageID), next)
	})
	if err != nil {
		return false, fmt.Errorf("bolt store: AdvanceMessageStatus %s: %w", messageID, err)
	}
	return advanced, nil
}

// PutWait stores w, replacing the onboarding's wait of the same kind.
func (s *Store) PutWait(ctx context.Context, w onboarding.Wait) error {
	if err := webhookitem.CheckWait(w); err != nil {
		return fmt.Errorf("bolt store: PutWait: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: PutWait %s of %s: %w", w.Kind, w.OnboardingID, err)
	}
	w.ExpiresAt = w.ExpiresAt.UTC()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		k := waitKey(w.OnboardingID, w.Kind)
		var old onboarding.Wait
		ok, err := getJSON(tx, bucketWaits, k, &old)
		if err != nil {
			return err
		}
		oldSec := int64(0)
		if ok {
			oldSec = waitExpirySec(old)
		}
		if err := moveExpiry(tx, kindWait, k, oldSec, waitExpirySec(w)); err != nil {
			return err
		}
		return putJSON(tx, bucketWaits, k, w)
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
		if err := moveExpiry(tx, kindWait, k, waitExpirySec(w), 0); err != nil {
			return err
		}
		return tx.Bucket(bucketWaits).Delete(k)
	})
	if err != nil {
		return onboarding.Wait{}, fmt.Errorf("bolt store: TakeWait %s of %s: %w", kind, onboardingID, err)
	}
	if !found || webhookitem.WaitExpired(w, s.clock()) {
		return onboarding.Wait{}, fmt.Errorf("bolt store: TakeWait %s of %s: %w", kind, onboardingID, onboarding.ErrNotFound)
	}
	return w, nil
}

// RecordPartnerEvent records an account_update event of a WABA at its time (webhookitem.RecordPartner).
func (s *Store) RecordPartnerEvent(ctx context.Context, wabaID, event string, at time.Time) error {
	if _, err := webhookitem.CheckPartner(wabaID, event); err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent %s of %s: %w", event, wabaID, err)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var p webhookitem.Partner
		ok, err := getJSON(tx, bucketPartners, []byte(wabaID), &p)
		if err != nil {
			return err
		}
		return putJSON(tx, bucketPartners, []byte(wabaID), webhookitem.RecordPartner(p, ok, wabaID, event, at))
	})
	if err != nil {
		return fmt.Errorf("bolt store: RecordPartnerEvent %s of %s: %w", event, wabaID, err)
	}
	return nil
}

// Sweep deletes the webhook items that count as absent at now (event claims and message statuses past
// their TTL, waits past their expiry), as DynamoDB's TTL does in the background, so that a state directory
// used for months does not keep every webhook it ever saw. It walks the expiry index from its oldest entry
// and stops at the first one still live, so it costs what it deletes, not what is stored. It reports how
// many items it deleted. Records, guards and partner events never expire.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bolt store: sweep: %w", err)
	}
	// Most starts find nothing to delete: look first, so that they cost no commit.
	due := false
	if err := s.db.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketExpiries).Cursor().First()
		due = k != nil && expiryDue(k, now)
		return nil
	}); err != nil || !due {
		return 0, err
	}
	deleted := 0
	err := s.db.Update(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketExpiries).Cursor()
		for k, _ := c.First(); k != nil && expiryDue(k, now); k, _ = c.First() {
			kind, key := k[8], k[9:]
			// The item goes only if its own expiry is the entry's: an index out of step never costs a live item.
			if b := expiringBuckets[kind]; b != nil {
				if v := tx.Bucket(b).Get(key); v != nil && itemExpirySec(kind, v) == int64(binary.BigEndian.Uint64(k[:8])) {
					if err := tx.Bucket(b).Delete(append([]byte(nil), key...)); err != nil {
						return err
					}
					deleted++
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bolt store: sweep: %w", err)
	}
	return deleted, nil
}

// The expiry index (bucket expiries) has one entry per webhook item that expires: the expiry in epoch
// seconds (8 bytes, big-endian, so entries sort by time), a byte naming the item's bucket, and the item's
// key. Every write that sets or changes an item's expiry moves its entry in the same transaction.
const (
	kindClaim  byte = 'c'
	kindStatus byte = 's'
	kindWait   byte = 'w'
)

var expiringBuckets = map[byte][]byte{kindClaim: bucketClaims, kindStatus: bucketStatuses, kindWait: bucketWaits}

// expiryKey is the index entry of an item of kind expiring at the epoch second sec (0: never, no entry).
func expiryKey(kind byte, key []byte, sec int64) []byte {
	if sec <= 0 {
		return nil
	}
	k := make([]byte, 9, 9+len(key))
	binary.BigEndian.PutUint64(k, uint64(sec))
	k[8] = kind
	return append(k, key...)
}

// expiryDue reports whether the index entry k has expired at now (webhookitem.Expired's rule).
func expiryDue(k []byte, now time.Time) bool {
	return len(k) > 9 && webhookitem.Expired(int64(binary.BigEndian.Uint64(k[:8])), now)
}

// moveExpiry replaces the index entry of an item whose expiry goes from oldSec to newSec (0: none).
func moveExpiry(tx *bbolt.Tx, kind byte, key []byte, oldSec, newSec int64) error {
	if oldSec == newSec {
		return nil
	}
	idx := tx.Bucket(bucketExpiries)
	if k := expiryKey(kind, key, oldSec); k != nil {
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	if k := expiryKey(kind, key, newSec); k != nil {
		return idx.Put(k, nil)
	}
	return nil
}

// itemExpirySec is the index second of a stored item of kind (-1 when it cannot be read).
func itemExpirySec(kind byte, v []byte) int64 {
	switch kind {
	case kindClaim:
		var c webhookitem.EventClaim
		if json.Unmarshal(v, &c) == nil {
			return unixOf(c.ExpiresAt)
		}
	case kindStatus:
		var m webhookitem.MessageStatus
		if json.Unmarshal(v, &m) == nil {
			return unixOf(m.ExpiresAt)
		}
	case kindWait:
		var w onboarding.Wait
		if json.Unmarshal(v, &w) == nil {
			return waitExpirySec(w)
		}
	}
	return -1
}

// unixOf is the epoch second of a TTL time (0 for the zero time).
func unixOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// waitExpirySec is a wait's index second: its expiry rounded up, so that the sweep never deletes a wait
// before TakeWait would count it expired.
func waitExpirySec(w onboarding.Wait) int64 {
	if w.ExpiresAt.IsZero() {
		return 0
	}
	return webhookitem.TTL(w.ExpiresAt)
}
