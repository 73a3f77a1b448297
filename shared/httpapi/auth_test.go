package httpapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/auth/authtest"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
	"github.com/waes/onboarding/shared/store/memory"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
)

const (
	authWABA  = "102290129340398"
	authPhone = "106540352242922"
	authAppID = "236484624622562"
)

// grantingGraph grants authWABA and authPhone to every code, and counts the exchanges.
type grantingGraph struct{ exchanges atomic.Int64 }

func (g *grantingGraph) ExchangeCode(context.Context, *graph.ExchangeCodeInput, ...func(*graph.Options)) (*graph.ExchangeCodeOutput, error) {
	g.exchanges.Add(1)
	return &graph.ExchangeCodeOutput{AccessToken: onboarding.NewSecret("EAAbusiness"), TokenType: "bearer"}, nil
}

func (g *grantingGraph) DebugToken(context.Context, *graph.DebugTokenInput, ...func(*graph.Options)) (*graph.DebugTokenOutput, error) {
	scopes := []string{"whatsapp_business_management", "whatsapp_business_messaging"}
	out := &graph.DebugTokenOutput{AppID: authAppID, IsValid: true, Scopes: scopes}
	for _, s := range scopes {
		out.GranularScopes = append(out.GranularScopes, graph.GranularScope{Scope: s, TargetIDs: []string{authWABA}})
	}
	return out, nil
}

func (g *grantingGraph) ListPhoneNumbers(context.Context, *graph.ListPhoneNumbersInput, ...func(*graph.Options)) (*graph.ListPhoneNumbersOutput, error) {
	return &graph.ListPhoneNumbersOutput{PhoneNumbers: []graph.PhoneNumber{{ID: authPhone}}}, nil
}

type nopWorkflow struct{}

func (nopWorkflow) Start(_ context.Context, in onboarding.StartInput) (string, error) {
	return "arn:local:" + in.Name, nil
}
func (nopWorkflow) SendTaskSuccess(context.Context, string, []byte) error         { return nil }
func (nopWorkflow) SendTaskFailure(context.Context, string, string, string) error { return nil }

type authFixture struct {
	iss   *authtest.Issuer
	api   *API
	store *memory.Store
	vault *vaultmem.Vault
	graph *grantingGraph
}

// newAuthFixture serves the API with partner authentication against a local issuer, on the real signup
// service and the memory adapters.
func newAuthFixture(t *testing.T) *authFixture {
	t.Helper()
	iss := authtest.NewIssuer(t)
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Issuer: iss.URL, Audience: authtest.Audience})
	if err != nil {
		t.Fatal(err)
	}
	f := &authFixture{iss: iss, store: memory.New(), graph: &grantingGraph{}}
	f.vault = vaultmem.New(onboarding.AppConfig{AppID: authAppID, AppSecret: onboarding.NewSecret("secret"), WebhookVerifyToken: onboarding.NewSecret("v")})
	svc := signup.New(f.store, f.vault, f.graph, nopWorkflow{}, signup.Options{Config: signup.Config{DefaultCurrency: "USD"}})
	f.api = New(svc, Options{Auth: v})
	return f
}

