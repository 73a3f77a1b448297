package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrMalformedPayload reports that the body is not a JSON notification. With a valid signature this means Meta sent
// something it documents it never sends; the handler answers 400 and keeps nothing.
var ErrMalformedPayload = errors.New("malformed webhook payload")

// Parse decodes a notification and normalizes it into a flat list of events, in the order Meta sent them.
//
//   - messages: one event per value.messages[] (KindInboundMessage, key "message:<wamid>"), per
//     value.statuses[] (KindMessageStatus, key "status:<wamid>:<status>") and per value.errors[]
//     (KindMessagingError, key "error:" + hex sha256 of WABA, phone number id and the error object
//     re-encoded canonically). entry.id is the WABA and value.metadata.phone_number_id the phone. A message
//     or status without a wamid is keyed like a change, over its own bytes.
//   - account_update: one event (KindAccountUpdate); the WABA is value.waba_info.waba_id, never entry.id.
//   - any other field, or a value without the documented shape: one KindOther event keeping the value.
//
// account_update and other events are keyed "change:" + hex sha256 of entry.id, field and the raw value
// bytes (Meta redelivers a change byte for byte). Unknown keys are ignored. A body that is not JSON, or not
// an object (null aside), or whose envelope has a value of the wrong type, fails with ErrMalformedPayload; a
// notification of another object than whatsapp_business_account yields no events and counts as ignored.
//
// The events' Raw fields share copies of the change values, never body itself, so body may be reused after
// Parse returns.
func Parse(body []byte) (*Result, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedPayload, describeJSONError(err))
	}
	res := &Result{Object: string(n.Object)}
	res.Counts.Entries = len(n.Entry)
	for i := range n.Entry {
		res.Counts.Changes += len(n.Entry[i].Changes)
	}
	if res.Object != ObjectWhatsAppBusinessAccount {
		res.Counts.IgnoredObjects = 1
		return res, nil
	}
	// Meta's message and status objects take 250 to 400 bytes; sizing for that avoids regrowing (and
	// copying) the slice of a large batch several times, at the cost of some spare slots.
	events := make([]Event, 0, max(res.Counts.Changes, len(body)/256))
	for i := range n.Entry {
		e := &n.Entry[i]
		for j := range e.Changes {
			events = appendChange(events, string(e.ID), int64(e.Time), &e.Changes[j], &res.Counts)
		}
	}
	res.Events = events
	for i := range res.Events {
		res.Counts.add(res.Events[i].Kind)
	}
	return res, nil
}

// describeJSONError names what is wrong and where without quoting the body.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("unexpected JSON type at byte %d", te.Offset)
	}
	return "invalid JSON"
}

// appendChange appends the events of one change.
func appendChange(events []Event, entryID string, entryTime int64, c *Change, n *Counts) []Event {
	field := string(c.Field)
	other := func() Event {
		ev := Event{Kind: KindOther, Key: changeKey(entryID, field, c.Value), Field: field, EntryID: entryID, Timestamp: unixTime(entryTime)}
		if c.Value != nil {
			ev.Raw = c.Value
		}
		return ev
	}
	switch field {
	case FieldMessages:
		start := len(events)
		var err error
		if !isObject(c.Value) {
			err = errUnexpectedType
		} else {
			events, err = appendMessages(events, entryID, entryTime, c)
		}
		if err != nil {
			// Keep the change whole rather than half normalized.
			n.UndecodableValues++
			return append(events[:start], other())
		}
		if len(events) == start {
			// A messages change with none of the known arrays (a shape Meta added later): keep it whole.
			events = append(events, other())
		}
		return events
	case FieldAccountUpdate:
		var v AccountUpdateValue
		if !isObject(c.Value) || json.Unmarshal(c.Value, &v) != nil {
			n.UndecodableValues++
			return append(events, other())
		}
		ev := Event{
			Kind: KindAccountUpdate, Key: changeKey(entryID, field, c.Value), Field: field, EntryID: entryID,
			Timestamp: unixTime(entryTime), AccountEvent: string(v.Event), Raw: c.Value,
		}
		if v.WABAInfo != nil {
			ev.WABAID = string(v.WABAInfo.WABAID)
		}
		return append(events, ev)
	default:
		n.UnknownFields++
		return append(events, other())
	}
}

// errUnexpectedType: a value has another JSON type than the model expects.
var errUnexpectedType = errors.New("unexpected JSON type")

