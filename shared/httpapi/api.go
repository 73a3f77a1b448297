// Package httpapi holds the plain net/http handlers of the HTTP API: POST /signup,
// GET /onboardings/{id}, POST /onboardings/{id}/retry and GET /healthz. They serve Lambda through the API
// Gateway adapter (shared/apigw) and the local runner directly. Every error body is
// {"error": {"code", "message", "field"}} and never carries a token, code, PIN or secret.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// Onboardings is the application service behind the API.
type Onboardings interface {
	// SignupAll starts one onboarding per WABA of the signup (one, unless the signup lists waba_ids).
	SignupAll(ctx context.Context, req signup.Request) ([]*onboarding.Record, error)
	Get(ctx context.Context, id string) (*onboarding.Record, error)
	RetryWith(ctx context.Context, id string, opts signup.RetryOptions) (*onboarding.Record, error)
	// List returns a page of the customer's onboardings, newest first (GET /onboardings).
	List(ctx context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error)
	RequestVerificationCode(ctx context.Context, id string, req signup.CodeRequest) (*signup.CodeRequested, error)
	SubmitVerificationCode(ctx context.Context, id string, code onboarding.Secret) (*onboarding.Record, error)
}

// Options configure the API handler.
type Options struct {
	Logger *slog.Logger
	// MaxBodyBytes overrides MaxBodyBytes.
	MaxBodyBytes int64
	// Auth turns partner authentication on: every partner route (POST /signup, GET /onboardings,
	// /onboardings/{id}...) first asks it who calls, and answers 401 when it cannot tell. nil (the dev
	// default) leaves them open, the onboarding id being the capability for its routes, and GET
	// /onboardings, which needs a caller to list for, answers 404. /healthz never asks.
	Auth auth.Authenticator
}

// API serves the onboarding endpoints.
type API struct {
	svc     Onboardings
	opts    Options
	mux     *http.ServeMux
	handler http.Handler
}

// New returns the API handler.
func New(svc Onboardings, opts Options) *API {
	opts.Logger = logging.OrDiscard(opts.Logger)
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = MaxBodyBytes
	}
	a := &API{svc: svc, opts: opts, mux: http.NewServeMux()}
	partnerRoute := func(pattern, method string, h http.HandlerFunc) {
		a.mux.Handle(pattern, a.partner(onlyMethod(method, h)))
	}
	partnerRoute("/signup", http.MethodPost, a.signup)
	partnerRoute("/onboardings", http.MethodGet, a.list)
	partnerRoute("/onboardings/{id}", http.MethodGet, onboardingRoute(a, noBody("GET /onboardings/{id}"), a.get))
	partnerRoute("/onboardings/{id}/retry", http.MethodPost, onboardingRoute(a, ParseRetry, a.retry))
	partnerRoute("/onboardings/{id}/phone-verification", http.MethodPost, onboardingRoute(a, smallJSONBody(ParseVerificationCode), a.submitCode))
	partnerRoute("/onboardings/{id}/phone-verification/code", http.MethodPost, onboardingRoute(a, smallJSONBody(ParseCodeRequest), a.requestCode))
	a.mux.HandleFunc("/healthz", onlyMethod(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		if rerr := refuseBody(r, "", "GET /healthz"); rerr != nil {
			writeRequestError(w, rerr)
			return
		}
		Healthz(w, r)
	}))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "", "no such endpoint")
	})
	a.handler = Middleware(opts.Logger, a.mux)
	return a
}

// ServeHTTP runs the request through the request-id, logging and recovery middleware.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.handler.ServeHTTP(w, r)
}

// Healthz answers liveness checks.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// onlyMethod serves h for method m and answers 405 with an Allow header otherwise.
func onlyMethod(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m {
			w.Header().Set("Allow", m)
			WriteError(w, http.StatusMethodNotAllowed, onboarding.CodeMethodNotAllowed, "", r.Method+" is not allowed here; use "+m)
			return
		}
		h(w, r)
	}
}

// signupResponse is the 202 answer of POST /signup: the first onboarding, and every onboarding of the
// signup (several for a multi-WABA signup).
type signupResponse struct {
	ID          string             `json:"id"`
	Status      onboarding.Status  `json:"status"`
	StatusURL   string             `json:"status_url"`
	Onboardings []signupOnboarding `json:"onboardings"`
}

