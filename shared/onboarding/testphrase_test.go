package onboarding

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

func TestNewTestPhrase(t *testing.T) {
	re := regexp.MustCompile(`^TEST[0-9]{6}$`)
	seen := map[string]bool{}
	for range 200 {
		p := NewTestPhrase()
		if !re.MatchString(p) {
			t.Fatalf("NewTestPhrase() = %q, want TEST and 6 digits", p)
		}
		seen[p] = true
	}
	if len(seen) < 190 {
		t.Errorf("200 phrases gave %d distinct ones: not random enough", len(seen))
	}
}

func TestAPIShowsThePhraseOnlyWhileActive(t *testing.T) {
	for _, tt := range []struct {
		status Status
		want   bool
	}{
		{StatusRunning, true}, {StatusAwaitingTestMessage, true}, {StatusVerified, false}, {StatusFailed, false}, {StatusOffboarded, false},
	} {
		t.Run(string(tt.status), func(t *testing.T) {
			r := NewRecord(NewRecordInput{ID: NewID(), WABAID: "1", PhoneNumberID: "2", Event: EventFinish, TestMessage: true, TestPhrase: "TEST123456", Now: time.Now()})
			r.Status = tt.status
			b, err := json.Marshal(r.ForAPI())
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if _, got := m["test_phrase"]; got != tt.want {
				t.Errorf("test_phrase shown: got %v, want %v (%s)", got, tt.want, b)
			}
			if m["test_message"] != true {
				t.Errorf("test_message: got %v, want true", m["test_message"])
			}
			if r.TestPhrase != "TEST123456" {
				t.Errorf("ForAPI changed the record itself: test_phrase %q", r.TestPhrase)
			}
		})
	}
}

func TestValidBSUID(t *testing.T) {
	for s, want := range map[string]bool{
		"US.13491208655302741918": true, "US.ENT11815799212886844830": true, "BR.abc123": true,
		"us.1": false, "US.": false, "US-1": false, "16505551234": false, "US.1 2": false,
	} {
		if got := ValidBSUID(s); got != want {
			t.Errorf("ValidBSUID(%q) = %v, want %v", s, got, want)
		}
	}
}
