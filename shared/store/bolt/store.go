// Package bolt is the durable onboarding.Store and onboarding.WebhookStore of the local runner, on a bbolt
// database (see shared/localstate for why bbolt and where the file lives). It keeps the semantics of the
// DynamoDB store and passes the same contract tests (shared/store/storetest): versions, the
// one-active-onboarding-per-WABA+phone guard, index order, dedupe claims, monotonic message statuses, waits,
// partner events, errors. Every method is one bbolt transaction, and bbolt runs one read-write transaction
// at a time, so each check-and-write is atomic without a lock of the adapter's own, and is on disk (fsync)
// when the method returns.
//
// # Buckets
//
//	bucket            key                                   value
//	records           <id>                                  JSON: every Record field (Progress, Executions and
//	                                                        Version included), times RFC 3339 with nanoseconds
//	records_by_phone  <phone_number_id>#<created_at>#<id>   <id>; created_at is fixed-width UTC, so the keys
//	records_by_waba   <waba_id>#<created_at>#<id>           <id>  sort by time (newest first read backwards)
//	active_guards     <waba_id>#<phone_number_id or ->      the id of the active onboarding holding the guard
//	event_claims      <event key>                           JSON webhookitem.EventClaim
//	message_statuses  <message id>                          JSON webhookitem.MessageStatus
//	waits             <onboarding id> NUL <kind>            JSON onboarding.Wait (task token included)
//	partner_events    <waba_id>                             JSON webhookitem.Partner
//	webhook_expiries  <expiry, 8-byte BE epoch s><c|s|w><key> empty: the expiry index of claims (c),
//	                                                        statuses (s) and waits (w)
//
// Expired webhook items count as absent by the same rules as DynamoDB's (webhookitem.Expired) and stay
// until they are overwritten or Sweep deletes them (the local runner sweeps at start), as DynamoDB's TTL
// deletes them lazily. Records carry no secret; the vault's entries live in the same file, encrypted, in
// the buckets of shared/vault/bolt.
package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/onboarding"
)

// Bucket names (see the package documentation).
var (
	bucketRecords = []byte("records")
	bucketByPhone = []byte("records_by_phone")
	bucketByWABA  = []byte("records_by_waba")
	// bucketByCustomer lists a partner customer's records (partner authentication): key
	// "<customer_ref>#<created_at>#<id>", only for records with a customer_ref.
	bucketByCustomer = []byte("records_by_customer")
	bucketGuards     = []byte("active_guards")
	bucketClaims     = []byte("event_claims")
	bucketStatuses   = []byte("message_statuses")
	bucketWaits      = []byte("waits")
	bucketPartners   = []byte("partner_events")
	bucketExpiries   = []byte("webhook_expiries")
)

var allBuckets = [][]byte{bucketRecords, bucketByPhone, bucketByWABA, bucketByCustomer, bucketGuards, bucketClaims, bucketStatuses, bucketWaits, bucketPartners, bucketExpiries}

// noPhone stands for the phone number in the guard key of a record without one (FINISH_ONLY_WABA).
const noPhone = "-"

// timeLayout is RFC 3339 with a fixed nine-digit fraction in UTC: fixed width keeps index keys sortable.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Store is the bbolt onboarding.Store and onboarding.WebhookStore, safe for concurrent use.
type Store struct {
	db    *bbolt.DB
	clock onboarding.Clock
}

var (
	_ onboarding.Store        = (*Store)(nil)
	_ onboarding.WebhookStore = (*Store)(nil)
)

// Options tune New.
type Options struct {
	// Clock judges the expiry of waits in TakeWait (default time.Now); the other webhook methods take the
	// time as an argument.
	Clock onboarding.Clock
}

// New returns a Store on db, creating its buckets. The caller owns db and closes it.
func New(db *bbolt.DB, opts Options) (*Store, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if err := ensureBuckets(db, allBuckets); err != nil {
		return nil, fmt.Errorf("bolt store: creating buckets: %w", err)
	}
	return &Store{db: db, clock: opts.Clock}, nil
}

