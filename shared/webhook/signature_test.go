package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

const (
	testSecret     = "0123456789abcdef0123456789abcdef"
	testPrevSecret = "fedcba9876543210fedcba9876543210"
)

var testBody = []byte(`{"object":"whatsapp_business_account","entry":[]}`)

func hexHMAC(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	cur, prev := onboarding.NewSecret(testSecret), onboarding.NewSecret(testPrevSecret)
	good := hexHMAC(testSecret, testBody)
	sha1Mac := hmac.New(sha1.New, []byte(testSecret))
	sha1Mac.Write(testBody)
	tests := []struct {
		name    string
		body    []byte
		header  string
		secrets []onboarding.Secret
		want    error
	}{
		{"valid lower-case hex", testBody, "sha256=" + good, []onboarding.Secret{cur}, nil},
		{"valid upper-case hex", testBody, "sha256=" + strings.ToUpper(good), []onboarding.Secret{cur}, nil},
		{"upper-case algorithm label", testBody, "SHA256=" + good, []onboarding.Secret{cur}, nil},
		{"surrounding spaces tolerated", testBody, "  sha256=" + good + "\t", []onboarding.Secret{cur}, nil},
		{"previous secret when offered", testBody, "sha256=" + hexHMAC(testPrevSecret, testBody), []onboarding.Secret{cur, prev}, nil},
		{"empty secrets skipped", testBody, "sha256=" + good, []onboarding.Secret{{}, cur}, nil},
		{"empty body signed", nil, "sha256=" + hexHMAC(testSecret, nil), []onboarding.Secret{cur}, nil},
		{"missing", testBody, "", []onboarding.Secret{cur}, ErrSignatureMissing},
		{"only spaces", testBody, "   ", []onboarding.Secret{cur}, ErrSignatureMissing},
		{"no prefix", testBody, good, []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"sha1 prefix", testBody, "sha1=" + hex.EncodeToString(sha1Mac.Sum(nil)), []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"sha1 prefix with a sha256-length value", testBody, "sha1=" + good, []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"sha512 prefix", testBody, "sha512=" + good + good, []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"too short", testBody, "sha256=" + good[:63], []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"too long", testBody, "sha256=" + good + "0", []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"not hex", testBody, "sha256=" + strings.Repeat("g", 64), []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"inner space", testBody, "sha256= " + good[:63], []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"two values joined by a proxy", testBody, "sha256=" + good + ",sha256=" + good, []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"base64 instead of hex", testBody, "sha256=" + strings.Repeat("A", 43) + "=", []onboarding.Secret{cur}, ErrSignatureMalformed},
		{"wrong secret", testBody, "sha256=" + hexHMAC("another secret", testBody), []onboarding.Secret{cur}, ErrSignatureMismatch},
		{"previous secret not offered", testBody, "sha256=" + hexHMAC(testPrevSecret, testBody), []onboarding.Secret{cur}, ErrSignatureMismatch},
		{"body changed by one byte", []byte(strings.Replace(string(testBody), "[]", "[ ]", 1)), "sha256=" + good, []onboarding.Secret{cur}, ErrSignatureMismatch},
		{"no secret configured", testBody, "sha256=" + good, nil, ErrNoAppSecret},
		{"only empty secrets", testBody, "sha256=" + good, []onboarding.Secret{{}, {}}, ErrNoAppSecret},
		{"no secret wins over a missing header", testBody, "", nil, ErrNoAppSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.body, tt.header, tt.secrets...)
			if got, want := err, tt.want; !errors.Is(got, want) || (want == nil) != (got == nil) {
				t.Fatalf("Verify: got %v, want %v", got, want)
			}
			if err != nil {
				// Neither the secret nor any signature may leak through the error.
				for _, leak := range []string{testSecret, testPrevSecret, good, strings.ToUpper(good)} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error %q discloses a secret or signature", err)
					}
				}
			}
		})
	}
}

func TestSignMatchesVerify(t *testing.T) {
	s := onboarding.NewSecret(testSecret)
	if got, want := Sign(testBody, s), "sha256="+hexHMAC(testSecret, testBody); got != want {
		t.Fatalf("Sign: got %q, want %q", got, want)
	}
	if err := Verify(testBody, Sign(testBody, s), s); err != nil {
		t.Fatalf("Verify(Sign): got %v, want nil", err)
	}
}

func TestAcceptedSecrets(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cur, prev := onboarding.NewSecret(testSecret), onboarding.NewSecret(testPrevSecret)
	tests := []struct {
		name string
		cfg  onboarding.AppConfig
		want []onboarding.Secret
	}{
		{"current only", onboarding.AppConfig{AppSecret: cur}, []onboarding.Secret{cur}},
		{"inside the rotation window", onboarding.AppConfig{AppSecret: cur, PreviousAppSecret: prev, PreviousAppSecretUntil: now.Add(time.Hour)}, []onboarding.Secret{cur, prev}},
		{"at the end of the window", onboarding.AppConfig{AppSecret: cur, PreviousAppSecret: prev, PreviousAppSecretUntil: now}, []onboarding.Secret{cur}},
		{"after the window", onboarding.AppConfig{AppSecret: cur, PreviousAppSecret: prev, PreviousAppSecretUntil: now.Add(-time.Second)}, []onboarding.Secret{cur}},
		{"previous without an end is never accepted", onboarding.AppConfig{AppSecret: cur, PreviousAppSecret: prev}, []onboarding.Secret{cur}},
		{"nothing configured", onboarding.AppConfig{}, []onboarding.Secret{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AcceptedSecrets(tt.cfg, now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d secrets, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("secret %d: got a different secret than wanted", i)
				}
			}
		})
	}
}

// FuzzVerify feeds arbitrary headers: Verify must never panic, and must accept only the one true signature
// (in either hex case, with surrounding blanks).
func FuzzVerify(f *testing.F) {
	secret := onboarding.NewSecret(testSecret)
	good := hexHMAC(testSecret, testBody)
	for _, seed := range []string{
		"", "sha256=", "sha256=" + good, "SHA256=" + strings.ToUpper(good), "sha1=" + good[:40], "sha256=" + good[:63] + "z",
		"sha256=" + good + ",sha256=" + good, " sha256=" + good + " ", "=", "sha256==" + good, "sha256=\x00" + good[1:],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		err := Verify(testBody, header, secret)
		if err == nil {
			h := strings.Trim(header, " \t")
			if len(h) != len("sha256=")+64 || !strings.EqualFold(h, "sha256="+good) {
				t.Fatalf("Verify accepted header %q", header)
			}
			return
		}
		if !errors.Is(err, ErrSignatureMissing) && !errors.Is(err, ErrSignatureMalformed) && !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("Verify: unexpected error class %v", err)
		}
		if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), good) {
			t.Fatalf("error discloses the secret or the expected signature: %v", err)
		}
	})
}
