package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

// TestBodylessRoutesRefuseBodies sends bodies to the routes that take none, with and without a declared
// length: the check must read the body, not trust Content-Length, and the service must not be called.
func TestBodylessRoutesRefuseBodies(t *testing.T) {
	var calls atomic.Int32
	svc := fakeOnboardings{
		get: func(string) (*onboarding.Record, error) { calls.Add(1); return sampleRecord(), nil },
		retry: func(string) (*onboarding.Record, error) {
			calls.Add(1)
			return nil, &onboarding.NotRetryableError{Code: onboarding.CodeNotRetryable, Reason: "onboarding is RUNNING"}
		},
	}
	h := New(svc, Options{})
	retry := "/onboardings/" + testID + "/retry"
	status := "/onboardings/" + testID
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		chunked  bool // no Content-Length: the body is only known by reading it
		want     int
		wantCall bool
	}{
		{"retry, chunked body", "POST", retry, `{"x":1}`, true, 400, false},
		{"retry, chunked one byte", "POST", retry, `x`, true, 400, false},
		{"retry, chunked empty object", "POST", retry, `{}`, true, 409, true},
		{"retry, chunked empty body", "POST", retry, ``, true, 409, true},
		{"retry, declared body", "POST", retry, `{"x":1}`, false, 400, false},
		{"retry, declared length zero but a body", "POST", retry, `{"x":1}`, false, 400, false},
		{"status, chunked body", "GET", status, `{}`, true, 400, false},
		{"status, declared body", "GET", status, `x`, false, 400, false},
		{"status, no body", "GET", status, ``, false, 200, true},
		{"healthz, chunked body", "GET", "/healthz", `x`, true, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.chunked {
				req.Body, req.ContentLength = io.NopCloser(strings.NewReader(tt.body)), -1
			}
			if strings.Contains(tt.name, "declared length zero") {
				req.ContentLength = 0 // a lying length must not let the body through
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got, want := rec.Code, tt.want; got != want {
				t.Fatalf("status: got %d, want %d (%s)", got, want, rec.Body)
			}
			if tt.want == 400 {
				want := onboarding.CodeInvalidJSON
				if strings.HasPrefix(tt.name, "retry") && strings.HasPrefix(tt.body, "{") {
					want = onboarding.CodeUnknownField // the retry's optional body knows only phone_number_id
				}
				if got := decodeError(t, rec).Error.Code; got != want {
					t.Errorf("code: got %q, want %q", got, want)
				}
			}
			if got, want := calls.Load() > 0, tt.wantCall; got != want {
				t.Errorf("service called: got %v, want %v", got, want)
			}
		})
	}
	t.Run("retry with a chunked body through a server", func(t *testing.T) {
		calls.Store(0)
		srv := httptest.NewServer(h)
		defer srv.Close()
		pr, pw := io.Pipe() // a body of unknown length: the client sends it chunked
		go func() {
			_, _ = pw.Write([]byte(`{"force":true}`))
			_ = pw.Close()
		}()
		req, err := http.NewRequest(http.MethodPost, srv.URL+retry, pr)
		if err != nil {
			t.Fatal(err)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		if got, want := res.StatusCode, http.StatusBadRequest; got != want {
			t.Fatalf("status: got %d, want %d", got, want)
		}
		if calls.Load() != 0 {
			t.Errorf("the retry ran despite the body")
		}
	})
}
