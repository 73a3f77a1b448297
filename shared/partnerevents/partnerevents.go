// Package partnerevents publishes what partners build on: onboarding status changes, inbound messages,
// message statuses and account updates, as versioned events on an EventBridge bus (a local sink in
// `make run`). The schema is documented in docs/events.md; Version changes only when a field changes meaning
// or disappears, never when one is added.
package partnerevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Version is the schema version of every event's detail.
const Version = "1"

// Source is the EventBridge source of the events.
const Source = "wa-onboarding"

// Event types (EventBridge detail-type).
const (
	TypeOnboardingStatusChanged = "onboarding.status_changed"
	TypeMessageReceived         = "message.received"
	TypeMessageStatus           = "message.status"
	TypeMessagingError          = "messaging.error"
	TypeAccountUpdate           = "account.updated"
	// TypeUserIdentityChanged: a WhatsApp user changed phone number or business-scoped user id (Meta's
	// system messages user_changed_number and user_changed_user_id).
	TypeUserIdentityChanged = "user.identity_changed"
	// The WhatsApp Business app (coexistence) events.
	TypeBusinessAppContactsSynced = "business_app.contacts_synced"
	TypeBusinessAppHistory        = "business_app.history"
	TypeMessageEcho               = "message.echo"
	// TypeTokenInvalid and TypeTokenExpiring: the daily token health check found a customer's business token
	// (or the partner's system token) invalid, or ending within its warning window.
	TypeTokenInvalid  = "token.invalid"
	TypeTokenExpiring = "token.expiring"
)

// Token types of the token events.
const (
	TokenBusiness = "business"
	TokenSystem   = "system"
)

// Event is one partner event. Detail fields other than the common ones depend on Type (docs/events.md).
type Event struct {
	// ID is stable for the same fact (the webhook dedupe key, or onboarding id + status), so consumers can
	// dedupe: publishing is at least once.
	ID            string    `json:"id"`
	Version       string    `json:"version"`
	Type          string    `json:"type"`
	Time          time.Time `json:"time"`
	OnboardingID  string    `json:"onboarding_id,omitempty"`
	WABAID        string    `json:"waba_id,omitempty"`
	PhoneNumberID string    `json:"phone_number_id,omitempty"`
	// Status is the onboarding status (onboarding.status_changed) or the message status (message.status).
	Status string `json:"status,omitempty"`
	// FailedStep and ErrorCode describe a FAILED onboarding.
	FailedStep string `json:"failed_step,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"`
	// MessageID, From, RecipientID, MessageType and Text describe messages (as Meta sent them).
	MessageID   string `json:"message_id,omitempty"`
	From        string `json:"from,omitempty"`
	FromUserID  string `json:"from_user_id,omitempty"`
	RecipientID string `json:"recipient_id,omitempty"`
	MessageType string `json:"message_type,omitempty"`
	Text        string `json:"text,omitempty"`
	// UserID, ParentUserID and Username identify the WhatsApp user by business-scoped user id (the sender
	// of a received message, the recipient of a status), when Meta sent them.
	UserID       string `json:"user_id,omitempty"`
	ParentUserID string `json:"parent_user_id,omitempty"`
	Username     string `json:"username,omitempty"`
	// IdentityChange, PreviousUserID, PreviousParentUserID and NewWAID describe user.identity_changed:
	// user_changed_number (NewWAID is the new phone) or user_changed_user_id.
	IdentityChange       string `json:"identity_change,omitempty"`
	PreviousUserID       string `json:"previous_user_id,omitempty"`
	PreviousParentUserID string `json:"previous_parent_user_id,omitempty"`
	NewWAID              string `json:"new_wa_id,omitempty"`
	// AccountEvent is the account_update event (PARTNER_ADDED, PARTNER_REMOVED, ...).
	AccountEvent string `json:"account_event,omitempty"`
	// Errors are Meta's errors attached to a failed status or a messaging error, or Meta's reason for an
	// invalid token.
	Errors []Error `json:"errors,omitempty"`
	// To is the user a message echo went to (message.echo).
	To string `json:"to,omitempty"`
	// Contacts are the WhatsApp Business app's contact changes (business_app.contacts_synced).
	Contacts []Contact `json:"contacts,omitempty"`
	// History describes one chunk of the shared message history (business_app.history).
	History *History `json:"history,omitempty"`
	// TokenType, Reason, ExpiresAt and DataAccessExpiresAt describe token.invalid and token.expiring: which
	// token (business or system), why (expired, invalid, other_app, expires_soon, data_access_expiring,
	// data_access_expired) and when it or its data access ends (absent: never).
	TokenType           string     `json:"token_type,omitempty"`
	Reason              string     `json:"reason,omitempty"`
	ExpiresAt           *time.Time `json:"expires_at,omitempty"`
	DataAccessExpiresAt *time.Time `json:"data_access_expires_at,omitempty"`
}

