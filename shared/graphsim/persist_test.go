package graphsim

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// TestWorldRoundTrip: a world saved and loaded into a new simulator is the same world: the same snapshot,
// its number still registered (a user may message it), its token still granting the WABA.
func TestWorldRoundTrip(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	now := func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	s := New(Config{Now: now})
	token := s.IssueToken(waba, phone)
	expiring := s.IssueToken(waba, phone)
	s.tokens[expiring].Expires = now().Add(ExpiringTokenLifetime)
	s.SetPhone(phone, PhoneState{WABAID: waba, PlatformType: PlatformCloudAPI, Status: StatusConnected, PIN: onboarding.NewSecret("123456"), RegisterCalls: 2})
	s.IssueCode(waba, phone)
	if _, err := s.SendUserMessage(UserMessage{From: "+15550001111", PhoneNumberID: phone, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	saved, err := s.SaveWorld()
	if err != nil {
		t.Fatal(err)
	}

	changes := 0
	s2 := New(Config{Now: now, OnChange: func() { changes++ }})
	if err := s2.LoadWorld(saved); err != nil {
		t.Fatal(err)
	}
	again, err := s2.SaveWorld()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, saved) {
		t.Errorf("world after a round trip:\n got %s\nwant %s", again, saved)
	}
	p, ok := s2.PhoneState(phone)
	if !ok || !p.Registered() || p.PIN.Reveal() != "123456" || p.RegisterCalls != 2 {
		t.Errorf("phone after the round trip: got %+v, %v", p, ok)
	}
	if _, err := s2.SendUserMessage(UserMessage{From: "+15550001111", PhoneNumberID: phone, Text: "hi"}); err != nil {
		t.Errorf("a user message to the restored number: %v", err)
	}
	if changes != 1 {
		t.Errorf("OnChange calls: got %d, want 1 (the user message)", changes)
	}
	s2.mu.Lock()
	tok, ok := s2.tokens[token]
	s2.mu.Unlock()
	if !ok || tok.WABA != waba {
		t.Errorf("the token issued before the save: got %+v, %v", tok, ok)
	}
	s2.mu.Lock()
	exp, ok := s2.tokens[expiring]
	s2.mu.Unlock()
	if !ok || !exp.Expires.Equal(now().Add(ExpiringTokenLifetime)) || !tok.Expires.IsZero() {
		t.Errorf("token ends after the round trip: expiring %+v, %v; ordinary %v", exp, ok, tok.Expires)
	}
	if err := s2.LoadWorld([]byte(`{"version":99}`)); err == nil {
		t.Error("a world of another version was loaded")
	}
}

// TestWorldDocCoversTheWorld fails when a field is added to the world's records without being saved: give
// it a JSON name.
func TestWorldDocCoversTheWorld(t *testing.T) {
	for _, rec := range []any{codeRec{}, tokenRec{}, wabaRec{}, phoneRec{}, allocationRec{}} {
		typ := reflect.TypeOf(rec)
		for i := range typ.NumField() {
			if f := typ.Field(i); !f.IsExported() || f.Tag.Get("json") == "" || f.Tag.Get("json") == "-" {
				t.Errorf("%s.%s has no JSON name: the world would not be saved whole", typ.Name(), f.Name)
			}
		}
	}
	// Saved: codes, tokens, wabas, phones, allocations, calls, effects, seq. Not saved: cfg, mu, faults,
	// done, closeOnce, srv.
	if got, want := reflect.TypeOf(Server{}).NumField(), 14; got != want {
		t.Errorf("Server has %d fields, want %d: is the new one part of the world (SaveWorld)?", got, want)
	}
}

// TestWorldKeepsVerificationAndSync: a requested verification code and the coexistence syncs survive a
// save: after a restart the code still verifies, and a repeated sync is still refused with 2593107.
func TestWorldKeepsVerificationAndSync(t *testing.T) {
	const waba, unverified, bizApp = "102290129340398", "106540352243333", "106540352242222"
	now := func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	s := New(Config{Now: now})
	s.IssueToken(waba, unverified)
	s.IssueToken(waba, bizApp)
	s.mu.Lock()
	s.phones[unverified].CodeRequested = now()
	s.phones[bizApp].Synced = map[string]bool{"smb_app_state_sync": true}
	s.mu.Unlock()
	saved, err := s.SaveWorld()
	if err != nil {
		t.Fatal(err)
	}
	s2 := New(Config{Now: now})
	if err := s2.LoadWorld(saved); err != nil {
		t.Fatal(err)
	}
	s2.mu.Lock()
	defer s2.mu.Unlock()
	if p := s2.phones[unverified]; !p.CodeRequested.Equal(now()) || p.CodeVerification != CodeNotVerified || p.Onboarded.IsZero() {
		t.Errorf("unverified number after the round trip: %+v", p)
	}
	if p := s2.phones[bizApp]; !p.Synced["smb_app_state_sync"] || p.Synced["history"] {
		t.Errorf("Business app number after the round trip: synced %v", p.Synced)
	}
}
