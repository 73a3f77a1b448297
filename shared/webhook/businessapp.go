package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"
)

// The fields Meta sends for WhatsApp Business app (coexistence) numbers, once the app subscribed to them:
// the app's contacts (and later changes to them), the shared message history, and the messages the business
// sends from the app.
const (
	FieldSMBAppStateSync   = "smb_app_state_sync"
	FieldHistory           = "history"
	FieldSMBMessageEchoes  = "smb_message_echoes"
	historyDeclinedCode    = 2593109
	maxBusinessAppValueLen = 3 << 20
)

// IsBusinessAppField reports whether field is one of the coexistence fields. Parse keeps their changes as
// KindOther events (the change value whole in Raw, keyed by its content); the intake passes them on to the
// worker, which reads them with ParseBusinessApp.
func IsBusinessAppField(field string) bool {
	return field == FieldSMBAppStateSync || field == FieldHistory || field == FieldSMBMessageEchoes
}

// BusinessAppValue is the value of a smb_app_state_sync, history or smb_message_echoes change.
type BusinessAppValue struct {
	MessagingProduct string         `json:"messaging_product,omitempty"`
	Metadata         Metadata       `json:"metadata"`
	StateSync        []StateSync    `json:"state_sync,omitempty"`
	History          []HistoryChunk `json:"history,omitempty"`
	MessageEchoes    []MessageEcho  `json:"message_echoes,omitempty"`
}

// StateSync is one contact change of the WhatsApp Business app (action add or remove; names are left out
// on remove).
type StateSync struct {
	Type    string `json:"type"`
	Contact struct {
		FullName    string `json:"full_name,omitempty"`
		FirstName   string `json:"first_name,omitempty"`
		PhoneNumber string `json:"phone_number"`
	} `json:"contact"`
	Action   string `json:"action"`
	Metadata struct {
		Timestamp FlexString `json:"timestamp"`
	} `json:"metadata"`
}

// HistoryChunk is one chunk of the shared message history, or, when the business declined to share it,
// the error 2593109.
type HistoryChunk struct {
	Metadata *struct {
		Phase      int `json:"phase"`
		ChunkOrder int `json:"chunk_order"`
		Progress   int `json:"progress"`
	} `json:"metadata,omitempty"`
	Threads []HistoryThread `json:"threads,omitempty"`
	Errors  []HistoryError  `json:"errors,omitempty"`
}

// HistoryThread is the history with one user (id: the user's phone number).
type HistoryThread struct {
	ID       string            `json:"id"`
	Messages []json.RawMessage `json:"messages"`
}

// HistoryError is an error of a history chunk.
type HistoryError struct {
	Code      int    `json:"code"`
	Title     string `json:"title,omitempty"`
	Message   string `json:"message,omitempty"`
	ErrorData *struct {
		Details string `json:"details,omitempty"`
	} `json:"error_data,omitempty"`
}

// MessageEcho is a message the business sent from the WhatsApp Business app. Its type-specific object
// (text, image, ...) is kept raw, apart from a text's body.
type MessageEcho struct {
	From      string     `json:"from"`
	To        string     `json:"to"`
	ID        string     `json:"id"`
	Timestamp FlexString `json:"timestamp"`
	Type      string     `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text,omitempty"`
	// Rest holds the other type objects (image, document, ...) as Meta sent them.
	Rest map[string]json.RawMessage `json:"-"`
}

// UnmarshalJSON reads the documented fields and keeps the type objects other than text in Rest.
func (m *MessageEcho) UnmarshalJSON(b []byte) error {
	type plain MessageEcho
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for _, k := range []string{"from", "to", "id", "timestamp", "type", "text"} {
		delete(all, k)
	}
	p.Rest = nil
	if len(all) > 0 {
		p.Rest = all
	}
	*m = MessageEcho(p)
	return nil
}

// MarshalJSON writes the documented fields and Rest.
func (m MessageEcho) MarshalJSON() ([]byte, error) {
	type plain MessageEcho
	b, err := json.Marshal(plain(m))
	if err != nil || len(m.Rest) == 0 {
		return b, err
	}
	all := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	maps.Copy(all, m.Rest)
	return json.Marshal(all)
}

// Declined reports whether the chunk says the business declined to share its history (error 2593109).
func (c HistoryChunk) Declined() bool {
	for _, e := range c.Errors {
		if e.Code == historyDeclinedCode {
			return true
		}
	}
	return false
}

// ParseBusinessApp decodes the value of a coexistence change (an event with IsBusinessAppField(ev.Field)).
func ParseBusinessApp(ev Event) (*BusinessAppValue, error) {
	if !IsBusinessAppField(ev.Field) {
		return nil, fmt.Errorf("webhook: %q is not a WhatsApp Business app field", ev.Field)
	}
	if len(ev.Raw) > maxBusinessAppValueLen {
		return nil, fmt.Errorf("webhook: %s value of %d bytes is too large", ev.Field, len(ev.Raw))
	}
	var v BusinessAppValue
	if err := json.NewDecoder(bytes.NewReader(ev.Raw)).Decode(&v); err != nil {
		return nil, fmt.Errorf("webhook: decoding the %s value: %w", ev.Field, err)
	}
	return &v, nil
}

// UnixTime reads a unix-seconds timestamp as Meta sends it (a string); zero when absent or malformed.
func UnixTime(s FlexString) time.Time {
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
