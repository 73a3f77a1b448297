package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/onboarding"
)

// partner guards a partner route with the configured Authenticator: a request it cannot attribute to a
// caller is answered 401 with a WWW-Authenticate challenge before its method, path or body is looked at;
// an attributed one continues with the caller in its context (auth.FromContext), which the service uses
// to stamp and filter records. Without an Authenticator the route is open.
func (a *API) partner(next http.Handler) http.Handler {
	if a.opts.Auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.opts.Auth.Authenticate(r)
		if err != nil {
			writeUnauthorized(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), c)))
	})
}

// writeUnauthorized answers 401 with the RFC 6750 challenge. The reason names the failed check, never the
// token.
func writeUnauthorized(w http.ResponseWriter, r *http.Request, err error) {
	challenge := `Bearer realm="onboarding"`
	reason := "the request could not be authenticated"
	if ae, ok := errors.AsType[*auth.Error](err); ok {
		reason = ae.Reason
		if ae.InvalidToken {
			challenge += `, error="invalid_token"`
		}
	}
	Annotate(r.Context(), slog.LevelInfo, "request refused: not authenticated", slog.String("reason", reason))
	w.Header().Set("WWW-Authenticate", challenge)
	WriteError(w, http.StatusUnauthorized, onboarding.CodeUnauthorized, "", reason)
}

// listResponse is the 200 answer of GET /onboardings.
type listResponse struct {
	Onboardings []*onboarding.Record `json:"onboardings"`
	// NextCursor continues the listing (GET /onboardings?cursor=...); absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Query parameters of GET /onboardings.
const (
	paramStatus = "status"
	paramLimit  = "limit"
	paramCursor = "cursor"
)

// list serves GET /onboardings: the caller's own onboardings, newest first. It exists only with partner
// authentication: without a caller there is no one to list for, and listing every customer's onboardings
// would hand out the ids that are the capability of their routes.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	c, ok := auth.FromContext(r.Context())
	if !ok {
		WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "",
			"listing onboardings needs partner authentication, which is off on this API; read each onboarding at GET /onboardings/{id}")
		return
	}
	status, limit, cursor, rerr := parseListQuery(r.URL.RawQuery)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	recs, next, err := a.svc.List(r.Context(), c.Subject, status, limit, cursor)
	if errors.Is(err, onboarding.ErrInvalidCursor) {
		WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidField, paramCursor, "cursor must be the next_cursor of the previous page, unchanged")
		return
	}
	if err != nil {
		a.writeServiceError(w, r, err)
		return
	}
	shown := make([]*onboarding.Record, len(recs))
	for i, rec := range recs {
		shown[i] = rec.ForAPI()
	}
	WriteJSON(w, http.StatusOK, listResponse{Onboardings: shown, NextCursor: next})
}

// parseListQuery validates the query of GET /onboardings: each parameter at most once, no others.
func parseListQuery(raw string) (onboarding.Status, int, string, *requestError) {
	bad := func(field, format string, args ...any) (onboarding.Status, int, string, *requestError) {
		return "", 0, "", invalid(http.StatusBadRequest, onboarding.CodeInvalidField, field, format, args...)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return bad("", "the query string is malformed")
	}
	for k, v := range q {
		switch k {
		case paramStatus, paramLimit, paramCursor:
		default:
			return "", 0, "", invalid(http.StatusBadRequest, onboarding.CodeUnknownField, k, "unknown query parameter %q; GET /onboardings takes status, limit and cursor", k)
		}
		if len(v) != 1 {
			return bad(k, "%s may be given once", k)
		}
	}
	status := onboarding.Status(q.Get(paramStatus))
	if q.Has(paramStatus) && !status.Valid() {
		return bad(paramStatus, "status must be one of RUNNING, AWAITING_TEST_MESSAGE, COMPLETED, VERIFIED, FAILED, OFFBOARDED")
	}
	limit := onboarding.DefaultListLimit
	if v, ok := q[paramLimit]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > onboarding.MaxListLimit || v[0] != strconv.Itoa(n) {
			return bad(paramLimit, "limit must be a whole number from 1 to %d", onboarding.MaxListLimit)
		}
		limit = n
	}
	cursor := q.Get(paramCursor)
	if q.Has(paramCursor) && cursor == "" {
		return bad(paramCursor, "cursor is empty: omit it for the first page")
	}
	return status, limit, cursor, nil
}
