package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// fakeOnboardings is a func-type fake of the application service.
type fakeOnboardings struct {
	signup      func(signup.Request) (*onboarding.Record, error)
	signupAll   func(signup.Request) ([]*onboarding.Record, error)
	get         func(string) (*onboarding.Record, error)
	retry       func(string) (*onboarding.Record, error)
	retryWith   func(string, signup.RetryOptions) (*onboarding.Record, error)
	requestCode func(string, signup.CodeRequest) (*signup.CodeRequested, error)
	submitCode  func(string, onboarding.Secret) (*onboarding.Record, error)
	list        func(customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error)
}

func (f fakeOnboardings) SignupAll(_ context.Context, r signup.Request) ([]*onboarding.Record, error) {
	if f.signupAll != nil {
		return f.signupAll(r)
	}
	rec, err := f.signup(r)
	if err != nil {
		return nil, err
	}
	return []*onboarding.Record{rec}, nil
}
func (f fakeOnboardings) Get(_ context.Context, id string) (*onboarding.Record, error) {
	return f.get(id)
}
func (f fakeOnboardings) RetryWith(_ context.Context, id string, opts signup.RetryOptions) (*onboarding.Record, error) {
	if f.retryWith != nil {
		return f.retryWith(id, opts)
	}
	return f.retry(id)
}
func (f fakeOnboardings) List(_ context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
	return f.list(customerRef, status, limit, cursor)
}
func (f fakeOnboardings) RequestVerificationCode(_ context.Context, id string, req signup.CodeRequest) (*signup.CodeRequested, error) {
	return f.requestCode(id, req)
}
func (f fakeOnboardings) SubmitVerificationCode(_ context.Context, id string, code onboarding.Secret) (*onboarding.Record, error) {
	return f.submitCode(id, code)
}

var testID = "3q2-7wEjRuW3bFq0DqRU1A"

func sampleRecord() *onboarding.Record {
	return onboarding.NewRecord(onboarding.NewRecordInput{ID: testID, WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
}

const goodSignup = `{"code":"AQBcode","waba_id":"1","phone_number_id":"2"}`

func do(h http.Handler, method, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

type errorEnvelope struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
	ID        string `json:"id"`
	StatusURL string `json:"status_url"`
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorEnvelope {
	t.Helper()
	if got, want := rec.Header().Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type: got %q, want %q", got, want)
	}
	var e errorEnvelope
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error body %q lacks code or message", rec.Body.String())
	}
	return e
}

func TestSignupEndpoint(t *testing.T) {
	okSvc := fakeOnboardings{signup: func(signup.Request) (*onboarding.Record, error) { return sampleRecord(), nil }}
	failWith := func(err error) fakeOnboardings {
		return fakeOnboardings{signup: func(signup.Request) (*onboarding.Record, error) { return nil, err }}
	}
	tests := []struct {
		name        string
		svc         fakeOnboardings
		method      string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
		wantField   string
	}{
		{"accepted", okSvc, "POST", "application/json", goodSignup, 202, "", ""},
		{"charset utf-8 accepted", okSvc, "POST", "application/json; charset=utf-8", goodSignup, 202, "", ""},
		{"no content type", okSvc, "POST", "", goodSignup, 415, onboarding.CodeUnsupportedMediaType, ""},
		{"form content type", okSvc, "POST", "application/x-www-form-urlencoded", goodSignup, 415, onboarding.CodeUnsupportedMediaType, ""},
		{"text content type", okSvc, "POST", "text/plain", goodSignup, 415, onboarding.CodeUnsupportedMediaType, ""},
		{"latin-1 charset", okSvc, "POST", "application/json; charset=latin1", goodSignup, 415, onboarding.CodeUnsupportedMediaType, ""},
		{"body over 64 KiB", okSvc, "POST", "application/json", `{"code":"` + strings.Repeat("a", 64<<10) + `"}`, 413, onboarding.CodeBodyTooLarge, ""},
		{"bad field", okSvc, "POST", "application/json", `{"code":"c","waba_id":"x","phone_number_id":"2"}`, 400, onboarding.CodeInvalidField, "waba_id"},
		{"GET not allowed", okSvc, "GET", "", "", 405, onboarding.CodeMethodNotAllowed, ""},
		{"code refused", failWith(&signup.ExchangeError{Reason: "expired"}), "POST", "application/json", goodSignup, 400, onboarding.CodeCodeExchangeFailed, "code"},
		{"grant mismatch", failWith(&signup.GrantError{Field: "phone_number_id", Reason: "not in WABA"}), "POST", "application/json", goodSignup, 403, onboarding.CodeGrantMismatch, "phone_number_id"},
		{"Meta down", failWith(&signup.UpstreamError{Reason: "timeout"}), "POST", "application/json", goodSignup, 502, onboarding.CodeUpstreamUnavailable, ""},
		{"internal", failWith(errors.New("dynamodb: boom")), "POST", "application/json", goodSignup, 500, onboarding.CodeInternal, ""},
		{"vault down", failWith(&signup.UnavailableError{Reason: "the business token could not be stored; restart Embedded Signup", Err: errors.New("secretsmanager: boom")}), "POST", "application/json", goodSignup, 503, onboarding.CodeUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(New(tt.svc, Options{}), tt.method, "/signup", tt.contentType, tt.body)
			if got := rec.Code; got != tt.wantStatus {
				t.Fatalf("status: got %d, want %d (body %s)", got, tt.wantStatus, rec.Body)
			}
			if rec.Header().Get(HeaderRequestID) == "" {
				t.Errorf("no %s header", HeaderRequestID)
			}
			if tt.wantStatus == 202 {
				var got signupResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				want := signupResponse{ID: testID, Status: onboarding.StatusRunning, StatusURL: "/onboardings/" + testID,
					Onboardings: []signupOnboarding{{ID: testID, WABAID: sampleRecord().WABAID, PhoneNumberID: sampleRecord().PhoneNumberID,
						Status: onboarding.StatusRunning, StatusURL: "/onboardings/" + testID}}}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("body: got %+v, want %+v", got, want)
				}
				return
			}
			e := decodeError(t, rec)
			if got := e.Error.Code; got != tt.wantCode {
				t.Errorf("code: got %q, want %q", got, tt.wantCode)
			}
			if got := e.Error.Field; got != tt.wantField {
				t.Errorf("field: got %q, want %q", got, tt.wantField)
			}
			if strings.Contains(rec.Body.String(), "dynamodb") {
				t.Errorf("internal detail leaked: %s", rec.Body)
			}
		})
	}
}