// Contact is one contact change of the WhatsApp Business app.
type Contact struct {
	PhoneNumber string `json:"phone_number"`
	// Action is add or remove.
	Action   string `json:"action"`
	FullName string `json:"full_name,omitempty"`
}

// History is one chunk of a coexistence number's message history.
type History struct {
	// Declined is set when the business chose not to share its history (Meta's error 2593109); the sync
	// itself succeeded.
	Declined bool `json:"declined,omitempty"`
	// Phase (0, 1, 2), ChunkOrder and Progress (0 to 100) are Meta's position in the history sync.
	Phase      int `json:"phase"`
	ChunkOrder int `json:"chunk_order"`
	Progress   int `json:"progress"`
	// Threads and Messages count what the chunk holds.
	Threads  int `json:"threads"`
	Messages int `json:"messages"`
}

// Error is one of Meta's errors attached to an event.
type Error struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Publisher publishes partner events.
type Publisher interface {
	Publish(ctx context.Context, events ...Event) error
}

// StatusChanged builds the event of an onboarding reaching a status.
func StatusChanged(onboardingID, wabaID, phoneNumberID, status string, at time.Time) Event {
	return Event{
		ID: "onboarding:" + onboardingID + ":" + status, Version: Version, Type: TypeOnboardingStatusChanged, Time: at.UTC(),
		OnboardingID: onboardingID, WABAID: wabaID, PhoneNumberID: phoneNumberID, Status: status,
	}
}

// TokenFacts is what the token health check found about one token.
type TokenFacts struct {
	// Type is TypeTokenInvalid or TypeTokenExpiring; TokenType is TokenBusiness or TokenSystem.
	Type      string
	TokenType string
	// OnboardingID, WABAID and PhoneNumberID name the WABA's newest onboarding (business tokens only).
	OnboardingID, WABAID, PhoneNumberID string
	Reason                              string
	// ExpiresAt and DataAccessExpiresAt are zero when they never end.
	ExpiresAt, DataAccessExpiresAt time.Time
	Errors                         []Error
	// At is when the check ran; its UTC date is part of the id.
	At time.Time
}

// TokenEvent builds a token.invalid or token.expiring event. Its id is
// "token:<waba_id or system>:<invalid|expiring>:<date of At, UTC>": one fact per token, state and day, so a
// check repeated the same day publishes the same id.
func TokenEvent(f TokenFacts) Event {
	subject := f.WABAID
	if f.TokenType == TokenSystem {
		subject = TokenSystem
	}
	state := "expiring"
	if f.Type == TypeTokenInvalid {
		state = "invalid"
	}
	at := f.At.UTC()
	return Event{
		ID: "token:" + subject + ":" + state + ":" + at.Format(time.DateOnly), Version: Version, Type: f.Type, Time: at,
		OnboardingID: f.OnboardingID, WABAID: f.WABAID, PhoneNumberID: f.PhoneNumberID,
		TokenType: f.TokenType, Reason: f.Reason, ExpiresAt: utcPtr(f.ExpiresAt), DataAccessExpiresAt: utcPtr(f.DataAccessExpiresAt),
		Errors: f.Errors,
	}
}

func utcPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Discard publishes nothing.
type Discard struct{}

// Publish does nothing.
func (Discard) Publish(context.Context, ...Event) error { return nil }

// MemorySink keeps published events in memory (the local runner's sink and tests), and logs each one.
type MemorySink struct {
	mu     sync.Mutex
	events []Event
	// Limit bounds the events kept (oldest dropped); 0 keeps 10 000.
	Limit  int
	Logger *slog.Logger
	// Fail, when set, makes Publish fail (fault injection).
	Fail func() error
}

// Publish records the events.
func (m *MemorySink) Publish(ctx context.Context, events ...Event) error {
	if m.Fail != nil {
		if err := m.Fail(); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.limit()
	m.events = append(m.events, events...)
	// Drop the oldest events only once twice the limit are held, so that a full sink costs amortized O(1)
	// per event rather than a copy of the whole window on every publish; Events returns the newest limit.
	if len(m.events) >= 2*limit {
		m.events = append(make([]Event, 0, 2*limit), m.events[len(m.events)-limit:]...)
	}
	if m.Logger != nil {
		for _, e := range events {
			m.Logger.InfoContext(ctx, "partner event", "event_type", e.Type, "event_id", e.ID, "status", e.Status)
		}
	}
	return nil
}

// Events returns a copy of the events published so far (the newest Limit of them).
func (m *MemorySink) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.events
	if over := len(kept) - m.limit(); over > 0 {
		kept = kept[over:]
	}
	return append([]Event(nil), kept...)
}

func (m *MemorySink) limit() int {
	if m.Limit <= 0 {
		return 10000
	}
	return m.Limit
}

// Detail encodes an event as the EventBridge detail document.
func Detail(e Event) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encoding partner event %s: %w", e.ID, err)
	}
	return string(b), nil
}
