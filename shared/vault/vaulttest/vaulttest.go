// Package vaulttest is the contract every onboarding.Vault implementation passes: the Secrets Manager
// adapter (over a fake transport), the in-memory one and the local runner's encrypted bbolt one
// (shared/vault/bolt) run the same cases, so that the local runner and the unit tests above the adapters see
// the production semantics.
package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/onboarding"
)

// Subject is one vault under test.
type Subject struct {
	Vault onboarding.Vault
	// Writes returns the number of state-changing writes so far (for Secrets Manager: versions created).
	Writes func() int
}

// Factory returns a new vault with no WABA secrets whose stage configuration is app.
type Factory func(t *testing.T, app onboarding.AppConfig) Subject

// Secret values used by the contract. They are distinctive, so that a test can search errors for them.
const (
	AppSecretValue     = "contract-app-secret-7f3a"
	PrevAppSecretValue = "contract-previous-app-secret-19c2"
	SystemTokenValue   = "contract-system-token-55d1"
	VerifyTokenValue   = "contract-verify-token-a0b4"
	TokenValue         = "contract-business-token-1111"
	OtherTokenValue    = "contract-business-token-2222"
)

// AppConfig returns the stage configuration the contract uses, with every field set.
func AppConfig() onboarding.AppConfig {
	return onboarding.AppConfig{
		AppID:                  "1234567890",
		AppSecret:              onboarding.NewSecret(AppSecretValue),
		PreviousAppSecret:      onboarding.NewSecret(PrevAppSecretValue),
		PreviousAppSecretUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		SystemToken:            onboarding.NewSecret(SystemTokenValue),
		SystemUserID:           "61550000000001",
		CreditLineID:           "1586175763729637",
		WebhookVerifyToken:     onboarding.NewSecret(VerifyTokenValue),
	}
}

// SecretValues lists the values no error may contain (PINs used by the contract included).
func SecretValues() []string {
	return []string{AppSecretValue, PrevAppSecretValue, SystemTokenValue, VerifyTokenValue, TokenValue, OtherTokenValue,
		"314159", "271828", "161803", "141421"}
}

// NoSecretIn fails t if s contains one of SecretValues.
func NoSecretIn(t testing.TB, what, s string) {
	t.Helper()
	for _, v := range SecretValues() {
		if strings.Contains(s, v) {
			t.Errorf("%s contains a secret value: %q", what, s)
		}
	}
}

const (
	waba   = "102290129340398"
	phone1 = "106540352242922"
	phone2 = "106540352242923"
)

var (
	pinA = onboarding.NewSecret("314159")
	pinB = onboarding.NewSecret("271828")
)

// Run runs the contract against vaults from newVault: every scenario, each on vaults of its own.
func Run(t *testing.T, newVault Factory) {
	fresh := func(t *testing.T) Subject { return newVault(t, AppConfig()) }
	for _, sc := range []struct {
		name string
		run  func(t *testing.T, fresh func(*testing.T) Subject)
	}{
		{"AppConfig returns the stage configuration", appConfigReturned},
		{"WABASecret of an unknown WABA is ErrNotFound", unknownWABA},
		{"PutBusinessToken stores token and expiry", putStores},
		{"PutBusinessToken repeated with the same key writes once", putRepeated},
		{"PutBusinessToken with a new token replaces it and keeps the PINs", putReplaces},
		{"EnsurePIN stores the first PIN and keeps it", ensureKeepsFirst},
		{"SetPIN replaces a stored PIN, once per key, and keeps the other phones", setPINReplaces},
		{"EnsurePIN for two phones keeps both, PutBusinessToken keeps them", twoPhones},
		{"concurrent EnsurePIN for different phones of one WABA loses none", concurrentPhones},
		{"concurrent EnsurePIN for one phone agrees on one PIN", concurrentOnePhone},
		{"WABASecret returns a copy", readReturnsCopy},
		{"DeleteWABASecret forgets token and PINs, is idempotent, and allows a new onboarding", deleteForgets},
		{"invalid arguments are refused before any write", invalidArguments},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, fresh) })
	}
}

var ctx = context.Background()

func appConfigReturned(t *testing.T, fresh func(*testing.T) Subject) {
	want := AppConfig()
	got, err := fresh(t).Vault.AppConfig(ctx)
	if err != nil {
		t.Fatalf("AppConfig: %v", err)
	}
	if !sameConfig(got, want) {
		t.Errorf("AppConfig: got %s, want %s", describeConfig(got), describeConfig(want))
	}
}

