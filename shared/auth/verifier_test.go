package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/auth/authtest"
)

func newVerifier(t *testing.T, iss *authtest.Issuer) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Issuer: iss.URL, Audience: authtest.Audience})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func unsignedToken(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "."
}

func TestVerify(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := newVerifier(t, iss)
	other := authtest.NewIssuer(t)
	foreign := authtest.NewKey(t, "key-1") // same kid as the issuer's key, another key
	with := func(change func(map[string]any)) map[string]any {
		c := iss.Claims("customer-1")
		change(c)
		return c
	}
	pub, err := x509.MarshalPKIXPublicKey(&iss.Key().Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	now := time.Now()

	tests := []struct {
		name       string
		token      string
		wantSub    string
		wantReason string
	}{
		{name: "valid", token: iss.Token(t, "customer-1"), wantSub: "customer-1"},
		{name: "audience among several", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["aud"] = []string{"other", authtest.Audience} })), wantSub: "customer-1"},
		{name: "expired within the leeway", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })), wantSub: "customer-1"},
		{name: "expired", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), wantReason: "expired"},
		{name: "no exp", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { delete(c, "exp") })), wantReason: "no exp"},
		{name: "exp not a number", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["exp"] = "tomorrow" })), wantReason: "could not be verified"},
		{name: "not yet valid", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })), wantReason: "not valid yet"},
		{name: "wrong audience", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["aud"] = "https://other.example/api" })), wantReason: "aud"},
		{name: "wrong issuer", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { c["iss"] = other.URL })), wantReason: "another issuer"},
		{name: "no subject", token: authtest.Sign(t, iss.Key(), with(func(c map[string]any) { delete(c, "sub") })), wantReason: "no sub"},
		{name: "alg none", token: unsignedToken(t, map[string]any{"alg": "none", "typ": "JWT", "kid": "key-1"}, iss.Claims("customer-1")), wantReason: "not an RS256-signed JWT"},
		{name: "HS256 with the public key as secret", token: authtest.SignHS256(t, pubPEM, "key-1", iss.Claims("customer-1")), wantReason: "not an RS256-signed JWT"},
		{name: "HS256 with the DER public key as secret", token: authtest.SignHS256(t, pub, "key-1", iss.Claims("customer-1")), wantReason: "not an RS256-signed JWT"},
		{name: "foreign key with the issuer's kid", token: authtest.Sign(t, foreign, iss.Claims("customer-1")), wantReason: "signature"},
		{name: "foreign key with an unknown kid", token: authtest.Sign(t, authtest.NewKey(t, "attacker"), iss.Claims("customer-1")), wantReason: "signature"},
		{name: "another issuer's token", token: other.Token(t, "customer-1"), wantReason: "signature"},
		{name: "tampered payload", token: tamper(t, iss.Token(t, "customer-1")), wantReason: "signature"},
		{name: "garbage", token: "not-a-jwt", wantReason: "not an RS256-signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got, want := c.Subject, tt.wantSub; got != want {
					t.Errorf("subject: got %q, want %q", got, want)
				}
				return
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Verify: got %v (caller %+v), want *auth.Error", err, c)
			}
			if !strings.Contains(ae.Reason, tt.wantReason) || !ae.InvalidToken {
				t.Errorf("reason: got %q (invalid_token %v), want it to contain %q", ae.Reason, ae.InvalidToken, tt.wantReason)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error %q quotes the token", err)
			}
		})
	}
}

// tamper changes the payload's subject and keeps the signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	c["sub"] = "customer-2"
	b, _ = json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestVerifyKeyRotation(t *testing.T) {
	iss := authtest.NewIssuer(t)
	const minRefresh = 100 * time.Millisecond
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Issuer: iss.URL, Audience: authtest.Audience, MinKeyRefresh: minRefresh})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), iss.Token(t, "c")); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	reads := iss.JWKSReads()
	if _, err := v.Verify(context.Background(), iss.Token(t, "c")); err != nil {
		t.Fatalf("second token: %v", err)
	}
	if got := iss.JWKSReads(); got != reads {
		t.Errorf("JWKS reads for a cached key: got %d more, want 0 (keys are cached)", got-reads)
	}
	// A key published after the verifier started: its kid is unknown, so the JWKS is read again (once the
	// minimum time between two reads has passed).
	iss.Rotate(authtest.NewKey(t, "key-2"))
	time.Sleep(minRefresh + 20*time.Millisecond)
	c, err := v.Verify(context.Background(), iss.Token(t, "rotated"))
	if err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if got, want := c.Subject, "rotated"; got != want {
		t.Errorf("subject: got %q, want %q", got, want)
	}
	if got := iss.JWKSReads(); got <= reads {
		t.Errorf("JWKS reads: got %d, want more than %d (refresh on an unknown kid)", got, reads)
	}
}

