package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtureDir = "../../events/webhooks"

const (
	waba    = "102290129340398"
	phone   = "106540352242922"
	display = "15550783881"
	tester  = "16505551234"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// msgEvent and statusEvent fill the fields every messages event of the fixtures shares.
func msgEvent(id string, ts int64) Event {
	return Event{
		Kind: KindInboundMessage, Key: "message:" + id, Field: "messages", EntryID: waba, WABAID: waba,
		PhoneNumberID: phone, DisplayPhoneNumber: display, MessageID: id, Timestamp: unix(ts),
	}
}

func statusEvent(id, status, recipient string, ts int64) Event {
	return Event{
		Kind: KindMessageStatus, Key: "status:" + id + ":" + status, Field: "messages", EntryID: waba, WABAID: waba,
		PhoneNumberID: phone, DisplayPhoneNumber: display, MessageID: id, Status: status, RecipientID: recipient,
		Timestamp: unix(ts),
	}
}

func with(e Event, f func(*Event)) Event { f(&e); return e }

func TestParseFixtures(t *testing.T) {
	const (
		textID  = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
		replyTo = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBIyRjgzNjhCQUMwRTZGMzgzQTYA"
		sentID  = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MUE5ODc2QjI0NDE0RDBBRDQA"
		bsuid   = "US.13491208655302741918"
		partner = "2949482758682047"
	)
	sheena := func(e *Event) { e.From, e.ProfileName = tester, "Sheena Nelson" }
	tests := []struct {
		file   string
		want   []Event
		counts Counts
	}{
		{
			file: "message_text.json",
			want: []Event{with(msgEvent(textID, 1749416383), func(e *Event) {
				sheena(e)
				e.MessageType, e.Text = "text", "Does it come in another color?"
			})},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "message_image.json",
			want: []Event{with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ4OTc1NTFEMTYyQTdDRTNBMQA=", 1744344496), func(e *Event) {
				sheena(e)
				e.MessageType = "image"
			})},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "message_interactive_reply.json",
			want: []Event{with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTM3RjBGRjE2MTNBRDNGNTM4RQA=", 1744346401), func(e *Event) {
				sheena(e)
				e.MessageType, e.ContextMessageID = "interactive", replyTo
			})},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "message_reaction.json",
			want: []Event{with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUZCMDJCMzdFRTk4NjBGQzMxQwA=", 1744346530), func(e *Event) {
				sheena(e)
				e.MessageType, e.ContextMessageID = "reaction", replyTo
			})},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "message_unsupported.json",
			want: []Event{with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTY1QTNEQkFBNzNEMzBCNkQyMAA=", 1744347012), func(e *Event) {
				sheena(e)
				e.MessageType = "unsupported"
				e.Errors = []EventError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is currently not supported."}}
			})},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file:   "status_sent.json",
			want:   []Event{statusEvent(sentID, "sent", tester, 1750263773)},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file:   "status_delivered.json",
			want:   []Event{statusEvent(sentID, "delivered", tester, 1750263774)},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file:   "status_read.json",
			want:   []Event{statusEvent(sentID, "read", tester, 1750263810)},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file: "status_failed_131047.json",
			want: []Event{with(statusEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCNTY2RjRDMEU1NkFDNUJGQzEA", "failed", tester, 1750264190), func(e *Event) {
				e.Errors = []EventError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
					Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}
			})},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file: "status_failed_131026.json",
			want: []Event{with(statusEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QkZBMzE4QTJCMUQ5N0QyMjgA", "failed", "16505550199", 1750264322), func(e *Event) {
				e.Errors = []EventError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable", Details: "Message Undeliverable."}}
			})},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file: "messages_value_errors.json",
			want: []Event{{
				Kind: KindMessagingError, Key: "(checked below)", Field: "messages", EntryID: waba, WABAID: waba,
				PhoneNumberID: phone, DisplayPhoneNumber: display,
				Errors: []EventError{{Code: 131000, Title: "Something went wrong", Message: "Something went wrong", Details: "Unable to process the incoming message. Please retry."}},
			}},
			counts: Counts{Entries: 1, Changes: 1, MessagingErrors: 1},
		},
		{
			file: "account_update_partner_added.json",
			want: []Event{{
				Kind: KindAccountUpdate, Field: "account_update", EntryID: partner, WABAID: waba,
				AccountEvent: "PARTNER_ADDED", Timestamp: unix(1744823932),
			}},
			counts: Counts{Entries: 1, Changes: 1, AccountUpdates: 1},
		},
		{
			file: "account_update_partner_removed.json",
			want: []Event{{
				Kind: KindAccountUpdate, Field: "account_update", EntryID: partner, WABAID: waba,
				AccountEvent: "PARTNER_REMOVED", Timestamp: unix(1748477359),
			}},
			counts: Counts{Entries: 1, Changes: 1, AccountUpdates: 1},
		},
		{
			file: "business_scoped_user_ids.json",
			want: []Event{
				with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJEQkM0RjNCQTk0NjQxMDlBNgA=", 1775001600), func(e *Event) {
					e.FromUserID, e.ProfileName, e.Username = bsuid, "Sheena Nelson", "sheena.nelson"
					e.MessageType, e.Text = "text", "Hi, is my order on its way?"
				}),
				with(statusEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMkE0QjFBNDI1RjUyQzA4RjkA", "delivered", "", 1775001660), func(e *Event) {
					e.RecipientUserID = bsuid
				}),
			},
			counts: Counts{Entries: 1, Changes: 2, InboundMessages: 1, MessageStatuses: 1},
		},
		{
			file: "message_bsuid_parent.json",
			want: []Event{
				with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJEQkM0RjNCQTk0NjQxMDlCNwA=", 1775001700), func(e *Event) {
					e.FromUserID, e.ParentUserID, e.ProfileName, e.Username = bsuid, "US.ENT11815799212886844830", "Sheena Nelson", "sheena.nelson"
					e.MessageType, e.Text = "text", "TEST482913"
				}),
			},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "status_delivered_bsuid.json",
			want: []Event{
				with(statusEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMkE0QjFBNDI1RjUyQzA4RkIA", "delivered", "", 1775001760), func(e *Event) {
					e.RecipientUserID, e.ParentUserID, e.Username = bsuid, "US.ENT11815799212886844830", "sheena.nelson"
				}),
			},
			counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
		},
		{
			file: "system_user_changed_number.json",
			want: []Event{
				with(msgEvent("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTg4QzE5RjM5QzZBNUI0RDdGMQA=", 1775088000), func(e *Event) {
					e.From, e.FromUserID, e.MessageType = tester, "US.20597386418870529931", "system"
					e.Text, e.SystemType, e.NewWAID = "User Sheena Nelson changed from 16505551234 to 16505559876", "user_changed_number", "16505559876"
					e.PreviousUserID, e.PreviousParentUserID = bsuid, "US.ENT11815799212886844830"
				}),
			},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "system_user_changed_user_id.json",
			want: []Event{
				with(msgEvent("wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTg4QzE5RjM5QzZBNUI0RDdGMgA=", 1775088060), func(e *Event) {
					e.FromUserID, e.MessageType = "US.20597386418870529931", "system"
					e.Text, e.SystemType = "User's business-scoped user ID changed", "user_changed_user_id"
					e.PreviousUserID, e.PreviousParentUserID = bsuid, "US.ENT11815799212886844830"
				}),
			},
			counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			file: "batch.json",
			want: []Event{
				with(msgEvent("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTk5QjBFQzQ1QjNDMjM3N0Y5RQA=", 1749416390), func(e *Event) {
					sheena(e)
					e.MessageType, e.Text = "text", "Hello!"
				}),
				with(msgEvent("wamid.HBgLMTY1MDU1NTAxNDIVAgASGBQzQTA0QjdCODJFNjJCQkVGRjk2NAA=", 1749416391), func(e *Event) {
					e.From, e.ProfileName = "16505550142", "Jordan Smith"
					e.MessageType, e.Text = "text", "Is the store open on Sunday?"
				}),
				statusEvent(sentID, "sent", tester, 1749416400),
				statusEvent(sentID, "delivered", tester, 1749416401),
				{Kind: KindOther, Field: "message_template_status_update", EntryID: waba},
				{
					Kind: KindMessageStatus, Key: "status:wamid.HBgLMTU1NTAxMDAxMjMVAgARGBJBQkNERUYwMTIzNDU2Nzg5QUIA:read",
					Field: "messages", EntryID: "109876543210987", WABAID: "109876543210987", PhoneNumberID: "110987654321098",
					DisplayPhoneNumber: "15550100", MessageID: "wamid.HBgLMTU1NTAxMDAxMjMVAgARGBJBQkNERUYwMTIzNDU2Nzg5QUIA",
					Status: "read", RecipientID: "15550100123", Timestamp: unix(1749416410),
				},
				{Kind: KindAccountUpdate, Field: "account_update", EntryID: partner, WABAID: "109876543210987", AccountEvent: "PARTNER_ADDED", Timestamp: unix(1749416420)},
			},
			counts: Counts{Entries: 3, Changes: 5, InboundMessages: 2, MessageStatuses: 3, AccountUpdates: 1, Other: 1, UnknownFields: 1},
		},
		{
			file:   "unknown_field.json",
			want:   []Event{{Kind: KindOther, Field: "message_template_quality_update", EntryID: waba, Timestamp: unix(1749416500)}},
			counts: Counts{Entries: 1, Changes: 1, Other: 1, UnknownFields: 1},
		},
		{
			file:   "other_object.json",
			counts: Counts{Entries: 1, Changes: 1, IgnoredObjects: 1},
		},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			seen[tt.file] = true
			body := readFixture(t, tt.file)
			res, err := Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := res.Counts, tt.counts; got != want {
				t.Errorf("counts: got %+v, want %+v", got, want)
			}
			if got, want := len(res.Events), len(tt.want); got != want {
				t.Fatalf("events: got %d, want %d", got, want)
			}
			for i, got := range res.Events {
				want := tt.want[i]
				checkRaw(t, got, body)
				checkKey(t, got)
				if want.Key == "" || strings.HasPrefix(want.Key, "(") {
					want.Key = got.Key // change and error keys are hashes, checked by checkKey and TestKeys
				}
				got.Raw = nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
				}
			}
			// The events travel through SQS as JSON: they must come back identical.
			for i, ev := range res.Events {
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatalf("marshal event %d: %v", i, err)
				}
				var back Event
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatalf("unmarshal event %d: %v", i, err)
				}
				// encoding/json compacts a RawMessage on the way out; the content is what must survive.
				var compact bytes.Buffer
				if err := json.Compact(&compact, ev.Raw); err != nil {
					t.Fatal(err)
				}
				ev.Raw = compact.Bytes()
				if !reflect.DeepEqual(back, ev) {
					t.Errorf("event %d changed through JSON:\n got %+v\nwant %+v", i, back, ev)
				}
			}
		})
	}
	t.Run("every fixture has a case", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
		for _, f := range files {
			if !seen[filepath.Base(f)] {
				t.Errorf("fixture %s has no expectations in TestParseFixtures", filepath.Base(f))
			}
		}
	})
}

