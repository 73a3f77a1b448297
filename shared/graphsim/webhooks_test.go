package graphsim

import (
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
		if failures > 0 { // the first delivery fails: Meta retries
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
	s := &WebhookSender{URL: srv.URL, AppSecret: secret, StatusDelay: 20 * time.Millisecond, RetryDelay: time.Millisecond}
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
	if got[0].Kind != webhook.KindInboundMessage || got[0].From != "16505551234" || got[0].PhoneNumberID != "106540352242922" || got[0].WABAID != "102290129340398" {
		t.Errorf("inbound: got %+v", got[0])
	}
	if got[1].Status != "sent" || got[2].Status != "delivered" || got[2].MessageID != "wamid.out" {
		t.Errorf("statuses: got %s then %s", got[1].Status, got[2].Status)
	}
}
