package secretsmanager

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

// fuzzMarker is in the values of the seeds: it contains digits and a dash, so it is never a key name an
// error may quote, and no error text contains it. An error that does quoted a value.
const fuzzMarker = "s3cr3t-7"

// FuzzParseSecret feeds arbitrary strings to the two secret parsers (the stage secret the operator fills in,
// and the per-WABA secret with the business token and PINs). They must never panic, must fail only with a
// *SecretFormatError that quotes no value, must accept only a valid configuration, and a WABA secret must
// survive a write and a re-read unchanged (unknown keys included). Seeds: testdata/fuzz/FuzzParseSecret.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{
		`{"app_id":"236484624622562","app_secret":"` + fuzzMarker + `a","system_token":"EAA` + fuzzMarker + `","system_user_id":"1","credit_line_id":"2","webhook_verify_token":"` + fuzzMarker + `v"}`,
		`{"app_id":"1","app_secret":"x","previous_app_secret":"` + fuzzMarker + `","previous_app_secret_until":"2026-03-01T12:00:00Z"}`,
		`{"app_id":"1","app_secret":"x","app_secret":"` + fuzzMarker + `"}`,
		`{"app_id":"` + fuzzMarker + `","app_secret":"x"}`,
		`{"` + fuzzMarker + `":"x"}`,
		`{"business_token":"EAA` + fuzzMarker + `","token_expires_at":"2026-05-01T00:00:00Z","pins":{"106540352242922":"581063"},"updated_at":"","future_key":{"a":[1,2]}}`,
		`{"business_token":"x","pins":{"` + fuzzMarker + `":"123456"}}`,
		`{"business_token":"x","pins":{"1":"` + fuzzMarker + `"}}`,
		`{"business_token":"x","pins":null}`,
		`not json ` + fuzzMarker,
		`{"a":1} {"b":2}`,
		"{\"app_id\":\"1\",\"app_secret\":\"\xff\"}",
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		checkErr := func(what string, err error) {
			var fe *SecretFormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%s: error %T %v is not a *SecretFormatError", what, err, err)
			}
			if strings.Contains(err.Error(), fuzzMarker) {
				t.Fatalf("%s: the error quotes a value: %v", what, err)
			}
		}

		cfg, err := parseStageSecret("wa-onboarding/dev/app", value)
		if err != nil {
			checkErr("stage secret", err)
		} else {
			if !onboarding.ValidGraphID(cfg.AppID) || cfg.AppSecret.IsZero() {
				t.Fatalf("accepted app_id %q or an empty app_secret", cfg.AppID)
			}
			if cfg.CreditLineID != "" && (!onboarding.ValidGraphID(cfg.CreditLineID) || !onboarding.ValidGraphID(cfg.SystemUserID) || cfg.SystemToken.IsZero()) {
				t.Fatalf("accepted a credit line without a valid system user and token")
			}
			if cfg.PreviousAppSecret.IsZero() != cfg.PreviousAppSecretUntil.IsZero() {
				t.Fatalf("accepted a previous app secret without its end, or the reverse")
			}
		}

		doc, err := parseWABASecret("wa-onboarding/dev/waba/1", value)
		if err != nil {
			checkErr("WABA secret", err)
			return
		}
		for phone, pin := range doc.PINs {
			if !onboarding.ValidGraphID(phone) || !onboarding.ValidPIN(pin.Reveal()) {
				t.Fatalf("accepted PIN entry %q", phone)
			}
		}
		out, err := doc.marshal()
		if err != nil {
			// Only a preserved unknown member can fail to encode; it was valid JSON when read.
			t.Fatalf("marshal: %v", err)
		}
		again, err := parseWABASecret("wa-onboarding/dev/waba/1", out)
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%s", err, out)
		}
		a, b := doc.secret(), again.secret()
		if !a.BusinessToken.Equal(b.BusinessToken) || !a.TokenExpiresAt.Equal(b.TokenExpiresAt) || !doc.updatedAt.Equal(again.updatedAt) ||
			!maps.EqualFunc(a.PINs, b.PINs, func(x, y onboarding.Secret) bool { return x.Equal(y) }) {
			t.Fatalf("the secret changed across a write and a re-read:\n%s", out)
		}
		if len(doc.extra) != len(again.extra) {
			t.Fatalf("unknown keys lost across a write: %d then %d", len(doc.extra), len(again.extra))
		}
		for k := range doc.extra {
			if _, ok := again.extra[k]; !ok {
				t.Fatalf("unknown key lost across a write")
			}
		}
	})
}