// ensureBuckets creates the buckets that do not exist yet. A start on an existing database only reads, so
// it costs no commit (and no fsync).
func ensureBuckets(db *bbolt.DB, buckets [][]byte) error {
	missing := false
	if err := db.View(func(tx *bbolt.Tx) error {
		for _, b := range buckets {
			missing = missing || tx.Bucket(b) == nil
		}
		return nil
	}); err != nil || !missing {
		return err
	}
	return db.Update(func(tx *bbolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

// recordDoc is the stored form of a record: the record's own JSON (so a field added to the domain is kept
// without a change here) plus what the domain keeps out of its JSON.
type recordDoc struct {
	*onboarding.Record
	Progress   onboarding.Progress `json:"progress"`
	Executions int                 `json:"executions"`
	Version    int64               `json:"version"`
}

func encodeRecord(r *onboarding.Record) ([]byte, error) {
	return json.Marshal(recordDoc{Record: r, Progress: r.Progress, Executions: r.Executions, Version: r.Version})
}

func decodeRecord(b []byte) (*onboarding.Record, error) {
	doc := recordDoc{Record: &onboarding.Record{}}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decoding a stored record: %w", err)
	}
	r := doc.Record
	r.Progress, r.Executions, r.Version = doc.Progress, doc.Executions, doc.Version
	return r, nil
}

func guardKey(r *onboarding.Record) []byte {
	phone := r.PhoneNumberID
	if phone == "" {
		phone = noPhone
	}
	return []byte(r.WABAID + "#" + phone)
}

func indexKey(prefix string, r *onboarding.Record) []byte {
	return []byte(prefix + "#" + r.CreatedAt.UTC().Format(timeLayout) + "#" + r.ID)
}

// getRecord returns the stored record of id, or nil.
func getRecord(tx *bbolt.Tx, id string) (*onboarding.Record, error) {
	b := tx.Bucket(bucketRecords).Get([]byte(id))
	if b == nil {
		return nil, nil
	}
	return decodeRecord(b)
}

func putRecord(tx *bbolt.Tx, r *onboarding.Record) error {
	b, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("encoding record %s: %w", r.ID, err)
	}
	return tx.Bucket(bucketRecords).Put([]byte(r.ID), b)
}

// putIndexes writes r's index entries, removing old's when its creation time differs.
func putIndexes(tx *bbolt.Tx, r, old *onboarding.Record) error {
	byPhone, byWABA := tx.Bucket(bucketByPhone), tx.Bucket(bucketByWABA)
	if old != nil {
		if old.CreatedAt.Equal(r.CreatedAt) && old.PhoneNumberID == r.PhoneNumberID {
			return nil // the keys are unchanged (a phone number id is set once, by PhoneAssignable)
		}
		if old.PhoneNumberID != "" {
			if err := byPhone.Delete(indexKey(old.PhoneNumberID, old)); err != nil {
				return err
			}
		}
		if err := byWABA.Delete(indexKey(old.WABAID, old)); err != nil {
			return err
		}
	}
	if r.PhoneNumberID != "" {
		if err := byPhone.Put(indexKey(r.PhoneNumberID, r), []byte(r.ID)); err != nil {
			return err
		}
	}
	if r.CustomerRef != "" && (old == nil || !old.CreatedAt.Equal(r.CreatedAt)) {
		if err := tx.Bucket(bucketByCustomer).Put(indexKey(r.CustomerRef, r), []byte(r.ID)); err != nil {
			return err
		}
	}
	return byWABA.Put(indexKey(r.WABAID, r), []byte(r.ID))
}

// checkGuard returns *onboarding.ActiveOnboardingError if an active onboarding other than id holds r's
// guard. A guard whose holder is no longer active is free, as in the DynamoDB store.
func checkGuard(tx *bbolt.Tx, r *onboarding.Record) error {
	holder := tx.Bucket(bucketGuards).Get(guardKey(r))
	if holder == nil || string(holder) == r.ID {
		return nil
	}
	rec, err := getRecord(tx, string(holder))
	if err != nil {
		return err
	}
	if rec != nil && rec.Status.Active() {
		return &onboarding.ActiveOnboardingError{ExistingID: string(holder)}
	}
	return nil
}

// Create stores a copy of r at version 1 and sets r.Version. An active record takes the guard of its WABA and
// phone number (*onboarding.ActiveOnboardingError if another active onboarding holds it); an existing id is
// onboarding.ErrVersionConflict.
func (s *Store) Create(ctx context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("bolt store: create: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: create %s: %w", r.ID, err)
	}
	c := r.Clone()
	c.Version = 1
	err := s.db.Update(func(tx *bbolt.Tx) error {
		// Same order of checks as the DynamoDB store: the guard first, then the id.
		if r.Status.Active() {
			if err := checkGuard(tx, r); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketRecords).Get([]byte(r.ID)) != nil {
			return fmt.Errorf("bolt store: create %s: record already exists: %w", r.ID, onboarding.ErrVersionConflict)
		}
		if err := putRecord(tx, c); err != nil {
			return err
		}
		if err := putIndexes(tx, c, nil); err != nil {
			return err
		}
		if r.Status.Active() {
			return tx.Bucket(bucketGuards).Put(guardKey(r), []byte(r.ID))
		}
		return nil
	})
	if err != nil {
		return wrap("create", r.ID, err)
	}
	r.Version = 1
	return nil
}

