package onboarding

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestListCursor(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 0, 0, 500, time.FixedZone("CET", 3600))
	id := NewID()
	c := ListCursor(at, id)
	gotAt, gotID, err := ParseListCursor(c)
	if err != nil {
		t.Fatalf("ParseListCursor(%q): %v", c, err)
	}
	if !gotAt.Equal(at) || gotID != id {
		t.Errorf("round trip: got %v %q, want %v %q", gotAt, gotID, at, id)
	}
	for _, bad := range []string{
		"", "!!!", "Zm9v", ListCursor(at, "short"), ListCursor(at, id)[:10], ListCursor(at, id) + "=",
		strings.Repeat("A", 300),
		// base64url of a time without the fixed nine-digit fraction, and of one with a separator in the id
		"MjAyNi0xMS0yMVQxMjowMDowMFojM3EyLTd3RWpSdVczYkZxMERxUlUxQQ",
		ListCursor(at, id+"#x"),
	} {
		if _, _, err := ParseListCursor(bad); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("ParseListCursor(%q): got %v, want ErrInvalidCursor", bad, err)
		}
	}
}

func TestAbortSignup(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	r := NewRecord(NewRecordInput{ID: NewID(), WABAID: "1", PhoneNumberID: "2", Event: EventFinish, Now: now})
	detail := StepError{Code: CodeDependency, Message: "the business token could not be stored; restart Embedded Signup"}
	if err := r.AbortSignup(detail, now.Add(time.Second)); err != nil {
		t.Fatalf("AbortSignup: %v", err)
	}
	if r.Status != StatusFailed || !r.ReauthRequired {
		t.Errorf("got status %s, reauth_required %v; want FAILED, true", r.Status, r.ReauthRequired)
	}
	if st := r.Step(StepExchangeToken); st.Status != StepFailed || st.Error == nil || *st.Error != detail {
		t.Errorf("exchange_token: got %+v, want FAILED with the detail", st)
	}
	var nr *NotRetryableError
	if err := r.Retryable(now.Add(time.Hour)); !errors.As(err, &nr) || nr.Code != CodeReauthRequired || !strings.Contains(nr.Reason, "Embedded Signup again") {
		t.Errorf("Retryable: got %v, want reauth_required telling to sign up again", err)
	}
	if err := r.AbortSignup(detail, now); err == nil {
		t.Error("aborting a FAILED onboarding again: got no error")
	}
}
