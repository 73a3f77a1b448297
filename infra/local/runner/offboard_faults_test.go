package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

// TestOffboardingRevokeFaults injects every Graph error class once at the offboarding's credit line revoke:
// transient and throttled answers are retried in-process (the revoke shares nothing), anything else is
// Meta's refusal, logged and not retried; either way the onboarding ends OFFBOARDED with its secret deleted.
func TestOffboardingRevokeFaults(t *testing.T) {
	t.Parallel()
	for _, c := range graphClasses {
		t.Run(c.what, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, map[string]string{EnvSimFaults: fmt.Sprintf("%s:%sx1", graph.CallCreditRevoke, c.what)}, 0)
			id := h.signup(phone, "")
			h.await(id, onboarding.StatusCompleted)
			body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"2949482758682047","time":1748477359,"changes":[{"value":{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `"}},"field":"account_update"}]}]}`)
			req, _ := http.NewRequest("POST", h.r.URL+"/webhooks", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", webhook.Sign(body, h.r.cfg.App.AppSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("webhook: got %d, want 200", resp.StatusCode)
			}
			h.await(id, onboarding.StatusOffboarded)
			retried := c.class == graph.ClassTransient || c.class == graph.ClassThrottled
			want := 0
			if retried {
				want = 1
			}
			if got := h.r.Sim.SideEffects(graph.CallCreditRevoke); got != want {
				t.Errorf("revokes that took effect: got %d, want %d", got, want)
			}
			if got := h.r.Sim.Calls(graph.CallCreditRevoke); got != 1+want {
				t.Errorf("revoke calls: got %d, want %d", got, 1+want)
			}
			if _, err := h.r.Vault.WABASecret(context.Background(), waba); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("WABA secret: got %v, want ErrNotFound", err)
			}
			rec, _ := h.r.Store.Get(context.Background(), id)
			if !rec.Progress.CreditRevoked || !rec.Progress.SecretDeleted {
				t.Errorf("progress: got %+v, want the clean-up finished", rec.Progress)
			}
		})
	}
}
