package graphsim_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// Test credentials: distinctive strings, so that a leak is easy to grep for.
const (
	appID        = graphsim.DefaultAppID
	appSecret    = "app-secret-for-sim-tests-7f3a9c"
	systemToken  = "EAAsystemTokenForSimTests0123456789abcdef"
	systemUserID = graphsim.DefaultSystemUserID
	creditLine   = graphsim.DefaultCreditLineID
)

// fakeClock is a settable clock shared by the simulator and the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// event is one Observer call.
type event struct {
	kind, waba, phone, user, messageID, text string
	at                                       time.Time
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) PhoneRegistered(waba, phone, display string) {
	r.add(event{kind: "registered", waba: waba, phone: phone, text: display})
}

func (r *recorder) InboundMessage(waba, phone, from, id, text string, at time.Time) {
	r.add(event{kind: "inbound", waba: waba, phone: phone, user: from, messageID: id, text: text, at: at})
}

func (r *recorder) MessageSent(waba, phone, to, id string, at time.Time) {
	r.add(event{kind: "sent", waba: waba, phone: phone, user: to, messageID: id, at: at})
}

// BusinessAppSynced records nothing: the coexistence sync tests read the world, not the observer.
func (r *recorder) BusinessAppSynced(string, string, string, string, time.Time) {}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *recorder) count(kind string) int {
	n := 0
	for _, e := range r.all() {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// env is a simulator behind httptest with a client pointed at it.
type env struct {
	sim    *graphsim.Server
	url    string
	client *graph.Client
	clock  *fakeClock
	obs    *recorder
	logs   *testlog.Buffer
}

func noSleep(context.Context, time.Duration) error { return nil }

func newEnv(t testing.TB, mods ...func(*graphsim.Config)) *env {
	t.Helper()
	e := &env{clock: newClock(), obs: &recorder{}, logs: &testlog.Buffer{}}
	logger := logging.New(e.logs, slog.LevelDebug)
	cfg := graphsim.Config{
		AppSecret:    onboarding.NewSecret(appSecret),
		SystemToken:  onboarding.NewSecret(systemToken),
		SystemUserID: systemUserID,
		CreditLineID: creditLine,
		Now:          e.clock.Now,
		Logger:       logger,
		Observer:     e.obs,
	}
	for _, m := range mods {
		m(&cfg)
	}
	e.sim = graphsim.New(cfg)
	ts := httptest.NewServer(e.sim)
	t.Cleanup(ts.Close)
	t.Cleanup(e.sim.Close) // runs first: releases stalled responses so that ts.Close can finish
	e.url = ts.URL
	c, err := graph.New(graph.Options{
		BaseEndpoint: ts.URL,
		HTTPClient:   ts.Client(),
		CallTimeout:  5 * time.Second,
		Logger:       logger,
		Retry:        graph.RetryPolicy{MaxAttempts: 1, Sleep: noSleep},
	})
	if err != nil {
		t.Fatalf("graph.New: %v", err)
	}
	e.client = c
	return e
}

var ctx = context.Background()

func secret(s string) onboarding.Secret { return onboarding.NewSecret(s) }

func (e *env) exchange(code string) (*graph.ExchangeCodeOutput, error) {
	return e.client.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
}

// token exchanges a fresh code for wabaID and phoneID and returns the business token.
func (e *env) token(t testing.TB, wabaID, phoneID string) onboarding.Secret {
	t.Helper()
	out, err := e.exchange(e.sim.IssueCode(wabaID, phoneID))
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	return out.AccessToken
}

// graphErr asserts err is a *graph.Error with the code and subcode.
func graphErr(t testing.TB, err error, code, subcode int) *graph.Error {
	t.Helper()
	ge, ok := graph.AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *graph.Error with code %d", err, err, code)
	}
	if ge.Code != code || ge.Subcode != subcode {
		t.Fatalf("graph error code/subcode = %d/%d, want %d/%d (%v)", ge.Code, ge.Subcode, code, subcode, err)
	}
	if ge.FBTraceID == "" {
		t.Errorf("graph error without fbtrace_id: %v", err)
	}
	return ge
}
