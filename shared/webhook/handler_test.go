package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

const testVerifyToken = "verify-me-7f3a9c"

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	h    *Handler
	sink *MemorySink
	logs *testlog.Buffer
}

func testConfig() onboarding.AppConfig {
	return onboarding.AppConfig{
		AppID:              "1234567890",
		AppSecret:          onboarding.NewSecret(testSecret),
		PreviousAppSecret:  onboarding.NewSecret(testPrevSecret),
		WebhookVerifyToken: onboarding.NewSecret(testVerifyToken),
	}
}

func newFixture(t testing.TB, cfg onboarding.AppConfig, cfgErr error) *fixture {
	t.Helper()
	f := &fixture{sink: NewMemorySink(), logs: &testlog.Buffer{}}
	config := func(context.Context) (onboarding.AppConfig, error) { return cfg, cfgErr }
	f.h = NewHandler(config, f.sink, Options{
		Logger: logging.New(f.logs, slog.LevelDebug),
		Now:    func() time.Time { return testNow },
	})
	return f
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %q", rec.Body.String())
	}
	return body.Error.Code
}

func handshakeURL(mode, token, challenge string) string {
	q := url.Values{}
	if mode != "-" {
		q.Set("hub.mode", mode)
	}
	if token != "-" {
		q.Set("hub.verify_token", token)
	}
	if challenge != "-" {
		q.Set("hub.challenge", challenge)
	}
	return "/webhooks?" + q.Encode()
}