// checkRaw asserts that Raw is a JSON object appearing verbatim in the body.
func checkRaw(t *testing.T, ev Event, body []byte) {
	t.Helper()
	if !json.Valid(ev.Raw) || len(ev.Raw) == 0 || ev.Raw[0] != '{' {
		t.Errorf("%s: raw is not a JSON object: %.60q", ev.Key, ev.Raw)
	}
	if !bytes.Contains(body, ev.Raw) {
		t.Errorf("%s: raw is not a verbatim part of the body", ev.Key)
	}
}

func checkKey(t *testing.T, ev Event) {
	t.Helper()
	var prefix string
	switch ev.Kind {
	case KindInboundMessage:
		prefix = "message:"
	case KindMessageStatus:
		prefix = "status:"
	case KindMessagingError:
		prefix = "error:"
	default:
		prefix = "change:"
	}
	if !strings.HasPrefix(ev.Key, prefix) {
		t.Errorf("key %q: want prefix %q", ev.Key, prefix)
	}
	if prefix == "error:" || prefix == "change:" {
		if h := strings.TrimPrefix(ev.Key, prefix); len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			t.Errorf("key %q: want %s followed by 64 lower-case hex digits", ev.Key, prefix)
		}
	}
}

// TestPayloadRoundTrip decodes every fixture into the exported payload types, encodes them and decodes
// again: the types must be stable through encoding/json, and the events parsed from the re-encoded
// notification must equal those of the original (only Raw, and the hashes of raw bytes, may differ), so
// nothing the parser relies on is dropped by the types.
func TestPayloadRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := readFixture(t, filepath.Base(f))
			var n Notification
			if err := json.Unmarshal(body, &n); err != nil {
				t.Fatal(err)
			}
			// Re-encode every value through its typed form.
			typed := n
			typed.Entry = append([]Entry(nil), n.Entry...)
			for i := range typed.Entry {
				typed.Entry[i].Changes = append([]Change(nil), n.Entry[i].Changes...)
				for j := range typed.Entry[i].Changes {
					ch := &typed.Entry[i].Changes[j]
					var v any
					switch ch.Field {
					case FieldMessages:
						v = new(MessagesValue)
					case FieldAccountUpdate:
						v = new(AccountUpdateValue)
					default:
						continue
					}
					ch.Value = roundTrip(t, ch.Value, v)
				}
			}
			reencoded := roundTrip(t, mustMarshal(t, typed), new(Notification))

			want, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(reencoded)
			if err != nil {
				t.Fatalf("Parse(re-encoded): %v", err)
			}
			if got.Counts != want.Counts || len(got.Events) != len(want.Events) {
				t.Fatalf("re-encoded: got %+v, want %+v", got.Counts, want.Counts)
			}
			for i := range want.Events {
				g, w := got.Events[i], want.Events[i]
				g.Raw, w.Raw = nil, nil
				if w.Kind == KindAccountUpdate || w.Kind == KindOther {
					g.Key, w.Key = "", "" // hashes of the raw bytes, which re-encoding changes
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("event %d differs after the round trip:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

// roundTrip decodes b into v, encodes v, decodes that into a fresh value of v's type, and checks both
// decoded values are equal. It returns the encoding.
func roundTrip(t *testing.T, b []byte, v any) []byte {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	out := mustMarshal(t, v)
	again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	if err := json.Unmarshal(out, again); err != nil {
		t.Fatalf("decode re-encoded %T: %v", v, err)
	}
	if !reflect.DeepEqual(v, again) {
		t.Fatalf("%T changed through encoding/json:\n got %+v\nwant %+v", v, again, v)
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeys(t *testing.T) {
	t.Run("same change in another batch and spacing of the envelope keeps its key", func(t *testing.T) {
		one := `{"object":"whatsapp_business_account","entry":[{"id":"2949482758682047","time":1,"changes":[{"field":"account_update","value":{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"1"}}}]}]}`
		two := `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"x","value":{}}]},{"id":"2949482758682047","time":2,"changes":[ {"value":{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"1"}},"field":"account_update"} ]}]}`
		a, b := mustParse(t, one), mustParse(t, two)
		if got, want := b.Events[1].Key, a.Events[0].Key; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("another entry id, field or value changes the key", func(t *testing.T) {
		base := mustParse(t, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"f","value":{"a":1}}]}]}`).Events[0].Key
		for _, body := range []string{
			`{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[{"field":"f","value":{"a":1}}]}]}`,
			`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"g","value":{"a":1}}]}]}`,
			`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"f","value":{"a":2}}]}]}`,
			// The separator keeps the id/field boundary: ("1f","") must not collide with ("1","f").
			`{"object":"whatsapp_business_account","entry":[{"id":"1f","changes":[{"field":"","value":{"a":1}}]}]}`,
		} {
			if got := mustParse(t, body).Events[0].Key; got == base {
				t.Errorf("%s: got the same key %q", body, got)
			}
		}
	})
	t.Run("error keys ignore key order and spacing but not the phone", func(t *testing.T) {
		mk := func(phone, errJSON string) string {
			return mustParse(t, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"`+phone+`"},"errors":[`+errJSON+`]}}]}]}`).Events[0].Key
		}
		a := mk("2", `{"code":131000,"title":"Something went wrong"}`)
		if got := mk("2", `{ "title" : "Something went wrong", "code" : 131000 }`); got != a {
			t.Errorf("reordered error: got %q, want %q", got, a)
		}
		if got := mk("3", `{"code":131000,"title":"Something went wrong"}`); got == a {
			t.Errorf("another phone: got the same key")
		}
	})
	t.Run("statuses are keyed by wamid and lower-case status", func(t *testing.T) {
		res := mustParse(t, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.A","status":"DELIVERED"}]}}]}]}`)
		if got, want := res.Events[0].Key, "status:wamid.A:delivered"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("items without a wamid are keyed by their content", func(t *testing.T) {
		res := mustParse(t, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"type":"text"},{"type":"image"}]}}]}]}`)
		if k0, k1 := res.Events[0].Key, res.Events[1].Key; !strings.HasPrefix(k0, "change:") || k0 == k1 {
			t.Errorf("got keys %q and %q, want two distinct change: keys", k0, k1)
		}
	})
}

func mustParse(t testing.TB, body string) *Result {
	t.Helper()
	res, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%.80s): %v", body, err)
	}
	return res
}

func TestParseEdgeCases(t *testing.T) {
	const pre = `{"object":"whatsapp_business_account","entry":[{"id":"1","time":1749416500,"changes":[`
	const post = `]}]}`
	tests := []struct {
		name    string
		body    string
		wantErr bool
		kinds   []Kind
		counts  Counts
		check   func(t *testing.T, evs []Event)
	}{
		{name: "empty body", body: ``, wantErr: true},
		{name: "truncated", body: `{"object":"whatsapp_business_account","entry":[`, wantErr: true},
		{name: "array", body: `[]`, wantErr: true},
		{name: "string", body: `"whatsapp_business_account"`, wantErr: true},
		{name: "trailing garbage", body: `{"object":"whatsapp_business_account"} x`, wantErr: true},
		{name: "entry not an array", body: `{"object":"whatsapp_business_account","entry":{}}`, wantErr: true},
		{name: "null", body: `null`, counts: Counts{IgnoredObjects: 1}},
		{name: "empty object", body: `{}`, counts: Counts{IgnoredObjects: 1}},
		{name: "no entries", body: `{"object":"whatsapp_business_account","entry":[]}`},
		{name: "unknown top-level keys ignored", body: `{"object":"whatsapp_business_account","extra":{"x":[1]},"entry":[]}`},
		{
			name: "unknown keys inside a message ignored", body: pre + `{"field":"messages","value":{"metadata":{"phone_number_id":"2","new":true},"messages":[{"id":"wamid.X","from":"3","type":"sticker","sticker":{"id":"9"},"new_key":[1,2]}]}}` + post,
			kinds: []Kind{KindInboundMessage}, counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
		},
		{
			name: "numbers where Meta documents strings", body: pre + `{"field":"messages","value":{"metadata":{"phone_number_id":106540352242922,"display_phone_number":15550783881},"statuses":[{"id":"wamid.X","status":"sent","timestamp":1749416383,"recipient_id":16505551234}]}}` + post,
			kinds: []Kind{KindMessageStatus}, counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
			check: func(t *testing.T, evs []Event) {
				if got, want := evs[0].PhoneNumberID, phone; got != want {
					t.Errorf("phone: got %q, want %q", got, want)
				}
				if got, want := evs[0].Timestamp, unix(1749416383); !got.Equal(want) {
					t.Errorf("timestamp: got %v, want %v", got, want)
				}
			},
		},
		{
			name: "error code as a string", body: pre + `{"field":"messages","value":{"statuses":[{"id":"wamid.X","status":"failed","errors":[{"code":"131047"}]}]}}` + post,
			kinds: []Kind{KindMessageStatus}, counts: Counts{Entries: 1, Changes: 1, MessageStatuses: 1},
			check: func(t *testing.T, evs []Event) {
				if got, want := evs[0].Errors[0].Code, 131047; got != want {
					t.Errorf("code: got %d, want %d", got, want)
				}
			},
		},
		{
			name: "a value of the wrong shape is kept whole as other", body: pre + `{"field":"messages","value":{"messages":"not an array"}},{"field":"messages","value":{"statuses":[{"id":"wamid.Y","status":"sent"}]}}` + post,
			kinds: []Kind{KindOther, KindMessageStatus}, counts: Counts{Entries: 1, Changes: 2, MessageStatuses: 1, Other: 1, UndecodableValues: 1},
		},
		{
			name: "one bad item keeps the whole change as other, not half of it", body: pre + `{"field":"messages","value":{"statuses":[{"id":"wamid.Y","status":"sent"},{"id":["x"]}]}}` + post,
			kinds: []Kind{KindOther}, counts: Counts{Entries: 1, Changes: 1, Other: 1, UndecodableValues: 1},
		},
		{
			name: "account_update of the wrong shape", body: pre + `{"field":"account_update","value":[1]}` + post,
			kinds: []Kind{KindOther}, counts: Counts{Entries: 1, Changes: 1, Other: 1, UndecodableValues: 1},
		},
		{
			name: "account_update without waba_info has no WABA", body: pre + `{"field":"account_update","value":{"event":"ACCOUNT_DELETED"}}` + post,
			kinds: []Kind{KindAccountUpdate}, counts: Counts{Entries: 1, Changes: 1, AccountUpdates: 1},
			check: func(t *testing.T, evs []Event) {
				if evs[0].WABAID != "" || evs[0].EntryID != "1" || evs[0].AccountEvent != "ACCOUNT_DELETED" {
					t.Errorf("got %+v, want no WABA, entry id 1 and the event", evs[0])
				}
			},
		},
		{
			name: "messages change with none of the known arrays", body: pre + `{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"group_event":{"x":1}}}` + post,
			kinds: []Kind{KindOther}, counts: Counts{Entries: 1, Changes: 1, Other: 1},
		},
		{
			name: "change with no value", body: pre + `{"field":"messages"},{"field":"account_update"},{"field":"x"}` + post,
			kinds: []Kind{KindOther, KindOther, KindOther}, counts: Counts{Entries: 1, Changes: 3, Other: 3, UndecodableValues: 2, UnknownFields: 1},
		},
		{
			name: "messages, statuses and errors in one value, in the order sent", body: pre + `{"field":"messages","value":{"errors":[{"code":1}],"statuses":[{"id":"wamid.S","status":"read"}],"messages":[{"id":"wamid.M"}]}}` + post,
			kinds: []Kind{KindMessagingError, KindMessageStatus, KindInboundMessage}, counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1, MessageStatuses: 1, MessagingErrors: 1},
		},
		{
			name: "timestamps in milliseconds or garbage are dropped, entry time used", body: pre + `{"field":"messages","value":{"messages":[{"id":"wamid.A","timestamp":"1749416383000"},{"id":"wamid.B","timestamp":"soon"}]}}` + post,
			kinds: []Kind{KindInboundMessage, KindInboundMessage}, counts: Counts{Entries: 1, Changes: 1, InboundMessages: 2},
			check: func(t *testing.T, evs []Event) {
				for _, ev := range evs {
					if got, want := ev.Timestamp, unix(1749416500); !got.Equal(want) {
						t.Errorf("%s: got %v, want the entry time %v", ev.MessageID, got, want)
					}
				}
			},
		},
		{
			name: "escaped strings decode", body: pre + `{"field":"messages","value":{"metadata":{"phone_number_id":"\u0031\u0032"},"messages":[{"id":"wamid.\u0041","from":"1\/2","text":{"body":"\u00e9"}}]}}` + post,
			kinds: []Kind{KindInboundMessage}, counts: Counts{Entries: 1, Changes: 1, InboundMessages: 1},
			check: func(t *testing.T, evs []Event) {
				if evs[0].PhoneNumberID != "12" || evs[0].MessageID != "wamid.A" || evs[0].From != "1/2" || evs[0].Text != "é" {
					t.Errorf("got %+v", evs[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedPayload) {
					t.Fatalf("got %v, want ErrMalformedPayload", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var kinds []Kind
			for _, ev := range res.Events {
				kinds = append(kinds, ev.Kind)
				if ev.Key == "" {
					t.Errorf("event without a key: %+v", ev)
				}
			}
			if got, want := kinds, tt.kinds; !reflect.DeepEqual(got, want) {
				t.Errorf("kinds: got %v, want %v", got, want)
			}
			if got, want := res.Counts, tt.counts; got != want {
				t.Errorf("counts: got %+v, want %+v", got, want)
			}
			if tt.check != nil && len(res.Events) > 0 {
				tt.check(t, res.Events)
			}
		})
	}
}

func TestParseManyContacts(t *testing.T) {
	// More contacts than the linear-scan threshold: the index must still match each sender.
	var contacts, messages []string
	for i := range 50 {
		contacts = append(contacts, fmt.Sprintf(`{"profile":{"name":"user %d"},"wa_id":"1650555%04d","user_id":"US.%d"}`, i, i, i))
		if i%2 == 0 {
			messages = append(messages, fmt.Sprintf(`{"from":"1650555%04d","id":"wamid.%d","type":"text"}`, i, i))
		} else {
			messages = append(messages, fmt.Sprintf(`{"from_user_id":"US.%d","id":"wamid.%d","type":"text"}`, i, i))
		}
	}
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"contacts":[` +
		strings.Join(contacts, ",") + `],"messages":[` + strings.Join(messages, ",") + `]}}]}]}`
	res := mustParse(t, body)
	for i, ev := range res.Events {
		if got, want := ev.ProfileName, fmt.Sprintf("user %d", i); got != want {
			t.Errorf("event %d: profile got %q, want %q", i, got, want)
		}
		if got, want := ev.From, fmt.Sprintf("1650555%04d", i); got != want {
			t.Errorf("event %d: from got %q, want %q", i, got, want)
		}
		if got, want := ev.FromUserID, fmt.Sprintf("US.%d", i); got != want {
			t.Errorf("event %d: from_user_id got %q, want %q", i, got, want)
		}
	}
}

