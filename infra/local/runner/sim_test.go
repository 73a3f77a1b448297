package runner

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// simMessage posts body to /_local/sim/messages.
func (h *harness) simMessage(body string) (int, map[string]any) {
	h.t.Helper()
	return h.do("POST", "/_local/sim/messages", body)
}

func TestSimMessagesValidation(t *testing.T) {
	h := start(t, nil)
	h.await(h.signup(phone, ""), onboarding.StatusCompleted) // registers the business number
	long := strings.Repeat("é", 4097)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string
	}{
		{"phone id not digits", `{"phone_number_id":"12a","text":"hi","from":"+15550001111"}`, 400, "phone_number_id"},
		{"phone id unknown", `{"phone_number_id":"123456","text":"hi","from":"+15550001111"}`, 400, "phone_number_id"},
		{"no sender", `{"phone_number_id":"` + phone + `","text":"hi"}`, 400, "from"},
		{"two senders", `{"phone_number_id":"` + phone + `","text":"hi","from":"+15550001111","from_user_id":"US.1"}`, 400, "from_user_id"},
		{"phone not E.164", `{"phone_number_id":"` + phone + `","text":"hi","from":"15550001111"}`, 400, "from"},
		{"BSUID malformed", `{"phone_number_id":"` + phone + `","text":"hi","from_user_id":"us.13491208655302741918"}`, 400, "from_user_id"},
		{"BSUID without digits", `{"phone_number_id":"` + phone + `","text":"hi","from_user_id":"US."}`, 400, "from_user_id"},
		{"username malformed", `{"phone_number_id":"` + phone + `","text":"hi","from_user_id":"US.1","username":"a b"}`, 400, "username"},
		{"empty text", `{"phone_number_id":"` + phone + `","text":"  ","from":"+15550001111"}`, 400, "text"},
		{"text too long", `{"phone_number_id":"` + phone + `","text":"` + long + `","from":"+15550001111"}`, 400, "text"},
		{"unknown field", `{"phone_number_id":"` + phone + `","text":"hi","from":"+15550001111","to":"x"}`, 400, "to"},
		{"case variant", `{"Phone_number_id":"` + phone + `","text":"hi","from":"+15550001111"}`, 400, "Phone_number_id"},
		{"number value", `{"phone_number_id":` + phone + `,"text":"hi","from":"+15550001111"}`, 400, "phone_number_id"},
		{"duplicate key", `{"phone_number_id":"` + phone + `","text":"hi","text":"ho","from":"+15550001111"}`, 400, "text"},
		{"trailing data", `{"phone_number_id":"` + phone + `","text":"hi","from":"+15550001111"} {}`, 400, ""},
		{"accepted: phone", `{"phone_number_id":"` + phone + `","text":"hi","from":"+15550001111"}`, 202, ""},
		{"accepted: BSUID", `{"phone_number_id":"` + phone + `","text":"hi","from_user_id":"US.13491208655302741918","username":"tester.one"}`, 202, ""},
		{"accepted: 4096 characters", `{"phone_number_id":"` + phone + `","text":"` + long[:2*4096] + `","from":"+15550001111"}`, 202, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, m := h.simMessage(tc.body)
			if status != tc.wantStatus {
				t.Fatalf("got %d %v, want %d", status, m, tc.wantStatus)
			}
			if tc.wantStatus != 202 {
				e, _ := m["error"].(map[string]any)
				if got := fmt.Sprint(e["field"]); tc.wantField != "" && got != tc.wantField {
					t.Errorf("error field: got %q, want %q (%v)", got, tc.wantField, e)
				}
				return
			}
			if id := fmt.Sprint(m["message_id"]); !strings.HasPrefix(id, "wamid.") {
				t.Errorf("message_id: got %q, want a wamid", id)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		req, _ := http.NewRequest("POST", h.r.URL+"/_local/sim/messages", strings.NewReader(`phone_number_id=1`))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusUnsupportedMediaType; got != want {
			t.Errorf("got %d, want %d", got, want)
		}
	})
	t.Run("GET", func(t *testing.T) {
		if status, _ := h.do("GET", "/_local/sim/messages", ""); status != http.StatusMethodNotAllowed {
			t.Errorf("got %d, want 405", status)
		}
	})
}

// TestSimMessageFromTester: a tester who is not the simulator's built-in one messages the new number through
// /_local/sim/messages; the signed webhook reaches /webhooks, resumes the workflow's wait, the reply is
// allowed by the window the message opened, and the onboarding is verified.
func TestSimMessageFromTester(t *testing.T) {
	const tester = "+15550001111"
	h := start(t, nil)
	id := h.signup(phone, `,"test_recipient":"`+tester+`"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	status, m := h.simMessage(`{"phone_number_id":"` + phone + `","text":"hello from the test","from":"` + tester + `"}`)
	if status != http.StatusAccepted {
		t.Fatalf("sim message: got %d %v", status, m)
	}
	rec := h.await(id, onboarding.StatusVerified)
	checkSteps(t, rec, map[string]string{"send_test_message": "SUCCEEDED"})
	ev := h.awaitEvent(func(e partnerevents.Event) bool {
		return e.Type == partnerevents.TypeMessageReceived && e.MessageID == m["message_id"]
	})
	if ev.From != strings.TrimPrefix(tester, "+") || ev.Text != "hello from the test" || ev.OnboardingID != id {
		t.Errorf("message.received: got from %q, text %q, onboarding %q", ev.From, ev.Text, ev.OnboardingID)
	}
}

// TestSimMessageFromBSUIDUser: a user known only by business-scoped user id messages the number; the
// webhook the runner processed carried the BSUID and no phone number.
func TestSimMessageFromBSUIDUser(t *testing.T) {
	const bsuid = "US.13491208655302741918"
	h := start(t, nil)
	id := h.signup(phone, "")
	h.await(id, onboarding.StatusCompleted)
	status, m := h.simMessage(`{"phone_number_id":"` + phone + `","text":"hi, it's me","from_user_id":"` + bsuid + `","username":"jane_doe"}`)
	if status != http.StatusAccepted {
		t.Fatalf("sim message: got %d %v", status, m)
	}
	if got, want := m["waba_id"], waba; got != want {
		t.Errorf("waba_id: got %v, want %s", got, want)
	}
	ev := h.awaitEvent(func(e partnerevents.Event) bool {
		return e.Type == partnerevents.TypeMessageReceived && e.MessageID == m["message_id"]
	})
	if ev.FromUserID != bsuid || ev.From != "" || ev.Text != "hi, it's me" || ev.PhoneNumberID != phone {
		t.Errorf("message.received: got from %q, from_user_id %q, text %q, phone %q; want the BSUID and no phone", ev.From, ev.FromUserID, ev.Text, ev.PhoneNumberID)
	}
	if !strings.Contains(h.logs.String(), `"path":"/webhooks","status":200`) {
		t.Errorf("no webhook delivery was answered 200")
	}
}

// awaitEvent waits for a partner event that match accepts.
func (h *harness) awaitEvent(match func(partnerevents.Event) bool) partnerevents.Event {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range h.r.Events.Events() {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no matching partner event among %d", len(h.r.Events.Events()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