func (f *authFixture) do(t *testing.T, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

// putRecord stores a record of customer (empty: none) created at created, in status.
func (f *authFixture) putRecord(t *testing.T, customer, waba string, created time.Time, status onboarding.Status) *onboarding.Record {
	t.Helper()
	r := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: authPhone, CustomerRef: customer, Event: onboarding.EventFinish, Now: created})
	r.Executions = 1
	switch status {
	case onboarding.StatusFailed:
		_ = r.Fail(onboarding.StepSubscribeWebhooks, onboarding.StepError{Code: onboarding.CodeGraphPermanent, Message: "x"}, created)
	case onboarding.StatusCompleted:
		for _, s := range r.Steps {
			if !s.Status.Done() {
				_ = r.SucceedStep(s.Name, "", created)
			}
		}
		_ = r.Complete(false, created)
	}
	if err := f.store.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPartnerRoutesRefuseBadTokens(t *testing.T) {
	f := newAuthFixture(t)
	existing := f.putRecord(t, "customer-1", "1", time.Now(), onboarding.StatusFailed)
	claims := func(change func(map[string]any)) map[string]any {
		c := f.iss.Claims("customer-1")
		change(c)
		return c
	}
	pub, err := x509.MarshalPKIXPublicKey(&f.iss.Key().Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	header, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT", "kid": f.iss.Key().ID})
	payload, _ := json.Marshal(f.iss.Claims("customer-1"))
	algNone := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."

	tokens := []struct {
		name, authorization string
		invalidToken        bool
	}{
		{"no token", "", false},
		{"basic credentials", "Basic Y3VzdG9tZXI6cGFzcw==", true},
		{"expired", "Bearer " + authtest.Sign(t, f.iss.Key(), claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })), true},
		{"not yet valid", "Bearer " + authtest.Sign(t, f.iss.Key(), claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), true},
		{"wrong audience", "Bearer " + authtest.Sign(t, f.iss.Key(), claims(func(c map[string]any) { c["aud"] = "https://elsewhere.example" })), true},
		{"wrong issuer", "Bearer " + authtest.Sign(t, f.iss.Key(), claims(func(c map[string]any) { c["iss"] = "https://issuer.example" })), true},
		{"alg none", "Bearer " + algNone, true},
		{"HS256 with the public key as secret", "Bearer " + authtest.SignHS256(t, pub, f.iss.Key().ID, f.iss.Claims("customer-1")), true},
		{"foreign key", "Bearer " + authtest.Sign(t, authtest.NewKey(t, f.iss.Key().ID), f.iss.Claims("customer-1")), true},
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/signup", goodSignupFor(authWABA, authPhone)},
		{"GET", "/onboardings", ""},
		{"GET", "/onboardings?status=FAILED", ""},
		{"GET", "/onboardings/" + existing.ID, ""},
		{"POST", "/onboardings/" + existing.ID + "/retry", ""},
		{"DELETE", "/onboardings/" + existing.ID, ""},
	}
	for _, tok := range tokens {
		for _, rt := range routes {
			t.Run(tok.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(rt.body))
				if rt.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				if tok.authorization != "" {
					req.Header.Set("Authorization", tok.authorization)
				}
				rec := httptest.NewRecorder()
				f.api.ServeHTTP(rec, req)
				if got, want := rec.Code, http.StatusUnauthorized; got != want {
					t.Fatalf("status: got %d, want %d (%s)", got, want, rec.Body)
				}
				challenge := rec.Header().Get("WWW-Authenticate")
				if !strings.HasPrefix(challenge, "Bearer ") {
					t.Errorf("WWW-Authenticate: got %q, want a Bearer challenge", challenge)
				}
				if got := strings.Contains(challenge, `error="invalid_token"`); got != tok.invalidToken {
					t.Errorf("WWW-Authenticate %q: invalid_token %v, want %v", challenge, got, tok.invalidToken)
				}
				e := decodeError(t, rec)
				if got, want := e.Error.Code, onboarding.CodeUnauthorized; got != want {
					t.Errorf("code: got %q, want %q", got, want)
				}
				if tok.authorization != "" && strings.Contains(rec.Body.String(), strings.TrimPrefix(tok.authorization, "Bearer ")) {
					t.Errorf("the answer quotes the token: %s", rec.Body)
				}
				if strings.Contains(rec.Body.String(), existing.ID) {
					t.Errorf("the answer names the onboarding: %s", rec.Body)
				}
			})
		}
	}
	// Nothing was exchanged, written or changed by any refused request.
	if got := f.graph.exchanges.Load(); got != 0 {
		t.Errorf("code exchanges: got %d, want 0", got)
	}
	if got := f.vault.Writes(); got != 0 {
		t.Errorf("vault writes: got %d, want 0", got)
	}
	if got, err := f.store.Get(context.Background(), existing.ID); err != nil || got.Status != onboarding.StatusFailed || got.Version != existing.Version {
		t.Errorf("the record changed: %+v, %v", got, err)
	}
	if recs, _ := f.store.FindByWABA(context.Background(), authWABA, 0); len(recs) != 0 {
		t.Errorf("records created: %d, want 0", len(recs))
	}
	// /healthz never takes a token.
	if rec := f.do(t, "GET", "/healthz", "", ""); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz without a token: got %d, want 200", rec.Code)
	}
}

func goodSignupFor(waba, phone string) string {
	return fmt.Sprintf(`{"code":"AQBcode","waba_id":%q,"phone_number_id":%q}`, waba, phone)
}