// signupOnboarding is one onboarding started by a signup.
type signupOnboarding struct {
	ID            string            `json:"id"`
	WABAID        string            `json:"waba_id"`
	PhoneNumberID string            `json:"phone_number_id,omitempty"`
	Status        onboarding.Status `json:"status"`
	StatusURL     string            `json:"status_url"`
}

func statusURL(id string) string { return "/onboardings/" + id }

func (a *API) signup(w http.ResponseWriter, r *http.Request) {
	body, rerr := readJSONBody(r, a.opts.MaxBodyBytes)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	req, rerr := ParseSignup(body)
	if rerr != nil {
		a.opts.Logger.InfoContext(r.Context(), "signup refused", "error_code", rerr.Code, "field", rerr.Field)
		writeRequestError(w, rerr)
		return
	}
	if c, ok := auth.FromContext(r.Context()); ok {
		req.CustomerRef = c.Subject
	}
	recs, err := a.svc.SignupAll(r.Context(), req)
	if err != nil {
		a.writeServiceError(w, r, err)
		return
	}
	resp := signupResponse{ID: recs[0].ID, Status: recs[0].Status, StatusURL: statusURL(recs[0].ID)}
	for _, rec := range recs {
		resp.Onboardings = append(resp.Onboardings, signupOnboarding{ID: rec.ID, WABAID: rec.WABAID,
			PhoneNumberID: rec.PhoneNumberID, Status: rec.Status, StatusURL: statusURL(rec.ID)})
	}
	WriteJSON(w, http.StatusAccepted, resp)
}

// onboardingRoute serves a route of one onboarding: the id from the path (404 when it cannot be one, so
// nothing that is not an id reaches the store), the request read by parse, then the service call and its
// answer, or its error mapped by writeServiceError.
func onboardingRoute[In any](a *API, parse func(*http.Request) (In, *requestError), call func(ctx context.Context, id string, in In) (status int, body any, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !onboarding.ValidID(id) {
			WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "id", "no onboarding with this id")
			return
		}
		in, rerr := parse(r)
		if rerr != nil {
			writeRequestError(w, rerr)
			return
		}
		status, body, err := call(logging.WithOnboardingID(r.Context(), id), id, in)
		if err != nil {
			a.writeServiceError(w, r, err)
			return
		}
		WriteJSON(w, status, body)
	}
}

// noBody is the parse of a route that takes no body: it refuses one.
func noBody(route string) func(*http.Request) (struct{}, *requestError) {
	return func(r *http.Request) (struct{}, *requestError) { return struct{}{}, refuseBody(r, "", route) }
}

// forAPI is the record as the API shows it; nil (the service failed) stays nil.
func forAPI(rec *onboarding.Record) any {
	if rec == nil {
		return nil
	}
	return rec.ForAPI()
}

func (a *API) get(ctx context.Context, id string, _ struct{}) (int, any, error) {
	rec, err := a.svc.Get(ctx, id)
	return http.StatusOK, forAPI(rec), err
}

func (a *API) retry(ctx context.Context, id string, opts signup.RetryOptions) (int, any, error) {
	rec, err := a.svc.RetryWith(ctx, id, opts)
	return http.StatusAccepted, forAPI(rec), err
}

// conflictResponse is the 409 answer when an onboarding is already running for the WABA and phone.
type conflictResponse struct {
	Error     ErrorBody `json:"error"`
	ID        string    `json:"id"`
	StatusURL string    `json:"status_url"`
}

