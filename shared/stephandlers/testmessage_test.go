package stephandlers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

// TestReplyGoesToTheTestSender: the reply goes to the sender's wa_id, or to its BSUID (Meta's recipient
// field) when Meta sent no phone number, and the simulator accepts both.
func TestReplyGoesToTheTestSender(t *testing.T) {
	const bsuid = "US.13491208655302741918"
	tests := []struct {
		name       string
		waID, user string
		// window is the only user the simulator saw writing: a reply to anyone else fails with 131047.
		window                string
		wantTo, wantRecipient string
	}{
		{"phone user", "447700900123", "", "+447700900123", "+447700900123", ""},
		{"phone and BSUID: the phone wins", "447700900123", bsuid, "+447700900123", "+447700900123", ""},
		{"BSUID-only user", "", bsuid, bsuid, "", bsuid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "CLOUD_API", Status: "CONNECTED"})
			f.sim.OpenWindow(phoneID, tt.window, time.Now())
			r := f.record(t)
			r.TestMessage, r.TestPhrase = true, "TEST123456"
			r.Progress.InboundMessageID, r.Progress.TesterWAID, r.Progress.TesterUserID = "wamid.in", tt.waID, tt.user
			if err := f.store.Update(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			out, err := f.svc.SendTestMessage(context.Background(), f.in())
			if err != nil {
				t.Fatalf("SendTestMessage: %v", err)
			}
			if out.Status != onboarding.StepRunning {
				t.Errorf("status: got %s, want RUNNING until a delivered status", out.Status)
			}
			if got := f.sim.SideEffects(graph.CallMessages); got != 1 {
				t.Fatalf("messages sent: got %d, want 1", got)
			}
			if to, recipient := replyTarget(f.record(t)); to != tt.wantTo || recipient != tt.wantRecipient {
				t.Errorf("reply target: got to=%q recipient=%q, want to=%q recipient=%q", to, recipient, tt.wantTo, tt.wantRecipient)
			}
		})
	}
}

func TestTestMessageFailureCarriesMetasCode(t *testing.T) {
	f := newFixture(t, fixtureOpts{recipient: testerNumber})
	ctx := context.Background()
	r := f.record(t)
	r.Status = onboarding.StatusAwaitingTestMessage
	_ = r.StartStep(onboarding.StepSendTestMessage, time.Now())
	r.TestMessageID, r.TestMessageStatus = "wamid.reply", "failed"
	r.Progress.TestFailureCode, r.Progress.TestFailureTitle = 131026, "Message undeliverable"
	if err := f.store.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionFail, OnboardingID: f.rec.ID, Step: onboarding.StepSendTestMessage,
		Error: &CaughtError{Error: "TestMessageFailed", Cause: "the test reply wamid.reply failed to deliver: Meta error 131026 (Message undeliverable)"}}); err != nil {
		t.Fatal(err)
	}
	st := f.record(t).Step(onboarding.StepSendTestMessage)
	if st.Error == nil || st.Error.Code != onboarding.CodeTestMessageFailed || st.Error.GraphCode != 131026 {
		t.Fatalf("step error: got %+v, want test_message_failed with graph code 131026", st.Error)
	}
}

func TestStatusTimeoutAfterSentSaysSo(t *testing.T) {
	f := newFixture(t, fixtureOpts{recipient: testerNumber})
	ctx := context.Background()
	r := f.record(t)
	_ = r.StartStep(onboarding.StepSendTestMessage, time.Now())
	r.TestMessageID, r.TestMessageStatus = "wamid.reply", "sent"
	if err := f.store.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionFail, OnboardingID: f.rec.ID, Step: onboarding.StepSendTestMessage,
		Error: &CaughtError{Error: "States.Timeout"}}); err != nil {
		t.Fatal(err)
	}
	st := f.record(t).Step(onboarding.StepSendTestMessage)
	if st.Error == nil || st.Error.Code != onboarding.CodeTestMessageTimeout {
		t.Fatalf("step error: got %+v, want %s", st.Error, onboarding.CodeTestMessageTimeout)
	}
	if want := "no delivered or read status arrived in time"; !strings.Contains(st.Error.Message, want) {
		t.Errorf("message: got %q, want it to say %q", st.Error.Message, want)
	}
}
