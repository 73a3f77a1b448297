package tokenhealth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/store/memory"
	"github.com/waes/onboarding/shared/tokenhealth"
	vaultmemory "github.com/waes/onboarding/shared/vault/memory"
)

var now = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)

const (
	appID         = "236484624622562"
	appSecret     = "app-secret-value-do-not-log"
	systemToken   = "SYSTEM-TOKEN-do-not-log"
	businessToken = "BUSINESS-TOKEN-do-not-log"
	waba          = "102290129340398"
	phone         = "106540352242922"
)

func TestAssess(t *testing.T) {
	week := tokenhealth.DefaultWarnWithin
	tests := []struct {
		name       string
		d          graph.DebugTokenOutput
		wantState  tokenhealth.State
		wantReason string
	}{
		{"never expires", graph.DebugTokenOutput{AppID: appID, IsValid: true}, tokenhealth.StateValid, ""},
		{"expires in 30 days", graph.DebugTokenOutput{AppID: appID, IsValid: true, ExpiresAt: now.Add(30 * 24 * time.Hour)}, tokenhealth.StateValid, ""},
		{"expires in 8 days", graph.DebugTokenOutput{IsValid: true, ExpiresAt: now.Add(8 * 24 * time.Hour)}, tokenhealth.StateValid, ""},
		{"expires in 3 days", graph.DebugTokenOutput{AppID: appID, IsValid: true, ExpiresAt: now.Add(72 * time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonExpiresSoon},
		{"expires in a minute", graph.DebugTokenOutput{IsValid: true, ExpiresAt: now.Add(time.Minute)}, tokenhealth.StateExpiring, tokenhealth.ReasonExpiresSoon},
		{"expired though Meta says valid", graph.DebugTokenOutput{IsValid: true, ExpiresAt: now}, tokenhealth.StateInvalid, tokenhealth.ReasonExpired},
		{"expired session", graph.DebugTokenOutput{IsValid: false, ErrorCode: 190, ErrorSubcode: 463, ExpiresAt: now.Add(-time.Hour)}, tokenhealth.StateInvalid, tokenhealth.ReasonExpired},
		{"revoked", graph.DebugTokenOutput{IsValid: false, ErrorCode: 190, ErrorSubcode: 460}, tokenhealth.StateInvalid, tokenhealth.ReasonInvalid},
		{"unknown token", graph.DebugTokenOutput{IsValid: false}, tokenhealth.StateInvalid, tokenhealth.ReasonInvalid},
		{"another app's token", graph.DebugTokenOutput{AppID: "999", IsValid: true}, tokenhealth.StateInvalid, tokenhealth.ReasonOtherApp},
		{"data access ends in 2 days", graph.DebugTokenOutput{IsValid: true, DataAccessExpiresAt: now.Add(48 * time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonDataAccessExpiring},
		{"data access ended", graph.DebugTokenOutput{IsValid: true, DataAccessExpiresAt: now.Add(-time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonDataAccessExpired},
		{"data access in 90 days", graph.DebugTokenOutput{IsValid: true, DataAccessExpiresAt: now.Add(90 * 24 * time.Hour)}, tokenhealth.StateValid, ""},
		{"token end wins over data access", graph.DebugTokenOutput{IsValid: true, ExpiresAt: now.Add(time.Hour), DataAccessExpiresAt: now.Add(-time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonExpiresSoon},
		{"user token's data access ends in 2 days", graph.DebugTokenOutput{Type: "USER", IsValid: true, DataAccessExpiresAt: now.Add(48 * time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonDataAccessExpiring},
		{"system user token: data access not judged", graph.DebugTokenOutput{Type: "SYSTEM_USER", IsValid: true, DataAccessExpiresAt: now.Add(-time.Hour)}, tokenhealth.StateValid, ""},
		{"system user token: its own end is", graph.DebugTokenOutput{Type: "SYSTEM_USER", IsValid: true, ExpiresAt: now.Add(time.Hour)}, tokenhealth.StateExpiring, tokenhealth.ReasonExpiresSoon},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state, reason := tokenhealth.Assess(&tc.d, appID, now, week)
			if state != tc.wantState || reason != tc.wantReason {
				t.Errorf("Assess: got %s/%q, want %s/%q", state, reason, tc.wantState, tc.wantReason)
			}
		})
	}
}

// graphFunc fakes the Graph client's DebugToken.
type graphFunc func(ctx context.Context, in *graph.DebugTokenInput) (*graph.DebugTokenOutput, error)

func (f graphFunc) DebugToken(ctx context.Context, in *graph.DebugTokenInput, _ ...func(*graph.Options)) (*graph.DebugTokenOutput, error) {
	return f(ctx, in)
}

// answers returns a fake that answers by input token: a missing entry is an unknown token.
func answers(byToken map[string]graph.DebugTokenOutput) graphFunc {
	return func(_ context.Context, in *graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
		if got, want := in.AccessToken.Reveal(), appID+"|"+appSecret; got != want {
			return nil, &graph.Error{Call: graph.CallDebugToken, Code: 190, Class: graph.ClassPermanent, Message: "bad app token"}
		}
		d, ok := byToken[in.InputToken.Reveal()]
		if !ok {
			return &graph.DebugTokenOutput{IsValid: false, ErrorCode: 190, ErrorMessage: "Invalid OAuth access token."}, nil
		}
		return &d, nil
	}
}

type fixture struct {
	store *memory.Store
	vault *vaultmemory.Vault
	sink  *partnerevents.MemorySink
	logs  *bytes.Buffer
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		store: memory.New(),
		vault: vaultmemory.New(onboarding.AppConfig{AppID: appID, AppSecret: onboarding.NewSecret(appSecret), SystemToken: onboarding.NewSecret(systemToken)}),
		sink:  &partnerevents.MemorySink{},
		logs:  &bytes.Buffer{},
		clock: now,
	}
	return f
}

func (f *fixture) checker(g tokenhealth.GraphAPI) *tokenhealth.Checker {
	log := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return tokenhealth.New(f.store, f.store, f.vault, g, f.sink, log, func() time.Time { return f.clock }, tokenhealth.Config{})
}

// onboard creates a COMPLETED onboarding of waba/phone created at created, and stores token for the WABA.
func (f *fixture) onboard(t *testing.T, wabaID, phoneID, token string, created time.Time) *onboarding.Record {
	t.Helper()
	r := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: wabaID, PhoneNumberID: phoneID, Event: onboarding.EventFinish, Now: created})
	ctx := context.Background()
	if err := f.store.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Steps {
		if !s.Status.Done() {
			if err := r.SucceedStep(s.Name, "", created); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Complete(false, created); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if token != "" {
		if err := f.vault.PutBusinessToken(ctx, wabaID, onboarding.NewSecret(token), time.Time{}, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (f *fixture) get(t *testing.T, id string) *onboarding.Record {
	t.Helper()
	r, err := f.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) noSecretsLogged(t *testing.T) {
	t.Helper()
	for _, s := range []string{appSecret, systemToken, businessToken} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("a secret is in the logs:\n%s", f.logs)
		}
		for _, ev := range f.sink.Events() {
			d, _ := partnerevents.Detail(ev)
			if strings.Contains(d, s) {
				t.Errorf("a secret is in event %s", d)
			}
		}
	}
}

func (f *fixture) metricLines() int {
	return strings.Count(f.logs.String(), `"metric":"`+tokenhealth.UnhealthyMetric+`"`)
}

func validSystem() graph.DebugTokenOutput { return graph.DebugTokenOutput{AppID: appID, IsValid: true} }

func TestRunBusinessTokens(t *testing.T) {
	tests := []struct {
		name       string
		answer     *graph.DebugTokenOutput // nil: unknown to Meta
		wantType   string                  // "" no event
		wantReason string
	}{
		{"valid", &graph.DebugTokenOutput{AppID: appID, IsValid: true, DataAccessExpiresAt: now.Add(60 * 24 * time.Hour)}, "", ""},
		{"expiring", &graph.DebugTokenOutput{AppID: appID, IsValid: true, ExpiresAt: now.Add(72 * time.Hour)}, partnerevents.TypeTokenExpiring, tokenhealth.ReasonExpiresSoon},
		{"expired", &graph.DebugTokenOutput{AppID: appID, IsValid: false, ErrorCode: 190, ErrorSubcode: 463, ErrorMessage: "Session has expired"}, partnerevents.TypeTokenInvalid, tokenhealth.ReasonExpired},
		{"revoked", nil, partnerevents.TypeTokenInvalid, tokenhealth.ReasonInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			older := f.onboard(t, waba, phone, "", now.Add(-48*time.Hour))
			rec := f.onboard(t, waba, phone, businessToken, now.Add(-24*time.Hour))
			other := f.onboard(t, waba, "106540352242923", "", now.Add(-36*time.Hour))
			byToken := map[string]graph.DebugTokenOutput{systemToken: validSystem()}
			if tc.answer != nil {
				byToken[businessToken] = *tc.answer
			}
			c := f.checker(answers(byToken))
			rep, err := c.Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Checked != 2 || rep.Failed != 0 {
				t.Errorf("report: got %+v, want 2 checked, none failed", rep)
			}
			evs := f.sink.Events()
			if tc.wantType == "" {
				if len(evs) != 0 || rep.Marked != 0 || f.get(t, rec.ID).ReauthRequired || f.metricLines() != 0 {
					t.Fatalf("valid token: got events %+v, marked %d, metric lines %d; want none", evs, rep.Marked, f.metricLines())
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("events: got %+v, want one %s", evs, tc.wantType)
			}
			ev := evs[0]
			if ev.Type != tc.wantType || ev.Reason != tc.wantReason || ev.TokenType != partnerevents.TokenBusiness ||
				ev.WABAID != waba || ev.OnboardingID != rec.ID || ev.PhoneNumberID != phone {
				t.Errorf("event: got %+v, want %s/%s for onboarding %s", ev, tc.wantType, tc.wantReason, rec.ID)
			}
			state := strings.TrimPrefix(tc.wantType, "token.")
			if got, want := ev.ID, "token:"+waba+":"+state+":2026-12-04"; got != want {
				t.Errorf("event id: got %q, want %q", got, want)
			}
			// The newest onboarding of each phone is marked; the older one of the same phone is history.
			if !f.get(t, rec.ID).ReauthRequired || !f.get(t, other.ID).ReauthRequired || f.get(t, older.ID).ReauthRequired {
				t.Errorf("reauth_required: newest %t, other phone %t, older %t; want true, true, false",
					f.get(t, rec.ID).ReauthRequired, f.get(t, other.ID).ReauthRequired, f.get(t, older.ID).ReauthRequired)
			}
			if rep.Marked != 2 || rep.Published != 1 || f.metricLines() != 1 {
				t.Errorf("report %+v, metric lines %d: want 2 marked, 1 published, 1 metric line", rep, f.metricLines())
			}
			f.noSecretsLogged(t)

			// Idempotent: a second run the same day publishes nothing and changes no record.
			version := f.get(t, rec.ID).Version
			rep2, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := len(f.sink.Events()); got != 1 || rep2.Published != 0 || rep2.Marked != 0 {
				t.Errorf("second run: %d events in all, report %+v; want still 1, nothing published or marked", got, rep2)
			}
			if got := f.get(t, rec.ID).Version; got != version {
				t.Errorf("second run rewrote the record: version %d, want %d", got, version)
			}
			// The next day the token, still unhealthy, is reported again, once.
			f.clock = now.Add(24 * time.Hour)
			if _, err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if evs := f.sink.Events(); len(evs) != 2 || evs[1].ID != "token:"+waba+":"+state+":2026-12-05" {
				t.Errorf("next day: events %+v, want a second one dated 2026-12-05", evs)
			}
		})
	}
}

func TestRunSkips(t *testing.T) {
	f := newFixture(t)
	off := f.onboard(t, "102290129340401", phone, businessToken, now.Add(-time.Hour))
	off.Offboard(now)
	if err := f.store.Update(context.Background(), off); err != nil {
		t.Fatal(err)
	}
	gone := f.onboard(t, "102290129340402", "106540352242924", "", now.Add(-time.Hour)) // no secret
	var asked atomic.Int32
	g := graphFunc(func(ctx context.Context, in *graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
		if in.InputToken.Reveal() != systemToken {
			asked.Add(1)
		}
		return answers(map[string]graph.DebugTokenOutput{systemToken: validSystem()})(ctx, in)
	})
	rep, err := f.checker(g).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != 2 || asked.Load() != 0 || len(f.sink.Events()) != 0 {
		t.Errorf("report %+v, business debug_token calls %d, events %d: want 2 skipped, no call, no event", rep, asked.Load(), len(f.sink.Events()))
	}
	if f.get(t, gone.ID).ReauthRequired || f.get(t, off.ID).ReauthRequired {
		t.Errorf("a skipped WABA's onboarding was marked")
	}
}

func TestRunSystemToken(t *testing.T) {
	tests := []struct {
		name      string
		answer    graph.DebugTokenOutput
		wantType  string
		wantLevel string
	}{
		{"invalid", graph.DebugTokenOutput{AppID: appID, IsValid: false, ErrorCode: 190, ErrorSubcode: 460}, partnerevents.TypeTokenInvalid, "ERROR"},
		{"expiring", graph.DebugTokenOutput{AppID: appID, IsValid: true, ExpiresAt: now.Add(24 * time.Hour)}, partnerevents.TypeTokenExpiring, "WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.onboard(t, waba, phone, businessToken, now.Add(-time.Hour))
			c := f.checker(answers(map[string]graph.DebugTokenOutput{systemToken: tc.answer, businessToken: {AppID: appID, IsValid: true}}))
			if _, err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			evs := f.sink.Events()
			if len(evs) != 1 || evs[0].Type != tc.wantType || evs[0].TokenType != partnerevents.TokenSystem || evs[0].WABAID != "" {
				t.Fatalf("events: got %+v, want one system %s", evs, tc.wantType)
			}
			if got, want := evs[0].ID, "token:system:"+strings.TrimPrefix(tc.wantType, "token.")+":2026-12-04"; got != want {
				t.Errorf("id: got %q, want %q", got, want)
			}
			// Operator-facing: the metric line, at the level the case wants, saying what to do.
			line := metricLine(t, f.logs.String())
			if !strings.Contains(line, `"level":"`+tc.wantLevel+`"`) || !strings.Contains(line, "stage secret") {
				t.Errorf("metric line: got %s, want level %s and the action", line, tc.wantLevel)
			}
			if f.get(t, rec.ID).ReauthRequired {
				t.Errorf("a system token problem marked a customer's onboarding")
			}
			f.noSecretsLogged(t)
		})
	}
}

func metricLine(t *testing.T, logs string) string {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"metric":"`+tokenhealth.UnhealthyMetric+`"`) {
			return l
		}
	}
	t.Fatalf("no metric line in:\n%s", logs)
	return ""
}

// graphServer answers debug_token through a real Graph client: each call takes the next of answers (the
// last one repeats), as Meta's JSON.
func graphClient(t *testing.T, calls *atomic.Int32, answers ...string) *graph.Client {
	t.Helper()
	hc := graph.HTTPClientFunc(func(req *http.Request) (*http.Response, error) {
		n := int(calls.Add(1)) - 1
		body := answers[min(n, len(answers)-1)]
		status := http.StatusOK
		if strings.Contains(body, `"error":{"message"`) {
			status = http.StatusBadRequest
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	})
	c, err := graph.New(graph.Options{BaseEndpoint: "http://127.0.0.1:9", HTTPClient: hc, Retry: graph.RetryPolicy{
		MaxAttempts: 3, Sleep: func(context.Context, time.Duration) error { return nil },
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	metaTransient = `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":2,"fbtrace_id":"AbC"}}`
	metaThrottled = `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"AbD"}}`
	metaRevoked   = `{"data":{"app_id":"236484624622562","type":"SYSTEM_USER","is_valid":false,"scopes":[],"error":{"code":190,"subcode":460,"message":"Error validating access token: The session has been invalidated."}}}`
)

// TestRunTransientGraphErrors runs the check through the real client: transient and throttled errors are
// retried by the client's policy, and a token is never judged on an error.
func TestRunTransientGraphErrors(t *testing.T) {
	tests := []struct {
		name        string
		answers     []string
		wantCalls   int32
		wantFailed  int
		wantInvalid bool
	}{
		{"transient then the answer", []string{metaTransient, metaThrottled, metaRevoked}, 3, 0, true},
		{"transient throughout", []string{metaTransient}, 3, 1, false},
		{"network errors throughout", []string{"network"}, 3, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.vault.SetAppConfig(onboarding.AppConfig{AppID: appID, AppSecret: onboarding.NewSecret(appSecret)}) // no system token
			rec := f.onboard(t, waba, phone, businessToken, now.Add(-time.Hour))
			var calls atomic.Int32
			var g tokenhealth.GraphAPI = graphClient(t, &calls, tc.answers...)
			if tc.answers[0] == "network" {
				hc := graph.HTTPClientFunc(func(*http.Request) (*http.Response, error) {
					calls.Add(1)
					return nil, errors.New("connection reset by peer")
				})
				c, err := graph.New(graph.Options{BaseEndpoint: "http://127.0.0.1:9", HTTPClient: hc,
					Retry: graph.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}})
				if err != nil {
					t.Fatal(err)
				}
				g = c
			}
			rep, err := f.checker(g).Run(context.Background())
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("debug_token attempts: got %d, want %d", got, tc.wantCalls)
			}
			if rep.Failed != tc.wantFailed || (tc.wantFailed > 0) != errors.Is(err, tokenhealth.ErrIncomplete) {
				t.Errorf("report %+v, error %v: want %d failed (ErrIncomplete when any)", rep, err, tc.wantFailed)
			}
			if got := f.get(t, rec.ID).ReauthRequired; got != tc.wantInvalid {
				t.Errorf("reauth_required: got %t, want %t", got, tc.wantInvalid)
			}
			if got := len(f.sink.Events()); got != map[bool]int{true: 1, false: 0}[tc.wantInvalid] {
				t.Errorf("events: got %d", got)
			}
			f.noSecretsLogged(t)
		})
	}
}

// TestRunPublishFailure: a failed publish leaves the claim open, so the next run (same day) publishes.
func TestRunPublishFailure(t *testing.T) {
	f := newFixture(t)
	f.onboard(t, waba, phone, businessToken, now.Add(-time.Hour))
	fail := true
	f.sink.Fail = func() error {
		if fail {
			return errors.New("bus unavailable")
		}
		return nil
	}
	c := f.checker(answers(map[string]graph.DebugTokenOutput{systemToken: validSystem()}))
	if _, err := c.Run(context.Background()); !errors.Is(err, tokenhealth.ErrIncomplete) {
		t.Fatalf("Run with the bus down: got %v, want ErrIncomplete", err)
	}
	fail = false
	f.clock = now.Add(10 * time.Minute) // past the claim's lease
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if evs := f.sink.Events(); len(evs) != 1 || evs[0].Type != partnerevents.TypeTokenInvalid {
		t.Errorf("events after the retry: got %+v, want one token.invalid", evs)
	}
}

// TestRunAppTokenRefused: Meta refusing the app token is the operator's problem, never the customer's.
func TestRunAppTokenRefused(t *testing.T) {
	f := newFixture(t)
	rec := f.onboard(t, waba, phone, businessToken, now.Add(-time.Hour))
	f.vault.SetAppConfig(onboarding.AppConfig{AppID: appID, AppSecret: onboarding.NewSecret("wrong"), SystemToken: onboarding.NewSecret(systemToken)})
	rep, err := f.checker(answers(nil)).Run(context.Background())
	if !errors.Is(err, tokenhealth.ErrIncomplete) || rep.Failed != 2 {
		t.Fatalf("Run: report %+v, error %v; want 2 failed, ErrIncomplete", rep, err)
	}
	if f.get(t, rec.ID).ReauthRequired || len(f.sink.Events()) != 0 {
		t.Errorf("a refused app token marked the customer or published")
	}
	if !strings.Contains(f.logs.String(), `"level":"ERROR"`) || !strings.Contains(f.logs.String(), "app_secret in the stage secret") {
		t.Errorf("no operator-facing error line:\n%s", f.logs)
	}
}
