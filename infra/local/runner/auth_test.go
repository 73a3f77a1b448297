package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/auth/authtest"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// send makes a request to the runner with the given Host header (empty: the URL's) and bearer token
// (empty: none), and returns the status, the headers and the body.
func send(t *testing.T, base, method, path, host, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// startConfig starts a runner on cfg and stops it when the test ends.
func startConfig(t *testing.T, cfg Config) *Runner {
	t.Helper()
	r, err := New(cfg, logging.New(&testlog.Buffer{}, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return r
}

func envConfig(t *testing.T, env map[string]string) Config {
	t.Helper()
	cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLocalRoutesOnlyOnLoopback(t *testing.T) {
	h := start(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(h.r.URL, "http://"))
	local := []string{"/_local/executions", "/_local/events", "/_local/sdk.js"}
	hosts := []struct {
		host string
		want int
	}{
		{"", http.StatusOK},
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"LOCALHOST:" + port, http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"localhost", http.StatusOK},
		{"evil.example:" + port, http.StatusForbidden},
		{"evil.example", http.StatusForbidden},
		{"localhost.evil.example:" + port, http.StatusForbidden},
		{"127.0.0.1.nip.io:" + port, http.StatusForbidden},
		{"127.0.0.2:" + port, http.StatusForbidden},
		{"0.0.0.0:" + port, http.StatusForbidden},
	}
	for _, p := range local {
		for _, hc := range hosts {
			t.Run(p+" Host "+hc.host, func(t *testing.T) {
				status, _, body := send(t, h.r.URL, "GET", p, hc.host, "", "")
				if status != hc.want {
					t.Errorf("got %d (%s), want %d", status, body, hc.want)
				}
			})
		}
	}
	// A code minted for a page on another host name is refused too.
	if status, _, body := send(t, h.r.URL, "POST", "/_local/codes", "evil.example", "", `{"waba_id":"1","phone_number_id":"2"}`); status != http.StatusForbidden {
		t.Errorf("POST /_local/codes from evil.example: got %d (%s), want 403", status, body)
	}
	// The API itself answers whatever the Host.
	if status, _, _ := send(t, h.r.URL, "GET", "/healthz", "evil.example", "", ""); status != http.StatusOK {
		t.Errorf("GET /healthz from evil.example: got %d, want 200", status)
	}
}

func TestLocalRoutesOffAgainstTheRealGraphAPI(t *testing.T) {
	cfg := envConfig(t, map[string]string{
		EnvAddr: "127.0.0.1:0", EnvGraphBaseURL: "https://graph.facebook.com",
		EnvAppID: "123456789012345", EnvAppSecret: "partner-secret", EnvVerifyToken: "partner-verify", EnvCreditLineID: "",
	})
	r := startConfig(t, cfg)
	if r.Sim != nil {
		t.Fatal("a simulator runs against the real Graph API")
	}
	for _, p := range []string{"/_local/executions", "/_local/events", "/_local/sdk.js", "/_local/signup-popup.html"} {
		if status, _, body := send(t, r.URL, "GET", p, "", "", ""); status != http.StatusNotFound {
			t.Errorf("GET %s: got %d (%s), want 404", p, status, body)
		}
	}
	if status, _, _ := send(t, r.URL, "POST", "/_local/codes", "", "", `{}`); status != http.StatusNotFound {
		t.Errorf("POST /_local/codes: got %d, want 404", status)
	}
}

func TestLocalRoutesOffOnOtherInterfaces(t *testing.T) {
	cfg := envConfig(t, map[string]string{EnvAddr: "0.0.0.0:0", EnvTimeScale: "0.001"})
	r, err := New(cfg, logging.New(&testlog.Buffer{}, slog.LevelDebug))
	if err != nil {
		t.Skipf("cannot listen on all interfaces here: %v", err)
	}
	go func() { _ = r.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.URL, "http://"))
	base := "http://127.0.0.1:" + port
	for _, p := range []string{"/_local/executions", "/_local/sdk.js"} {
		if status, _, body := send(t, base, "GET", p, "", "", ""); status != http.StatusNotFound {
			t.Errorf("GET %s on a runner listening on 0.0.0.0: got %d (%s), want 404", p, status, body)
		}
	}
	// The page is still served, with its committed config (no local SDK to point at).
	status, _, body := send(t, base, "GET", "/config.js", "", "", "")
	if status != http.StatusOK || strings.Contains(body, "/_local/") {
		t.Errorf("GET /config.js: got %d %q, want the committed config", status, body)
	}
}

func TestAuthConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"issuer without audience", map[string]string{EnvAuthIssuer: "https://issuer.example"}, "set both"},
		{"audience without issuer", map[string]string{EnvAuthAudience: "api"}, "set both"},
		{"http issuer off loopback", map[string]string{EnvAuthIssuer: "http://issuer.example", EnvAuthAudience: "api"}, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	cfg := envConfig(t, map[string]string{EnvAuthIssuer: "http://127.0.0.1:9999", EnvAuthAudience: "api"})
	if cfg.AuthIssuer == "" || cfg.AuthAudience != "api" {
		t.Errorf("loopback http issuer: got %+v", cfg)
	}
	// An issuer that does not answer stops the runner at start.
	cfg.Addr = "127.0.0.1:0"
	if _, err := New(cfg, logging.Discard()); err == nil || !strings.Contains(err.Error(), EnvAuthIssuer) {
		t.Errorf("unreachable issuer: got %v, want an error naming %s", err, EnvAuthIssuer)
	}
}

func TestPartnerAuthenticationLocally(t *testing.T) {
	iss := authtest.NewIssuer(t)
	h := start(t, map[string]string{EnvAuthIssuer: iss.URL, EnvAuthAudience: authtest.Audience})
	alice, bob := iss.Token(t, "customer-alice"), iss.Token(t, "customer-bob")
	code := fmt.Sprintf("sim:%s:%s:%s", waba, phone, onboarding.NewID())
	body := fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q}`, code, waba, phone)

	status, hdr, resp := send(t, h.r.URL, "POST", "/signup", "", "", body)
	if status != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("signup without a token: got %d %q (%s), want 401 with a Bearer challenge", status, hdr.Get("WWW-Authenticate"), resp)
	}
	if h.r.Sim.Calls("oauth") != 0 {
		t.Error("the code was exchanged for an unauthenticated signup")
	}
	if status, _, _ := send(t, h.r.URL, "GET", "/healthz", "", "", ""); status != http.StatusOK {
		t.Errorf("GET /healthz without a token: got %d, want 200", status)
	}
	if status, _, resp := send(t, h.r.URL, "GET", "/webhooks?hub.mode=subscribe&hub.verify_token="+DefaultVerifyToken+"&hub.challenge=1158201444", "", "", ""); status != http.StatusOK || resp != "1158201444" {
		t.Errorf("webhook handshake without a token: got %d %q, want 200 with the challenge", status, resp)
	}

	status, _, resp = send(t, h.r.URL, "POST", "/signup", "", alice, body)
	if status != http.StatusAccepted {
		t.Fatalf("signup with a token: got %d (%s)", status, resp)
	}
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(resp), &created)
	status, _, resp = send(t, h.r.URL, "GET", "/onboardings/"+created.ID, "", alice, "")
	if status != http.StatusOK || !strings.Contains(resp, `"customer_ref":"customer-alice"`) {
		t.Errorf("owner's GET: got %d (%s)", status, resp)
	}
	if status, _, _ := send(t, h.r.URL, "GET", "/onboardings/"+created.ID, "", bob, ""); status != http.StatusNotFound {
		t.Errorf("another customer's GET: got %d, want 404", status)
	}
	if status, _, _ := send(t, h.r.URL, "GET", "/onboardings/"+created.ID, "", "", ""); status != http.StatusUnauthorized {
		t.Errorf("GET without a token: got %d, want 401", status)
	}
	status, _, resp = send(t, h.r.URL, "GET", "/onboardings", "", alice, "")
	if status != http.StatusOK || !strings.Contains(resp, created.ID) {
		t.Errorf("owner's listing: got %d (%s), want it to hold %s", status, resp, created.ID)
	}
	status, _, resp = send(t, h.r.URL, "GET", "/onboardings", "", bob, "")
	if status != http.StatusOK || strings.Contains(resp, created.ID) {
		t.Errorf("another customer's listing: got %d (%s), want it without %s", status, resp, created.ID)
	}
}

// TestConcurrentSignupsRegisterTheWinnersPIN: 20 signups for one WABA and phone, each with its own code
// and PIN, race through the HTTP API; one wins, the others get 409 naming it, and the PIN the workflow
// registers at Meta (the simulator) is the winner's. The first register call answers 133015 (wait five
// minutes, 1.5 s at this time scale), so the winner is still running, and holds the WABA+phone guard,
// while every other signup is decided.
func TestConcurrentSignupsRegisterTheWinnersPIN(t *testing.T) {
	const n = 20
	h := start(t, map[string]string{EnvCreditLineID: "", EnvTimeScale: "0.005", EnvSimFaults: "register:133015x1"})
	type answer struct {
		status int
		m      map[string]any
		pin    string
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		pin := fmt.Sprintf("%06d", 200000+i)
		wg.Go(func() {
			<-start
			status, m := h.signupStatus(fmt.Sprintf(`,"pin":%q`, pin))
			answers[i] = answer{status, m, pin}
		})
	}
	close(start)
	wg.Wait()
	var winner *answer
	for i := range answers {
		if answers[i].status == http.StatusAccepted {
			if winner != nil {
				t.Fatalf("two signups won: %v and %v", winner.m, answers[i].m)
			}
			winner = &answers[i]
		}
	}
	if winner == nil {
		t.Fatalf("no signup won: %v", answers)
	}
	id := winner.m["id"].(string)
	for _, a := range answers {
		if a.status == http.StatusAccepted {
			continue
		}
		if a.status != http.StatusConflict || a.m["id"] != id {
			t.Errorf("loser: got %d %v, want 409 naming %s", a.status, a.m, id)
		}
	}
	h.await(id, onboarding.StatusCompleted)
	ph, ok := h.r.Sim.PhoneState(phone)
	if !ok {
		t.Fatal("the simulator does not know the phone")
	}
	if got, want := ph.PIN.Reveal(), winner.pin; got != want {
		t.Errorf("PIN registered at the simulator: got %s, want the winner's %s", got, want)
	}
}

// TestExpiredCodeLearnsNothingAboutARunningOnboarding: POST /signup with an expired code for a WABA and
// phone whose onboarding is running is 400 code_exchange_failed, not a 409, and the answer holds no id; a
// valid code for them gets the 409 naming it.
func TestExpiredCodeLearnsNothingAboutARunningOnboarding(t *testing.T) {
	// The first register call answers 133015 (wait five minutes: 1.5 s here), so the onboarding runs.
	h := start(t, map[string]string{EnvCreditLineID: "", EnvTimeScale: "0.005", EnvSimFaults: "register:133015x1"})
	id := h.signup(phone, "")
	status, m := h.do("POST", "/signup", fmt.Sprintf(`{"code":"expired-0001","waba_id":%q,"phone_number_id":%q,"pin":"123456"}`, waba, phone))
	e, _ := m["error"].(map[string]any)
	if status != http.StatusBadRequest || e["code"] != onboarding.CodeCodeExchangeFailed {
		t.Errorf("expired code: got %d %v, want 400 %s", status, m, onboarding.CodeCodeExchangeFailed)
	}
	if b, _ := json.Marshal(m); strings.Contains(string(b), id) {
		t.Errorf("the refusal names the running onboarding: %s", b)
	}
	status, m = h.signupStatus("")
	if status != http.StatusConflict || m["id"] != id {
		t.Errorf("valid code: got %d %v, want 409 naming %s", status, m, id)
	}
	h.await(id, onboarding.StatusCompleted)
}