func TestHandshake(t *testing.T) {
	noToken := testConfig()
	noToken.WebhookVerifyToken = onboarding.Secret{}
	tests := []struct {
		name     string
		method   string
		target   string
		cfg      onboarding.AppConfig
		cfgErr   error
		want     int
		wantBody string // for 200
		wantCode string // for errors
	}{
		{name: "right token", target: handshakeURL("subscribe", testVerifyToken, "1158201444"), want: 200, wantBody: "1158201444"},
		{name: "challenge with punctuation echoed exactly", target: handshakeURL("subscribe", testVerifyToken, "abc-DEF_123.~"), want: 200, wantBody: "abc-DEF_123.~"},
		{name: "challenge of the maximum length", target: handshakeURL("subscribe", testVerifyToken, strings.Repeat("7", MaxChallengeLength)), want: 200, wantBody: strings.Repeat("7", MaxChallengeLength)},
		{name: "wrong token", target: handshakeURL("subscribe", "guess", "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "token prefix", target: handshakeURL("subscribe", testVerifyToken[:5], "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "token with a suffix", target: handshakeURL("subscribe", testVerifyToken+"x", "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "empty token", target: handshakeURL("subscribe", "", "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "missing token", target: handshakeURL("subscribe", "-", "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "wrong mode", target: handshakeURL("unsubscribe", testVerifyToken, "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "mode case differs", target: handshakeURL("SUBSCRIBE", testVerifyToken, "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "missing mode", target: handshakeURL("-", testVerifyToken, "1158201444"), want: 403, wantCode: "forbidden"},
		{name: "no query at all", target: "/webhooks", want: 403, wantCode: "forbidden"},
		{name: "missing challenge", target: handshakeURL("subscribe", testVerifyToken, "-"), want: 400, wantCode: "invalid_field"},
		{name: "empty challenge", target: handshakeURL("subscribe", testVerifyToken, ""), want: 400, wantCode: "invalid_field"},
		{name: "challenge too long", target: handshakeURL("subscribe", testVerifyToken, strings.Repeat("7", MaxChallengeLength+1)), want: 400, wantCode: "invalid_field"},
		{name: "challenge with markup", target: handshakeURL("subscribe", testVerifyToken, "<script>alert(1)</script>"), want: 400, wantCode: "invalid_field"},
		{name: "challenge with a newline", target: handshakeURL("subscribe", testVerifyToken, "1\n2"), want: 400, wantCode: "invalid_field"},
		{name: "challenge with non-ASCII", target: handshakeURL("subscribe", testVerifyToken, "défi"), want: 400, wantCode: "invalid_field"},
		{name: "bad challenge with a wrong token is still 403", target: handshakeURL("subscribe", "guess", "<x>"), want: 403, wantCode: "forbidden"},
		{name: "no verify token configured", target: handshakeURL("subscribe", "", "1158201444"), cfg: noToken, want: 403, wantCode: "forbidden"},
		{name: "config unavailable", target: handshakeURL("subscribe", testVerifyToken, "1158201444"), cfgErr: errors.New("secrets manager: throttled"), want: 500, wantCode: "dependency_unavailable"},
		{name: "HEAD", method: http.MethodHead, target: handshakeURL("subscribe", testVerifyToken, "1158201444"), want: 405},
		{name: "PUT", method: http.MethodPut, target: "/webhooks", want: 405, wantCode: "method_not_allowed"},
		{name: "DELETE", method: http.MethodDelete, target: "/webhooks", want: 405, wantCode: "method_not_allowed"},
		{name: "PATCH", method: http.MethodPatch, target: "/webhooks", want: 405, wantCode: "method_not_allowed"},
		{name: "OPTIONS", method: http.MethodOptions, target: "/webhooks", want: 405, wantCode: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == (onboarding.AppConfig{}) {
				cfg = testConfig()
			}
			f := newFixture(t, cfg, tt.cfgErr)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := f.do(httptest.NewRequest(method, tt.target, nil))
			if got, want := rec.Code, tt.want; got != want {
				t.Fatalf("status: got %d, want %d (body %q)", got, want, rec.Body.String())
			}
			switch {
			case tt.want == 200:
				if got, want := rec.Body.String(), tt.wantBody; got != want {
					t.Errorf("body: got %q, want %q", got, want)
				}
				if got, want := rec.Header().Get("Content-Type"), "text/plain; charset=utf-8"; got != want {
					t.Errorf("Content-Type: got %q, want %q", got, want)
				}
				if got, want := rec.Header().Get("X-Content-Type-Options"), "nosniff"; got != want {
					t.Errorf("X-Content-Type-Options: got %q, want %q", got, want)
				}
			case tt.want == 405:
				if got, want := rec.Header().Get("Allow"), "GET, POST"; got != want {
					t.Errorf("Allow: got %q, want %q", got, want)
				}
			}
			if tt.wantCode != "" {
				if got, want := errorCode(t, rec), tt.wantCode; got != want {
					t.Errorf("error code: got %q, want %q", got, want)
				}
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Errorf("no X-Request-Id header")
			}
			if strings.Contains(rec.Body.String(), testVerifyToken) && tt.wantBody != testVerifyToken {
				t.Errorf("response discloses the verify token")
			}
			if got := f.sink.Calls(); got != 0 {
				t.Errorf("sink calls on GET: got %d, want 0", got)
			}
		})
	}
}

// post builds a webhook POST with Meta's headers.
func post(body []byte, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

func signed(body []byte, secret string) map[string]string {
	return map[string]string{HeaderSignature: Sign(body, onboarding.NewSecret(secret))}
}

func TestNotify(t *testing.T) {
	text := readFixture(t, "message_text.json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, text); err != nil {
		t.Fatal(err)
	}
	inWindow := testConfig()
	inWindow.PreviousAppSecretUntil = testNow.Add(time.Hour)
	afterWindow := testConfig()
	afterWindow.PreviousAppSecretUntil = testNow.Add(-time.Second)
	noSecret := testConfig()
	noSecret.AppSecret, noSecret.PreviousAppSecret = onboarding.Secret{}, onboarding.Secret{}
	sha1Header := map[string]string{HeaderSignatureSHA1: "sha1=" + strings.Repeat("ab", 20)}

	tests := []struct {
		name       string
		cfg        *onboarding.AppConfig
		cfgErr     error
		body       []byte
		headers    map[string]string
		sinkErr    error
		want       int
		wantCode   string
		wantEvents int
		wantLog    string
	}{
		{name: "valid", body: text, headers: signed(text, testSecret), want: 200, wantEvents: 1, wantLog: `"msg":"webhook taken"`},
		{name: "valid without Content-Type", body: text, headers: map[string]string{HeaderSignature: Sign(text, onboarding.NewSecret(testSecret)), "Content-Type": ""}, want: 200, wantEvents: 1},
		{name: "valid with another Content-Type", body: text, headers: map[string]string{HeaderSignature: Sign(text, onboarding.NewSecret(testSecret)), "Content-Type": "text/plain"}, want: 200, wantEvents: 1},
		{name: "missing signature", body: text, want: 401, wantCode: "unauthorized", wantLog: "signature check failed"},
		{name: "malformed signature", body: text, headers: map[string]string{HeaderSignature: "sha256=zz"}, want: 401, wantCode: "unauthorized"},
		{name: "signature without prefix", body: text, headers: map[string]string{HeaderSignature: hexHMAC(testSecret, text)}, want: 401, wantCode: "unauthorized"},
		{name: "wrong signature", body: text, headers: signed(text, "not the app secret"), want: 401, wantCode: "unauthorized"},
		{name: "SHA-1 header only", body: text, headers: sha1Header, want: 401, wantCode: "unauthorized", wantLog: `"sha1_header_only":true`},
		{name: "SHA-1 value in the SHA-256 header", body: text, headers: map[string]string{HeaderSignature: "sha1=" + strings.Repeat("ab", 20)}, want: 401, wantCode: "unauthorized"},
		{name: "re-encoded body", body: compact.Bytes(), headers: signed(text, testSecret), want: 401, wantCode: "unauthorized"},
		{name: "previous secret inside the rotation window", cfg: &inWindow, body: text, headers: signed(text, testPrevSecret), want: 200, wantEvents: 1},
		{name: "current secret inside the rotation window", cfg: &inWindow, body: text, headers: signed(text, testSecret), want: 200, wantEvents: 1},
		{name: "previous secret after the rotation window", cfg: &afterWindow, body: text, headers: signed(text, testPrevSecret), want: 401, wantCode: "unauthorized"},
		{name: "no app secret configured fails closed", cfg: &noSecret, body: text, headers: signed(text, ""), want: 401, wantCode: "unauthorized", wantLog: `"level":"ERROR","msg":"webhook refused: no app secret is configured, failing closed"`},
		{name: "config unavailable", cfgErr: errors.New("secrets manager: timeout"), body: text, headers: signed(text, testSecret), want: 500, wantCode: "dependency_unavailable"},
		{name: "signed malformed JSON", body: []byte(`{"object":`), headers: signed([]byte(`{"object":`), testSecret), want: 400, wantCode: "invalid_json"},
		{name: "signed empty body", body: nil, headers: signed(nil, testSecret), want: 400, wantCode: "invalid_json"},
		{name: "unsigned malformed JSON is 401, not 400", body: []byte(`{"object":`), want: 401, wantCode: "unauthorized"},
		{name: "sink failure", body: text, headers: signed(text, testSecret), sinkErr: errors.New("sqs: unavailable"), want: 500, wantCode: "internal_error", wantLog: "the sink refused the events"},
		{name: "unknown field", body: readFixture(t, "unknown_field.json"), headers: signed(readFixture(t, "unknown_field.json"), testSecret), want: 200, wantEvents: 0, wantLog: `"unknown_fields":1`},
		{name: "other object", body: readFixture(t, "other_object.json"), headers: signed(readFixture(t, "other_object.json"), testSecret), want: 200, wantEvents: 0, wantLog: `"ignored_objects":1`},
		{name: "batch without its unknown field", body: readFixture(t, "batch.json"), headers: signed(readFixture(t, "batch.json"), testSecret), want: 200, wantEvents: 6},
		{name: "too large", body: bytes.Repeat([]byte(" "), MaxBodyBytes+1), want: 413, wantCode: "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				cfg = *tt.cfg
			}
			f := newFixture(t, cfg, tt.cfgErr)
			if tt.sinkErr != nil {
				f.sink.FailWith(tt.sinkErr, -1)
			}
			rec := f.do(post(tt.body, tt.headers))
			if got, want := rec.Code, tt.want; got != want {
				t.Fatalf("status: got %d, want %d (body %q)", got, want, rec.Body.String())
			}
			if tt.wantCode != "" {
				if got, want := errorCode(t, rec), tt.wantCode; got != want {
					t.Errorf("error code: got %q, want %q", got, want)
				}
			} else if got, want := strings.TrimSpace(rec.Body.String()), `{"ok":true}`; got != want {
				t.Errorf("body: got %q, want %q", got, want)
			}
			if got, want := f.sink.Len(), tt.wantEvents; got != want {
				t.Errorf("events accepted: got %d, want %d", got, want)
			}
			if tt.want == 401 || tt.want == 400 || tt.want == 413 {
				if got := f.sink.Calls(); got != 0 {
					t.Errorf("sink calls: got %d, want 0 (nothing may be stored)", got)
				}
			}
			logs := f.logs.String()
			if tt.wantLog != "" && !strings.Contains(logs, tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs)
			}
			assertNoLeak(t, logs+rec.Body.String(), tt.body, tt.headers)
		})
	}
}

// assertNoLeak fails if s holds a secret, the verify token, a signature or a message text from body.
func assertNoLeak(t *testing.T, s string, body []byte, headers map[string]string) {
	t.Helper()
	for _, leak := range []string{testSecret, testPrevSecret, testVerifyToken, "Does it come in another color", "Sheena Nelson"} {
		if strings.Contains(s, leak) {
			t.Errorf("logs or response disclose %q", leak)
		}
	}
	if v := headers[HeaderSignature]; len(v) > 20 && strings.Contains(s, v[len("sha256="):]) {
		t.Errorf("logs or response disclose the signature")
	}
	if len(body) > 40 && strings.Contains(s, string(body[:40])) {
		t.Errorf("logs or response disclose the body")
	}
}

func TestSinkFailureThenRedelivery(t *testing.T) {
	f := newFixture(t, testConfig(), nil)
	body := readFixture(t, "status_failed_131047.json")
	f.sink.FailWith(errors.New("dynamodb: throttled"), 1)
	if got, want := f.do(post(body, signed(body, testSecret))).Code, 500; got != want {
		t.Fatalf("first delivery: got %d, want %d", got, want)
	}
	if got, want := f.do(post(body, signed(body, testSecret))).Code, 200; got != want {
		t.Fatalf("redelivery: got %d, want %d", got, want)
	}
	evs := f.sink.Events()
	if len(evs) != 1 || evs[0].Status != "failed" || len(evs[0].Errors) != 1 || evs[0].Errors[0].Code != 131047 {
		t.Fatalf("got %+v, want the failed status with error 131047", evs)
	}
}

func TestKeepOther(t *testing.T) {
	sink := NewMemorySink()
	h := NewHandler(func(context.Context) (onboarding.AppConfig, error) { return testConfig(), nil }, sink, Options{KeepOther: true})
	body := readFixture(t, "unknown_field.json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, post(body, signed(body, testSecret)))
	if got, want := rec.Code, 200; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	if evs := sink.Events(); len(evs) != 1 || evs[0].Kind != KindOther {
		t.Fatalf("got %+v, want one other event", evs)
	}
}

func TestRotationPickedUpWithoutRestart(t *testing.T) {
	var mu sync.Mutex
	cfg := testConfig()
	sink := NewMemorySink()
	h := NewHandler(func(context.Context) (onboarding.AppConfig, error) {
		mu.Lock()
		defer mu.Unlock()
		return cfg, nil
	}, sink, Options{Now: func() time.Time { return testNow }})
	body := readFixture(t, "status_read.json")
	const rotated = "new-app-secret-after-rotation"
	send := func(secret string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, post(body, signed(body, secret)))
		return rec.Code
	}
	if got, want := send(rotated), 401; got != want {
		t.Fatalf("before rotation: got %d, want %d", got, want)
	}
	mu.Lock()
	cfg.PreviousAppSecret, cfg.PreviousAppSecretUntil = cfg.AppSecret, testNow.Add(24*time.Hour)
	cfg.AppSecret = onboarding.NewSecret(rotated)
	mu.Unlock()
	for _, secret := range []string{rotated, testSecret} {
		if got, want := send(secret), 200; got != want {
			t.Errorf("after rotation, signed with the %s secret: got %d, want %d", map[bool]string{true: "new", false: "old"}[secret == rotated], got, want)
		}
	}
}

func TestThroughAPIGateway(t *testing.T) {
	body := readFixture(t, "message_text.json")
	sig := Sign(body, onboarding.NewSecret(testSecret))
	encoded := base64.StdEncoding.EncodeToString(body)
	tests := []struct {
		name       string
		ev         events.APIGatewayV2HTTPRequest
		want       int
		wantEvents int
	}{
		{
			name: "base64 body verified over the decoded bytes",
			ev:   apigwEvent(http.MethodPost, encoded, true, map[string]string{"content-type": "application/json", "x-hub-signature-256": sig}),
			want: 200, wantEvents: 1,
		},
		{
			name: "plain body",
			ev:   apigwEvent(http.MethodPost, string(body), false, map[string]string{"content-type": "application/json", "x-hub-signature-256": sig}),
			want: 200, wantEvents: 1,
		},
		{
			name: "signature over the base64 text is refused",
			ev: apigwEvent(http.MethodPost, encoded, true, map[string]string{
				"x-hub-signature-256": Sign([]byte(encoded), onboarding.NewSecret(testSecret)),
			}),
			want: 401,
		},
		{
			name: "base64 flag on a body that was not encoded",
			ev:   apigwEvent(http.MethodPost, string(body), true, map[string]string{"x-hub-signature-256": sig}),
			want: 400,
		},
		{
			name: "base64 body over the limit is refused before verification",
			ev: apigwEvent(http.MethodPost, base64.StdEncoding.EncodeToString(make([]byte, MaxBodyBytes+1)), true,
				map[string]string{"x-hub-signature-256": sig}),
			want: 413,
		},
		{
			name: "handshake",
			ev: func() events.APIGatewayV2HTTPRequest {
				ev := apigwEvent(http.MethodGet, "", false, nil)
				ev.RawQueryString = strings.TrimPrefix(handshakeURL("subscribe", testVerifyToken, "42"), "/webhooks?")
				return ev
			}(),
			want: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testConfig(), nil)
			res, err := apigw.Handler(f.h)(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := res.StatusCode, tt.want; got != want {
				t.Fatalf("status: got %d, want %d (body %q)", got, want, res.Body)
			}
			if got, want := f.sink.Len(), tt.wantEvents; got != want {
				t.Errorf("events accepted: got %d, want %d", got, want)
			}
			if tt.want == 200 && tt.ev.RequestContext.HTTP.Method == http.MethodGet {
				if got, want := res.Body, "42"; got != want {
					t.Errorf("handshake body: got %q, want %q", got, want)
				}
			}
			if got, want := res.Headers["X-Request-Id"], "req-abc123"; tt.want != 400 && got != want {
				t.Errorf("request id: got %q, want the API Gateway one %q", got, want)
			}
		})
	}
}

func apigwEvent(method, body string, b64 bool, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " /webhooks", RawPath: "/webhooks",
		Headers: headers, Body: body, IsBase64Encoded: b64,
	}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = "/webhooks"
	ev.RequestContext.RequestID = "req-abc123"
	ev.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	return ev
}