// appendMessages appends the events of a messages change, one per item in the order the value holds them
// (Meta may send statuses before messages, or errors first). The value's members are walked with the
// decoder's token stream for that order alone; each item is decoded into its typed form and kept raw. The
// contacts and metadata, which may come before or after the items, are applied once all are read.
func appendMessages(events []Event, entryID string, entryTime int64, c *Change) ([]Event, error) {
	start := len(events)
	var md Metadata
	var contacts []Contact
	dec := json.NewDecoder(bytes.NewReader(c.Value))
	if _, err := dec.Token(); err != nil { // the opening brace: isObject checked it
		return events, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return events, err
		}
		switch tok.(string) { // inside an object, the decoder yields only string keys
		case "metadata":
			err = dec.Decode(&md)
		case "contacts":
			var list []Contact
			err = dec.Decode(&list)
			contacts = append(contacts, list...)
		case "messages":
			events, err = appendItems(events, dec, c.Value, KindInboundMessage, entryID, entryTime)
		case "statuses":
			events, err = appendItems(events, dec, c.Value, KindMessageStatus, entryID, entryTime)
		case "errors":
			events, err = appendItems(events, dec, c.Value, KindMessagingError, entryID, entryTime)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return events, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return events, err
	}
	index := contactIndex{list: contacts}
	for i := start; i < len(events); i++ {
		ev := &events[i]
		ev.Field, ev.EntryID, ev.WABAID = FieldMessages, entryID, entryID
		ev.PhoneNumberID, ev.DisplayPhoneNumber = string(md.PhoneNumberID), string(md.DisplayPhoneNumber)
		switch ev.Kind {
		case KindInboundMessage:
			if ct := index.find(ev.From, ev.FromUserID); ct != nil {
				if ev.From == "" {
					ev.From = string(ct.WAID)
				}
				if ev.FromUserID == "" {
					ev.FromUserID = string(ct.UserID)
				}
				if ct.Profile != nil {
					ev.ProfileName, ev.Username = string(ct.Profile.Name), string(ct.Profile.Username)
				}
				ev.ParentUserID = string(ct.ParentUserID)
			}
		case KindMessageStatus:
			if ct := index.find(ev.RecipientID, ev.RecipientUserID); ct != nil {
				if ev.RecipientID == "" {
					ev.RecipientID = string(ct.WAID)
				}
				if ev.RecipientUserID == "" {
					ev.RecipientUserID = string(ct.UserID)
				}
				if ev.ParentUserID == "" {
					ev.ParentUserID = string(ct.ParentUserID)
				}
				if ct.Profile != nil {
					ev.Username = string(ct.Profile.Username)
				}
			}
		case KindMessagingError:
			ev.Key = errorKey(ev.WABAID, ev.PhoneNumberID, ev.Raw)
		}
	}
	return events, nil
}

// appendItems appends one event per message, status or error object of the array dec is at, which holds
// the bytes of value; a null item is skipped, and an item of another shape fails the change. Each item is
// decoded into its typed form straight from the stream, and its raw bytes are cut from value at the
// decoder's offsets: the previous token ends before them, so only a comma and spaces are trimmed off.
func appendItems(events []Event, dec *json.Decoder, value []byte, kind Kind, entryID string, entryTime int64) ([]Event, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil { // null: no items
		return events, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return events, errUnexpectedType
	}
	for dec.More() {
		from := dec.InputOffset()
		ev := Event{Kind: kind}
		var m Message
		var s Status
		var e GraphError
		switch kind {
		case KindInboundMessage:
			err = dec.Decode(&m)
		case KindMessageStatus:
			err = dec.Decode(&s)
		case KindMessagingError:
			err = dec.Decode(&e)
		}
		if err != nil {
			return events, err
		}
		raw := bytes.TrimLeft(value[from:dec.InputOffset()], ", \t\r\n")
		if string(raw) == "null" {
			continue
		}
		ev.Raw = raw[:len(raw):len(raw)] // clipped: an append by a consumer cannot write into the next item
		switch kind {
		case KindInboundMessage:
			ev.MessageID, ev.From, ev.FromUserID, ev.MessageType = string(m.ID), string(m.From), string(m.FromUserID), string(m.Type)
			if m.Text != nil {
				ev.Text = string(m.Text.Body)
			}
			if m.Context != nil {
				ev.ContextMessageID = string(m.Context.ID)
			}
			if ev.ContextMessageID == "" && m.Reaction != nil {
				ev.ContextMessageID = string(m.Reaction.MessageID)
			}
			if m.System != nil {
				ev.Text, ev.SystemType, ev.NewWAID = string(m.System.Body), string(m.System.Type), string(m.System.WAID)
				ev.PreviousUserID, ev.PreviousParentUserID = string(m.System.PreviousUserID), string(m.System.PreviousParentUserID)
			}
			ev.Errors = eventErrors(m.Errors)
			ev.Timestamp = parseUnix(string(m.Timestamp), entryTime)
			ev.Key = "message:" + ev.MessageID
		case KindMessageStatus:
			ev.MessageID, ev.Status = string(s.ID), strings.ToLower(string(s.Status))
			ev.RecipientID, ev.RecipientUserID = string(s.RecipientID), string(s.RecipientUserID)
			ev.ParentUserID = string(s.RecipientParentUserID)
			ev.Errors = eventErrors(s.Errors)
			ev.Timestamp = parseUnix(string(s.Timestamp), entryTime)
			ev.Key = "status:" + ev.MessageID + ":" + ev.Status
		case KindMessagingError:
			ev.Errors = eventErrors([]GraphError{e})
			ev.Timestamp = unixTime(entryTime)
			// Key: set by appendMessages once the phone number is known.
		}
		if ev.MessageID == "" && kind != KindMessagingError {
			ev.Key = changeKey(entryID, FieldMessages, ev.Raw) // no wamid: key the item by its content
		}
		events = append(events, ev)
	}
	_, err = dec.Token() // the closing bracket
	return events, err
}

