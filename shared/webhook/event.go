package webhook

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Kind classifies a normalized webhook event.
type Kind string

// The event kinds.
const (
	// KindInboundMessage: a message a WhatsApp user sent to a business phone number (any message type).
	KindInboundMessage Kind = "inbound_message"
	// KindMessageStatus: a delivery status (sent, delivered, read, failed, ...) of a message the business sent.
	KindMessageStatus Kind = "message_status"
	// KindMessagingError: an entry of a messages change's value.errors (an error not tied to one message).
	KindMessagingError Kind = "messaging_error"
	// KindAccountUpdate: an account_update change (PARTNER_ADDED, PARTNER_REMOVED, ACCOUNT_DELETED, ...).
	KindAccountUpdate Kind = "account_update"
	// KindOther: a change of a field the intake does not normalize, or one whose value did not have the
	// documented shape. It is kept whole in Raw so that nothing Meta sent is lost.
	KindOther Kind = "other"
)

// Event is one normalized webhook event: one inbound message, one status, one error or one other change. It
// encodes to JSON for the queue between the intake and the worker; empty fields are left out.
type Event struct {
	Kind Kind `json:"kind"`
	// Key is the stable dedupe key: equal for every delivery of the same event, whatever the batch it came
	// in. "message:<wamid>" (inbound), "status:<wamid>:<status>", "error:<hex sha256>" (value.errors) and
	// "change:<hex sha256>" (account_update, other). See Parse for the exact inputs.
	Key string `json:"key"`
	// Field is the change field ("messages", "account_update", ...).
	Field string `json:"field"`
	// EntryID is entry.id as Meta sent it: the WABA for messages, but not for account_update (app-level).
	EntryID string `json:"entry_id,omitempty"`
	// WABAID is the customer WABA: entry.id for messages, value.waba_info.waba_id for account_update (empty
	// when Meta did not send waba_info), empty for other fields.
	WABAID             string `json:"waba_id,omitempty"`
	PhoneNumberID      string `json:"phone_number_id,omitempty"`
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	// MessageID is the wamid of the inbound message, or of the business's message a status is about.
	MessageID string `json:"message_id,omitempty"`
	// Status is the delivery status as Meta sends it, in lower case (sent, delivered, read, failed, ...).
	Status string `json:"status,omitempty"`
	// From is the sender's wa_id (phone) of an inbound message; empty for a user known only by FromUserID.
	From string `json:"from,omitempty"`
	// FromUserID is the sender's business-scoped user id, when Meta sent one.
	FromUserID string `json:"from_user_id,omitempty"`
	// ProfileName and Username come from the contact matching the sender (or, for delivered and read
	// statuses, the recipient), when shared.
	ProfileName string `json:"profile_name,omitempty"`
	Username    string `json:"username,omitempty"`
	// ParentUserID is the user's parent business-scoped user id (contacts[].parent_user_id, or a status's
	// recipient_parent_user_id), sent only for portfolios enrolled in parent ids.
	ParentUserID string `json:"parent_user_id,omitempty"`
	// SystemType, PreviousUserID, PreviousParentUserID and NewWAID describe a system message (MessageType
	// "system"): an identity change (user_changed_number, with the new phone in NewWAID, or
	// user_changed_user_id) and the business-scoped user ids the user had before.
	SystemType           string `json:"system_type,omitempty"`
	PreviousUserID       string `json:"previous_user_id,omitempty"`
	PreviousParentUserID string `json:"previous_parent_user_id,omitempty"`
	NewWAID              string `json:"new_wa_id,omitempty"`
	// RecipientID and RecipientUserID identify the recipient of the business's message (statuses).
	RecipientID     string `json:"recipient_id,omitempty"`
	RecipientUserID string `json:"recipient_user_id,omitempty"`
	// MessageType is the inbound message type (text, image, interactive, reaction, unsupported, ...).
	MessageType string `json:"message_type,omitempty"`
	// Text is the body of a text message.
	Text string `json:"text,omitempty"`
	// ContextMessageID is the message this one replies to (context.id) or reacts to (reaction.message_id).
	ContextMessageID string `json:"context_message_id,omitempty"`
	// Timestamp is when Meta says the event happened (the message or status timestamp, else entry.time).
	Timestamp time.Time `json:"timestamp,omitzero"`
	// AccountEvent is value.event of an account_update (PARTNER_ADDED, PARTNER_REMOVED, ...).
	AccountEvent string `json:"account_event,omitempty"`
	// Errors are the errors Meta attached (failed statuses, unsupported messages, value.errors).
	Errors []EventError `json:"errors,omitempty"`
	// Raw is the single message, status or error object, or the whole change value, exactly as Meta sent it
	// (the events of one Parse share one copy of the body; encoding/json compacts it on the way out).
	Raw json.RawMessage `json:"raw,omitempty"`
}

// EventError is one error Meta reported.
type EventError struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Counts summarizes a parsed notification for logs and metrics.
type Counts struct {
	Entries           int `json:"entries,omitempty"`
	Changes           int `json:"changes,omitempty"`
	InboundMessages   int `json:"inbound_messages,omitempty"`
	MessageStatuses   int `json:"message_statuses,omitempty"`
	MessagingErrors   int `json:"messaging_errors,omitempty"`
	AccountUpdates    int `json:"account_updates,omitempty"`
	Other             int `json:"other,omitempty"`
	UnknownFields     int `json:"unknown_fields,omitempty"`
	UndecodableValues int `json:"undecodable_values,omitempty"`
	IgnoredObjects    int `json:"ignored_objects,omitempty"`
}

func (c *Counts) add(k Kind) {
	switch k {
	case KindInboundMessage:
		c.InboundMessages++
	case KindMessageStatus:
		c.MessageStatuses++
	case KindMessagingError:
		c.MessagingErrors++
	case KindAccountUpdate:
		c.AccountUpdates++
	default:
		c.Other++
	}
}

// Events returns the number of events of every kind.
func (c Counts) Events() int {
	return c.InboundMessages + c.MessageStatuses + c.MessagingErrors + c.AccountUpdates + c.Other
}

// LogValue renders the counts as one slog group.
func (c Counts) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("entries", c.Entries), slog.Int("changes", c.Changes), slog.Int("events", c.Events()),
		slog.Int("inbound_messages", c.InboundMessages), slog.Int("message_statuses", c.MessageStatuses),
		slog.Int("messaging_errors", c.MessagingErrors), slog.Int("account_updates", c.AccountUpdates),
		slog.Int("other", c.Other), slog.Int("unknown_fields", c.UnknownFields),
		slog.Int("undecodable_values", c.UndecodableValues), slog.Int("ignored_objects", c.IgnoredObjects),
	)
}

// Result is a parsed notification.
type Result struct {
	// Object is the notification's object; events are produced only for whatsapp_business_account.
	Object string
	Events []Event
	Counts Counts
}