// TestConcurrentDeliveries sends one payload 20 times at once, as Meta's duplicates do. Every delivery is
// answered 200 and handed to the sink whole; collapsing them is the worker's job (on Event.Key). Run with
// -race: the handler shares no mutable state between requests.
func TestConcurrentDeliveries(t *testing.T) {
	f := newFixture(t, testConfig(), nil)
	body := readFixture(t, "batch.json")
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.do(post(body, signed(body, testSecret))).Code
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Errorf("delivery %d: got %d, want 200", i, code)
		}
	}
	if got, want := f.sink.Calls(), n; got != want {
		t.Errorf("sink calls: got %d, want %d", got, want)
	}
	keys := map[string]int{}
	for _, ev := range f.sink.Events() {
		keys[ev.Key]++
	}
	if got, want := len(keys), 6; got != want {
		t.Errorf("distinct keys: got %d, want %d", got, want)
	}
	for k, c := range keys {
		if c != n {
			t.Errorf("key %s: seen %d times, want %d", k, c, n)
		}
	}
}

func TestLargePayloads(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"3 MB", payloadOfSize(3 << 20)},
		{"1000 changes", batchPayload(1000, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Parse(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts.Changes > 1000 {
				t.Fatalf("test payload has %d changes; Meta sends at most 1000", res.Counts.Changes)
			}
			f := newFixture(t, testConfig(), nil)
			rec := f.do(post(tt.body, signed(tt.body, testSecret)))
			if got, want := rec.Code, 200; got != want {
				t.Fatalf("status: got %d, want %d (%q)", got, want, rec.Body.String())
			}
			if got, want := f.sink.Len(), len(res.Events); got != want {
				t.Errorf("events accepted: got %d, want %d", got, want)
			}
			t.Logf("%d bytes, %d changes, %d events", len(tt.body), res.Counts.Changes, len(res.Events))
		})
	}
	t.Run("3 MB payload is under the limit and a bigger one is refused before verification", func(t *testing.T) {
		if n := len(payloadOfSize(3 << 20)); n > MaxBodyBytes || n < 3<<20-4<<10 {
			t.Fatalf("payload of %d bytes, want about 3 MiB", n)
		}
		f := newFixture(t, testConfig(), nil)
		big := make([]byte, MaxBodyBytes+1)
		r := post(big, signed(big, testSecret))
		r.ContentLength = -1 // chunked: the limit must hold without a declared length too
		if got, want := f.do(r).Code, 413; got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	})
}

func TestReadBodyLengthMismatch(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader("short"))
	r.ContentLength = 10
	h := NewHandler(nil, nil, Options{})
	if _, status, err := h.readBody(httptest.NewRecorder(), r, &lease{h: h}); err == nil || status != 400 {
		t.Fatalf("got status %d, err %v; want 400 and an error", status, err)
	}
	r = httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader("longer than declared"))
	r.ContentLength = 3
	l := &lease{h: h}
	body, _, err := h.readBody(httptest.NewRecorder(), r, l)
	l.release()
	if err != nil || string(body) != "longer than declared" {
		t.Fatalf("got %q, %v; want the whole body", body, err)
	}
}
