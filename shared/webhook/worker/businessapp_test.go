package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/webhook"
)

func businessAppEvent(t *testing.T, name string) webhook.Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("../../../events/webhooks/business_app", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := webhook.Parse(body)
	if err != nil || len(res.Events) != 1 {
		t.Fatalf("parse %s: %v, %d events", name, err, len(res.Events))
	}
	return res.Events[0]
}

func TestBusinessAppWebhooksArePublishedOnce(t *testing.T) {
	tests := []struct {
		file  string
		typ   string
		check func(t *testing.T, e partnerevents.Event)
	}{
		{"smb_app_state_sync.json", partnerevents.TypeBusinessAppContactsSynced, func(t *testing.T, e partnerevents.Event) {
			if len(e.Contacts) != 2 || e.Contacts[0].PhoneNumber != "16505551234" || e.Contacts[0].Action != "add" || e.Contacts[1].Action != "remove" {
				t.Errorf("contacts: got %+v", e.Contacts)
			}
		}},
		{"history.json", partnerevents.TypeBusinessAppHistory, func(t *testing.T, e partnerevents.Event) {
			if h := e.History; h == nil || h.Declined || h.Progress != 100 || h.Threads != 1 || h.Messages != 2 {
				t.Errorf("history: got %+v", e.History)
			}
		}},
		{"history_declined.json", partnerevents.TypeBusinessAppHistory, func(t *testing.T, e partnerevents.Event) {
			if h := e.History; h == nil || !h.Declined || len(e.Errors) != 1 || e.Errors[0].Code != 2593109 {
				t.Errorf("declined history: got %+v %+v", e.History, e.Errors)
			}
		}},
		{"smb_message_echoes.json", partnerevents.TypeMessageEcho, func(t *testing.T, e partnerevents.Event) {
			if e.From != "15550783881" || e.To != "16505551234" || e.Text != "Your order is ready for pickup." || e.MessageID == "" ||
				e.ID != "echo:"+e.MessageID || e.Time.Unix() != 1739321100 {
				t.Errorf("echo: got %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := newFixture(t)
			ev := businessAppEvent(t, tt.file)
			for range 2 { // a duplicate delivery publishes nothing more
				if err := f.p.Process(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			got := f.sink.Events()
			if len(got) != 1 {
				t.Fatalf("published %d events, want 1: %+v", len(got), got)
			}
			e := got[0]
			if e.Type != tt.typ || e.OnboardingID != f.rec.ID || e.WABAID != waba || e.PhoneNumberID != phone || e.Version != partnerevents.Version || e.ID == "" {
				t.Errorf("event: got %+v", e)
			}
			tt.check(t, e)
		})
	}
}