func TestPartnerOwnsItsOnboardings(t *testing.T) {
	f := newAuthFixture(t)
	alice, bob := f.iss.Token(t, "customer-alice"), f.iss.Token(t, "customer-bob")

	rec := f.do(t, "POST", "/signup", alice, goodSignupFor(authWABA, authPhone))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("signup: got %d (%s), want 202", rec.Code, rec.Body)
	}
	var created signupResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	stored, err := f.store.Get(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stored.CustomerRef, "customer-alice"; got != want {
		t.Errorf("customer_ref: got %q, want %q", got, want)
	}

	get := f.do(t, "GET", created.StatusURL, alice, "")
	if get.Code != http.StatusOK || !strings.Contains(get.Body.String(), `"customer_ref":"customer-alice"`) {
		t.Errorf("owner's GET: got %d %s, want 200 with customer_ref", get.Code, get.Body)
	}
	// Another customer learns nothing, not even that the id exists, and cannot retry it.
	unknown := f.do(t, "GET", "/onboardings/"+onboarding.NewID(), bob, "")
	for _, tc := range []struct{ method, path string }{
		{"GET", created.StatusURL},
		{"POST", created.StatusURL + "/retry"},
	} {
		rec := f.do(t, tc.method, tc.path, bob, "")
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s by another customer: got %d (%s), want 404", tc.method, tc.path, rec.Code, rec.Body)
		}
		if got, want := rec.Body.String(), unknown.Body.String(); got != want {
			t.Errorf("%s %s by another customer: body %s differs from an unknown id's %s", tc.method, tc.path, got, want)
		}
	}
	// A failed onboarding of Alice's: Bob's retry changes nothing, hers resumes it.
	failed := f.putRecord(t, "customer-alice", "2", time.Now(), onboarding.StatusFailed)
	if rec := f.do(t, "POST", "/onboardings/"+failed.ID+"/retry", bob, ""); rec.Code != http.StatusNotFound {
		t.Errorf("Bob's retry: got %d, want 404", rec.Code)
	}
	if got, _ := f.store.Get(context.Background(), failed.ID); got.Status != onboarding.StatusFailed || got.Version != failed.Version {
		t.Errorf("Bob's retry changed the record: status %s, version %d", got.Status, got.Version)
	}
	if rec := f.do(t, "POST", "/onboardings/"+failed.ID+"/retry", alice, ""); rec.Code != http.StatusAccepted {
		t.Errorf("Alice's retry: got %d (%s), want 202", rec.Code, rec.Body)
	}
	// A record made without authentication has no owner, so no caller sees it.
	ownerless := f.putRecord(t, "", "3", time.Now(), onboarding.StatusRunning)
	if rec := f.do(t, "GET", "/onboardings/"+ownerless.ID, alice, ""); rec.Code != http.StatusNotFound {
		t.Errorf("ownerless record: got %d, want 404", rec.Code)
	}
}

func TestPartnerKeyRotation(t *testing.T) {
	f := newAuthFixture(t)
	const minRefresh = 50 * time.Millisecond
	v, err := auth.NewVerifier(context.Background(), auth.VerifierConfig{Issuer: f.iss.URL, Audience: authtest.Audience, MinKeyRefresh: minRefresh})
	if err != nil {
		t.Fatal(err)
	}
	f.api = New(fakeOnboardings{list: func(string, onboarding.Status, int, string) ([]*onboarding.Record, string, error) {
		return nil, "", nil
	}}, Options{Auth: v})
	if rec := f.do(t, "GET", "/onboardings", f.iss.Token(t, "c"), ""); rec.Code != http.StatusOK {
		t.Fatalf("before the rotation: got %d (%s)", rec.Code, rec.Body)
	}
	f.iss.Rotate(authtest.NewKey(t, "key-2"))
	time.Sleep(minRefresh + 20*time.Millisecond)
	if rec := f.do(t, "GET", "/onboardings", f.iss.Token(t, "c"), ""); rec.Code != http.StatusOK {
		t.Fatalf("with a key published after start: got %d (%s)", rec.Code, rec.Body)
	}
}

func TestListOnboardings(t *testing.T) {
	f := newAuthFixture(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var mine, failed []string // newest first
	for i := 24; i >= 0; i-- {
		status := onboarding.StatusRunning
		if i%3 == 0 {
			status = onboarding.StatusFailed
		}
		r := f.putRecord(t, "customer-alice", fmt.Sprintf("10%d", i), t0.Add(time.Duration(i)*time.Minute), status)
		mine = append(mine, r.ID)
		if status == onboarding.StatusFailed {
			failed = append(failed, r.ID)
		}
	}
	bobs := f.putRecord(t, "customer-bob", "999", t0, onboarding.StatusRunning)
	f.putRecord(t, "", "998", t0, onboarding.StatusRunning)
	alice := f.iss.Token(t, "customer-alice")

	page := func(t *testing.T, token, query string) listResponse {
		t.Helper()
		rec := f.do(t, "GET", "/onboardings"+query, token, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /onboardings%s: got %d (%s)", query, rec.Code, rec.Body)
		}
		var lr listResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &lr); err != nil {
			t.Fatal(err)
		}
		return lr
	}
	walk := func(t *testing.T, query string) ([]string, int) {
		t.Helper()
		var got []string
		pages := 0
		cursor := ""
		for {
			q := query
			if cursor != "" {
				sep := "?"
				if q != "" {
					sep = "&"
				}
				q += sep + "cursor=" + cursor
			}
			lr := page(t, alice, q)
			pages++
			for _, r := range lr.Onboardings {
				got = append(got, r.ID)
			}
			if lr.NextCursor == "" {
				return got, pages
			}
			if pages > 30 {
				t.Fatal("the listing does not end")
			}
			cursor = lr.NextCursor
		}
	}
	tests := []struct {
		name      string
		query     string
		want      []string
		wantPages int
	}{
		{"default limit 20", "", mine, 2},
		{"limit 10", "?limit=10", mine, 3},
		{"limit 100", "?limit=100", mine, 1},
		{"failed only", "?status=FAILED", failed, 1},
		{"failed in pages of 3", "?status=FAILED&limit=3", failed, 3},
		{"none verified", "?status=VERIFIED", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := walk(t, tc.query)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids:\n got %v\nwant %v", got, tc.want)
			}
			if pages != tc.wantPages {
				t.Errorf("pages: got %d, want %d", pages, tc.wantPages)
			}
		})
	}
	if got := page(t, alice, ""); len(got.Onboardings) != onboarding.DefaultListLimit {
		t.Errorf("first page: got %d, want %d", len(got.Onboardings), onboarding.DefaultListLimit)
	}
	if got := page(t, f.iss.Token(t, "customer-bob"), ""); len(got.Onboardings) != 1 || got.Onboardings[0].ID != bobs.ID || got.NextCursor != "" {
		t.Errorf("Bob's listing: got %+v, want only his record", got)
	}
	if got := page(t, f.iss.Token(t, "customer-nobody"), ""); got.Onboardings == nil || len(got.Onboardings) != 0 {
		t.Errorf("empty listing: got %+v, want an empty list", got)
	}

	bad := []struct{ query, field string }{
		{"?limit=0", "limit"},
		{"?limit=101", "limit"},
		{"?limit=abc", "limit"},
		{"?limit=1.5", "limit"},
		{"?limit=+5", "limit"},
		{"?limit=5&limit=6", "limit"},
		{"?status=running", "status"},
		{"?status=", "status"},
		{"?cursor=garbage!", "cursor"},
		{"?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("2026-11-01#x")), "cursor"},
		{"?cursor=", "cursor"},
		{"?owner=customer-bob", "owner"},
		{"?%zz", ""},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.query, func(t *testing.T) {
			rec := f.do(t, "GET", "/onboardings"+tc.query, alice, "")
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("got %d (%s), want 400", rec.Code, rec.Body)
			}
			if got := decodeError(t, rec).Error.Field; got != tc.field {
				t.Errorf("field: got %q, want %q", got, tc.field)
			}
		})
	}
	if rec := f.do(t, "POST", "/onboardings", alice, "{}"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /onboardings: got %d, want 405", rec.Code)
	}
}

func TestListNeedsAuthentication(t *testing.T) {
	api := New(fakeOnboardings{list: func(string, onboarding.Status, int, string) ([]*onboarding.Record, string, error) {
		t.Error("List called without partner authentication")
		return nil, "", nil
	}}, Options{})
	rec := do(api, "GET", "/onboardings", "", "")
	if rec.Code != http.StatusNotFound {
		t.Fatalf("got %d, want 404", rec.Code)
	}
	if e := decodeError(t, rec); !strings.Contains(e.Error.Message, "partner authentication") {
		t.Errorf("message %q does not say listing needs partner authentication", e.Error.Message)
	}
}