// TestForgedTokensDoNotHammerTheIssuer: every token that the cached keys do not verify makes go-oidc read
// the JWKS again; a burst of forged tokens costs at most one read per MinKeyRefresh.
func TestForgedTokensDoNotHammerTheIssuer(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := newVerifier(t, iss)
	if _, err := v.Verify(context.Background(), iss.Token(t, "c")); err != nil {
		t.Fatal(err)
	}
	reads := iss.JWKSReads()
	forger := authtest.NewKey(t, "key-1")
	for i := range 50 {
		kid := fmt.Sprintf("forged-%d", i)
		if i%2 == 0 {
			kid = "key-1" // the issuer's kid with a forged signature
		}
		forger.ID = kid
		if _, err := v.Verify(context.Background(), authtest.Sign(t, forger, iss.Claims("c"))); err == nil {
			t.Fatal("a forged token verified")
		}
	}
	if got := iss.JWKSReads() - reads; got > 1 {
		t.Errorf("JWKS reads for 50 forged tokens: got %d, want at most 1", got)
	}
	if _, err := v.Verify(context.Background(), iss.Token(t, "c")); err != nil {
		t.Errorf("a valid token after the burst: %v", err)
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	iss := authtest.NewIssuer(t)
	// A discovery document naming a plain-http JWKS on another host.
	bad := httptest.NewServer(nil)
	t.Cleanup(bad.Close)
	bad.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": bad.URL, "jwks_uri": "http://keys.example.com/jwks"})
	})
	tests := []struct {
		name, issuer, audience, want string
	}{
		{"http issuer off loopback", "http://issuer.example.com", authtest.Audience, "non-loopback"},
		{"not a URL", "issuer", authtest.Audience, "absolute URL"},
		{"ftp", "ftp://issuer.example.com", authtest.Audience, "https"},
		{"no audience", iss.URL, "", "audience"},
		{"issuer mismatch", iss.URL + "/other", authtest.Audience, "discovery"},
		{"http jwks_uri off loopback", bad.URL, authtest.Audience, "jwks_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Issuer: tt.issuer, Audience: tt.audience})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewVerifier: got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		invalid bool
		fails   bool
	}{
		{name: "bearer", headers: []string{"Bearer abc"}, want: "abc"},
		{name: "scheme case", headers: []string{"bearer abc"}, want: "abc"},
		{name: "missing", fails: true},
		{name: "basic", headers: []string{"Basic dXNlcjpwYXNz"}, fails: true, invalid: true},
		{name: "empty token", headers: []string{"Bearer "}, fails: true, invalid: true},
		{name: "two headers", headers: []string{"Bearer a", "Bearer b"}, fails: true, invalid: true},
		{name: "too long", headers: []string{"Bearer " + strings.Repeat("a", 9000)}, fails: true, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/onboardings", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := auth.BearerToken(r)
			if !tt.fails {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.InvalidToken != tt.invalid {
				t.Errorf("got %v, want *auth.Error with InvalidToken %v", err, tt.invalid)
			}
		})
	}
}

func TestGatewayReadsTheVerifiedCaller(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/onboardings", nil)
	// A bearer header alone proves nothing here: the authorizer's claims are what count.
	r.Header.Set("Authorization", "Bearer forged")
	if _, err := (auth.Gateway{}).Authenticate(r); err == nil {
		t.Fatal("Gateway accepted a request without verified claims")
	}
	r = r.WithContext(auth.WithCaller(r.Context(), auth.Caller{Subject: "customer-1"}))
	c, err := (auth.Gateway{}).Authenticate(r)
	if err != nil || c.Subject != "customer-1" {
		t.Errorf("got %+v, %v; want customer-1", c, err)
	}
	if _, ok := auth.FromContext(auth.WithCaller(context.Background(), auth.Caller{})); ok {
		t.Error("an empty subject counts as a caller")
	}
}
