package runner

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// TestTokenHealthExpiringToken: a customer onboarded with a code that grants a token ending in 3 days
// (the simulator's expiring-<nonce> rule) gets token.expiring from the periodic check, once however often it
// runs that day, and its onboarding shows reauth_required; an ordinary customer gets nothing.
func TestTokenHealthExpiringToken(t *testing.T) {
	h := start(t, map[string]string{EnvTokenHealthInterval: "50ms"})
	const otherWABA, otherPhone = "102290129340399", "106540352242929"
	post := func(wabaID, phoneID, nonce string) string {
		code := fmt.Sprintf("sim:%s:%s:%s", wabaID, phoneID, nonce)
		h.mu.Lock()
		h.secrets = append(h.secrets, code)
		h.mu.Unlock()
		status, m := h.do("POST", "/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q}`, code, wabaID, phoneID))
		if status != http.StatusAccepted {
			t.Fatalf("signup: got %d %v", status, m)
		}
		return m["id"].(string)
	}
	expiring := post(waba, phone, "expiring-"+onboarding.NewID())
	ordinary := post(otherWABA, otherPhone, onboarding.NewID())
	h.await(expiring, onboarding.StatusCompleted)
	h.await(ordinary, onboarding.StatusCompleted)

	ev := h.awaitEvent(func(e partnerevents.Event) bool { return e.Type == partnerevents.TypeTokenExpiring })
	if ev.WABAID != waba || ev.OnboardingID != expiring || ev.TokenType != partnerevents.TokenBusiness || ev.Reason != "expires_soon" {
		t.Errorf("token.expiring: got %+v, want WABA %s, onboarding %s, business, expires_soon", ev, waba, expiring)
	}
	if ev.ExpiresAt == nil || time.Until(*ev.ExpiresAt) > 72*time.Hour || time.Until(*ev.ExpiresAt) < 71*time.Hour {
		t.Errorf("expires_at: got %v, want about 3 days from now", ev.ExpiresAt)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, rec := h.do("GET", "/onboardings/"+expiring, "")
		if rec["reauth_required"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("onboarding %s: reauth_required not set: %v", expiring, rec)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, rec := h.do("GET", "/onboardings/"+ordinary, ""); rec["reauth_required"] != nil {
		t.Errorf("ordinary onboarding: reauth_required %v, want absent", rec["reauth_required"])
	}

	time.Sleep(300 * time.Millisecond) // several more runs
	n := 0
	for _, e := range h.r.Events.Events() {
		switch {
		case e.Type == partnerevents.TypeTokenExpiring && e.WABAID == waba:
			n++
		case e.Type == partnerevents.TypeTokenExpiring || e.Type == partnerevents.TypeTokenInvalid:
			t.Errorf("unexpected token event: %+v", e)
		}
	}
	if n != 1 {
		t.Errorf("token.expiring events after several runs: got %d, want 1", n)
	}
}

func TestTokenHealthIntervalConfig(t *testing.T) {
	tests := []struct {
		value   string // "-" unset
		want    time.Duration
		wantErr bool
	}{
		{"-", DefaultTokenHealthInterval, false},
		{"", DefaultTokenHealthInterval, false},
		{"0", 0, false},
		{"30s", 30 * time.Second, false},
		{"5m", 5 * time.Minute, false},
		{"-1m", 0, true},
		{"often", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			env := map[string]string{EnvState: StateMemory}
			if tc.value != "-" {
				env[EnvTokenHealthInterval] = tc.value
			}
			cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got no error, want one naming %s", EnvTokenHealthInterval)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TokenHealthInterval != tc.want {
				t.Errorf("interval: got %v, want %v", cfg.TokenHealthInterval, tc.want)
			}
		})
	}
}

// TestTokenHealthRevokedToken: a business token Meta has invalidated gives token.invalid, with Meta's
// reason, and reauth_required on the onboarding.
func TestTokenHealthRevokedToken(t *testing.T) {
	h := start(t, map[string]string{EnvTokenHealthInterval: "50ms"})
	id := h.signup(phone, "")
	h.await(id, onboarding.StatusCompleted)
	sec, err := h.r.Vault.WABASecret(context.Background(), waba)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.secrets = append(h.secrets, sec.BusinessToken.Reveal()) // the cleanup's scan: in no log, response or record
	h.mu.Unlock()
	h.r.Sim.RevokeToken(sec.BusinessToken.Reveal())
	ev := h.awaitEvent(func(e partnerevents.Event) bool { return e.Type == partnerevents.TypeTokenInvalid })
	if ev.WABAID != waba || ev.OnboardingID != id || ev.Reason != "invalid" || len(ev.Errors) != 1 || ev.Errors[0].Code != 190 {
		t.Errorf("token.invalid: got %+v, want WABA %s, onboarding %s, reason invalid, Meta's 190", ev, waba, id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, rec := h.do("GET", "/onboardings/"+id, ""); rec["reauth_required"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("onboarding %s: reauth_required not set", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
