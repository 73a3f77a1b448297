// Package webhookitem describes the webhook items that both store adapters keep for onboarding.WebhookStore
// (dedupe claims, message statuses, partner events), in the form their inspection methods (GetEventClaim,
// MessageStatus, PartnerState) report them, and holds the rules the two adapters share so that they cannot
// drift apart: how a TTL is rounded, when an item counts as expired, which partner events are accepted and
// under which attribute their time is kept, and how the read-decide-write adapters change an item. It is not part of the domain: the webhook worker uses
// onboarding.WebhookStore; tests and debugging tools use the inspection methods.
package webhookitem

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// EventClaim is a dedupe claim as stored (expired or not).
type EventClaim struct {
	Key string
	// Done is set by CompleteEvent.
	Done bool
	// Attempts counts the claims that held a lease: 1 for ClaimNew, +1 per ClaimRetry.
	Attempts int
	// LeaseUntil is when the current holder's lease ends (zero for an event completed without a claim).
	LeaseUntil time.Time
	// CompletedAt is the first CompleteEvent's time; zero until then.
	CompletedAt time.Time
	// ExpiresAt is the TTL, in whole seconds (see TTL).
	ExpiresAt time.Time
}

// MessageStatus is the furthest status recorded for a message (expired or not).
type MessageStatus struct {
	MessageID string
	Status    string
	// Rank is onboarding.MessageStatusRank(Status).
	Rank      int
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Partner is what was recorded of a WABA's account_update partner events. It does not expire.
type Partner struct {
	WABAID string
	// LastEvent is the event with the latest time seen; ties keep the one recorded first.
	LastEvent   string
	LastEventAt time.Time
	// EventAt maps each event seen to the latest time it was delivered with.
	EventAt map[string]time.Time
}

// TTL returns the value of the TTL attribute (expires_at, epoch seconds) for an item that must live until t:
// rounded up, so that the item never counts as expired before t.
func TTL(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// Expired reports whether an item whose TTL attribute is ttl counts as absent at now. DynamoDB deletes
// expired items lazily (typically within days), so both adapters treat an item as gone from its TTL on,
// whether or not it was deleted yet. ttl 0 means the item does not expire. The DynamoDB form of the test is
// the condition "expires_at <= :now" with :now = now.Unix().
func Expired(ttl int64, now time.Time) bool { return ttl != 0 && now.Unix() >= ttl }

// TTLTime is TTL(t) as the time the inspection methods report.
func TTLTime(t time.Time) time.Time { return time.Unix(TTL(t), 0).UTC() }

// expiredAt is Expired for a TTL held as a time (zero: the item does not expire).
func expiredAt(ttl, now time.Time) bool { return !ttl.IsZero() && Expired(ttl.Unix(), now) }

// The rules below are ClaimEvent's, CompleteEvent's, AdvanceMessageStatus's and RecordPartnerEvent's for the
// adapters that read an item, decide and write it back in one atomic step (the in-memory and bbolt stores;
// the DynamoDB store states the same rules as condition expressions). Each takes the stored item and whether
// there is one, expired or not.

// Claim returns ClaimEvent's result for the claim c of key at now and the claim to store, nil when the
// stored one stays: an absent or expired key is claimed with a lease until now+lease (onboarding.ClaimNew);
// a completed one is onboarding.ClaimDone; one whose lease runs is onboarding.ClaimBusy; one whose lease
// ended before it was completed is claimed again (onboarding.ClaimRetry). A new lease expires at now+ttl.
func Claim(c EventClaim, ok bool, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, *EventClaim) {
	now = now.UTC()
	switch {
	case !ok || expiredAt(c.ExpiresAt, now):
		return onboarding.ClaimNew, &EventClaim{Key: key, Attempts: 1, LeaseUntil: now.Add(lease), ExpiresAt: TTLTime(now.Add(ttl))}
	case c.Done:
		return onboarding.ClaimDone, nil
	case now.Before(c.LeaseUntil):
		return onboarding.ClaimBusy, nil
	}
	c.Attempts++
	c.LeaseUntil, c.ExpiresAt = now.Add(lease), TTLTime(now.Add(ttl))
	return onboarding.ClaimRetry, &c
}

// Complete returns the claim c of key marked done at now (keeping the first completion) until now+ttl; a key
// never claimed gets a done claim.
func Complete(c EventClaim, ok bool, key string, now time.Time, ttl time.Duration) EventClaim {
	if !ok {
		c = EventClaim{Key: key}
	}
	c.Done = true
	if c.CompletedAt.IsZero() {
		c.CompletedAt = now.UTC()
	}
	c.ExpiresAt = TTLTime(now.Add(ttl))
	return c
}

// Advance returns the status of messageID to store for status (of rank) at now, or false when the stored cur
// is live and ranks as high: a status advances only to a higher rank.
func Advance(cur MessageStatus, ok bool, messageID, status string, rank int, now time.Time, ttl time.Duration) (MessageStatus, bool) {
	if ok && cur.Rank >= rank && !expiredAt(cur.ExpiresAt, now) {
		return cur, false
	}
	return MessageStatus{MessageID: messageID, Status: status, Rank: rank, UpdatedAt: now.UTC(), ExpiresAt: TTLTime(now.Add(ttl))}, true
}

// RecordPartner returns p, the partner item of wabaID, with event at at recorded: the event's own latest
// time and, unless a later event was recorded already, the WABA's last event. Out-of-order deliveries
// therefore never make an older event the last one; of two events at the same time the first recorded
// stays last. It does not change p's map.
func RecordPartner(p Partner, ok bool, wabaID, event string, at time.Time) Partner {
	at = at.UTC()
	if !ok {
		p = Partner{WABAID: wabaID}
	}
	p.EventAt = maps.Clone(p.EventAt)
	if p.EventAt == nil {
		p.EventAt = map[string]time.Time{}
	}
	if !ok || p.LastEventAt.Before(at) {
		p.LastEvent, p.LastEventAt = event, at
	}
	if prev, seen := p.EventAt[event]; !seen || prev.Before(at) {
		p.EventAt[event] = at
	}
	return p
}

// CheckClaim validates the arguments of ClaimEvent.
func CheckClaim(key string, lease, ttl time.Duration) error {
	if lease <= 0 {
		return fmt.Errorf("event %q: lease %s is not positive", key, lease)
	}
	return CheckComplete(key, ttl)
}

// CheckComplete validates the arguments of CompleteEvent.
func CheckComplete(key string, ttl time.Duration) error {
	switch {
	case key == "":
		return errors.New("empty event key")
	case ttl <= 0:
		return fmt.Errorf("event %q: ttl %s is not positive", key, ttl)
	}
	return nil
}

// CheckStatus validates the arguments of AdvanceMessageStatus and returns the status's rank.
func CheckStatus(messageID, status string, ttl time.Duration) (int, error) {
	rank := onboarding.MessageStatusRank(status)
	switch {
	case messageID == "":
		return 0, errors.New("empty message id")
	case rank == 0:
		return 0, fmt.Errorf("message %s: unknown status %q", messageID, status)
	case ttl <= 0:
		return 0, fmt.Errorf("message %s: ttl %s is not positive", messageID, ttl)
	}
	return rank, nil
}

// CheckWait validates a wait for PutWait. The task token is never put into an error.
func CheckWait(w onboarding.Wait) error {
	switch {
	case w.OnboardingID == "":
		return errors.New("wait without an onboarding id")
	case w.Kind == "":
		return fmt.Errorf("wait of onboarding %s without a kind", w.OnboardingID)
	case w.TaskToken == "":
		return fmt.Errorf("wait %s of onboarding %s without a task token", w.Kind, w.OnboardingID)
	}
	return nil
}

// WaitExpired reports whether a wait counts as absent at now: from its ExpiresAt on (a zero ExpiresAt never
// expires).
func WaitExpired(w onboarding.Wait, now time.Time) bool {
	return !w.ExpiresAt.IsZero() && !now.Before(w.ExpiresAt)
}

var eventPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// Attributes of the partner item that are not per-event times. Events whose attribute would collide with
// one of them are refused.
const (
	AttrLastEvent   = "last_event"
	AttrLastEventAt = "last_event_at"
	AttrWABAID      = "waba_id"
)

// CheckPartner validates the arguments of RecordPartnerEvent and returns EventAttr(event).
func CheckPartner(wabaID, event string) (string, error) {
	if wabaID == "" {
		return "", errors.New("partner event without a waba id")
	}
	attr, err := EventAttr(event)
	if err != nil {
		return "", fmt.Errorf("waba %s: %w", wabaID, err)
	}
	return attr, nil
}

// EventAttr returns the attribute under which the partner item keeps the latest time of event:
// "PARTNER_ADDED" → "partner_added_at". Events must be upper-case snake case (as Meta's account_update
// events are), and may not collide with the item's other attributes or the TTL attribute.
func EventAttr(event string) (string, error) {
	if !eventPattern.MatchString(event) {
		return "", fmt.Errorf("partner event %q is not an upper-case snake_case name", event)
	}
	attr := strings.ToLower(event) + "_at"
	switch attr {
	case AttrLastEventAt, "expires_at", "updated_at", "created_at":
		return "", fmt.Errorf("partner event %q collides with the item attribute %s", event, attr)
	}
	return attr, nil
}

// EventOfAttr is the inverse of EventAttr: the event kept under attr, or false if attr is not a per-event
// time.
func EventOfAttr(attr string) (string, bool) {
	name, ok := strings.CutSuffix(attr, "_at")
	if !ok || attr == AttrLastEventAt {
		return "", false
	}
	event := strings.ToUpper(name)
	if back, err := EventAttr(event); err != nil || back != attr {
		return "", false
	}
	return event, true
}
