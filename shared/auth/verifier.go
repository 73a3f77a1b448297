package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Defaults of VerifierConfig.
const (
	// DefaultLeeway is the clock skew tolerated on exp and nbf.
	DefaultLeeway = 30 * time.Second
	// DefaultHTTPTimeout bounds each discovery and JWKS request.
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultMinKeyRefresh is the shortest time between two JWKS reads.
	DefaultMinKeyRefresh = 2 * time.Second
	// maxTokenLength bounds the bearer token read from the Authorization header.
	maxTokenLength = 8 << 10
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer is the OpenID provider's issuer URL, exactly as its tokens' iss claim spells it. It must be
	// https, except on a loopback host (127.0.0.1, ::1, localhost) for a local provider.
	Issuer string
	// Audience must be one of the token's aud values.
	Audience string
	// Leeway is the clock skew tolerated on exp and nbf (zero: DefaultLeeway).
	Leeway time.Duration
	// HTTPClient fetches the discovery document and the JWKS (nil: a client with DefaultHTTPTimeout that
	// follows no redirects).
	HTTPClient *http.Client
	// MinKeyRefresh is the shortest time between two reads of the JWKS (zero: DefaultMinKeyRefresh). The
	// key set is read again whenever a token does not verify with the cached keys (an unknown kid after a
	// rotation, or a forged signature), so without a bound every forged token would cost a request to the
	// issuer; within the bound the last answer is reused.
	MinKeyRefresh time.Duration
	// Now tells the time (nil: time.Now); tests replace it.
	Now func() time.Time
}

// Verifier validates RS256 bearer tokens against an OpenID provider: the signing keys come from the JWKS
// its discovery document names, cached and fetched again when a token names a key id not in the cache (a
// key rotation). Signature checking is go-oidc's (on go-jose), with the algorithm pinned to RS256, so
// "alg": "none", HS256 with the public key as the secret, and every other algorithm are refused before any
// key is looked at. Verifier then checks iss, aud, exp and nbf, and that sub is present.
type Verifier struct {
	cfg      VerifierConfig
	verifier *oidc.IDTokenVerifier
}

// Verifier implements Authenticator.
var _ Authenticator = (*Verifier)(nil)

// NewVerifier checks cfg and reads the issuer's discovery document (ctx bounds that read only).
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if err := checkEndpoint("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: the audience must not be empty")
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinKeyRefresh <= 0 {
		cfg.MinKeyRefresh = DefaultMinKeyRefresh
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout: DefaultHTTPTimeout,
			// A redirect could lead a discovery or key request off the issuer (or from https to http).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	limited := *cfg.HTTPClient
	limited.Transport = &refreshLimiter{next: transportOf(cfg.HTTPClient), min: cfg.MinKeyRefresh, now: time.Now}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, &limited), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: reading the OpenID discovery document of %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("auth: decoding the OpenID discovery document of %s: %w", cfg.Issuer, err)
	}
	if err := checkEndpoint("jwks_uri", meta.JWKSURI); err != nil {
		return nil, fmt.Errorf("auth: the discovery document of %s: %w", cfg.Issuer, err)
	}
	v := provider.Verifier(&oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256},
		// exp and nbf are checked below with this package's leeway (go-oidc allows none on exp and five
		// minutes on nbf).
		SkipExpiryCheck: true,
	})
	return &Verifier{cfg: cfg, verifier: v}, nil
}

// CheckIssuerURL accepts an issuer URL NewVerifier can use: https, or http on a loopback host.
func CheckIssuerURL(raw string) error { return checkEndpoint("issuer", raw) }

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// refreshLimiter answers a GET it answered less than min ago from the remembered 200 answer instead of
// asking the issuer again. go-oidc reads the JWKS again on every signature that the cached keys do not
// verify; this bounds those reads to one per min and URL, whatever the number of forged tokens. The
// discovery document is read once, so it is unaffected.
type refreshLimiter struct {
	next http.RoundTripper
	min  time.Duration
	now  func() time.Time

	mu   sync.Mutex
	last map[string]cachedAnswer
}

type cachedAnswer struct {
	at     time.Time
	header http.Header
	body   []byte
}

