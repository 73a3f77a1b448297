package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/openapitest"
	"github.com/waes/onboarding/shared/onboarding"
)

// TestOpenAPIMatchesWebhookRoutes checks the /webhooks operations of docs/openapi.json against the handler:
// every documented status is produced, and JSON bodies match their schemas.
func TestOpenAPIMatchesWebhookRoutes(t *testing.T) {
	doc := openapitest.Load(t)
	secret := onboarding.NewSecret("app-secret")
	cfg := func(context.Context) (onboarding.AppConfig, error) {
		return onboarding.AppConfig{AppID: "1", AppSecret: secret, WebhookVerifyToken: onboarding.NewSecret("verify")}, nil
	}
	payload := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"2"},"statuses":[{"id":"wamid.x","status":"sent","timestamp":"1","recipient_id":"3"}]},"field":"messages"}]}]}`)
	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
	tests := []struct {
		name   string
		method string
		query  string
		body   []byte
		sign   bool
		fail   bool
		hold   bool // another delivery holds the whole in-flight budget
		want   int
	}{
		{"handshake", "GET", "hub.mode=subscribe&hub.verify_token=verify&hub.challenge=1158201444", nil, false, false, false, 200},
		{"handshake wrong token", "GET", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", nil, false, false, false, 403},
		{"signed event", "POST", "", payload, true, false, false, 200},
		{"signed, not JSON", "POST", "", []byte("not json"), true, false, false, 400},
		{"unsigned", "POST", "", payload, false, false, false, 401},
		{"too large", "POST", "", big, true, false, false, 413},
		{"storage failed", "POST", "", payload, true, true, false, 500},
		{"budget exhausted", "POST", "", payload, true, false, true, 503},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &MemorySink{}
			if tt.fail {
				sink.FailWith(errors.New("queue down"), 1)
			}
			opts := Options{}
			if tt.hold {
				opts.MaxInFlightBytes, opts.BudgetWait = 1, time.Millisecond
			}
			h := NewHandler(cfg, sink, opts)
			if tt.hold {
				release := make(chan struct{})
				done := make(chan struct{})
				held := newStalledBody(nil, release)
				r := httptest.NewRequest(http.MethodPost, "/webhooks", io.NopCloser(held))
				go func() { defer close(done); h.ServeHTTP(httptest.NewRecorder(), r) }()
				<-held.started
				defer func() { close(release); <-done }()
			}
			req := httptest.NewRequest(tt.method, "/webhooks?"+tt.query, bytes.NewReader(tt.body))
			if tt.sign {
				req.Header.Set("X-Hub-Signature-256", Sign(tt.body, secret))
			}
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d (%s)", rec.Code, tt.want, rec.Body)
			}
			schema, documented := doc.JSONSchema("/webhooks", tt.method, rec.Code)
			if !documented {
				t.Fatalf("%s /webhooks answering %d is not documented", tt.method, rec.Code)
			}
			covered[strings.ToLower(tt.method)+" "+http.StatusText(rec.Code)] = true
			if schema == nil {
				return
			}
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if err := openapitest.Validate(doc, schema, body, "$"); err != nil {
				t.Errorf("body %s does not match the document: %v", rec.Body, err)
			}
		})
	}
	for method, op := range doc.Paths["/webhooks"] {
		for status := range op.Responses {
			code, _ := strconv.Atoi(status)
			if !covered[method+" "+http.StatusText(code)] {
				t.Errorf("documented %s /webhooks %s is never produced", method, status)
			}
		}
	}
}
