// Package logging builds the structured JSON logger every component uses. Each line carries the onboarding
// id and the request id found in the context, and attributes whose key names a secret are redacted.
package logging

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	return slog.New(&contextHandler{base: h})
}

// Discard returns a logger that writes nothing (for tests that do not inspect logs).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns log, or a logger that writes nothing when log is nil (an optional Logger setting).
func OrDiscard(log *slog.Logger) *slog.Logger { return cmp.Or(log, Discard()) }

// contextHandler adds the onboarding and request ids from the context to every record, at the top level of
// the line even under WithGroup (so that a query on onboarding_id finds every line). An id the caller logged
// itself at the top level (logger.With or the record's own attributes) is kept instead, never duplicated.
type contextHandler struct {
	// base is the handler with the attributes added before any group was opened.
	base slog.Handler
	// has says which ids base already carries (idOnboarding, idRequest).
	has idSet
	// grouped replays, on a handler that has the ids, what was added after the first group was opened.
	grouped []func(slog.Handler) slog.Handler
}

type idSet uint8

const (
	idOnboarding idSet = 1 << iota
	idRequest
)

func idOf(key string) idSet {
	switch key {
	case KeyOnboardingID:
		return idOnboarding
	case KeyRequestID:
		return idRequest
	}
	return 0
}

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.base.Enabled(ctx, l)
}

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	has := h.has
	if len(h.grouped) == 0 { // the record's attributes are at the top level
		r.Attrs(func(a slog.Attr) bool { has |= idOf(a.Key); return true })
	}
	ids := make([]slog.Attr, 0, 2)
	if has&idOnboarding == 0 {
		ids = append(ids, slog.String(KeyOnboardingID, OnboardingID(ctx)))
	}
	if has&idRequest == 0 {
		ids = append(ids, slog.String(KeyRequestID, RequestID(ctx)))
	}
	if len(h.grouped) == 0 {
		r.AddAttrs(ids...)
		return h.base.Handle(ctx, r)
	}
	inner := h.base.WithAttrs(ids)
	for _, f := range h.grouped {
		inner = f(inner)
	}
	return inner.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if len(h.grouped) == 0 {
		has := h.has
		for _, a := range as {
			has |= idOf(a.Key)
		}
		return &contextHandler{base: h.base.WithAttrs(as), has: has}
	}
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *contextHandler) with(f func(slog.Handler) slog.Handler) *contextHandler {
	// Clipped, the append copies: handlers derived from the same one never share an array.
	return &contextHandler{base: h.base, has: h.has, grouped: append(slices.Clip(h.grouped), f)}
}

// secretKeyWords are attribute key fragments that always mean a secret value; such attributes are redacted
// whatever their value, as a second line of defence behind onboarding.Secret.
var secretKeyWords = []string{"token", "secret", "password", "pin", "code", "authorization", "signature"}

// allowedKeys contain a secret word but hold no secret.
var allowedKeys = map[string]bool{
	"error_code": true, "graph_code": true, "graph_subcode": true, "status_code": true, "code_class": true,
	"http_status_code": true, "token_expires_at": true, "pin_source": true, "code_length": true,
}

// redactAttr redacts an attribute whose key, or the key of a group it is in, names a secret: a group's members
// (slog.Group("token", ...), or a LogValuer resolving to a group) are never checked by their own keys alone.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if secretKey(a.Key) || slices.ContainsFunc(groups, secretKey) {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}

// secretKeyVerdicts memoizes secretKey: keys come from code, so there are few of them, while every line checks
// each of its keys (a lower-casing and seven substring searches: 8 % of a small webhook's CPU before this).
// Past maxRememberedKeys distinct keys (keys built from data would be a bug) verdicts are computed each time.
var (
	secretKeyVerdicts  sync.Map // string -> bool
	rememberedKeyCount atomic.Int32
)

const maxRememberedKeys = 4096

// secretKey reports whether an attribute or group key names a secret.
func secretKey(key string) bool {
	if v, ok := secretKeyVerdicts.Load(key); ok {
		return v.(bool)
	}
	secret := namesSecret(key)
	if rememberedKeyCount.Add(1) <= maxRememberedKeys {
		secretKeyVerdicts.Store(key, secret)
	}
	return secret
}

// namesSecret is secretKey's rule: a secret word anywhere in the key, whatever its case, unless the whole key
// is one of allowedKeys.
func namesSecret(key string) bool {
	k := strings.ToLower(key)
	if allowedKeys[k] {
		return false
	}
	return slices.ContainsFunc(secretKeyWords, func(w string) bool { return strings.Contains(k, w) })
}