func (l *refreshLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return l.next.RoundTrip(req)
	}
	key := req.URL.String()
	l.mu.Lock()
	c, ok := l.last[key]
	l.mu.Unlock()
	if ok && l.now().Sub(c.at) < l.min {
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: c.header.Clone(), Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)),
			Request: req,
		}, nil
	}
	resp, err := l.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxKeySetBytes {
		return nil, fmt.Errorf("auth: %s answered more than %d bytes", req.URL.Redacted(), maxKeySetBytes)
	}
	l.mu.Lock()
	if l.last == nil {
		l.last = map[string]cachedAnswer{}
	}
	l.last[key] = cachedAnswer{at: l.now(), header: resp.Header.Clone(), body: body}
	l.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// maxKeySetBytes bounds a discovery document or JWKS.
const maxKeySetBytes = 1 << 20

// checkEndpoint accepts an https URL, or an http one on a loopback host.
func checkEndpoint(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("auth: the %s must be an absolute URL without user info, query or fragment", name)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("auth: the %s %s is http on a non-loopback host: use https", name, u.Redacted())
	}
	return fmt.Errorf("auth: the %s must be an https URL", name)
}

// IsLoopbackHost reports whether host (without port) names this machine: localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Authenticate verifies the request's Authorization: Bearer token.
func (v *Verifier) Authenticate(r *http.Request) (Caller, error) {
	raw, err := BearerToken(r)
	if err != nil {
		return Caller{}, err
	}
	return v.Verify(r.Context(), raw)
}

// BearerToken returns the token of the request's Authorization header ("Bearer <token>", the scheme
// case-insensitive), or *Error.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", &Error{Reason: "no bearer token: send Authorization: Bearer <access token>"}
	case len(values) > 1:
		return "", &Error{Reason: "more than one Authorization header", InvalidToken: true}
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", &Error{Reason: "the Authorization header must be Bearer <access token>", InvalidToken: true}
	}
	if len(token) > maxTokenLength {
		return "", &Error{Reason: "the bearer token is too long", InvalidToken: true}
	}
	return token, nil
}

// Verify validates a raw token and returns its caller. A refused token is *Error; its Reason names the
// check that failed but never holds the token or its claims' values beyond what the caller sent.
func (v *Verifier) Verify(ctx context.Context, raw string) (Caller, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return Caller{}, &Error{Reason: refusal(err), InvalidToken: true}
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
		Nbf *json.Number `json:"nbf"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Caller{}, &Error{Reason: "the token's exp or nbf claim is not a number", InvalidToken: true}
	}
	now := v.cfg.Now()
	exp, ok := numericDate(claims.Exp)
	switch {
	case claims.Exp == nil:
		return Caller{}, &Error{Reason: "the token has no exp claim", InvalidToken: true}
	case !ok:
		return Caller{}, &Error{Reason: "the token's exp claim is not a NumericDate", InvalidToken: true}
	case now.After(exp.Add(v.cfg.Leeway)):
		return Caller{}, &Error{Reason: "the token has expired", InvalidToken: true}
	}
	if claims.Nbf != nil {
		nbf, ok := numericDate(claims.Nbf)
		switch {
		case !ok:
			return Caller{}, &Error{Reason: "the token's nbf claim is not a NumericDate", InvalidToken: true}
		case now.Add(v.cfg.Leeway).Before(nbf):
			return Caller{}, &Error{Reason: "the token is not valid yet (nbf)", InvalidToken: true}
		}
	}
	if tok.Subject == "" {
		return Caller{}, &Error{Reason: "the token has no sub claim", InvalidToken: true}
	}
	if !ValidSubject(tok.Subject) {
		return Caller{}, &Error{Reason: "the token's sub claim is not 1 to 255 printable ASCII characters", InvalidToken: true}
	}
	return Caller{Subject: tok.Subject}, nil
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly fractional).
func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// refusal turns go-oidc's error into a short reason for the 401. go-oidc's messages may quote the token's
// issuer and audience (values the caller sent), never the token; they are summarised anyway so that the
// answer does not depend on the library's wording.
func refusal(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "unexpected signature algorithm"):
		return "the token is not an RS256-signed JWT"
	case strings.Contains(msg, "different provider"):
		return "the token was issued by another issuer"
	case strings.Contains(msg, "expected audience"):
		return "the token is not meant for this API (aud)"
	case strings.Contains(msg, "fetching keys"):
		return "the issuer's signing keys could not be read; try again"
	case strings.Contains(msg, "verify signature"), strings.Contains(msg, "signature"):
		return "the token's signature does not verify with the issuer's keys"
	}
	return "the token could not be verified"
}