func TestParseBatchOf1000Changes(t *testing.T) {
	body := batchPayload(1000, 1)
	res := mustParse(t, string(body))
	if got, want := res.Counts.Changes, 1000; got != want {
		t.Fatalf("changes: got %d, want %d", got, want)
	}
	if got, want := len(res.Events), 1000; got != want {
		t.Fatalf("events: got %d, want %d", got, want)
	}
	keys := make(map[string]bool, len(res.Events))
	for _, ev := range res.Events {
		keys[ev.Key] = true
	}
	if got, want := len(keys), 1000; got != want {
		t.Errorf("distinct keys: got %d, want %d", got, want)
	}
}

// FuzzParse: Parse must never panic, must fail only with ErrMalformedPayload, and every event must carry a
// key and a kind, with Raw valid JSON.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{}]}}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedPayload) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("Parse accepted invalid JSON")
		}
		if got, want := res.Counts.Events(), len(res.Events); got != want {
			t.Fatalf("counts say %d events, got %d", got, want)
		}
		for _, ev := range res.Events {
			if ev.Key == "" || ev.Kind == "" {
				t.Fatalf("event without key or kind: %+v", ev)
			}
			if len(ev.Raw) > 0 && !json.Valid(ev.Raw) {
				t.Fatalf("raw is not valid JSON: %q", ev.Raw)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}

// TestParseIgnoresEncoding parses every fixture re-encoded three ways: compact with keys sorted (so
// "changes" comes before "id", "value" before "field", "contacts" before "messages"), indented with tabs,
// and with every letter and digit of every key and string written as a \u escape. The events must not
// change, apart from Raw and the hashes of raw bytes.
func TestParseIgnoresEncoding(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, f := range files {
		body := readFixture(t, filepath.Base(f))
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		sorted := mustMarshal(t, v)
		indented, err := json.MarshalIndent(v, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		var escaped bytes.Buffer
		writeEscaped(&escaped, v)
		want, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		for name, variant := range map[string][]byte{"sorted": sorted, "indented": indented, "escaped": escaped.Bytes()} {
			t.Run(filepath.Base(f)+"/"+name, func(t *testing.T) {
				got, err := Parse(variant)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got.Counts != want.Counts {
					t.Fatalf("counts: got %+v, want %+v", got.Counts, want.Counts)
				}
				// Items come in key order; sorting the keys may move statuses before messages. Compare as sets.
				byID := func(evs []Event) map[string]Event {
					m := map[string]Event{}
					for _, ev := range evs {
						ev.Raw = nil
						if strings.HasPrefix(ev.Key, "change:") {
							ev.Key = ""
						}
						m[string(ev.Kind)+ev.MessageID+ev.Status+ev.AccountEvent+ev.Field+ev.Key] = ev
					}
					return m
				}
				if g, w := byID(got.Events), byID(want.Events); !reflect.DeepEqual(g, w) {
					t.Errorf("events differ:\n got %+v\nwant %+v", g, w)
				}
			})
		}
	}
}

// writeEscaped encodes v as JSON with every ASCII letter and digit of keys and strings \u-escaped.
func writeEscaped(b *bytes.Buffer, v any) {
	str := func(s string) {
		b.WriteByte('"')
		for _, r := range s {
			if r < 0x80 && (r < 0x20 || r == '"' || r == '\\' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')) {
				fmt.Fprintf(b, `\u%04x`, r)
			} else if r == '/' {
				b.WriteString(`\/`)
			} else {
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
	}
	switch x := v.(type) {
	case map[string]any:
		b.WriteString("{ ")
		first := true
		for k, val := range x {
			if !first {
				b.WriteString(" , ")
			}
			first = false
			str(k)
			b.WriteString(" : ")
			writeEscaped(b, val)
		}
		b.WriteString(" }")
	case []any:
		b.WriteString("[ ")
		for i, val := range x {
			if i > 0 {
				b.WriteString(" , ")
			}
			writeEscaped(b, val)
		}
		b.WriteString(" ]")
	case string:
		str(x)
	default:
		enc, _ := json.Marshal(x)
		b.Write(enc)
	}
}

func TestParseScannerEdges(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, res *Result)
	}{
		{
			name: "contacts after the messages still apply",
			body: `{"entry":[{"changes":[{"value":{"messages":[{"from":"16505551234","id":"wamid.A","type":"text","text":{"body":"hi"}}],"contacts":[{"wa_id":"16505551234","profile":{"name":"Sheena"}}],"metadata":{"phone_number_id":"106540352242922"}},"field":"messages"}],"id":"102290129340398"}],"object":"whatsapp_business_account"}`,
			check: func(t *testing.T, res *Result) {
				ev := res.Events[0]
				if ev.ProfileName != "Sheena" || ev.PhoneNumberID != phone || ev.WABAID != waba || ev.Text != "hi" {
					t.Errorf("got %+v", ev)
				}
			},
		},
		{
			name: "strings with escaped quotes and backslashes",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.\"q\"","text":{"body":"a \\\" b \\\\"},"x":"\\\\","type":"text"}]}}]}]}`,
			check: func(t *testing.T, res *Result) {
				ev := res.Events[0]
				if ev.MessageID != `wamid."q"` || ev.Text != `a \" b \\` || ev.MessageType != "text" {
					t.Errorf("got id %q text %q type %q", ev.MessageID, ev.Text, ev.MessageType)
				}
			},
		},
		{
			name: "null items, arrays and objects",
			body: `{"object":"whatsapp_business_account","entry":[null,{"id":"1","changes":[null,{"field":"messages","value":{"metadata":null,"contacts":null,"messages":[null,{"id":"wamid.A","text":null,"context":null}],"statuses":null}}]}]}`,
			check: func(t *testing.T, res *Result) {
				if got, want := res.Counts, (Counts{Entries: 2, Changes: 2, InboundMessages: 1, Other: 1, UnknownFields: 1}); got != want {
					t.Errorf("counts: got %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "unknown nested structures are skipped",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"x":[{"a":[1,{"b":"]}"}]}],"messages":[{"deep":{"a":[[[]]],"s":"}{"},"id":"wamid.A"}]}}]}]}`,
			check: func(t *testing.T, res *Result) {
				if len(res.Events) != 1 || res.Events[0].MessageID != "wamid.A" {
					t.Errorf("got %+v", res.Events)
				}
			},
		},
		{
			name: "raw cannot be extended into a neighbour",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"wamid.A"},{"id":"wamid.B"}]}}]}]}`,
			check: func(t *testing.T, res *Result) {
				_ = append(res.Events[0].Raw, 'X')
				if got, want := string(res.Events[1].Raw), `{"id":"wamid.B"}`; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			res, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			for i := range body {
				body[i] = 'Z' // Raw must not alias the caller's buffer
			}
			for _, ev := range res.Events {
				if len(ev.Raw) > 0 && !json.Valid(ev.Raw) {
					t.Errorf("raw changed with the body: %q", ev.Raw)
				}
			}
			tt.check(t, res)
		})
	}
}