func unknownWABA(t *testing.T, fresh func(*testing.T) Subject) {
	if _, err := fresh(t).Vault.WABASecret(ctx, waba); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("WABASecret: got %v, want ErrNotFound", err)
	}
}

func putStores(t *testing.T, fresh func(*testing.T) Subject) {
	for _, tc := range []struct {
		name      string
		expiresAt time.Time
	}{
		{"expiring", time.Date(2031, 5, 6, 7, 8, 9, 123000000, time.FixedZone("CEST", 2*3600))},
		{"never expiring", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			if err := s.Vault.PutBusinessToken(ctx, waba, onboarding.NewSecret(TokenValue), tc.expiresAt, "key-1"); err != nil {
				t.Fatalf("PutBusinessToken: %v", err)
			}
			got := mustRead(t, s.Vault)
			wantSecret(t, "business token", got.BusinessToken, onboarding.NewSecret(TokenValue))
			if !got.TokenExpiresAt.Equal(tc.expiresAt) || got.TokenExpiresAt.IsZero() != tc.expiresAt.IsZero() {
				t.Errorf("token expiry: got %v, want %v", got.TokenExpiresAt, tc.expiresAt)
			}
			if len(got.PINs) != 0 {
				t.Errorf("pins: got %d, want 0", len(got.PINs))
			}
		})
	}
}

func putRepeated(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	exp := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := s.Vault.PutBusinessToken(ctx, waba, onboarding.NewSecret(TokenValue), exp, "key-1"); err != nil {
			t.Fatalf("PutBusinessToken #%d: %v", i+1, err)
		}
	}
	if got, want := writes(s), 1; s.Writes != nil && got != want {
		t.Errorf("writes: got %d, want %d", got, want)
	}
}

func putReplaces(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	mustPut(t, s.Vault, TokenValue, "key-1")
	mustEnsure(t, s.Vault, phone1, pinA, "key-pin")
	// The same idempotency key with another token: the caller's latest intent wins.
	mustPut(t, s.Vault, OtherTokenValue, "key-1")
	got := mustRead(t, s.Vault)
	wantSecret(t, "business token", got.BusinessToken, onboarding.NewSecret(OtherTokenValue))
	wantSecret(t, "pin of "+phone1, got.PINs[phone1], pinA)
}

func ensureKeepsFirst(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	wantSecret(t, "first EnsurePIN", mustEnsure(t, s.Vault, phone1, pinA, "key-a"), pinA)
	before := writes(s)
	for _, key := range []string{"key-a", "key-b"} {
		wantSecret(t, "EnsurePIN again ("+key+")", mustEnsure(t, s.Vault, phone1, pinB, key), pinA)
	}
	if got, want := writes(s)-before, 0; s.Writes != nil && got != want {
		t.Errorf("writes by repeated EnsurePIN: got %d, want %d", got, want)
	}
	if !mustRead(t, s.Vault).BusinessToken.IsZero() {
		t.Errorf("business token of a PIN-only secret: got set, want empty")
	}
}

func setPINReplaces(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	mustEnsure(t, s.Vault, phone1, pinA, "key-a")
	mustEnsure(t, s.Vault, phone2, pinA, "key-a2")
	if err := s.Vault.SetPIN(ctx, waba, phone1, pinB, "key-b"); err != nil {
		t.Fatalf("SetPIN: %v", err)
	}
	before := writes(s)
	if err := s.Vault.SetPIN(ctx, waba, phone1, pinB, "key-b"); err != nil {
		t.Fatalf("SetPIN again: %v", err)
	}
	if got, want := writes(s)-before, 0; s.Writes != nil && got != want {
		t.Errorf("writes by a repeated SetPIN: got %d, want %d", got, want)
	}
	sec := mustRead(t, s.Vault)
	wantSecret(t, "PIN after SetPIN", sec.PINs[phone1], pinB)
	wantSecret(t, "other phone's PIN", sec.PINs[phone2], pinA)
	if got, err := s.Vault.EnsurePIN(ctx, waba, phone1, pinA, "key-c"); err != nil || !got.Equal(pinB) {
		t.Errorf("EnsurePIN after SetPIN: got %q, %v, want the set %q", got.Reveal(), err, pinB.Reveal())
	}
}

