package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Rand: func() float64 { return 0.5 }}
	tests := []struct {
		attempt int
		class   Class
		want    time.Duration
	}{
		{1, ClassTransient, 50 * time.Millisecond},
		{2, ClassTransient, 100 * time.Millisecond},
		{3, ClassTransient, 200 * time.Millisecond},
		{5, ClassTransient, 500 * time.Millisecond}, // capped at MaxDelay
		{1, ClassThrottled, 200 * time.Millisecond},
		{2, ClassThrottled, 400 * time.Millisecond},
		{3, ClassThrottled, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.class, tt.attempt), func(t *testing.T) {
			if got := p.backoff(tt.attempt, tt.class); got != tt.want {
				t.Errorf("backoff = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("out-of-range random is treated as zero", func(t *testing.T) {
		q := p
		q.Rand = func() float64 { return 7 }
		if got := q.backoff(1, ClassTransient); got != 0 {
			t.Errorf("backoff = %v, want 0", got)
		}
	})
}

func TestShouldRetry(t *testing.T) {
	var (
		refused     = &Error{Class: ClassTransient, Sent: false}
		reset       = &Error{Class: ClassTransient, Sent: true}
		timeout     = &Error{Class: ClassTransient, Sent: true, Timeout: true}
		plain500    = &Error{Class: ClassTransient, Sent: true, HTTPStatus: 500}
		code2       = &Error{Class: ClassTransient, Sent: true, HTTPStatus: 500, Code: 2}
		throttled   = &Error{Class: ClassThrottled, Sent: true, HTTPStatus: 400, Code: 4}
		transient4x = &Error{Class: ClassTransient, Sent: true, HTTPStatus: 400, Code: 131000}
		permanent   = &Error{Class: ClassPermanent, Sent: true, HTTPStatus: 400, Code: 100}
		waitFixed   = &Error{Class: ClassWaitFixed, Sent: true, HTTPStatus: 400, Code: 133015}
		malformed   = &Error{Class: ClassTransient, Sent: true, HTTPStatus: 200, MalformedResponse: true}
		redirect    = &Error{Class: ClassPermanent, Sent: true, HTTPStatus: 302}
	)
	type want struct{ idem, exch, never bool }
	tests := []struct {
		name       string
		err        *Error
		graphRetry bool
		want       want
	}{
		{"refused", refused, false, want{true, true, true}},
		{"reset after send", reset, false, want{true, false, false}},
		{"timeout", timeout, false, want{true, false, false}},
		{"timeout, graph retries on", timeout, true, want{true, false, false}},
		{"plain 5xx", plain500, false, want{true, false, false}},
		{"plain 5xx, graph retries on", plain500, true, want{true, false, false}},
		{"code 2 on 500", code2, false, want{true, false, false}},
		{"code 2 on 500, graph retries on", code2, true, want{true, true, false}},
		{"throttled", throttled, false, want{false, false, false}},
		{"throttled, graph retries on", throttled, true, want{true, true, false}},
		{"transient code on 400", transient4x, false, want{false, false, false}},
		{"transient code on 400, graph retries on", transient4x, true, want{true, true, false}},
		{"permanent, graph retries on", permanent, true, want{false, false, false}},
		{"wait-fixed, graph retries on", waitFixed, true, want{false, false, false}},
		{"malformed 2xx", malformed, true, want{true, false, false}},
		{"redirect", redirect, true, want{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := want{
				shouldRetry(idempotent, tt.err, tt.graphRetry),
				shouldRetry(exchange, tt.err, tt.graphRetry),
				shouldRetry(neverAfterSent, tt.err, tt.graphRetry),
			}
			if got != tt.want {
				t.Errorf("retry (idempotent, exchange, never-after-sent) = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	const tok = "EAAGm0PX4ZCpsBAKZAZBxyz0123456789abcdefghij"
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"plain", "Invalid parameter", nil, "Invalid parameter"},
		{"token shape", "token " + tok + " is bad", nil, "token [redacted] is bad"},
		{"known secret", "pin 482913 mismatch", []string{"482913"}, "pin [redacted] mismatch"},
		{"url query", "see https://graph.facebook.com/v21.0/oauth/access_token?client_id=1&code=abc now", nil,
			"see https://graph.facebook.com/v21.0/oauth/access_token?[redacted] now"},
		{"path query", "GET /v21.0/oauth/access_token?client_id=1&code=abc failed", nil, "GET /v21.0/oauth/access_token?[redacted] failed"},
		{"question in prose is kept", "Did you mean this? Retry later", nil, "Did you mean this? Retry later"},
		{"secret parameter", "bad client_secret=deadbeef and code=xyz", nil, "bad [redacted] and [redacted]"},
		{"app token", "token 123|s3cret", []string{"s3cret"}, "token 123|[redacted]"},
		{"empty secret ignored", "abc", []string{""}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize(tt.in, tt.secrets); got != tt.want {
				t.Errorf("sanitize = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("long messages are cut on a rune boundary", func(t *testing.T) {
		got := sanitize(strings.Repeat("é", 800), nil)
		if len(got) > maxMessageLength+3 || !strings.HasSuffix(got, "...") || strings.ContainsRune(got, '\uFFFD') {
			t.Errorf("sanitize cut badly: len %d", len(got))
		}
	})
}

func TestNextQuery(t *testing.T) {
	o := &Options{APIVersion: "v21.0", base: "https://graph.facebook.com"}
	op := &operation{call: CallPhoneNumbers, method: "GET", path: "123/phone_numbers",
		query: url.Values{"fields": {"id"}}}
	tests := []struct {
		name, next string
		wantAfter  string
		wantLimit  string
	}{
		{"same endpoint", "https://graph.facebook.com/v21.0/123/phone_numbers?access_token=EAAx&limit=25&after=QVFI", "QVFI", "25"},
		{"other version, same edge", "https://graph.facebook.com/v22.0/123/phone_numbers?after=QVFI", "QVFI", ""},
		{"other host", "https://evil.example/v21.0/123/phone_numbers?after=QVFI", "", ""},
		{"other scheme", "http://graph.facebook.com/v21.0/123/phone_numbers?after=QVFI", "", ""},
		{"other path", "https://graph.facebook.com/v21.0/456/phone_numbers?after=QVFI", "", ""},
		{"credentials", "https://u:p@graph.facebook.com/v21.0/123/phone_numbers?after=QVFI", "", ""},
		{"no cursor", "https://graph.facebook.com/v21.0/123/phone_numbers?access_token=EAAx", "", ""},
		{"bad limit dropped", "https://graph.facebook.com/v21.0/123/phone_numbers?after=QVFI&limit=1;drop", "QVFI", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := nextQuery(o, op, tt.next)
			if tt.wantAfter == "" {
				if err == nil {
					t.Fatalf("nextQuery accepted %q", tt.next)
				}
				if strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "?") {
					t.Errorf("error quotes the link: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("nextQuery: %v", err)
			}
			if got := q.Get("after"); got != tt.wantAfter {
				t.Errorf("after = %q, want %q", got, tt.wantAfter)
			}
			if got := q.Get("limit"); got != tt.wantLimit {
				t.Errorf("limit = %q, want %q", got, tt.wantLimit)
			}
			if q.Has("access_token") {
				t.Errorf("the next query carries the access token")
			}
			if got := q.Get("fields"); got != "id" {
				t.Errorf("fields = %q, want the original %q", got, "id")
			}
		})
	}
}

func TestTransportErrorSent(t *testing.T) {
	op := &operation{call: CallRegister, method: "POST", path: "1/register"}
	bg := context.Background()
	tests := []struct {
		name        string
		err         error
		neverConn   bool
		wantSent    bool
		wantTimeout bool
	}{
		{"connection refused", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, false, false, false},
		{"DNS failure", &url.Error{Op: "Post", URL: "x", Err: &net.DNSError{Err: "no such host", Name: "graph.facebook.com"}}, false, false, false},
		{"proxy connect", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: errors.New("refused")}}, false, false, false},
		{"dial timeout", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}}, false, false, true},
		{"deadline while dialling", &url.Error{Op: "Post", URL: "x", Err: context.DeadlineExceeded}, true, false, true},
		{"reset after send", &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, false, true, false},
		{"EOF", &url.Error{Op: "Post", URL: "x", Err: io.EOF}, false, true, false},
		{"read timeout", &url.Error{Op: "Post", URL: "x", Err: timeoutErr{}}, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := transportError(bg, bg, op, "/v21.0/1/register", tt.err, time.Second, tt.neverConn)
			if e.Sent != tt.wantSent || e.Timeout != tt.wantTimeout || e.HTTPStatus != 0 || e.Class != ClassTransient {
				t.Errorf("error = %+v, want sent %v timeout %v, transient, no status", e, tt.wantSent, tt.wantTimeout)
			}
			if strings.Contains(e.Message, "x") && strings.Contains(e.Message, "\"x\"") {
				t.Errorf("message quotes the URL: %q", e.Message)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