// wrap adds the store's context to an error from a transaction, leaving the typed domain errors as they are
// (they already say what happened, and callers match them with errors.As).
func wrap(op, id string, err error) error {
	var active *onboarding.ActiveOnboardingError
	var invalid *onboarding.InvalidTransitionError
	switch {
	case errors.As(err, &active), errors.As(err, &invalid),
		errors.Is(err, onboarding.ErrVersionConflict), errors.Is(err, onboarding.ErrNotFound):
		return err
	}
	return fmt.Errorf("bolt store: %s %s: %w", op, id, err)
}

// Get returns a copy of the record, or onboarding.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*onboarding.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bolt store: get %s: %w", id, err)
	}
	var rec *onboarding.Record
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rec, err = getRecord(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bolt store: get %s: %w", id, err)
	}
	if rec == nil {
		return nil, fmt.Errorf("bolt store: get %s: %w", id, onboarding.ErrNotFound)
	}
	return rec, nil
}

// Update stores a copy of r if the stored version equals r.Version, then increments r.Version. Moving into
// an active status takes the guard (*onboarding.ActiveOnboardingError if another onboarding holds it);
// moving out of one releases it. WABAID and PhoneNumberID cannot change.
func (s *Store) Update(ctx context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("bolt store: update: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt store: update %s: %w", r.ID, err)
	}
	c := r.Clone()
	c.Version = r.Version + 1
	err := s.db.Update(func(tx *bbolt.Tx) error {
		old, err := getRecord(tx, r.ID)
		if err != nil {
			return err
		}
		if old == nil {
			return fmt.Errorf("bolt store: update %s: %w", r.ID, onboarding.ErrNotFound)
		}
		if old.Version != r.Version {
			return fmt.Errorf("bolt store: update %s: stored version %d, caller has %d: %w", r.ID, old.Version, r.Version, onboarding.ErrVersionConflict)
		}
		if old.WABAID != r.WABAID || (old.PhoneNumberID != r.PhoneNumberID && !onboarding.PhoneAssignable(old, r)) {
			return fmt.Errorf("bolt store: update %s: %w", r.ID, &onboarding.InvalidTransitionError{Reason: "waba_id and phone_number_id cannot change"})
		}
		if old.CustomerRef != r.CustomerRef {
			return fmt.Errorf("bolt store: update %s: %w", r.ID, &onboarding.InvalidTransitionError{Reason: "customer_ref cannot change"})
		}
		guards := tx.Bucket(bucketGuards)
		k := guardKey(r)
		if !old.Status.Active() && r.Status.Active() {
			if err := checkGuard(tx, r); err != nil {
				return err
			}
			if err := guards.Put(k, []byte(r.ID)); err != nil {
				return err
			}
		}
		if old.Status.Active() && !r.Status.Active() && string(guards.Get(k)) == r.ID {
			if err := guards.Delete(k); err != nil {
				return err
			}
		}
		if err := putRecord(tx, c); err != nil {
			return err
		}
		return putIndexes(tx, c, old)
	})
	if err != nil {
		return wrap("update", r.ID, err)
	}
	r.Version = c.Version
	return nil
}

