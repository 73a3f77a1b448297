package graphsim

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

func TestWebhookSenderSignsRetriesAndOrdersStatuses(t *testing.T) {
	secret := onboarding.NewSecret("614fc2afde15eee07a26b2fe3eaee9b9")
	var mu sync.Mutex
	var got []webhook.Event
	failures := 1
	done := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(body, r.Header.Get("X-Hub-Signature-256"), secret); err != nil {
			t.Errorf("signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		// The inbound message's first delivery fails: Meta retries. (Failing a status instead would let its
		// retry arrive after the next status, which Meta allows too but this test does not look at.)
		if failures > 0 && bytes.Contains(body, []byte("wamid.in")) {
			failures--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		res, err := webhook.Parse(body)
		if err != nil {
			t.Errorf("parse: %v", err)
		}
		got = append(got, res.Events...)
		done <- struct{}{}
	}))
	defer srv.Close()
	s := &WebhookSender{URL: srv.URL, AppSecret: secret, StatusDelay: 50 * time.Millisecond, RetryDelay: time.Millisecond}
	defer s.Close()
	s.InboundMessage("102290129340398", "106540352242922", "+16505551234", "wamid.in", "hello", time.Now())
	s.MessageSent("102290129340398", "106540352242922", "+16505551234", "wamid.out", time.Now())
	for range 3 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("webhooks not delivered")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("events: got %d, want 3", len(got))
	}
	// The inbound message and the reply's statuses are separate deliveries: the retried inbound one may
	// arrive after the statuses, as at Meta; the statuses are sent StatusDelay apart, in order.
	var inbound []webhook.Event
	var statuses []string
	for _, ev := range got {
		if ev.Kind == webhook.KindInboundMessage {
			inbound = append(inbound, ev)
			continue
		}
		if ev.MessageID != "wamid.out" {
			t.Errorf("status of %q, want wamid.out", ev.MessageID)
		}
		statuses = append(statuses, ev.Status)
	}
	if len(inbound) != 1 || inbound[0].From != "16505551234" || inbound[0].PhoneNumberID != "106540352242922" || inbound[0].WABAID != "102290129340398" {
		t.Errorf("inbound: got %+v", inbound)
	}
	if len(statuses) != 2 || statuses[0] != "sent" || statuses[1] != "delivered" {
		t.Errorf("statuses: got %v, want [sent delivered]", statuses)
	}
}
