package webhook

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const businessAppDir = "../../events/webhooks/business_app"

func readBusinessAppFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(businessAppDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBusinessAppFixturesRoundTrip decodes every coexistence sample strictly into the payload types, encodes
// it again and compares: the types hold every value Meta documents.
func TestBusinessAppFixturesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(businessAppDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			body := readBusinessAppFixture(t, filepath.Base(f))
			var n Notification
			if err := json.Unmarshal(body, &n); err != nil {
				t.Fatal(err)
			}
			ch := n.Entry[0].Changes[0]
			if !IsBusinessAppField(string(ch.Field)) {
				t.Fatalf("field %q is not a coexistence field", ch.Field)
			}
			var v BusinessAppValue
			dec := json.NewDecoder(bytes.NewReader(ch.Value))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("strict decode: %v", err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(again, &got)
			_ = json.Unmarshal(ch.Value, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip changed the value:\n got %s\nwant %s", again, ch.Value)
			}
		})
	}
}

func TestParseBusinessApp(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, v *BusinessAppValue)
	}{
		{"smb_app_state_sync.json", func(t *testing.T, v *BusinessAppValue) {
			if len(v.StateSync) != 2 || v.StateSync[0].Contact.PhoneNumber != "16505551234" || v.StateSync[0].Action != "add" ||
				v.StateSync[1].Action != "remove" || v.StateSync[1].Contact.FullName != "" {
				t.Errorf("state sync: got %+v", v.StateSync)
			}
			if got := UnixTime(v.StateSync[0].Metadata.Timestamp).Unix(); got != 1739321024 {
				t.Errorf("timestamp: got %d", got)
			}
		}},
		{"history.json", func(t *testing.T, v *BusinessAppValue) {
			c := v.History[0]
			if c.Declined() || c.Metadata == nil || c.Metadata.Progress != 100 || len(c.Threads) != 1 || len(c.Threads[0].Messages) != 2 {
				t.Errorf("history: got %+v", c)
			}
		}},
		{"history_declined.json", func(t *testing.T, v *BusinessAppValue) {
			if c := v.History[0]; !c.Declined() || c.Errors[0].ErrorData == nil || c.Errors[0].ErrorData.Details == "" {
				t.Errorf("declined history: got %+v", c)
			}
		}},
		{"smb_message_echoes.json", func(t *testing.T, v *BusinessAppValue) {
			e := v.MessageEchoes[0]
			if e.From != "15550783881" || e.To != "16505551234" || e.Type != "text" || e.Text == nil || e.Text.Body == "" || e.Rest != nil {
				t.Errorf("echo: got %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readBusinessAppFixture(t, tt.file)
			res, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Events) != 1 || res.Events[0].Kind != KindOther || !IsBusinessAppField(res.Events[0].Field) {
				t.Fatalf("events: got %+v, want one coexistence change", res.Events)
			}
			ev := res.Events[0]
			if ev.EntryID != "102290129340398" {
				t.Errorf("entry id: got %q", ev.EntryID)
			}
			// The intake passes coexistence changes on to the worker; other unknown fields it drops.
			if kept := withoutOther(res.Events); len(kept) != 1 {
				t.Errorf("withoutOther dropped the coexistence change")
			}
			again, err := Parse(body)
			if err != nil || again.Events[0].Key != ev.Key {
				t.Errorf("dedupe key differs between deliveries: %q, %q", ev.Key, again.Events[0].Key)
			}
			v, err := ParseBusinessApp(ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(v.Metadata.PhoneNumberID) != "106540352242922" {
				t.Errorf("phone_number_id: got %q", v.Metadata.PhoneNumberID)
			}
			tt.check(t, v)
		})
	}
	t.Run("echo of another type keeps its object", func(t *testing.T) {
		var e MessageEcho
		if err := json.Unmarshal([]byte(`{"from":"1","to":"2","id":"wamid.x","timestamp":"1","type":"image","image":{"id":"123","mime_type":"image/jpeg"}}`), &e); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.Rest["image"]; !ok || e.Text != nil {
			t.Errorf("got %+v", e)
		}
		b, _ := json.Marshal(e)
		if !bytes.Contains(b, []byte(`"mime_type":"image/jpeg"`)) {
			t.Errorf("re-encoded echo lost the image: %s", b)
		}
	})
	t.Run("a field that is not a coexistence field is refused", func(t *testing.T) {
		if _, err := ParseBusinessApp(Event{Field: "messages", Raw: []byte(`{}`)}); err == nil {
			t.Errorf("got no error")
		}
	})
}