// FindByPhone returns a copy of the most recently created record of the phone number, or
// onboarding.ErrNotFound.
func (s *Store) FindByPhone(ctx context.Context, phoneNumberID string) (*onboarding.Record, error) {
	var recs []*onboarding.Record
	err := s.scan(ctx, bucketByPhone, phoneNumberID, 1, &recs)
	if err != nil {
		return nil, fmt.Errorf("bolt store: find by phone %s: %w", phoneNumberID, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("bolt store: find by phone %s: %w", phoneNumberID, onboarding.ErrNotFound)
	}
	return recs[0], nil
}

// FindByWABA returns copies of the WABA's records, most recently created first, at most limit (all if
// limit <= 0).
func (s *Store) FindByWABA(ctx context.Context, wabaID string, limit int) ([]*onboarding.Record, error) {
	recs := []*onboarding.Record{}
	if err := s.scan(ctx, bucketByWABA, wabaID, limit, &recs); err != nil {
		return nil, fmt.Errorf("bolt store: find by waba %s: %w", wabaID, err)
	}
	return recs, nil
}

// ListActive returns the records in an active status (RUNNING, AWAITING_TEST_MESSAGE): those holding a
// WABA+phone guard. It is not part of onboarding.Store: the local runner uses it at start to find the
// onboardings whose workflow execution a stop interrupted.
func (s *Store) ListActive(ctx context.Context) ([]*onboarding.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bolt store: list active: %w", err)
	}
	var out []*onboarding.Record
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketGuards).ForEach(func(_, id []byte) error {
			rec, err := getRecord(tx, string(id))
			if err != nil {
				return err
			}
			if rec != nil && rec.Status.Active() {
				out = append(out, rec)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt store: list active: %w", err)
	}
	return out, nil
}

// ListByCustomer returns a page of the customer's records, newest first, only those in status when it is
// set, and the cursor of the next page ("" after the last one).
func (s *Store) ListByCustomer(ctx context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", fmt.Errorf("bolt store: list by customer: limit %d outside 1..%d", limit, onboarding.MaxListLimit)
	}
	recs := []*onboarding.Record{}
	var start []byte // nil: from the newest
	if cursor != "" {
		created, id, err := onboarding.ParseListCursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("bolt store: list by customer: %w", err)
		}
		start = indexKey(customerRef, &onboarding.Record{ID: id, CreatedAt: created})
	}
	next := ""
	err := s.walkBack(ctx, bucketByCustomer, customerRef, start, func(rec *onboarding.Record) bool {
		if status != "" && rec.Status != status {
			return true
		}
		if len(recs) == limit {
			last := recs[limit-1]
			next = onboarding.ListCursor(last.CreatedAt, last.ID)
			return false
		}
		recs = append(recs, rec)
		return true
	})
	if err != nil {
		return nil, "", fmt.Errorf("bolt store: list by customer: %w", err)
	}
	return recs, next, nil
}

// scan reads the records of one index prefix, newest first, at most limit (all if limit <= 0).
func (s *Store) scan(ctx context.Context, bucket []byte, value string, limit int, out *[]*onboarding.Record) error {
	return s.walkBack(ctx, bucket, value, nil, func(rec *onboarding.Record) bool {
		*out = append(*out, rec)
		return limit <= 0 || len(*out) < limit
	})
}

// walkBack visits the records of one index prefix newest first (index keys sort by creation time, then id,
// so the walk goes backwards from the end of the prefix, or from just before the key start), until visit
// returns false.
func (s *Store) walkBack(ctx context.Context, bucket []byte, value string, start []byte, visit func(*onboarding.Record) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if value == "" || strings.Contains(value, "#") {
		// Graph ids are digits; a '#' would reach into another id's range.
		return nil
	}
	prefix := []byte(value + "#")
	if start == nil {
		start = []byte(value + "$") // the first key after the prefix's range: '$' follows '#'
	}
	return s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		var k, id []byte
		if k, _ = c.Seek(start); k == nil {
			k, id = c.Last()
		} else {
			k, id = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, id = c.Prev() {
			rec, err := getRecord(tx, string(id))
			if err != nil {
				return err
			}
			if rec == nil {
				return fmt.Errorf("index entry %q names no record", k)
			}
			if !visit(rec) {
				return nil
			}
		}
		return nil
	})
}

// ListWABAs returns a page of the ids of the WABAs that have records, in ascending byte order of id: a walk
// of the WABA index that jumps over each WABA's entries.
func (s *Store) ListWABAs(ctx context.Context, limit int, cursor string) ([]string, string, error) {
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", fmt.Errorf("bolt store: list wabas: limit %d outside 1..%d", limit, onboarding.MaxListLimit)
	}
	var start []byte
	if cursor != "" {
		after, err := onboarding.ParseWABACursor(cursor)
		if err != nil {
			return nil, "", fmt.Errorf("bolt store: list wabas: %w", err)
		}
		start = []byte(after + "$") // '$' follows '#': the first key after that WABA's range
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	ids := []string{}
	next := ""
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketByWABA).Cursor()
		k, _ := c.First()
		if start != nil {
			k, _ = c.Seek(start)
		}
		for k != nil {
			waba, _, ok := bytes.Cut(k, []byte("#"))
			if !ok {
				return fmt.Errorf("index entry %q has no WABA id", k)
			}
			if len(ids) == limit {
				next = onboarding.WABACursor(ids[limit-1])
				return nil
			}
			ids = append(ids, string(waba))
			k, _ = c.Seek(append(append([]byte{}, waba...), '$'))
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("bolt store: list wabas: %w", err)
	}
	return ids, next, nil
}