func twoPhones(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	mustEnsure(t, s.Vault, phone1, pinA, "key-a")
	mustEnsure(t, s.Vault, phone2, pinB, "key-b")
	mustPut(t, s.Vault, TokenValue, "key-t")
	got := mustRead(t, s.Vault)
	for ph, want := range map[string]onboarding.Secret{phone1: pinA, phone2: pinB} {
		wantSecret(t, "pin of "+ph, got.PINs[ph], want)
	}
}

func concurrentPhones(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	phone := func(i int) string { return fmt.Sprint(1000 + i) }
	got, errs := ensureConcurrently(s.Vault, 5, phone)
	sec := mustRead(t, s.Vault)
	for i := range got {
		if errs[i] != nil {
			t.Errorf("EnsurePIN #%d: %v", i, errs[i])
			continue
		}
		wantSecret(t, fmt.Sprint("EnsurePIN #", i), got[i], pinFor(i))
		wantSecret(t, fmt.Sprint("stored pin #", i), sec.PINs[phone(i)], pinFor(i))
	}
}

func concurrentOnePhone(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	got, errs := ensureConcurrently(s.Vault, 4, func(int) string { return phone1 })
	stored := mustRead(t, s.Vault).PINs[phone1]
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("EnsurePIN #%d: %v", i, errs[i])
		}
		wantSecret(t, fmt.Sprint("EnsurePIN #", i), got[i], stored)
	}
	if !onboarding.ValidPIN(stored.Reveal()) {
		t.Errorf("stored pin is not a PIN")
	}
}

func readReturnsCopy(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	mustEnsure(t, s.Vault, phone1, pinA, "key-a")
	sec := mustRead(t, s.Vault)
	sec.PINs[phone1] = pinB
	sec.PINs[phone2] = pinB
	again := mustRead(t, s.Vault)
	if p := again.PINs[phone1]; !p.Equal(pinA) || len(again.PINs) != 1 {
		t.Errorf("after changing a returned secret: got pin %q and %d pins, want %q and 1", p.Reveal(), len(again.PINs), pinA.Reveal())
	}
}

func deleteForgets(t *testing.T, fresh func(*testing.T) Subject) {
	s := fresh(t)
	mustPut(t, s.Vault, TokenValue, "signup-1")
	mustEnsure(t, s.Vault, phone1, pinA, "key-a")
	for i := range 2 {
		if err := s.Vault.DeleteWABASecret(ctx, waba); err != nil {
			t.Fatalf("DeleteWABASecret #%d: %v", i+1, err)
		}
	}
	if _, err := s.Vault.WABASecret(ctx, waba); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("WABASecret after delete: got %v, want ErrNotFound", err)
	}
	if err := s.Vault.DeleteWABASecret(ctx, "200000000000009"); err != nil {
		t.Errorf("DeleteWABASecret of an unknown WABA: %v", err)
	}
	// The same customer onboards again: the secret can be created afresh.
	mustPut(t, s.Vault, TokenValue, "signup-2")
	if got := mustRead(t, s.Vault); got.BusinessToken.Reveal() != TokenValue || len(got.PINs) != 0 {
		t.Errorf("after a new onboarding: got %d PINs, want the new token and no old PIN", len(got.PINs))
	}
	if err := s.Vault.DeleteWABASecret(ctx, "12/../34"); !errors.Is(err, vaultargs.ErrInvalidArgument) {
		t.Errorf("bad waba id: got %v, want an invalid argument error", err)
	}
}

