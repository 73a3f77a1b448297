// Package auth tells who calls the partner routes of the HTTP API (POST /signup, /onboardings...) when
// partner authentication is on. The caller is the subject (sub) of an RS256 bearer token issued by the
// partner's OpenID provider. On AWS the API Gateway JWT authorizer validates the token and the API Gateway
// adapter (shared/apigw) puts the verified claims in the request context, read by Gateway; in local mode
// (`make run`) Verifier validates the token itself against the issuer's discovery document and JWKS.
package auth

import (
	"context"
	"net/http"
)

// Caller is an authenticated partner customer.
type Caller struct {
	// Subject is the token's sub claim: the customer_ref of the records the caller creates and may see.
	Subject string
}

// MaxSubjectLength bounds a subject: it becomes a record attribute and an index key.
const MaxSubjectLength = 255

// ValidSubject reports whether sub can identify a caller: 1 to MaxSubjectLength printable ASCII
// characters (OpenID subjects are ASCII, at most 255 characters).
func ValidSubject(sub string) bool {
	if sub == "" || len(sub) > MaxSubjectLength {
		return false
	}
	for i := 0; i < len(sub); i++ {
		if sub[i] < 0x20 || sub[i] > 0x7e {
			return false
		}
	}
	return true
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller ctx carries, if any.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok && c.Subject != ""
}

// Authenticator decides who sends a request to a partner route.
type Authenticator interface {
	// Authenticate returns the caller, or *Error when the request carries no acceptable credentials.
	Authenticate(r *http.Request) (Caller, error)
}

// Error is a refused authentication. Reason is safe to show to the caller: it never holds the token.
type Error struct {
	// Reason says what was wrong ("no bearer token", "the token has expired", ...).
	Reason string
	// InvalidToken distinguishes a token that was presented and refused (RFC 6750 error="invalid_token")
	// from a request that carried none.
	InvalidToken bool
}

func (e *Error) Error() string { return "authentication failed: " + e.Reason }

// Gateway is the Authenticator of the Lambda behind API Gateway: the JWT authorizer has validated the
// bearer token (signature, issuer, audience, expiry) before the Lambda runs, and the adapter put the
// verified subject in the request context (apigw.Request). The token is not parsed again. A request
// without verified claims (a route the authorizer does not cover) is refused: authentication fails closed.
type Gateway struct{}

// Authenticate returns the caller the authorizer verified.
func (Gateway) Authenticate(r *http.Request) (Caller, error) {
	c, ok := FromContext(r.Context())
	if !ok {
		return Caller{}, &Error{Reason: "no verified bearer token: the request did not pass the API's JWT authorizer"}
	}
	return c, nil
}
