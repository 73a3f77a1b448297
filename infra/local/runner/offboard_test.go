package runner

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

// TestPartnerRemovedCleansUp: after PARTNER_REMOVED the onboarding is OFFBOARDED, the credit line allocation
// is revoked at the simulator and the business token and PIN are gone from the vault; a duplicate webhook
// changes nothing more.
func TestPartnerRemovedCleansUp(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, "")
	rec := h.await(id, onboarding.StatusCompleted)
	if rec["allocation_config_id"] == nil {
		t.Fatalf("no credit line shared: %v", rec)
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"2949482758682047","time":1748477359,"changes":[{"value":{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + "5" + waba[1:] + `"}},"field":"account_update"}]}]}`)
	for range 2 {
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
	}
	h.await(id, onboarding.StatusOffboarded)
	if got := h.r.Sim.SideEffects(graph.CallCreditRevoke); got != 1 {
		t.Errorf("credit line revokes: got %d, want 1", got)
	}
	if st, _ := h.r.Sim.WABAState(waba); st.PrimaryFundingID != "" {
		t.Errorf("the WABA is still funded: %+v", st)
	}
	if _, err := h.r.Vault.WABASecret(context.Background(), waba); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("WABA secret after PARTNER_REMOVED: got %v, want ErrNotFound", err)
	}
	n := 0
	for _, e := range h.r.Events.Events() {
		if e.Type == "onboarding.status_changed" && e.Status == "OFFBOARDED" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("OFFBOARDED events: got %d, want 1", n)
	}
}
