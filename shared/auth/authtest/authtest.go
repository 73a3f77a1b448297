// Package authtest is a local OpenID provider for tests: an httptest server serving
// /.well-known/openid-configuration and a JWKS of RSA keys generated at start, and helpers that sign tokens
// with those keys (or with others, to test refusals).
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Audience is the audience the tests' tokens carry unless told otherwise.
const Audience = "https://onboarding.test/api"

// Issuer is a running local OpenID provider.
type Issuer struct {
	// URL is the issuer URL (the tokens' iss).
	URL string

	srv       *httptest.Server
	mu        sync.Mutex
	keys      []*Key
	jwksReads atomic.Int64
}

// Key is an RSA signing key with its key id.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// NewKey generates a 2048-bit RSA key.
func NewKey(t testing.TB, id string) *Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{ID: id, Private: k}
}

// NewIssuer starts a provider with one key ("key-1"); it stops when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{keys: []*Key{NewKey(t, "key-1")}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/jwks",
			"authorization_endpoint":                iss.URL + "/authorize",
			"token_endpoint":                        iss.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		iss.jwksReads.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range iss.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Private.PublicKey, KeyID: k.ID, Algorithm: "RS256", Use: "sig"})
		}
		iss.mu.Unlock()
		writeJSON(w, set)
	})
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	t.Cleanup(iss.srv.Close)
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Key returns the current signing key (the last one added).
func (i *Issuer) Key() *Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.keys[len(i.keys)-1]
}

// Rotate publishes k in the JWKS (next to the old keys) and makes it the current signing key.
func (i *Issuer) Rotate(k *Key) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = append(i.keys, k)
}

// JWKSReads counts the JWKS requests served.
func (i *Issuer) JWKSReads() int64 { return i.jwksReads.Load() }

// Claims returns valid claims for subject: this issuer, Audience, issued now, expiring in an hour.
func (i *Issuer) Claims(subject string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": i.URL, "aud": Audience, "sub": subject,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// Token returns a valid RS256 token for subject signed with the current key.
func (i *Issuer) Token(t testing.TB, subject string) string {
	t.Helper()
	return Sign(t, i.Key(), i.Claims(subject))
}

// Sign signs claims with k (RS256, kid k.ID).
func Sign(t testing.TB, k *Key, claims map[string]any) string {
	t.Helper()
	return sign(t, jose.SigningKey{Algorithm: jose.RS256, Key: k.Private}, k.ID, claims)
}

// SignHS256 signs claims with HMAC-SHA256 under secret, with the header kid set to kid: the key confusion
// attack uses the issuer's public key as the secret.
func SignHS256(t testing.TB, secret []byte, kid string, claims map[string]any) string {
	t.Helper()
	return sign(t, jose.SigningKey{Algorithm: jose.HS256, Key: secret}, kid, claims)
}

// sign signs claims as a JWT with key, with the header kid set to kid.
func sign(t testing.TB, key jose.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
