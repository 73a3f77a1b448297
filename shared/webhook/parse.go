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

// ErrMalformedPayload: the body is not a JSON notification. With a valid signature this means Meta sent
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
// an object, fails with ErrMalformedPayload; a notification of another object than whatsapp_business_account
// yields no events and counts as ignored.
//
// The events' Raw fields share one copy of body, so body may be reused after Parse returns.
func Parse(body []byte) (*Result, error) {
	if !validJSON(body) {
		var v struct{}
		return nil, fmt.Errorf("%w: %s", ErrMalformedPayload, describeJSONError(json.Unmarshal(body, &v)))
	}
	p := &parser{b: body}
	if err := p.envelope(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedPayload, err)
	}
	res := &Result{Object: p.object}
	res.Counts = Counts{Entries: p.entries, Changes: len(p.changes)}
	if p.object != ObjectWhatsAppBusinessAccount {
		res.Counts.IgnoredObjects = 1
		return res, nil
	}
	// Meta's message and status objects take 250 to 400 bytes; sizing for that avoids regrowing (and
	// copying) the slice of a large batch several times, at the cost of some spare slots.
	p.events = make([]Event, 0, max(len(p.changes), len(body)/256))
	for i := range p.changes {
		p.change(&p.changes[i], &res.Counts)
	}
	res.Events = p.events
	for i := range res.Events {
		res.Counts.add(res.Events[i].Kind)
	}
	return res, nil
}

// describeJSONError names what is wrong and where without quoting the body.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return "invalid JSON"
}

// changeRef locates one change in the body.
type changeRef struct {
	entryID   string
	entryTime int64
	field     string
	value     []byte // the raw value, nil when absent
	vs, ve    int    // its offsets in the body
}

type parser struct {
	b       []byte
	copy    []byte // the copy of b that Raw fields share, made on first use
	object  string
	entries int
	changes []changeRef
	events  []Event
}

// raw returns the bytes b[s:e] from the shared copy; the capacity is clipped so that an append by a consumer
// can never write into a neighbouring event's bytes.
func (p *parser) raw(s, e int) json.RawMessage {
	if p.copy == nil {
		p.copy = bytes.Clone(p.b)
	}
	return p.copy[s:e:e]
}

// envelope reads object, entry[].id, entry[].time and entry[].changes[].{field,value}; keys may come in any
// order. A type mismatch here makes the whole body malformed, as encoding/json would.
func (p *parser) envelope() error {
	b := p.b
	i := skipSpace(b, 0)
	if b[i] == 'n' {
		return nil // null: no object, no entries
	}
	if b[i] != '{' {
		return errors.New("the notification is not a JSON object")
	}
	entryAt := -1
	_, err := eachMember(b, i, func(key []byte, v int) (int, error) {
		switch string(key) {
		case "object":
			s, next, err := readString(b, v)
			p.object = s
			return next, err
		case "entry":
			entryAt = v
		}
		return skipValue(b, v), nil
	})
	if err != nil || entryAt < 0 {
		return err
	}
	_, err = eachElement(b, entryAt, func(v int) (int, error) {
		p.entries++
		return p.entry(v)
	})
	return err
}

func (p *parser) entry(i int) (int, error) {
	b := p.b
	var id string
	var t int64
	changesAt := -1
	end, err := eachMember(b, i, func(key []byte, v int) (next int, err error) {
		switch string(key) {
		case "id":
			id, next, err = readString(b, v)
			return next, err
		case "time":
			t, next, err = readInt(b, v)
			return next, err
		case "changes":
			changesAt = v
		}
		return skipValue(b, v), nil
	})
	if err != nil || changesAt < 0 {
		return end, err
	}
	_, err = eachElement(b, changesAt, func(v int) (int, error) {
		c := changeRef{entryID: id, entryTime: t}
		next, err := eachMember(b, v, func(key []byte, v int) (next int, err error) {
			switch string(key) {
			case "field":
				c.field, next, err = readString(b, v)
				return next, err
			case "value":
				c.vs, c.ve = v, skipValue(b, v)
				c.value = b[c.vs:c.ve]
				return c.ve, nil
			}
			return skipValue(b, v), nil
		})
		p.changes = append(p.changes, c)
		return next, err
	})
	return end, err
}