func TestSignupConflictNamesTheRunningOnboarding(t *testing.T) {
	svc := fakeOnboardings{signup: func(signup.Request) (*onboarding.Record, error) {
		return nil, &onboarding.ActiveOnboardingError{ExistingID: testID}
	}}
	rec := do(New(svc, Options{}), "POST", "/signup", "application/json", goodSignup)
	if got, want := rec.Code, http.StatusConflict; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	e := decodeError(t, rec)
	if e.Error.Code != onboarding.CodeOnboardingInProgress || e.ID != testID || e.StatusURL != "/onboardings/"+testID {
		t.Errorf("got %+v, want code %s and id %s", e, onboarding.CodeOnboardingInProgress, testID)
	}
}

func TestStatusAndRetryEndpoints(t *testing.T) {
	svc := fakeOnboardings{
		get: func(id string) (*onboarding.Record, error) {
			if id == testID {
				return sampleRecord(), nil
			}
			return nil, onboarding.ErrNotFound
		},
		retry: func(id string) (*onboarding.Record, error) {
			if id != testID {
				return nil, onboarding.ErrNotFound
			}
			return nil, &onboarding.NotRetryableError{Code: onboarding.CodeNotRetryable, Reason: "onboarding is RUNNING"}
		},
	}
	h := New(svc, Options{})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"status", "GET", "/onboardings/" + testID, "", 200, ""},
		{"unknown id", "GET", "/onboardings/" + onboarding.NewID(), "", 404, onboarding.CodeNotFound},
		{"malformed id", "GET", "/onboardings/abc", "", 404, onboarding.CodeNotFound},
		{"id with dots", "GET", "/onboardings/..%2F..%2Fetc", "", 404, onboarding.CodeNotFound},
		{"POST on status", "POST", "/onboardings/" + testID, "", 405, onboarding.CodeMethodNotAllowed},
		{"retry refused", "POST", "/onboardings/" + testID + "/retry", "", 409, onboarding.CodeNotRetryable},
		{"retry with empty object", "POST", "/onboardings/" + testID + "/retry", "{}", 409, onboarding.CodeNotRetryable},
		{"retry with an unknown field", "POST", "/onboardings/" + testID + "/retry", `{"x":"1"}`, 400, onboarding.CodeUnknownField},
		{"retry with a bad phone_number_id", "POST", "/onboardings/" + testID + "/retry", `{"phone_number_id":"12a"}`, 400, onboarding.CodeInvalidField},
		{"retry with malformed JSON", "POST", "/onboardings/" + testID + "/retry", `{"phone_number_id":`, 400, onboarding.CodeInvalidJSON},
		{"retry unknown", "POST", "/onboardings/" + onboarding.NewID() + "/retry", "", 404, onboarding.CodeNotFound},
		{"GET retry", "GET", "/onboardings/" + testID + "/retry", "", 405, onboarding.CodeMethodNotAllowed},
		{"no such route", "GET", "/admin", "", 404, onboarding.CodeNotFound},
		{"healthz", "GET", "/healthz", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(h, tt.method, tt.path, "application/json", tt.body)
			if got := rec.Code; got != tt.wantStatus {
				t.Fatalf("status: got %d, want %d (body %s)", got, tt.wantStatus, rec.Body)
			}
			if tt.wantCode == "" {
				return
			}
			if got := decodeError(t, rec).Error.Code; got != tt.wantCode {
				t.Errorf("code: got %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestStatusBodyIsTheRecord(t *testing.T) {
	h := New(fakeOnboardings{get: func(string) (*onboarding.Record, error) { return sampleRecord(), nil }}, Options{})
	rec := do(h, "GET", "/onboardings/"+testID, "", "")
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "waba_id", "phone_number_id", "status", "steps", "created_at", "updated_at"} {
		if _, ok := got[k]; !ok {
			t.Errorf("record lacks %q: %s", k, rec.Body)
		}
	}
	steps := got["steps"].([]any)
	var names []string
	for _, s := range steps {
		st := s.(map[string]any)
		names = append(names, st["name"].(string))
		for _, k := range []string{"name", "status", "attempts"} {
			if _, ok := st[k]; !ok {
				t.Errorf("step lacks %q", k)
			}
		}
	}
	if got, want := strings.Join(names, ","), "exchange_token,verify_grant,subscribe_webhooks,sync_business_app,share_credit_line,verify_phone,register_phone,send_test_message"; got != want {
		t.Errorf("steps: got %s, want %s", got, want)
	}
	if _, err := time.Parse(time.RFC3339, got["created_at"].(string)); err != nil {
		t.Errorf("created_at is not RFC 3339: %v", err)
	}
}

func TestPanicIsA500(t *testing.T) {
	h := New(fakeOnboardings{get: func(string) (*onboarding.Record, error) { panic("boom") }}, Options{})
	rec := do(h, "GET", "/onboardings/"+testID, "", "")
	if got, want := rec.Code, 500; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	decodeError(t, rec)
}

// Annotate turns the request line into the handler's one line; outside Middleware it reports false.
func TestMiddlewareAnnotate(t *testing.T) {
	tests := []struct {
		name      string
		annotate  func(context.Context) bool
		wantMsg   string
		wantLevel string
		want      map[string]any
	}{
		{"plain request", func(context.Context) bool { return true }, "request", "INFO", nil},
		{"annotated", func(ctx context.Context) bool {
			return Annotate(ctx, slog.LevelInfo, "thing done", slog.Int("items", 3))
		}, "thing done", "INFO", map[string]any{"items": float64(3)}},
		{"level raised, never lowered", func(ctx context.Context) bool {
			return Annotate(ctx, slog.LevelWarn, "first", slog.String("a", "1")) &&
				Annotate(ctx, slog.LevelDebug, "second", slog.String("b", "2"))
		}, "second", "WARN", map[string]any{"a": "1", "b": "2"}},
		{"secret keys redacted", func(ctx context.Context) bool {
			return Annotate(ctx, slog.LevelInfo, "m", slog.String("access_token", "EAAG-secret-value"))
		}, "m", "INFO", map[string]any{"access_token": "[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf testlog.Buffer
			h := Middleware(logging.New(&buf, slog.LevelDebug), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tt.annotate(r.Context()) {
					t.Error("Annotate: got false inside Middleware, want true")
				}
				w.WriteHeader(http.StatusAccepted)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x", nil))
			lines, err := buf.Lines()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(lines), 1; got != want {
				t.Fatalf("lines: got %d, want %d:\n%s", got, want, buf.String())
			}
			want := map[string]any{"msg": tt.wantMsg, "level": tt.wantLevel, "method": "POST", "path": "/x", "status": float64(202)}
			maps.Copy(want, tt.want)
			for k, v := range want {
				if got := lines[0][k]; got != v {
					t.Errorf("%s: got %v, want %v", k, got, v)
				}
			}
			if strings.Contains(buf.String(), "EAAG-secret-value") {
				t.Errorf("line discloses a secret: %s", buf.String())
			}
		})
	}
	t.Run("outside Middleware", func(t *testing.T) {
		if Annotate(context.Background(), slog.LevelInfo, "m") {
			t.Error("Annotate: got true outside Middleware, want false")
		}
	})
}