// writeServiceError maps the service's typed errors to HTTP answers; anything else is a 500 whose detail is
// logged, not returned.
func (a *API) writeServiceError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		active  *onboarding.ActiveOnboardingError
		exch    *signup.ExchangeError
		grant   *signup.GrantError
		up      *signup.UpstreamError
		unavail *signup.UnavailableError
		notRetr *onboarding.NotRetryableError
		valid   *onboarding.ValidationError
		missing *signup.MissingIDError
		notWait *signup.NotAwaitingError
		limited *signup.RateLimitedError
		refused *signup.CodeRefusedError
	)
	switch {
	case errors.As(err, &active):
		WriteJSON(w, http.StatusConflict, conflictResponse{
			Error: ErrorBody{Code: onboarding.CodeOnboardingInProgress, Message: "an onboarding for this WABA and phone number is already running: " + active.ExistingID},
			ID:    active.ExistingID, StatusURL: statusURL(active.ExistingID),
		})
	case errors.As(err, &exch):
		WriteError(w, http.StatusBadRequest, onboarding.CodeCodeExchangeFailed, "code", exch.Reason)
	case errors.As(err, &grant):
		WriteError(w, http.StatusForbidden, onboarding.CodeGrantMismatch, grant.Field, grant.Reason)
	case errors.As(err, &up):
		WriteError(w, http.StatusBadGateway, onboarding.CodeUpstreamUnavailable, "", up.Reason)
	case errors.As(err, &unavail):
		a.opts.Logger.ErrorContext(r.Context(), "dependency unavailable", "error", err.Error())
		WriteError(w, http.StatusServiceUnavailable, onboarding.CodeUnavailable, "", unavail.Reason)
	case errors.As(err, &notRetr):
		WriteError(w, http.StatusConflict, notRetr.Code, "", notRetr.Reason)
	case errors.As(err, &missing):
		WriteError(w, http.StatusBadRequest, onboarding.CodeMissingField, missing.Field, missing.Reason)
	case errors.As(err, &notWait):
		WriteError(w, http.StatusConflict, onboarding.CodeNotAwaitingVerification, "", notWait.Error())
	case errors.As(err, &limited):
		writeRateLimited(w, limited)
	case errors.As(err, &refused):
		WriteError(w, http.StatusBadRequest, onboarding.CodeVerificationCodeInvalid, "code", refused.Reason)
	case errors.As(err, &valid):
		WriteError(w, http.StatusBadRequest, valid.Code, valid.Field, valid.Message)
	case errors.Is(err, onboarding.ErrNotFound):
		WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "id", "no onboarding with this id")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		a.opts.Logger.ErrorContext(r.Context(), "request ran out of time", "error", err.Error())
		WriteError(w, http.StatusServiceUnavailable, onboarding.CodeUnavailable, "", "the request ran out of time; try again")
	default:
		a.opts.Logger.ErrorContext(r.Context(), "request failed", "error", err.Error())
		WriteError(w, http.StatusInternalServerError, onboarding.CodeInternal, "", "internal error; the request id in the logs has the detail")
	}
}

// ErrorBody is the error object of every error response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

type errorResponse struct {
	Error ErrorBody `json:"error"`
}

// WriteError writes {"error": {...}} with the status.
func WriteError(w http.ResponseWriter, status int, code, field, message string) {
	WriteJSON(w, status, errorResponse{Error: ErrorBody{Code: code, Message: message, Field: field}})
}

func writeRequestError(w http.ResponseWriter, e *requestError) {
	WriteError(w, e.status, e.Code, e.Field, e.Message)
}

// WriteJSON writes v as the JSON body with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal_error","message":"the response could not be encoded"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// HeaderRequestID carries the request id back to the client.
const HeaderRequestID = "X-Request-Id"

// Middleware gives every request a request id (the API Gateway one when the adapter set it), logs one line
// per request, and turns a panic into a 500.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := logging.RequestID(ctx)
		if id == "" {
			id = newRequestID()
			ctx = logging.WithRequestID(ctx, id)
		}
		w.Header().Set(HeaderRequestID, id)
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		line := &requestLine{msg: "request", level: slog.LevelInfo}
		ctx = context.WithValue(ctx, requestLineKey{}, line)
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "handler panicked", "panic", panicText(p))
				if !rw.wrote {
					WriteError(rw, http.StatusInternalServerError, onboarding.CodeInternal, "", "internal error")
				}
			}
			attrs := append([]slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rw.status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000)},
				line.attrs...)
			log.LogAttrs(ctx, line.level, line.msg, attrs...)
		}()
		next.ServeHTTP(rw, r.WithContext(ctx))
	})
}

// requestLine is what a handler adds to its request's log line (Annotate).
type requestLine struct {
	msg   string
	level slog.Level
	attrs []slog.Attr
}

type requestLineKey struct{}

// Annotate gives the log line Middleware writes for this request (method, path, status, duration) the message
// msg, attrs, and at least level, so that a handler reports what it did in the request's one line instead of
// a second one: at a webhook's size, each JSON line costs a tenth of the delivery's CPU. It reports false,
// and logs nothing, when ctx is not a request Middleware is serving; the caller then logs its own line.
// Attributes are redacted by key like any other (logging.New).
func Annotate(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) bool {
	line, ok := ctx.Value(requestLineKey{}).(*requestLine)
	if !ok {
		return false
	}
	line.msg = msg
	line.level = max(line.level, level)
	line.attrs = append(line.attrs, attrs...)
	return true
}

func panicText(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "non-error panic"
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