// change appends the events of one change.
func (p *parser) change(c *changeRef, n *Counts) {
	switch c.field {
	case FieldMessages:
		start := len(p.events)
		if !isObject(c.value) || p.messages(c) != nil {
			// Keep the change whole rather than half normalized.
			p.events = p.events[:start]
			n.UndecodableValues++
			p.events = append(p.events, p.otherEvent(c))
			return
		}
		if len(p.events) == start {
			// A messages change with none of the known arrays (a shape Meta added later): keep it whole.
			p.events = append(p.events, p.otherEvent(c))
		}
	case FieldAccountUpdate:
		ev, err := p.accountUpdate(c)
		if err != nil {
			n.UndecodableValues++
			ev = p.otherEvent(c)
		}
		p.events = append(p.events, ev)
	default:
		n.UnknownFields++
		p.events = append(p.events, p.otherEvent(c))
	}
}

func (p *parser) otherEvent(c *changeRef) Event {
	ev := Event{Kind: KindOther, Key: changeKey(c.entryID, c.field, c.value), Field: c.field, EntryID: c.entryID, Timestamp: unixTime(c.entryTime)}
	if c.value != nil {
		ev.Raw = p.raw(c.vs, c.ve)
	}
	return ev
}

func (p *parser) accountUpdate(c *changeRef) (Event, error) {
	b := p.b
	if !isObject(c.value) {
		return Event{}, errJSONType
	}
	ev := Event{
		Kind: KindAccountUpdate, Key: changeKey(c.entryID, c.field, c.value), Field: c.field, EntryID: c.entryID,
		Timestamp: unixTime(c.entryTime), Raw: p.raw(c.vs, c.ve),
	}
	_, err := eachMember(b, c.vs, func(key []byte, v int) (next int, err error) {
		switch string(key) {
		case "event":
			ev.AccountEvent, next, err = readString(b, v)
			return next, err
		case "waba_info":
			ev.WABAID, next, err = readObjectString(b, v, "waba_id")
			return next, err
		}
		return skipValue(b, v), nil
	})
	return ev, err
}

// messages appends the events of a messages change: its items are read in one pass, and the contacts (which
// may come before or after them) are applied afterwards.
func (p *parser) messages(c *changeRef) error {
	b := p.b
	start := len(p.events)
	var contacts []Contact
	base := Event{Field: c.field, EntryID: c.entryID, WABAID: c.entryID}
	_, err := eachMember(b, c.vs, func(key []byte, v int) (next int, err error) {
		switch string(key) {
		case "metadata":
			return eachMember(b, v, func(key []byte, v int) (next int, err error) {
				switch string(key) {
				case "phone_number_id":
					base.PhoneNumberID, next, err = readString(b, v)
					return next, err
				case "display_phone_number":
					base.DisplayPhoneNumber, next, err = readString(b, v)
					return next, err
				}
				return skipValue(b, v), nil
			})
		case "contacts":
			return eachElement(b, v, func(v int) (int, error) {
				ct, next, err := readContact(b, v)
				contacts = append(contacts, ct)
				return next, err
			})
		case "messages":
			return eachElement(b, v, func(v int) (int, error) { return p.item(c, v, KindInboundMessage) })
		case "statuses":
			return eachElement(b, v, func(v int) (int, error) { return p.item(c, v, KindMessageStatus) })
		case "errors":
			return eachElement(b, v, func(v int) (int, error) { return p.item(c, v, KindMessagingError) })
		}
		return skipValue(b, v), nil
	})
	if err != nil {
		return err
	}
	index := contactIndex{list: contacts}
	for i := start; i < len(p.events); i++ {
		ev := &p.events[i]
		// The item left its own fields set; the change's common fields are filled in now that all are known.
		ev.Field, ev.EntryID, ev.WABAID = base.Field, base.EntryID, base.WABAID
		ev.PhoneNumberID, ev.DisplayPhoneNumber = base.PhoneNumberID, base.DisplayPhoneNumber
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
					ev.ProfileName, ev.Username = ct.Profile.Name, ct.Profile.Username
				}
			}
		case KindMessageStatus:
			if ct := index.find(ev.RecipientID, ev.RecipientUserID); ct != nil {
				if ev.RecipientID == "" {
					ev.RecipientID = string(ct.WAID)
				}
				if ev.RecipientUserID == "" {
					ev.RecipientUserID = string(ct.UserID)
				}
			}
		case KindMessagingError:
			ev.Key = errorKey(ev.WABAID, ev.PhoneNumberID, ev.Raw)
		}
	}
	return nil
}

func readContact(b []byte, i int) (Contact, int, error) {
	var ct Contact
	end, err := eachMember(b, i, func(key []byte, v int) (next int, err error) {
		var s string
		switch string(key) {
		case "wa_id":
			s, next, err = readString(b, v)
			ct.WAID = FlexString(s)
			return next, err
		case "user_id":
			s, next, err = readString(b, v)
			ct.UserID = FlexString(s)
			return next, err
		case "profile":
			ct.Profile = &Profile{}
			return eachMember(b, v, func(key []byte, v int) (next int, err error) {
				switch string(key) {
				case "name":
					ct.Profile.Name, next, err = readString(b, v)
					return next, err
				case "username":
					ct.Profile.Username, next, err = readString(b, v)
					return next, err
				}
				return skipValue(b, v), nil
			})
		}
		return skipValue(b, v), nil
	})
	return ct, end, err
}

