package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzRequest builds requests from arbitrary API Gateway v2 events (method, raw path, raw query, body, base64
// flag, a header) and serves them through Handler with a handler that echoes the body: it must never panic,
// the handler must see exactly the raw body bytes (base64-decoded when API Gateway encoded them: the webhook
// signature is computed over them), a path starting with "/" never carries a host ("//evil/healthz"),
// and the response must bring the bytes back unchanged (base64-encoded when they are not UTF-8).
func FuzzRequest(f *testing.F) {
	f.Add("POST", "/webhooks", "", []byte(`{"object":"whatsapp_business_account","entry":[]}`), false, "sha256=00")
	f.Add("POST", "/webhooks", "", []byte("\xff\xfe binary \x00"), true, "sha256=00")
	f.Add("GET", "/webhooks", "hub.mode=subscribe&hub.verify_token=t&hub.challenge=1158201444", []byte(nil), false, "")
	f.Add("GET", "//evil.example/healthz", "", []byte(nil), false, "")
	f.Add("POST", "/signup", "a=%zz", []byte(`{"code":"c"}`), false, "application/json")
	f.Add("", "", "", []byte(nil), false, "")
	f.Add("GET", "http://evil.example/x", "", []byte(nil), false, "")
	f.Add("POST", "/onboardings/abc/retry", "", []byte("é"), true, "x\r\ny")
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte, b64 bool, header string) {
		ev := events.APIGatewayV2HTTPRequest{
			RawPath:         path,
			RawQueryString:  query,
			Body:            string(body),
			IsBase64Encoded: b64,
			Headers:         map[string]string{"x-hub-signature-256": header},
		}
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.RequestID = "fuzz"
		if b64 {
			ev.Body = base64.StdEncoding.EncodeToString(body)
		}
		req, err := Request(context.Background(), ev)
		if err == nil {
			// API Gateway's rawPath starts with "/": such a path must stay a path.
			if strings.HasPrefix(path, "/") && (req.URL.Host != "" || req.URL.Scheme != "" || req.URL.User != nil) {
				t.Fatalf("path %q gave a URL with a host, scheme or user: %+v", path, req.URL)
			}
			got, rerr := io.ReadAll(req.Body)
			if rerr != nil || !bytes.Equal(got, body) || req.ContentLength != int64(len(body)) {
				t.Fatalf("body: got %q (length %d), want %q", got, req.ContentLength, body)
			}
			if req.Header.Get("X-Hub-Signature-256") != header {
				t.Fatalf("header: got %q, want %q", req.Header.Get("X-Hub-Signature-256"), header)
			}
		}

		echo := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		}))
		res, herr := echo(context.Background(), ev)
		if herr != nil {
			t.Fatalf("Handler returned an error: %v", herr)
		}
		if err != nil {
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("unreadable event answered %d, want 400", res.StatusCode)
			}
			return
		}
		out := []byte(res.Body)
		if res.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				t.Fatalf("response body is not base64: %v", err)
			}
		}
		if res.StatusCode != http.StatusOK || !bytes.Equal(out, body) {
			t.Fatalf("echo: got %d %q, want 200 %q", res.StatusCode, out, body)
		}
	})
}
