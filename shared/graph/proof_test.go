package graph_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

func wantProof(token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func TestAppSecretProofValue(t *testing.T) {
	// A known answer: HMAC-SHA256 with key "key" of "The quick brown fox jumps over the lazy dog".
	got := graph.AppSecretProof(secret("key"), secret("The quick brown fox jumps over the lazy dog"))
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Errorf("AppSecretProof: got %s, want %s", got, want)
	}
}

func TestAppSecretProofOnEveryTokenCall(t *testing.T) {
	ok := func(int, *http.Request) (*http.Response, error) { return respond(200, `{"success":true}`), nil }
	var logs bytes.Buffer
	c, ft := newClient(t, ok, func(o *graph.Options) {
		o.AppSecret = graph.StaticAppSecret(secret(appSecret))
		o.Logger = logging.New(&logs, slog.LevelDebug)
	})
	ctx := context.Background()
	if err := c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)}); err != nil {
		t.Fatal(err)
	}
	if err := c.AssignUser(ctx, &graph.AssignUserInput{WABAID: wabaID, UserID: "1", AccessToken: secret(systemToken)}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
	if got := ft.count(); got != 3 {
		t.Fatalf("requests: got %d, want 3", got)
	}
	cases := []struct {
		name, want string
	}{
		{"business token call", wantProof(bizToken)},
		{"system token call", wantProof(systemToken)},
		{"code exchange (no access token)", ""},
	}
	for i, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			if got := ft.reqs[i].query.Get("appsecret_proof"); got != cs.want {
				t.Errorf("appsecret_proof: got %q, want %q", got, cs.want)
			}
		})
	}
	for _, p := range []string{wantProof(bizToken), wantProof(systemToken)} {
		if strings.Contains(logs.String(), p) {
			t.Errorf("a proof is in the logs: %s", logs.String())
		}
	}
	assertNoSecrets(t, "logs", logs.String())
}

func TestNoAppSecretNoProof(t *testing.T) {
	c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(200, `{"success":true}`), nil })
	if err := c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)}); err != nil {
		t.Fatal(err)
	}
	if ft.reqs[0].query.Has("appsecret_proof") {
		t.Errorf("appsecret_proof sent without an app secret configured: %v", ft.reqs[0].query)
	}
}

func TestAppSecretUnavailable(t *testing.T) {
	c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(200, `{}`), nil }, func(o *graph.Options) {
		o.AppSecret = func(context.Context) (onboarding.Secret, error) { return onboarding.Secret{}, errors.New("vault down") }
	})
	err := c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Sent || ge.Class != graph.ClassTransient {
		t.Fatalf("got %v, want a transient, unsent *graph.Error", err)
	}
	if ft.count() != 0 {
		t.Errorf("requests: got %d, want none", ft.count())
	}
}

func TestAppSecretProofAgainstSimulator(t *testing.T) {
	cases := []struct {
		name     string
		secret   string // the client's app secret; "" sends no proof
		wantCode int
	}{
		{"right proof", appSecret, 0},
		{"wrong app secret", "another-app-secret", 100},
		{"no proof while required", "", 100},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			_, base := simulator(t, graphsim.Config{RequireAppSecretProof: true})
			opts := graph.Options{BaseEndpoint: base}
			if cs.secret != "" {
				opts.AppSecret = graph.StaticAppSecret(secret(cs.secret))
			}
			c, err := graph.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.DebugToken(context.Background(), &graph.DebugTokenInput{InputToken: secret(systemToken), AccessToken: secret(graphsim.DefaultAppID + "|" + appSecret)})
			var ge *graph.Error
			switch {
			case cs.wantCode == 0 && err != nil:
				t.Fatalf("GetWABA: %v", err)
			case cs.wantCode != 0 && (!errors.As(err, &ge) || ge.Code != cs.wantCode):
				t.Fatalf("GetWABA: got %v, want Graph code %d", err, cs.wantCode)
			case cs.wantCode != 0 && !strings.Contains(ge.Message, "appsecret_proof"):
				t.Errorf("message: got %q, want it to name appsecret_proof", ge.Message)
			}
		})
	}
}
