package webhook

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

// The types below model the part of Meta's webhook notification the intake reads; Parse decodes into them.
// Keys they do not name are ignored (each item's untouched JSON travels in Event.Raw), so a field Meta adds
// never breaks the intake. They encode to Meta's shape, so the Graph simulator and tests can build
// notifications with them.

// ObjectWhatsAppBusinessAccount is the notification object of every WhatsApp Business Account webhook.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// The change fields the parser normalizes; any other field becomes a KindOther event.
const (
	FieldMessages      = "messages"
	FieldAccountUpdate = "account_update"
)

// Notification is the body of a webhook POST.
type Notification struct {
	Object FlexString `json:"object"`
	Entry  []Entry    `json:"entry"`
}

// Entry groups the changes of one object. For messages it is the WABA; for account_update, which Meta sends to
// the app-level callback, it is not (the WABA is in WABAInfo).
type Entry struct {
	ID FlexString `json:"id"`
	// Time is the unix time Meta triggered the webhook, when present (account_update and other fields).
	Time    FlexInt  `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change is one changed field with its value, kept raw so that it is decoded by field, once.
type Change struct {
	Field FlexString      `json:"field"`
	Value json.RawMessage `json:"value"`
}

// MessagesValue is the value of a messages change.
type MessagesValue struct {
	MessagingProduct string       `json:"messaging_product,omitempty"`
	Metadata         Metadata     `json:"metadata"`
	Contacts         []Contact    `json:"contacts,omitempty"`
	Messages         []Message    `json:"messages,omitempty"`
	Statuses         []Status     `json:"statuses,omitempty"`
	Errors           []GraphError `json:"errors,omitempty"`
}

// Metadata identifies the business phone number the change is about.
type Metadata struct {
	DisplayPhoneNumber FlexString `json:"display_phone_number,omitempty"`
	PhoneNumberID      FlexString `json:"phone_number_id,omitempty"`
}

// Contact is a WhatsApp user in a messages change. WAID is omitted for users known only by their
// business-scoped user id (UserID).
type Contact struct {
	Profile      *Profile   `json:"profile,omitempty"`
	WAID         FlexString `json:"wa_id,omitempty"`
	UserID       FlexString `json:"user_id,omitempty"`
	ParentUserID FlexString `json:"parent_user_id,omitempty"`
}

// Profile is a contact's profile.
type Profile struct {
	Name     FlexString `json:"name,omitempty"`
	Username FlexString `json:"username,omitempty"`
}

// Message is an inbound message. Only the fields the intake normalizes are typed; the content of every type
// (image, interactive, location, ...) stays in Event.Raw.
type Message struct {
	From       FlexString      `json:"from,omitempty"`
	FromUserID FlexString      `json:"from_user_id,omitempty"`
	ID         FlexString      `json:"id"`
	Timestamp  FlexString      `json:"timestamp,omitempty"`
	Type       FlexString      `json:"type,omitempty"`
	Text       *TextBody       `json:"text,omitempty"`
	Context    *MessageContext `json:"context,omitempty"`
	Reaction   *Reaction       `json:"reaction,omitempty"`
	System     *SystemBody     `json:"system,omitempty"`
	Errors     []GraphError    `json:"errors,omitempty"`
}

// SystemBody is the content of a system message: Meta reports a user's identity changes this way
// (user_changed_number with the new phone in WAID, user_changed_user_id), with the business-scoped user ids
// the user had before; the message's from_user_id is the current one.
type SystemBody struct {
	Body                 FlexString `json:"body,omitempty"`
	Type                 FlexString `json:"type,omitempty"`
	WAID                 FlexString `json:"wa_id,omitempty"`
	PreviousUserID       FlexString `json:"previous_user_id,omitempty"`
	PreviousParentUserID FlexString `json:"previous_parent_user_id,omitempty"`
}

// TextBody is the content of a text message.
type TextBody struct {
	Body FlexString `json:"body"`
}

// MessageContext is set on a reply (and on forwarded messages).
type MessageContext struct {
	From FlexString `json:"from,omitempty"`
	ID   FlexString `json:"id,omitempty"`
}

// Reaction is the content of a reaction message.
type Reaction struct {
	MessageID FlexString `json:"message_id"`
	Emoji     string     `json:"emoji,omitempty"`
}

// Status is the delivery status of a message the business sent.
type Status struct {
	ID              FlexString `json:"id"`
	Status          FlexString `json:"status"`
	Timestamp       FlexString `json:"timestamp,omitempty"`
	RecipientID     FlexString `json:"recipient_id,omitempty"`
	RecipientUserID FlexString `json:"recipient_user_id,omitempty"`
	// RecipientParentUserID is the recipient's parent business-scoped user id (enrolled portfolios only).
	RecipientParentUserID FlexString   `json:"recipient_parent_user_id,omitempty"`
	Errors                []GraphError `json:"errors,omitempty"`
}

// GraphError is an error object in statuses[].errors, messages[].errors or value.errors.
type GraphError struct {
	Code      FlexInt    `json:"code"`
	Title     FlexString `json:"title,omitempty"`
	Message   FlexString `json:"message,omitempty"`
	ErrorData *ErrorData `json:"error_data,omitempty"`
	Href      string     `json:"href,omitempty"`
}

// ErrorData carries the detail of a GraphError.
type ErrorData struct {
	Details FlexString `json:"details,omitempty"`
}

// AccountUpdateValue is the value of an account_update change.
type AccountUpdateValue struct {
	Event    FlexString `json:"event"`
	WABAInfo *WABAInfo  `json:"waba_info,omitempty"`
}

// WABAInfo names the customer WABA an account_update is about.
type WABAInfo struct {
	WABAID          FlexString `json:"waba_id,omitempty"`
	OwnerBusinessID FlexString `json:"owner_business_id,omitempty"`
	PartnerAppID    FlexString `json:"partner_app_id,omitempty"`
}

// FlexString decodes a JSON string, or a number kept as its literal text, or null as "". Meta documents ids
// and timestamps as strings; accepting a number too keeps one unexpected literal from failing a delivery that
// Meta would then retry for a week.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) >= 2 && b[0] == '"':
		// Fast path: most ids hold no escapes, and a nested json.Unmarshal per field would double the cost.
		if bytes.IndexByte(b, '\\') < 0 {
			*s = FlexString(b[1 : len(b)-1])
			return nil
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = FlexString(v)
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = FlexString(b)
	default:
		return &json.UnmarshalTypeError{Value: "non-string", Type: flexStringType}
	}
	return nil
}

// FlexInt decodes a JSON integer, or a string holding one, or null as 0.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	lit := b
	if len(b) >= 2 && b[0] == '"' {
		lit = b[1 : len(b)-1]
	}
	if string(lit) == "null" || len(lit) == 0 {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		// A float or an out-of-range value: keep what fits rather than fail the whole change.
		f, ferr := strconv.ParseFloat(string(lit), 64)
		if ferr != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
			return &json.UnmarshalTypeError{Value: "non-integer", Type: flexIntType}
		}
		v = int64(f)
	}
	*n = FlexInt(v)
	return nil
}

var (
	flexStringType = reflect.TypeFor[FlexString]()
	flexIntType    = reflect.TypeFor[FlexInt]()
)
