package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
)

// echo describes a request with everything secret in it, as a hostile or broken server might send back.
func echo(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return fmt.Sprintf("%s %s auth=%s body=%s", r.Method, r.URL.String(), r.Header.Get("Authorization"), b)
}

// secretCalls carry every kind of secret: app secret and code in the query, tokens in headers and the
// query of debug_token, the PIN and the verify token in bodies.
var secretCalls = []struct {
	name string
	run  func(c *graph.Client) error
}{
	{"ExchangeCode", func(c *graph.Client) error {
		_, err := c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
		return err
	}},
	{"DebugToken", func(c *graph.Client) error {
		_, err := c.DebugToken(context.Background(), &graph.DebugTokenInput{InputToken: secret(bizToken), AccessToken: secret(systemToken)})
		return err
	}},
	{"SubscribeApp", func(c *graph.Client) error {
		return c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: secret(bizToken),
			OverrideCallbackURI: "https://partner.example/hook", VerifyToken: secret(verifyToken)})
	}},
	{"ListPhoneNumbers", func(c *graph.Client) error {
		_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		return err
	}},
	{"ShareCreditLine", func(c *graph.Client) error {
		_, err := c.ShareCreditLine(context.Background(), &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "USD", AccessToken: secret(systemToken)})
		return err
	}},
	{"RegisterPhone", func(c *graph.Client) error {
		return c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
	}},
	{"SendTextMessage", func(c *graph.Client) error {
		_, err := c.SendTextMessage(context.Background(), &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: "hi", AccessToken: secret(bizToken)})
		return err
	}},
}

// TestNoSecretInAnyFailure runs every secret-carrying call against real servers that fail in every way a
// network and Meta can, and greps the error (in all its renderings) and the logs for the secrets.
func TestNoSecretInAnyFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	var landed atomic.Int32
	modes := []struct {
		name    string
		handler http.HandlerFunc
		base    string // used instead of a server when set
		check   func(t *testing.T, ge *graph.Error)
	}{
		{name: "connection refused", base: refused, check: func(t *testing.T, ge *graph.Error) {
			if ge.Sent || ge.Timeout || ge.HTTPStatus != 0 {
				t.Errorf("refused: %+v, want unsent, no timeout", ge)
			}
		}},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client leaving only once the body has been read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
			check: func(t *testing.T, ge *graph.Error) {
				if !ge.Timeout || !ge.Sent {
					t.Errorf("timeout: %+v, want a sent timeout", ge)
				}
			}},
		{name: "plain 5xx echoing the request", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, echo(r), http.StatusBadGateway)
		}},
		{name: "envelope echoing the request", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":{"message":%q,"error_user_msg":%q,"error_data":{"details":%q},"type":%q,"code":100,"fbtrace_id":%q}}`,
				echo(r), r.URL.RawQuery, r.Header.Get("Authorization"), r.URL.RawQuery, r.Header.Get("Authorization"))
		}},
		{name: "malformed JSON echoing the request", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			fmt.Fprint(w, "{"+echo(r))
		}},
		{name: "redirect to a URL with the secrets", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/landing" {
				landed.Add(1)
				return
			}
			http.Redirect(w, r, "/landing?"+r.URL.RawQuery+"&access_token="+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), http.StatusFound)
		}, check: func(t *testing.T, ge *graph.Error) {
			if ge.HTTPStatus != http.StatusFound {
				t.Errorf("redirect: status %d, want 302", ge.HTTPStatus)
			}
		}},
		{name: "connection cut mid-body", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"echo\":%q", echo(r))
			buf.Flush()
			conn.Close()
		}, check: func(t *testing.T, ge *graph.Error) {
			if ge.HTTPStatus != 0 || !ge.Sent || !ge.Ambiguous() {
				t.Errorf("cut body: %+v, want a sent, ambiguous transport error", ge)
			}
		}},
	}
	for _, m := range modes {
		base := m.base
		if base == "" {
			ts := httptest.NewServer(m.handler)
			t.Cleanup(ts.Close)
			base = ts.URL
		}
		for _, call := range secretCalls {
			t.Run(m.name+"/"+call.name, func(t *testing.T) {
				var logs bytes.Buffer
				var mu sync.Mutex
				c, err := graph.New(graph.Options{
					BaseEndpoint: base,
					CallTimeout:  100 * time.Millisecond,
					Logger:       logging.New(&lockedWriter{w: &logs, mu: &mu}, slog.LevelDebug),
					Retry:        graph.RetryPolicy{MaxAttempts: 2, RetryGraphErrors: true, Sleep: noSleep},
				})
				if err != nil {
					t.Fatal(err)
				}
				err = call.run(c)
				ge, ok := graph.AsError(err)
				if !ok {
					t.Fatalf("error = %v (%T), want *graph.Error", err, err)
				}
				if m.check != nil {
					m.check(t, ge)
				}
				assertNoSecrets(t, "error", fmt.Sprintf("%s | %v | %+v | %#v", err.Error(), err, err, ge))
				mu.Lock()
				defer mu.Unlock()
				if !strings.Contains(logs.String(), "graph attempt") {
					t.Errorf("no attempt logged")
				}
				assertNoSecrets(t, "logs", logs.String())
				if urlQueryInText.MatchString(logs.String()) {
					t.Errorf("logs contain a URL query: %s", logs.String())
				}
			})
		}
	}
	if n := landed.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
}

// urlQueryInText matches a query that was not redacted.
var urlQueryInText = regexp.MustCompile(`\?[^\[\s"]`)

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCallerHTTPClientFollowsNoRedirects(t *testing.T) {
	var landed atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/landing" {
			landed.Add(1)
			fmt.Fprint(w, `{"id":"1"}`)
			return
		}
		http.Redirect(w, r, "/landing", http.StatusMovedPermanently)
	}))
	defer ts.Close()
	hc := &http.Client{} // follows redirects by default
	c, err := graph.New(graph.Options{BaseEndpoint: ts.URL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWABA(context.Background(), &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)})
	if ge, ok := graph.AsError(err); !ok || ge.HTTPStatus != http.StatusMovedPermanently {
		t.Errorf("error = %v, want the 301 as an error", err)
	}
	if landed.Load() != 0 {
		t.Errorf("the redirect was followed")
	}
	if hc.CheckRedirect != nil {
		t.Errorf("the caller's http.Client was modified")
	}
}
