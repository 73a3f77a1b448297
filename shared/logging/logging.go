// Package logging builds the structured JSON logger every component uses. Each line carries the onboarding
// id and the request id found in the context, and attributes whose key names a secret are redacted.
package logging

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

type ctxKey int

const (
	onboardingIDKey ctxKey = iota
	requestIDKey
)

// Attribute keys present on every line.
const (
	KeyOnboardingID = "onboarding_id"
	KeyRequestID    = "request_id"
)

// WithOnboardingID returns a context whose log lines carry the onboarding id.
func WithOnboardingID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, onboardingIDKey, id)
}

// WithRequestID returns a context whose log lines carry the request id (API Gateway, Lambda or local).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// OnboardingID returns the onboarding id carried by ctx, or "".
func OnboardingID(ctx context.Context) string { s, _ := ctx.Value(onboardingIDKey).(string); return s }

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey).(string); return s }

// New returns a JSON logger writing to w at the given level.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return slog.New(&contextHandler{Handler: h})
}

// Discard returns a logger that writes nothing (for tests that do not inspect logs).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// contextHandler adds the onboarding and request ids from the context to every record.
type contextHandler struct{ slog.Handler }

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String(KeyOnboardingID, OnboardingID(ctx)), slog.String(KeyRequestID, RequestID(ctx)))
	return h.Handler.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &contextHandler{Handler: h.Handler.WithAttrs(as)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{Handler: h.Handler.WithGroup(name)}
}

// secretKeyWords are attribute key fragments that always mean a secret value; such attributes are redacted
// whatever their value, as a second line of defence behind onboarding.Secret.
var secretKeyWords = []string{"token", "secret", "password", "pin", "code", "authorization", "signature"}

// allowedKeys contain a secret word but hold no secret.
var allowedKeys = map[string]bool{
	"error_code": true, "graph_code": true, "graph_subcode": true, "status_code": true, "code_class": true,
	"http_status_code": true, "token_expires_at": true, "pin_source": true, "code_length": true,
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	if allowedKeys[k] {
		return a
	}
	for _, w := range secretKeyWords {
		if strings.Contains(k, w) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}