// item appends the event of one message, status or error object at b[i]. A null item is skipped.
func (p *parser) item(c *changeRef, i int, kind Kind) (int, error) {
	b := p.b
	if b[i] == 'n' {
		return i + 4, nil
	}
	if b[i] != '{' {
		return i, errJSONType
	}
	ev := Event{Kind: kind}
	var ts, status, contextID, reactionID string
	var errs []EventError
	end, err := eachMember(b, i, func(key []byte, v int) (next int, err error) {
		if kind == KindMessagingError {
			// The whole object is the one error: its fields are read below, and nothing else is needed.
			return skipValue(b, v), nil
		}
		switch string(key) {
		case "id":
			ev.MessageID, next, err = readString(b, v)
		case "timestamp":
			ts, next, err = readString(b, v)
		case "errors":
			next, err = eachElement(b, v, func(v int) (int, error) {
				e, next, err := readError(b, v)
				errs = append(errs, e)
				return next, err
			})
		case "from":
			ev.From, next, err = readString(b, v)
		case "from_user_id":
			ev.FromUserID, next, err = readString(b, v)
		case "type":
			ev.MessageType, next, err = readString(b, v)
		case "text":
			ev.Text, next, err = readObjectString(b, v, "body")
		case "context":
			contextID, next, err = readObjectString(b, v, "id")
		case "reaction":
			reactionID, next, err = readObjectString(b, v, "message_id")
		case "status":
			status, next, err = readString(b, v)
		case "recipient_id":
			ev.RecipientID, next, err = readString(b, v)
		case "recipient_user_id":
			ev.RecipientUserID, next, err = readString(b, v)
		default:
			next = skipValue(b, v)
		}
		return next, err
	})
	if err != nil {
		return end, err
	}
	ev.Raw = p.raw(i, end)
	ev.Timestamp = parseUnix(ts, c.entryTime)
	switch kind {
	case KindInboundMessage:
		// Statuses carry no sender, and messages no status or recipient: drop what does not belong.
		ev.RecipientID, ev.RecipientUserID = "", ""
		ev.ContextMessageID = contextID
		if ev.ContextMessageID == "" {
			ev.ContextMessageID = reactionID
		}
		ev.Errors = errs
		ev.Key = "message:" + ev.MessageID
	case KindMessageStatus:
		ev.From, ev.FromUserID, ev.MessageType, ev.Text = "", "", "", ""
		ev.Status = strings.ToLower(status)
		ev.Errors = errs
		ev.Key = "status:" + ev.MessageID + ":" + ev.Status
	case KindMessagingError:
		e, _, err := readError(b, i)
		if err != nil {
			return end, err
		}
		ev = Event{Kind: kind, Errors: []EventError{e}, Timestamp: unixTime(c.entryTime), Raw: ev.Raw}
		// Key: set by messages once the phone number is known.
	}
	if ev.MessageID == "" && kind != KindMessagingError {
		ev.Key = changeKey(c.entryID, c.field, ev.Raw) // no wamid: key the item by its content
	}
	p.events = append(p.events, ev)
	return end, nil
}

func readError(b []byte, i int) (EventError, int, error) {
	var e EventError
	end, err := eachMember(b, i, func(key []byte, v int) (next int, err error) {
		switch string(key) {
		case "code":
			var n int64
			n, next, err = readInt(b, v)
			e.Code = int(n)
		case "title":
			e.Title, next, err = readString(b, v)
		case "message":
			e.Message, next, err = readString(b, v)
		case "error_data":
			e.Details, next, err = readObjectString(b, v, "details")
		default:
			next = skipValue(b, v)
		}
		return next, err
	})
	return e, end, err
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

// changeKey hashes entry.id, the field and the raw value bytes; the separators keep ("ab","c") and
// ("a","bc") apart.
func changeKey(entryID, field string, value []byte) string {
	h := sha256.New()
	h.Write([]byte(entryID))
	h.Write([]byte{0})
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write(value)
	return "change:" + hex.EncodeToString(h.Sum(nil))
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
	h := sha256.New()
	h.Write([]byte(wabaID))
	h.Write([]byte{0})
	h.Write([]byte(phoneNumberID))
	h.Write([]byte{0})
	h.Write(canonical)
	return "error:" + hex.EncodeToString(h.Sum(nil))
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
