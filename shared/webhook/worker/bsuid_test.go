package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/webhook"
)

// processFixture parses a webhook sample of events/webhooks and processes its events.
func processFixture(t *testing.T, f *fixture, name string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("../../../events/webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := webhook.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range res.Events {
		if err := f.p.Process(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPartnerEventsCarryBSUIDs(t *testing.T) {
	const (
		bsuid  = "US.13491208655302741918"
		parent = "US.ENT11815799212886844830"
	)
	tests := []struct {
		file string
		want partnerevents.Event
	}{
		{"message_bsuid_parent.json", partnerevents.Event{Type: partnerevents.TypeMessageReceived, FromUserID: bsuid, UserID: bsuid, ParentUserID: parent, Username: "sheena.nelson"}},
		{"status_delivered_bsuid.json", partnerevents.Event{Type: partnerevents.TypeMessageStatus, Status: "delivered", UserID: bsuid, ParentUserID: parent, Username: "sheena.nelson"}},
		{"system_user_changed_number.json", partnerevents.Event{Type: partnerevents.TypeUserIdentityChanged, From: tester[1:], FromUserID: "US.20597386418870529931",
			UserID: "US.20597386418870529931", IdentityChange: "user_changed_number", PreviousUserID: bsuid, PreviousParentUserID: parent, NewWAID: "16505559876"}},
		{"system_user_changed_user_id.json", partnerevents.Event{Type: partnerevents.TypeUserIdentityChanged, FromUserID: "US.20597386418870529931",
			UserID: "US.20597386418870529931", IdentityChange: "user_changed_user_id", PreviousUserID: bsuid, PreviousParentUserID: parent}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := newFixture(t)
			processFixture(t, f, tt.file)
			events := f.sink.Events()
			if len(events) != 1 {
				t.Fatalf("partner events: got %d (%+v), want 1", len(events), events)
			}
			got, w := events[0], tt.want
			if got.Type != w.Type || got.Status != w.Status || got.From != w.From || got.FromUserID != w.FromUserID || got.UserID != w.UserID ||
				got.ParentUserID != w.ParentUserID || got.Username != w.Username || got.IdentityChange != w.IdentityChange ||
				got.PreviousUserID != w.PreviousUserID || got.PreviousParentUserID != w.PreviousParentUserID || got.NewWAID != w.NewWAID {
				t.Errorf("partner event:\n got %+v\nwant %+v", got, w)
			}
			if got.OnboardingID != f.rec.ID {
				t.Errorf("onboarding id: got %q, want %q", got.OnboardingID, f.rec.ID)
			}
			// An identity change is never taken as the test message, even from the test recipient's number.
			if r := f.record(t); r.Progress.InboundMessageID != "" && tt.want.Type == partnerevents.TypeUserIdentityChanged {
				t.Errorf("a system message was recorded as the test message")
			}
		})
	}
}
