package webhook

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/onboarding"
)

// FuzzIntake drives the webhook Lambda's path end to end (API Gateway v2 event -> apigw.Handler -> Handler ->
// Verify -> Parse -> Sink) with arbitrary bodies, raw or base64-encoded, signed correctly or not. Unsigned,
// wrongly signed or tampered deliveries are 401 and reach nothing; a correctly signed delivery is 200 with
// exactly Parse's events handed to the sink, or 400 when it is not a notification and nothing is handed
// over; never a 5xx while the sink works, and the secret never appears in a response. Seeds: the Meta
// payloads under events/webhooks; testdata/fuzz/FuzzIntake.
func FuzzIntake(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0), false)
		f.Add(b, uint8(0), true)
	}
	for _, s := range []string{``, `{}`, `null`, `{"object":"whatsapp_business_account","entry":[]}`, "\xff\x00"} {
		for mode := range uint8(4) {
			f.Add([]byte(s), mode, mode%2 == 0)
		}
	}
	secret := onboarding.NewSecret(testSecret)
	other := onboarding.NewSecret(testPrevSecret)
	cfg := onboarding.AppConfig{AppID: "1234567890", AppSecret: secret}
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, b64 bool) {
		var sig string
		switch mode % 4 {
		case 0:
			sig = Sign(body, secret)
		case 1: // no signature
		case 2:
			sig = Sign(body, other)
		case 3: // the signature of another body: one byte more
			sig = Sign(append(append([]byte(nil), body...), ' '), secret)
		}
		sink := NewMemorySink()
		h := NewHandler(func(context.Context) (onboarding.AppConfig, error) { return cfg, nil }, sink, Options{})
		ev := events.APIGatewayV2HTTPRequest{RawPath: "/webhooks", Body: string(body), IsBase64Encoded: b64,
			Headers: map[string]string{"content-type": "application/json"}}
		if sig != "" {
			ev.Headers["x-hub-signature-256"] = sig
		}
		ev.RequestContext.HTTP.Method = http.MethodPost
		if b64 {
			ev.Body = base64.StdEncoding.EncodeToString(body)
		}
		res, err := apigw.Handler(h)(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Body, testSecret) || strings.Contains(res.Body, testPrevSecret) {
			t.Fatalf("the response holds the app secret: %s", res.Body)
		}
		if mode%4 != 0 {
			if res.StatusCode != http.StatusUnauthorized || sink.Calls() != 0 {
				t.Fatalf("unsigned or tampered delivery: got %d with %d sink calls, want 401 and none", res.StatusCode, sink.Calls())
			}
			return
		}
		parsed, perr := Parse(body)
		switch res.StatusCode {
		case http.StatusOK:
			if perr != nil {
				t.Fatalf("200 for a body Parse refuses: %v", perr)
			}
			want := withoutOther(parsed.Events)
			got := sink.Events()
			if len(got) != len(want) {
				t.Fatalf("sink got %d events, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Key != want[i].Key {
					t.Fatalf("event %d: key %q, want %q", i, got[i].Key, want[i].Key)
				}
			}
		case http.StatusBadRequest:
			if perr == nil || sink.Calls() != 0 {
				t.Fatalf("400 for a body Parse accepts, or with %d sink calls", sink.Calls())
			}
		default:
			t.Fatalf("signed delivery: got %d %s, want 200 or 400", res.StatusCode, res.Body)
		}
	})
}