func invalidArguments(t *testing.T, fresh func(*testing.T) Subject) {
	tok := onboarding.NewSecret(TokenValue)
	put := func(waba string, tok onboarding.Secret, key string) func(onboarding.Vault) error {
		return func(v onboarding.Vault) error { return v.PutBusinessToken(ctx, waba, tok, time.Time{}, key) }
	}
	ensure := func(waba, phone string, pin onboarding.Secret, key string) func(onboarding.Vault) error {
		return func(v onboarding.Vault) error { _, err := v.EnsurePIN(ctx, waba, phone, pin, key); return err }
	}
	for _, tc := range []struct {
		name string
		call func(v onboarding.Vault) error
	}{
		{"WABASecret bad waba id", func(v onboarding.Vault) error { _, err := v.WABASecret(ctx, "12/../34"); return err }},
		{"PutBusinessToken bad waba id", put("abc", tok, "k")},
		{"PutBusinessToken empty token", put(waba, onboarding.Secret{}, "k")},
		{"PutBusinessToken token with whitespace", put(waba, onboarding.NewSecret(TokenValue+"\n"), "k")},
		{"PutBusinessToken empty key", put(waba, tok, "")},
		{"EnsurePIN bad waba id", ensure("", phone1, pinA, "k")},
		{"EnsurePIN bad phone id", ensure(waba, "+1650", pinA, "k")},
		{"EnsurePIN 5-digit pin", ensure(waba, phone1, onboarding.NewSecret("31415"), "k")},
		{"EnsurePIN non-digit pin", ensure(waba, phone1, onboarding.NewSecret(TokenValue), "k")},
		{"EnsurePIN empty key", ensure(waba, phone1, pinA, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fresh(t)
			err := tc.call(s.Vault)
			if !errors.Is(err, vaultargs.ErrInvalidArgument) {
				t.Fatalf("got %v, want an invalid argument error", err)
			}
			NoSecretIn(t, "error", err.Error())
			if got := writes(s); got != 0 {
				t.Errorf("writes: got %d, want 0", got)
			}
		})
	}
}

// ensureConcurrently runs n EnsurePIN calls at once, call i for phone(i) with pinFor(i).
func ensureConcurrently(v onboarding.Vault, n int, phone func(i int) string) ([]onboarding.Secret, []error) {
	var wg sync.WaitGroup
	errs := make([]error, n)
	got := make([]onboarding.Secret, n)
	for i := range n {
		wg.Go(func() { got[i], errs[i] = v.EnsurePIN(ctx, waba, phone(i), pinFor(i), fmt.Sprint("key-", i)) })
	}
	wg.Wait()
	return got, errs
}

func mustEnsure(t *testing.T, v onboarding.Vault, phone string, pin onboarding.Secret, key string) onboarding.Secret {
	t.Helper()
	got, err := v.EnsurePIN(ctx, waba, phone, pin, key)
	if err != nil {
		t.Fatalf("EnsurePIN %s (%s): %v", phone, key, err)
	}
	return got
}

// wantSecret fails t unless got equals want. It shows both values: they are the contract's own, not real
// secrets.
func wantSecret(t *testing.T, what string, got, want onboarding.Secret) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %q, want %q", what, got.Reveal(), want.Reveal())
	}
}

func writes(s Subject) int {
	if s.Writes == nil {
		return 0
	}
	return s.Writes()
}

func pinFor(i int) onboarding.Secret { return onboarding.NewSecret(fmt.Sprintf("%06d", 100000+i*111)) }

func mustPut(t *testing.T, v onboarding.Vault, token, key string) {
	t.Helper()
	if err := v.PutBusinessToken(ctx, waba, onboarding.NewSecret(token), time.Time{}, key); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
}

func mustRead(t *testing.T, v onboarding.Vault) *onboarding.WABASecret {
	t.Helper()
	s, err := v.WABASecret(ctx, waba)
	if err != nil {
		t.Fatalf("WABASecret: %v", err)
	}
	return s
}

func sameConfig(a, b onboarding.AppConfig) bool {
	return a.AppID == b.AppID && a.AppSecret.Equal(b.AppSecret) && a.PreviousAppSecret.Equal(b.PreviousAppSecret) &&
		a.PreviousAppSecretUntil.Equal(b.PreviousAppSecretUntil) && a.SystemToken.Equal(b.SystemToken) &&
		a.SystemUserID == b.SystemUserID && a.CreditLineID == b.CreditLineID && a.WebhookVerifyToken.Equal(b.WebhookVerifyToken)
}

// describeConfig renders a config for a failure message; secrets show only whether they are set.
func describeConfig(c onboarding.AppConfig) string {
	set := func(s onboarding.Secret) string {
		if s.IsZero() {
			return "empty"
		}
		return "set"
	}
	return fmt.Sprintf("{app_id %s, app_secret %s, previous %s until %s, system_token %s, system_user %s, credit_line %s, verify_token %s}",
		c.AppID, set(c.AppSecret), set(c.PreviousAppSecret), c.PreviousAppSecretUntil.Format(time.RFC3339), set(c.SystemToken),
		c.SystemUserID, c.CreditLineID, set(c.WebhookVerifyToken))
}
