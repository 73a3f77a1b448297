package runner

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

// postWebhook delivers a signed messages webhook to the runner, as Meta would.
func (h *harness) postWebhook(value string) {
	h.t.Helper()
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","changes":[{"value":` + value + `,"field":"messages"}]}]}`)
	req, _ := http.NewRequest("POST", h.r.URL+"/webhooks", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", webhook.Sign(body, h.r.cfg.App.AppSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("webhook delivery: got %d, want 200", resp.StatusCode)
	}
}

// TestPhraseFromABSUIDOnlyUserVerifies: a tester Meta knows only by business-scoped user id sends the test
// phrase; the reply goes to the BSUID (recipient), and its delivered status, addressed to the BSUID, verifies.
func TestPhraseFromABSUIDOnlyUserVerifies(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, `,"test":true`)
	rec := h.await(id, onboarding.StatusAwaitingTestMessage)
	phrase, _ := rec["test_phrase"].(string)
	if !regexp.MustCompile(`^TEST[0-9]{6}$`).MatchString(phrase) {
		t.Fatalf("test_phrase: got %q, want TEST and 6 digits (record %v)", phrase, rec)
	}
	if display, _ := rec["display_phone_number"].(string); display == "" {
		t.Errorf("display_phone_number missing: %v", rec)
	}
	// The simulated tester's greeting after registration is not the test (no phrase, no recipient named).
	time.Sleep(200 * time.Millisecond)
	if _, rec = h.do("GET", "/onboardings/"+id, ""); rec["status"] != string(onboarding.StatusAwaitingTestMessage) {
		t.Fatalf("status after the simulated tester's greeting: got %v, want AWAITING_TEST_MESSAGE", rec["status"])
	}

	const bsuid = "US.13491208655302741918"
	h.r.Sim.OpenWindow(phone, bsuid, time.Now())
	h.postWebhook(fmt.Sprintf(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":"Sheena","username":"sheena.nelson"},"user_id":%q}],`+
		`"messages":[{"from_user_id":%q,"id":"wamid.phrase1","timestamp":"%d","type":"text","text":{"body":"hello %s"}}]}`,
		phone, bsuid, bsuid, time.Now().Unix(), strings.ToLower(phrase)))

	rec = h.await(id, onboarding.StatusVerified)
	checkSteps(t, rec, map[string]string{"send_test_message": "SUCCEEDED"})
	if _, shown := rec["test_phrase"]; shown {
		t.Errorf("test_phrase still shown once VERIFIED: %v", rec)
	}
	if got := rec["test_message_status"]; got != "delivered" {
		t.Errorf("test_message_status: got %v, want delivered", got)
	}
	var statusTo []string
	for _, e := range h.r.Events.Events() {
		if e.Type == "message.status" && e.MessageID == rec["test_message_id"] {
			statusTo = append(statusTo, e.Status+":"+e.RecipientID+":"+e.UserID)
		}
	}
	if len(statusTo) == 0 || statusTo[0] != "sent::"+bsuid {
		t.Errorf("statuses of the reply: got %v, want them addressed to the BSUID only (no recipient_id)", statusTo)
	}
	h.scanForSecrets()
}

func TestNoTestWhenNotAsked(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, `,"test":false`)
	rec := h.await(id, onboarding.StatusCompleted)
	checkSteps(t, rec, map[string]string{"send_test_message": "SKIPPED"})
}
