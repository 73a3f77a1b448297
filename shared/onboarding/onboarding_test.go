package onboarding

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newTestRecord() *Record {
	return NewRecord(NewRecordInput{ID: NewID(), WABAID: "1", PhoneNumberID: "2", Event: EventFinish, Currency: "USD", Now: t0})
}

func TestNewRecord(t *testing.T) {
	r := newTestRecord()
	if got, want := r.Status, StatusRunning; got != want {
		t.Errorf("status: got %s, want %s", got, want)
	}
	if got, want := len(r.Steps), len(StepOrder); got != want {
		t.Fatalf("steps: got %d, want %d", got, want)
	}
	for i, st := range r.Steps {
		if st.Name != StepOrder[i] {
			t.Errorf("step %d: got %s, want %s", i, st.Name, StepOrder[i])
		}
		want := StepPending
		if i < 2 {
			want = StepSucceeded
		}
		if st.Status != want {
			t.Errorf("step %s: got %s, want %s", st.Name, st.Status, want)
		}
	}
}

func TestStepLifecycle(t *testing.T) {
	r := newTestRecord()
	if err := r.StartStep(StepSubscribeWebhooks, t0); err != nil {
		t.Fatal(err)
	}
	if err := r.NoteStepError(StepSubscribeWebhooks, StepError{Code: CodeGraphTransient, Message: "x"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := r.StartStep(StepSubscribeWebhooks, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	st := r.Step(StepSubscribeWebhooks)
	if got, want := st.Attempts, 2; got != want {
		t.Errorf("attempts: got %d, want %d", got, want)
	}
	if !st.StartedAt.Equal(t0) {
		t.Errorf("started_at moved on retry: %v", st.StartedAt)
	}
	if err := r.SucceedStep(StepSubscribeWebhooks, "", t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if st.Error != nil || st.Status != StepSucceeded || st.FinishedAt == nil {
		t.Errorf("after success: %+v", st)
	}
	// Idempotent and final.
	if err := r.SucceedStep(StepSubscribeWebhooks, "", t0); err != nil {
		t.Errorf("second success: %v", err)
	}
	var inv *InvalidTransitionError
	if err := r.StartStep(StepSubscribeWebhooks, t0); !errors.As(err, &inv) {
		t.Errorf("restart of a done step: got %v, want InvalidTransitionError", err)
	}
	if err := r.SkipStep(StepSubscribeWebhooks, "x", t0); !errors.As(err, &inv) {
		t.Errorf("skip of a succeeded step: got %v, want InvalidTransitionError", err)
	}
	if err := r.StartStep("nope", t0); !errors.As(err, &inv) {
		t.Errorf("unknown step: got %v, want InvalidTransitionError", err)
	}
}

func TestFailResumeComplete(t *testing.T) {
	r := newTestRecord()
	_ = r.SucceedStep(StepSubscribeWebhooks, "", t0)
	_ = r.StartStep(StepShareCreditLine, t0)
	if err := r.Fail(StepShareCreditLine, StepError{Code: CodeGraphPermanent, GraphCode: 100, Message: "bad", FBTraceID: "A"}, t0); err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusFailed || r.FailedStep() != StepShareCreditLine {
		t.Fatalf("got %s on %s, want FAILED on share_credit_line", r.Status, r.FailedStep())
	}
	if err := r.Complete(false, t0); err == nil {
		t.Errorf("completing a FAILED onboarding: got no error")
	}
	from, err := r.Resume(t0)
	if err != nil {
		t.Fatal(err)
	}
	if from != StepShareCreditLine || r.Status != StatusRunning || r.Step(from).Status != StepPending || r.Step(from).Attempts != 1 {
		t.Errorf("after resume: from %s, record %s, step %+v", from, r.Status, r.Step(from))
	}
	if _, err := r.Resume(t0); err == nil {
		t.Errorf("resuming a RUNNING onboarding: got no error")
	}
	if err := r.Complete(false, t0); err == nil {
		t.Errorf("completing with pending steps: got no error")
	}
	_ = r.SucceedStep(StepShareCreditLine, "", t0)
	_ = r.SkipStep(StepSyncBusinessApp, "not coexistence", t0)
	_ = r.SkipStep(StepVerifyPhone, "verified", t0)
	_ = r.SucceedStep(StepRegisterPhone, "", t0)
	_ = r.SkipStep(StepSendTestMessage, "none", t0)
	if err := r.Complete(false, t0); err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusCompleted {
		t.Errorf("got %s, want COMPLETED", r.Status)
	}
	if err := r.Complete(false, t0); err != nil {
		t.Errorf("second complete: %v", err)
	}
	if err := r.Complete(true, t0); err == nil {
		t.Errorf("COMPLETED to VERIFIED: got no error")
	}
	r.Offboard(t0)
	if r.Status != StatusOffboarded || r.Status.Active() {
		t.Errorf("got %s, want OFFBOARDED and inactive", r.Status)
	}
}

func TestRetryable(t *testing.T) {
	after := t0.Add(72 * time.Hour)
	tests := []struct {
		name     string
		mutate   func(*Record)
		wantCode string
	}{
		{"running", func(*Record) {}, CodeNotRetryable},
		{"failed", func(r *Record) { _ = r.Fail(StepRegisterPhone, StepError{Code: "x"}, t0) }, ""},
		{"reauth", func(r *Record) { _ = r.Fail(StepRegisterPhone, StepError{Code: "x"}, t0); r.ReauthRequired = true }, CodeReauthRequired},
		{"blocked", func(r *Record) {
			_ = r.Fail(StepRegisterPhone, StepError{Code: "x"}, t0)
			r.RegisterRetryAfter = &after
		}, CodeRegisterBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord()
			tt.mutate(r)
			err := r.Retryable(t0)
			var nr *NotRetryableError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("got %v, want retryable", err)
			case tt.wantCode != "" && (!errors.As(err, &nr) || nr.Code != tt.wantCode):
				t.Errorf("got %v, want %s", err, tt.wantCode)
			}
		})
	}
	r := newTestRecord()
	_ = r.Fail(StepRegisterPhone, StepError{Code: "x"}, t0)
	r.RegisterRetryAfter = &after
	if err := r.Retryable(after.Add(time.Second)); err != nil {
		t.Errorf("after the block: got %v, want retryable", err)
	}
}

func TestAwaitingStatus(t *testing.T) {
	r := newTestRecord()
	if err := r.SetStatus(StatusAwaitingTestMessage, t0); err != nil {
		t.Fatal(err)
	}
	if !r.Status.Active() {
		t.Errorf("AWAITING_TEST_MESSAGE must count as active")
	}
	if err := r.SetStatus(StatusCompleted, t0); err == nil {
		t.Errorf("SetStatus to a terminal status: got no error")
	}
}

func TestNewIDAndPIN(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !ValidID(id) || len(id) != 22 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	var digitCounts [10]int
	for range 20000 {
		pin := NewPIN()
		if !ValidPIN(pin) {
			t.Fatalf("bad pin %q", pin)
		}
		for _, c := range pin {
			digitCounts[c-'0']++
		}
	}
	// 120 000 digits: each should appear about 12 000 times; a biased generator would be far off.
	for d, n := range digitCounts {
		if n < 10800 || n > 13200 {
			t.Errorf("digit %d appeared %d times in 120000, want about 12000", d, n)
		}
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		fn   func(string) bool
		in   string
		want bool
	}{
		{ValidGraphID, "102290129340398", true},
		{ValidGraphID, "", false},
		{ValidGraphID, "12345678901234567890", true},
		{ValidGraphID, "123456789012345678901", false},
		{ValidGraphID, "1a", false},
		{ValidGraphID, "١", false},
		{ValidPIN, "000000", true},
		{ValidPIN, "00000", false},
		{ValidE164, "+16505551234", true},
		{ValidE164, "+06505551234", false},
		{ValidE164, "16505551234", false},
		{ValidCurrency, "USD", true},
		{ValidCurrency, "JPY", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("validator(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}