func eventErrors(in []GraphError) []EventError {
	if len(in) == 0 {
		return nil
	}
	out := make([]EventError, len(in))
	for i, e := range in {
		out[i] = EventError{Code: int(e.Code), Title: string(e.Title), Message: string(e.Message)}
		if e.ErrorData != nil {
			out[i].Details = string(e.ErrorData.Details)
		}
	}
	return out
}

// contactIndex finds the contact of a message or status. Changes carry one contact almost always; a map is
// built only for long lists, so a batch stays linear.
type contactIndex struct {
	list   []Contact
	byWAID map[string]*Contact
	byUser map[string]*Contact
}

const contactIndexThreshold = 8

func (x *contactIndex) find(waID, userID string) *Contact {
	if len(x.list) == 0 {
		return nil
	}
	if waID == "" && userID == "" {
		// Nothing to match on: only an unambiguous single contact can be meant.
		if len(x.list) == 1 {
			return &x.list[0]
		}
		return nil
	}
	if len(x.list) <= contactIndexThreshold {
		for i := range x.list {
			ct := &x.list[i]
			if (waID != "" && string(ct.WAID) == waID) || (userID != "" && string(ct.UserID) == userID) {
				return ct
			}
		}
		return nil
	}
	if x.byWAID == nil {
		x.byWAID = make(map[string]*Contact, len(x.list))
		x.byUser = make(map[string]*Contact, len(x.list))
		for i := range x.list {
			ct := &x.list[i]
			if ct.WAID != "" {
				x.byWAID[string(ct.WAID)] = ct
			}
			if ct.UserID != "" {
				x.byUser[string(ct.UserID)] = ct
			}
		}
	}
	if ct := x.byWAID[waID]; waID != "" && ct != nil {
		return ct
	}
	if userID != "" {
		return x.byUser[userID]
	}
	return nil
}

// changeKey keys a change by entry.id, the field and the raw value bytes.
func changeKey(entryID, field string, value []byte) string {
	return hashKey("change:", entryID, field, value)
}

// hashKey is prefix and the hex sha256 of a, b and value; the separators keep ("ab","c") and ("a","bc") apart.
func hashKey(prefix, a, b string, value []byte) string {
	h := sha256.New()
	h.Write([]byte(a))
	h.Write([]byte{0})
	h.Write([]byte(b))
	h.Write([]byte{0})
	h.Write(value)
	return prefix + hex.EncodeToString(h.Sum(nil))
}

// errorKey hashes the WABA, the phone number id and the error object re-encoded canonically (keys sorted, no
// insignificant space), so the same error reported for the same number collapses to one event. Errors are
// rare, so encoding/json's generic round trip is affordable here.
func errorKey(wabaID, phoneNumberID string, raw []byte) string {
	canonical := raw
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			canonical = b
		}
	}
	return hashKey("error:", wabaID, phoneNumberID, canonical)
}

// parseUnix reads Meta's unix-seconds string, falling back to entry.time; an unreadable value is the zero
// time rather than a failure, since the event is still worth keeping.
func parseUnix(s string, fallback int64) time.Time {
	if s != "" {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			if t := unixTime(v); !t.IsZero() {
				return t
			}
		}
	}
	return unixTime(fallback)
}

func unixTime(sec int64) time.Time {
	// Reject what cannot be a webhook time (before 2000 or after 2200), e.g. milliseconds sent by mistake.
	if sec < 946684800 || sec > 7258118400 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// isObject reports whether a raw value is a JSON object (a null or missing value is not).
func isObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }
