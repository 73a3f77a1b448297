package apigw_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/logging"
)

const samples = "../../events/apigw"

func sample(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func readBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRequestFromSamples(t *testing.T) {
	plainSignup := sample(t, "post_signup.json").Body
	plainWebhook := sample(t, "post_webhooks.json").Body
	for _, tc := range []struct {
		file        string
		method      string
		path        string
		query       map[string]string
		body        string
		contentType string
		signature   bool
	}{
		{file: "get_healthz.json", method: "GET", path: "/healthz"},
		{file: "get_onboarding.json", method: "GET", path: "/onboardings/3q2-7wEjRuW3bFq0DqRU1A"},
		{file: "post_retry.json", method: "POST", path: "/onboardings/3q2-7wEjRuW3bFq0DqRU1A/retry"},
		{file: "get_webhooks_handshake.json", method: "GET", path: "/webhooks",
			query: map[string]string{"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}},
		{file: "post_signup.json", method: "POST", path: "/signup", body: plainSignup, contentType: "application/json"},
		{file: "post_signup_base64.json", method: "POST", path: "/signup", body: plainSignup, contentType: "application/json"},
		{file: "post_webhooks.json", method: "POST", path: "/webhooks", body: plainWebhook, contentType: "application/json", signature: true},
		{file: "post_webhooks_base64.json", method: "POST", path: "/webhooks", body: plainWebhook, contentType: "application/json", signature: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			ev := sample(t, tc.file)
			req, err := apigw.Request(context.Background(), ev)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := req.Method; got != tc.method {
				t.Errorf("method: got %q, want %q", got, tc.method)
			}
			if got := req.URL.Path; got != tc.path {
				t.Errorf("path: got %q, want %q", got, tc.path)
			}
			if got, want := req.URL.RawQuery, ev.RawQueryString; got != want {
				t.Errorf("raw query: got %q, want %q", got, want)
			}
			q := req.URL.Query()
			if got, want := len(q), len(tc.query); got != want {
				t.Errorf("query: got %d parameters %v, want %d", got, q, want)
			}
			for k, want := range tc.query {
				if got := q.Get(k); got != want {
					t.Errorf("query %s: got %q, want %q", k, got, want)
				}
			}
			if got := string(readBody(t, req)); got != tc.body {
				t.Errorf("body: got %q, want %q", got, tc.body)
			}
			if got, want := req.ContentLength, int64(len(tc.body)); got != want {
				t.Errorf("ContentLength: got %d, want %d", got, want)
			}
			if got := req.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tc.contentType)
			}
			if got, want := req.Header.Get("X-Hub-Signature-256"), ev.Headers["x-hub-signature-256"]; got != want || (got != "") != tc.signature {
				t.Errorf("X-Hub-Signature-256: got %q, want %q", got, want)
			}
			if got, want := req.Header.Get("User-Agent"), ev.Headers["user-agent"]; got != want {
				t.Errorf("User-Agent: got %q, want %q", got, want)
			}
			if got, want := req.Host, "abc123.execute-api.us-east-1.amazonaws.com"; got != want {
				t.Errorf("Host: got %q, want %q", got, want)
			}
			if got, want := req.RemoteAddr, "198.51.100.7"; got != want {
				t.Errorf("RemoteAddr: got %q, want %q", got, want)
			}
			if got, want := logging.RequestID(req.Context()), "JKJaXmPLvHcESHA="; got != want {
				t.Errorf("logging request id: got %q, want %q", got, want)
			}
		})
	}
}

// The webhook signature is computed over the bytes Meta sent: the handler sees the same bytes whether or not
// API Gateway base64-encoded them.
func TestSignatureIsOverTheRawBytes(t *testing.T) {
	secret := []byte("test-app-secret")
	sign := func(b []byte) string {
		m := hmac.New(sha256.New, secret)
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	want := sign([]byte(sample(t, "post_webhooks.json").Body))
	for _, file := range []string{"post_webhooks.json", "post_webhooks_base64.json"} {
		t.Run(file, func(t *testing.T) {
			var got string
			h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = sign(b)
			}))
			if _, err := h(context.Background(), sample(t, file)); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("signature of the body the handler read: got %s, want %s", got, want)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	binary := []byte{0x00, 0xff, 0xfe, 'a', 0x80, '\n'}
	for _, tc := range []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		check  func(t *testing.T, r *http.Request)
		reject bool
	}{
		{name: "method defaults to GET", ev: events.APIGatewayV2HTTPRequest{RawPath: "/healthz"}, check: func(t *testing.T, r *http.Request) {
			if r.Method != http.MethodGet {
				t.Errorf("method: got %q, want GET", r.Method)
			}
		}},
		{name: "path from requestContext when rawPath is empty", ev: v2("PUT", "", "", "/from/context"), check: func(t *testing.T, r *http.Request) {
			if r.Method != "PUT" || r.URL.Path != "/from/context" {
				t.Errorf("got %s %s, want PUT /from/context", r.Method, r.URL.Path)
			}
		}},
		{name: "no path at all is /", ev: v2("GET", "", "", ""), check: func(t *testing.T, r *http.Request) {
			if r.URL.Path != "/" || r.RequestURI != "/" {
				t.Errorf("path: got %q (RequestURI %q), want /", r.URL.Path, r.RequestURI)
			}
		}},
		{name: "rawPath wins over the decoded path", ev: v2("GET", "/onboardings/a%2Fb", "", "/onboardings/a/b"), check: func(t *testing.T, r *http.Request) {
			if got, want := r.URL.EscapedPath(), "/onboardings/a%2Fb"; got != want {
				t.Errorf("escaped path: got %q, want %q", got, want)
			}
			if got, want := r.URL.Path, "/onboardings/a/b"; got != want {
				t.Errorf("path: got %q, want %q", got, want)
			}
		}},
		{name: "a path starting with // stays a path", ev: v2("GET", "//evil.example/healthz", "", ""), check: func(t *testing.T, r *http.Request) {
			if r.URL.Host != "" || r.URL.Path != "//evil.example/healthz" {
				t.Errorf("URL: got host %q path %q, want no host and path //evil.example/healthz", r.URL.Host, r.URL.Path)
			}
		}},
		{name: "query with repeated and encoded parameters", ev: v2("GET", "/webhooks", "a=1&a=2&b=x%20y&c=%26", ""), check: func(t *testing.T, r *http.Request) {
			q := r.URL.Query()
			if got, want := q["a"], []string{"1", "2"}; !slices.Equal(got, want) {
				t.Errorf("a: got %q, want %q", got, want)
			}
			if got, want := q.Get("b"), "x y"; got != want {
				t.Errorf("b: got %q, want %q", got, want)
			}
			if got, want := q.Get("c"), "&"; got != want {
				t.Errorf("c: got %q, want %q", got, want)
			}
			if got, want := r.RequestURI, "/webhooks?a=1&a=2&b=x%20y&c=%26"; got != want {
				t.Errorf("RequestURI: got %q, want %q", got, want)
			}
		}},
		{name: "headers are canonical and keep joined values", ev: withHeaders(v2("GET", "/", "", ""), map[string]string{
			"content-type": "application/json", "x-forwarded-for": "198.51.100.7, 203.0.113.9", "X-Custom": "v",
		}), check: func(t *testing.T, r *http.Request) {
			for k, want := range map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Custom": "v"} {
				if got := r.Header.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("header %s: got %q, want [%q]", k, got, want)
				}
			}
		}},
		{name: "cookies", ev: withCookies(v2("GET", "/", "", ""), "session=abc", "theme=dark"), check: func(t *testing.T, r *http.Request) {
			if got, want := r.Header.Get("Cookie"), "session=abc; theme=dark"; got != want {
				t.Errorf("Cookie: got %q, want %q", got, want)
			}
			c, err := r.Cookie("theme")
			if err != nil || c.Value != "dark" {
				t.Errorf("Cookie(theme): got %v, %v; want dark", c, err)
			}
			if got := len(r.Cookies()); got != 2 {
				t.Errorf("Cookies: got %d, want 2", got)
			}
		}},
		{name: "no cookies, no Cookie header", ev: v2("GET", "/", "", ""), check: func(t *testing.T, r *http.Request) {
			if _, ok := r.Header["Cookie"]; ok {
				t.Errorf("Cookie header: got %q, want none", r.Header.Get("Cookie"))
			}
		}},
		{name: "plain body", ev: withBody(v2("POST", "/signup", "", ""), `{"a":"é"}`, false), check: func(t *testing.T, r *http.Request) {
			if got, want := string(readBody(t, r)), `{"a":"é"}`; got != want {
				t.Errorf("body: got %q, want %q", got, want)
			}
		}},
		{name: "base64 binary body is decoded to the raw bytes", ev: withBody(v2("POST", "/upload", "", ""), base64.StdEncoding.EncodeToString(binary), true), check: func(t *testing.T, r *http.Request) {
			if got := readBody(t, r); !bytes.Equal(got, binary) {
				t.Errorf("body: got %x, want %x", got, binary)
			}
			if r.ContentLength != int64(len(binary)) {
				t.Errorf("ContentLength: got %d, want %d", r.ContentLength, len(binary))
			}
		}},
		{name: "empty base64 body", ev: withBody(v2("POST", "/signup", "", ""), "", true), check: func(t *testing.T, r *http.Request) {
			if got := readBody(t, r); len(got) != 0 || r.ContentLength != 0 {
				t.Errorf("body: got %q (ContentLength %d), want empty", got, r.ContentLength)
			}
		}},
		{name: "no request id", ev: v2("GET", "/", "", ""), check: func(t *testing.T, r *http.Request) {
			if got := logging.RequestID(r.Context()); got != "" {
				t.Errorf("request id: got %q, want none", got)
			}
		}},
		{name: "bad base64", ev: withBody(v2("POST", "/webhooks", "", ""), "not base64!", true), reject: true},
		{name: "url-safe base64 is not API Gateway's", ev: withBody(v2("POST", "/webhooks", "", ""), "_-8=", true), reject: true},
		{name: "missing base64 padding", ev: withBody(v2("POST", "/webhooks", "", ""), "eyJhIjoxfQ", true), reject: true},
		{name: "invalid method", ev: v2("GET /x", "/", "", ""), reject: true},
		{name: "invalid path escape", ev: v2("GET", "/a%zz", "", ""), reject: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := logging.WithOnboardingID(context.Background(), "ob-parent")
			r, err := apigw.Request(parent, tc.ev)
			if tc.reject {
				if err == nil {
					t.Fatalf("Request: got %s %s, want an error", r.Method, r.URL)
				}
				return
			}
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if got := logging.OnboardingID(r.Context()); got != "ob-parent" {
				t.Errorf("context: got onboarding id %q, want the parent's", got)
			}
			tc.check(t, r)
		})
	}
}

func v2(method, rawPath, rawQuery, ctxPath string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RawPath: rawPath, RawQueryString: rawQuery}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = ctxPath
	return ev
}

func withHeaders(ev events.APIGatewayV2HTTPRequest, h map[string]string) events.APIGatewayV2HTTPRequest {
	ev.Headers = h
	return ev
}

func withCookies(ev events.APIGatewayV2HTTPRequest, c ...string) events.APIGatewayV2HTTPRequest {
	ev.Cookies = c
	return ev
}

func withBody(ev events.APIGatewayV2HTTPRequest, body string, b64 bool) events.APIGatewayV2HTTPRequest {
	ev.Body, ev.IsBase64Encoded = body, b64
	return ev
}

func TestResponse(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    events.APIGatewayV2HTTPResponse
	}{
		{
			name: "JSON",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"id":"ob-1","name":"Café"}`)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"id":"ob-1","name":"Café"}`},
		},
		{
			name: "repeated headers are joined",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Vary", "Accept-Encoding")
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusOK)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Vary": "Origin, Accept-Encoding", "Content-Type": "text/plain"}},
		},
		{
			name: "Set-Cookie goes to Cookies",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc", HttpOnly: true})
				http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusNoContent)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{"Content-Type": "text/plain"}, Cookies: []string{"session=abc; HttpOnly", "theme=dark"}},
		},
		{
			name: "binary body is base64-encoded",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				w.Write(binary)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/png"}, Body: base64.StdEncoding.EncodeToString(binary), IsBase64Encoded: true},
		},
		{
			name: "text challenge",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				io.WriteString(w, "1158201444")
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "1158201444"},
		},
		{
			name:    "nothing written is an empty 200",
			handler: func(w http.ResponseWriter, r *http.Request) {},
			want:    events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}},
		},
		{
			name:    "content type sniffed on the first write",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html></html>") },
			want:    events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: "<html></html>"},
		},
		{
			name: "headers set after the status are not sent",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Header().Set("Retry-After", "1")
				w.Header().Set("Set-Cookie", "late=1")
				io.WriteString(w, `{}`)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 503, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{}`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.handler(rec, httptest.NewRequest("GET", "/", nil))
			got := apigw.Response(rec)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Response:\n got %+v\nwant %+v", got, tc.want)
			}
			if got.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(got.Body)
				if err != nil || !bytes.Equal(b, binary) {
					t.Errorf("decoded body: got %x, %v; want %x", b, err, binary)
				}
			}
		})
	}
}

func TestHandler(t *testing.T) {
	t.Run("serves the request and converts the response", func(t *testing.T) {
		var gotReqID, gotPath, gotBody string
		h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotReqID, gotPath = logging.RequestID(r.Context()), r.URL.Path
			b, _ := io.ReadAll(r.Body)
			gotBody = string(b)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"status":"PENDING"}`)
		}))
		res, err := h(context.Background(), sample(t, "post_signup_base64.json"))
		if err != nil {
			t.Fatal(err)
		}
		if gotReqID != "JKJaXmPLvHcESHA=" {
			t.Errorf("request id in the handler's context: got %q, want JKJaXmPLvHcESHA=", gotReqID)
		}
		if gotPath != "/signup" {
			t.Errorf("path: got %q, want /signup", gotPath)
		}
		if want := sample(t, "post_signup.json").Body; gotBody != want {
			t.Errorf("body: got %q, want %q", gotBody, want)
		}
		want := events.APIGatewayV2HTTPResponse{StatusCode: 202, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"status":"PENDING"}`}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("response:\n got %+v\nwant %+v", res, want)
		}
	})
	for _, tc := range []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"bad base64", withBody(sample(t, "post_webhooks.json"), "%%%not-base64", true)},
		{"bad path", v2("GET", "/a%zz", "", "")},
	} {
		t.Run(tc.name+" is a 400 without calling the handler", func(t *testing.T) {
			calls := 0
			h := apigw.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
			res, err := h(context.Background(), tc.ev)
			if err != nil {
				t.Fatalf("error: got %v, want nil (an answer, not a Lambda error)", err)
			}
			if calls != 0 {
				t.Errorf("handler calls: got %d, want 0", calls)
			}
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status: got %d, want 400", res.StatusCode)
			}
			if got := res.Headers["Content-Type"]; got != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", got)
			}
			var doc struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(res.Body), &doc); err != nil || doc.Error.Code != "invalid_request" {
				t.Errorf("body: got %s (%v), want an invalid_request error document", res.Body, err)
			}
			if strings.Contains(res.Body, "base64") || strings.Contains(res.Body, "%zz") {
				t.Errorf("body %s: want no detail of the decoding failure", res.Body)
			}
		})
	}
}

func ExampleHandler() {
	h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %q", r.Method, r.URL.Path, b)
	}))
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/echo", Body: base64.StdEncoding.EncodeToString([]byte("hi")), IsBase64Encoded: true}
	ev.RequestContext.HTTP.Method = "POST"
	res, _ := h(context.Background(), ev)
	fmt.Println(res.StatusCode, res.Body)
	// Output: 200 POST /echo "hi"
}

// TestCallerFromTheJWTAuthorizer: the verified claims API Gateway's JWT authorizer puts in the request
// context become the request's caller; the Authorization header itself is never read for it.
func TestCallerFromTheJWTAuthorizer(t *testing.T) {
	withClaims := func(claims map[string]string) events.APIGatewayV2HTTPRequest {
		ev := sample(t, "get_onboarding.json")
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
		return ev
	}
	forged := sample(t, "get_onboarding.json")
	forged.Headers["authorization"] = "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJjdXN0b21lci0xIn0."
	tests := []struct {
		name    string
		ev      events.APIGatewayV2HTTPRequest
		wantSub string
	}{
		{"sample with a JWT authorizer", sample(t, "get_onboardings_jwt.json"), "auth0|customer-1"},
		{"verified sub", withClaims(map[string]string{"sub": "customer-1", "iss": "https://issuer.example"}), "customer-1"},
		{"no authorizer", sample(t, "get_onboarding.json"), ""},
		{"a bearer header without an authorizer", forged, ""},
		{"claims without sub", withClaims(map[string]string{"iss": "https://issuer.example"}), ""},
		{"empty sub", withClaims(map[string]string{"sub": ""}), ""},
		{"sub with a control character", withClaims(map[string]string{"sub": "customer\n1"}), ""},
		{"sub too long", withClaims(map[string]string{"sub": strings.Repeat("a", 256)}), ""},
		{"IAM authorizer only", func() events.APIGatewayV2HTTPRequest {
			ev := sample(t, "get_onboarding.json")
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserID: "AIDA"}}
			return ev
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := apigw.Request(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := auth.FromContext(req.Context())
			if got, want := c.Subject, tt.wantSub; got != want || ok != (want != "") {
				t.Errorf("caller: got %q (%v), want %q", got, ok, want)
			}
		})
	}
}
