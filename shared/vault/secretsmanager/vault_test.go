package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/vault/vaulttest"
)

const (
	stageID = "wa-onboarding/dev/stage"
	prefix  = "wa-onboarding/dev/waba/"
	waba    = "102290129340398"
	wabaSec = prefix + waba
	phone1  = "106540352242922"
	phone2  = "106540352242923"
)

var (
	t0       = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	pinA     = onboarding.NewSecret("314159")
	pinB     = onboarding.NewSecret("271828")
	tokenA   = onboarding.NewSecret(vaulttest.TokenValue)
	tokenB   = onboarding.NewSecret(vaulttest.OtherTokenValue)
	expiresA = time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
)

// fullStage is a stage secret with every key set, from the contract's values.
func fullStage() stageFields {
	c := vaulttest.AppConfig()
	return stageFields{
		"app_id": c.AppID, "app_secret": c.AppSecret.Reveal(), "previous_app_secret": c.PreviousAppSecret.Reveal(),
		"previous_app_secret_until": c.PreviousAppSecretUntil.Format(time.RFC3339), "system_token": c.SystemToken.Reveal(),
		"system_user_id": c.SystemUserID, "credit_line_id": c.CreditLineID, "webhook_verify_token": c.WebhookVerifyToken.Reveal(),
	}
}

type harness struct {
	fake  *fakeSM
	clock *fakeClock
	logs  *testlog.Buffer
	vault *Vault
}

// newHarness returns a vault over a fake Secrets Manager holding the full stage secret.
func newHarness(t testing.TB, optFns ...func(*Options)) *harness {
	t.Helper()
	h := &harness{fake: newFakeSM(), clock: &fakeClock{t: t0}, logs: &testlog.Buffer{}}
	h.fake.seed(stageID, stageJSON(t, fullStage()))
	h.vault = h.newVault(optFns...)
	return h
}

// newVault returns another vault instance (another Lambda) over the same fake.
func (h *harness) newVault(optFns ...func(*Options)) *Vault {
	return New(newClient(h.fake), Options{
		StageSecretID:    stageID,
		WABASecretPrefix: prefix,
		KMSKeyID:         "alias/wa-onboarding-dev",
		Tags:             map[string]string{"stage": "dev", "app": "wa-onboarding"},
		Clock:            h.clock.now,
		Logger:           logging.New(h.logs, slog.LevelDebug),
	}, optFns...)
}

// stored parses the current per-WABA secret.
func (h *harness) stored(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(h.fake.current(wabaSec)), &m); err != nil {
		t.Fatalf("stored secret is not JSON: %v", err)
	}
	return m
}

// checkNoLeak fails if errs or the captured log lines contain a secret value.
func (h *harness) checkNoLeak(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			vaulttest.NoSecretIn(t, "error", err.Error())
		}
	}
	vaulttest.NoSecretIn(t, "log", h.logs.String())
}

func TestContract(t *testing.T) {
	vaulttest.Run(t, func(t *testing.T, app onboarding.AppConfig) vaulttest.Subject {
		h := &harness{fake: newFakeSM(), clock: &fakeClock{t: t0}, logs: &testlog.Buffer{}}
		h.fake.seed(stageID, stageJSON(t, stageFields{
			"app_id": app.AppID, "app_secret": app.AppSecret.Reveal(), "previous_app_secret": app.PreviousAppSecret.Reveal(),
			"previous_app_secret_until": app.PreviousAppSecretUntil.Format(time.RFC3339), "system_token": app.SystemToken.Reveal(),
			"system_user_id": app.SystemUserID, "credit_line_id": app.CreditLineID, "webhook_verify_token": app.WebhookVerifyToken.Reveal(),
		}))
		h.vault = h.newVault()
		t.Cleanup(func() { h.checkNoLeak(t) })
		return vaulttest.Subject{Vault: h.vault, Writes: h.fake.writes}
	})
}

func TestAppConfigCache(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	get := func() {
		t.Helper()
		if _, err := h.vault.AppConfig(ctx); err != nil {
			t.Fatalf("AppConfig: %v", err)
		}
	}
	for _, step := range []struct {
		name      string
		advance   time.Duration
		wantCalls int
	}{
		{"first call fetches", 0, 1},
		{"repeat within the TTL is cached", 0, 1},
		{"just before expiry is cached", DefaultAppConfigTTL - time.Nanosecond, 1},
		{"at expiry refetches", time.Nanosecond, 2},
		{"then cached again", time.Minute, 2},
	} {
		h.clock.add(step.advance)
		get()
		if got := len(h.fake.callsOf("GetSecretValue")); got != step.wantCalls {
			t.Errorf("%s: got %d GetSecretValue calls, want %d", step.name, got, step.wantCalls)
		}
	}
	if got := str(h.fake.callsOf("GetSecretValue")[0].In, "SecretId"); got != stageID {
		t.Errorf("SecretId: got %q, want %q", got, stageID)
	}
}

func TestAppConfigSharedFetch(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	release := make(chan struct{})
	h.fake.setHook(func(op string, _ map[string]any) {
		if op == "GetSecretValue" {
			<-release
		}
	})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = h.vault.AppConfig(ctx) })
	}
	// Wait (without a timer) until every caller waits on the one fetch in flight.
	for h.vault.stage.waiting(stageID) < n {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got, want := len(h.fake.callsOf("GetSecretValue")), 1; got != want {
		t.Errorf("GetSecretValue calls: got %d, want %d", got, want)
	}
}

func TestAppConfigWaiterCancelled(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	h.fake.setHook(func(op string, _ map[string]any) {
		if op == "GetSecretValue" {
			<-release
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := h.vault.AppConfig(ctx); done <- err }()
	for h.vault.stage.waiting(stageID) < 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: got %v, want context.Canceled", err)
	}
	// The fetch goes on without the caller that started it and serves the next one.
	close(release)
	if _, err := h.vault.AppConfig(context.Background()); err != nil {
		t.Fatalf("AppConfig after the cancellation: %v", err)
	}
	if got, want := len(h.fake.callsOf("GetSecretValue")), 1; got != want {
		t.Errorf("GetSecretValue calls: got %d, want %d", got, want)
	}
}

func TestAppConfigErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("errors are not cached", func(t *testing.T) {
		h := newHarness(t)
		for range 3 { // the SDK's three attempts
			h.fake.failNext("GetSecretValue", "ThrottlingException", 400, false)
		}
		_, err := h.vault.AppConfig(ctx)
		if err == nil || !strings.Contains(err.Error(), stageID) {
			t.Fatalf("throttled AppConfig: got %v, want an error naming the secret", err)
		}
		if _, err := h.vault.AppConfig(ctx); err != nil {
			t.Errorf("AppConfig after the throttling: %v", err)
		}
		if got, want := len(h.fake.callsOf("GetSecretValue")), 4; got != want {
			t.Errorf("GetSecretValue calls: got %d, want %d", got, want)
		}
	})
	t.Run("throttling is retried by the SDK", func(t *testing.T) {
		h := newHarness(t)
		h.fake.failNext("GetSecretValue", "ThrottlingException", 400, false)
		if _, err := h.vault.AppConfig(ctx); err != nil {
			t.Errorf("AppConfig: %v", err)
		}
	})
	t.Run("missing stage secret is ErrNotFound", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.StageSecretID = "wa-onboarding/dev/absent" })
		if _, err := h.vault.AppConfig(ctx); !errors.Is(err, onboarding.ErrNotFound) {
			t.Errorf("AppConfig: got %v, want ErrNotFound", err)
		}
	})
	t.Run("stage secret scheduled for deletion is ErrNotFound", func(t *testing.T) {
		h := newHarness(t)
		h.fake.scheduleDeletion(stageID)
		if _, err := h.vault.AppConfig(ctx); !errors.Is(err, onboarding.ErrNotFound) {
			t.Errorf("AppConfig: got %v, want ErrNotFound", err)
		}
	})
	t.Run("unset StageSecretID", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.StageSecretID = "" })
		if _, err := h.vault.AppConfig(ctx); err == nil || !strings.Contains(err.Error(), "StageSecretID") {
			t.Errorf("AppConfig: got %v, want an error naming StageSecretID", err)
		}
	})
}

func TestStageSecretParsing(t *testing.T) {
	with := func(changes stageFields, drop ...string) string {
		f := fullStage()
		for _, k := range drop {
			delete(f, k)
		}
		for k, v := range changes {
			f[k] = v
		}
		return stageJSON(t, f)
	}
	for _, tc := range []struct {
		name    string
		value   string
		wantKey string // "" when the document as a whole is at fault
		wantMsg string
	}{
		{"unknown key", with(stageFields{"credit_line": "1"}), "credit_line", "not a known key"},
		{"key case variant", with(stageFields{"App_ID": "1"}), "App_ID", "not a known key"},
		{"unknown key that looks like a value", `{"app_id":"1","app_secret":"x","9f8e7d6c5b4a39281706":"y"}`, "", "not shown"},
		{"duplicate key", `{"app_id":"1","app_secret":"` + vaulttest.AppSecretValue + `","app_id":"2"}`, "app_id", "more than once"},
		{"missing app_id", with(nil, "app_id"), "app_id", "is required"},
		{"missing app_secret", with(nil, "app_secret"), "app_secret", "is required"},
		{"empty app_secret", with(stageFields{"app_secret": ""}), "app_secret", "is required"},
		{"app_id not digits", with(stageFields{"app_id": "12a4"}), "app_id", "Graph id"},
		{"system_user_id not digits", with(stageFields{"system_user_id": "u-1"}), "system_user_id", "Graph id"},
		{"credit_line_id not digits", with(stageFields{"credit_line_id": "x"}), "credit_line_id", "Graph id"},
		{"credit line without system user", with(nil, "system_user_id"), "system_user_id", "required when credit_line_id"},
		{"credit line without system token", with(nil, "system_token"), "system_token", "required when credit_line_id"},
		{"previous secret without until", with(nil, "previous_app_secret_until"), "previous_app_secret_until", "required"},
		{"until without previous secret", with(nil, "previous_app_secret"), "previous_app_secret", "required"},
		{"until not RFC 3339", with(stageFields{"previous_app_secret_until": "2030-01-02"}), "previous_app_secret_until", "RFC 3339"},
		{"secret with trailing newline", with(stageFields{"app_secret": vaulttest.AppSecretValue + "\n"}), "app_secret", "whitespace"},
		{"number for a string", `{"app_id":1234,"app_secret":"` + vaulttest.AppSecretValue + `"}`, "app_id", "JSON string"},
		{"null for a string", `{"app_id":"1","app_secret":"` + vaulttest.AppSecretValue + `","system_token":null}`, "system_token", "JSON string"},
		{"not JSON (a generated password)", vaulttest.AppSecretValue, "", "not valid JSON"},
		{"JSON array", `["` + vaulttest.AppSecretValue + `"]`, "", "not a JSON object"},
		{"syntax error after a secret", `{"app_secret":"` + vaulttest.AppSecretValue + `" "app_id":"1"}`, "", "syntax error at byte"},
		{"trailing data", with(nil) + `{"app_secret":"` + vaulttest.SystemTokenValue + `"}`, "", "data after the JSON object"},
		{"invalid UTF-8", `{"app_id":"1","app_secret":"` + vaulttest.AppSecretValue + "\xff" + `"}`, "", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStageSecret(stageID, tc.value)
			var fe *SecretFormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *SecretFormatError", err)
			}
			if fe.SecretID != stageID || fe.Key != tc.wantKey {
				t.Errorf("secret and key: got %q %q, want %q %q", fe.SecretID, fe.Key, stageID, tc.wantKey)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), stageID) {
				t.Errorf("message: got %q, want it to name the secret and say %q", err, tc.wantMsg)
			}
			vaulttest.NoSecretIn(t, "error", err.Error())
			if strings.Contains(err.Error(), "9f8e7d6c5b4a39281706") {
				t.Errorf("message quotes a key that may be a value: %q", err)
			}
		})
	}

	t.Run("minimal config", func(t *testing.T) {
		cfg, err := parseStageSecret(stageID, `{"app_id":"1234","app_secret":"s"}`)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if cfg.AppID != "1234" || cfg.AppSecret.Reveal() != "s" || cfg.CreditLineID != "" || !cfg.SystemToken.IsZero() {
			t.Errorf("got %+v, want app id 1234, app secret s and nothing else", cfg)
		}
	})
	t.Run("malformed stage secret through AppConfig", func(t *testing.T) {
		h := newHarness(t)
		h.fake.putCurrent(stageID, "seed-v2-000000000000000000000000000", with(stageFields{"credit_line": "1"}))
		_, err := h.vault.AppConfig(context.Background())
		var fe *SecretFormatError
		if !errors.As(err, &fe) || fe.Key != "credit_line" {
			t.Errorf("AppConfig: got %v, want a format error naming credit_line", err)
		}
		h.checkNoLeak(t, err)
	})
}

func TestWABASecretNotFound(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		setup        func(h *harness)
		wantDescribe int
	}{
		{"absent", func(*harness) {}, 0},
		{"scheduled for deletion", func(h *harness) {
			h.fake.seed(wabaSec, `{"business_token":"x","pins":{}}`)
			h.fake.scheduleDeletion(wabaSec)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			_, err := h.vault.WABASecret(ctx, waba)
			if !errors.Is(err, onboarding.ErrNotFound) {
				t.Fatalf("WABASecret: got %v, want ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), wabaSec) {
				t.Errorf("error: got %q, want it to name the secret", err)
			}
			if got := len(h.fake.callsOf("DescribeSecret")); got != tc.wantDescribe {
				t.Errorf("DescribeSecret calls: got %d, want %d", got, tc.wantDescribe)
			}
		})
	}
}

func TestWABASecretFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		name, value, wantKey string
	}{
		{"pin not 6 digits", `{"business_token":"` + vaulttest.TokenValue + `","pins":{"` + phone1 + `":"31415"}}`, "pins." + phone1},
		{"pin key not an id", `{"pins":{"+16505551234":"314159"}}`, "pins"},
		{"pins not an object", `{"pins":["314159"]}`, "pins"},
		{"token not a string", `{"business_token":12}`, "business_token"},
		{"bad expiry", `{"business_token":"` + vaulttest.TokenValue + `","token_expires_at":"tomorrow"}`, "token_expires_at"},
		{"duplicate key", `{"business_token":"` + vaulttest.TokenValue + `","business_token":"` + vaulttest.OtherTokenValue + `"}`, "business_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.fake.seed(wabaSec, tc.value)
			_, err := h.vault.WABASecret(context.Background(), waba)
			var fe *SecretFormatError
			if !errors.As(err, &fe) || fe.Key != tc.wantKey || fe.SecretID != wabaSec {
				t.Fatalf("WABASecret: got %v, want a format error for secret %q key %q", err, wabaSec, tc.wantKey)
			}
			// A write must not overwrite a document it cannot read.
			_, perr := h.vault.EnsurePIN(context.Background(), waba, phone2, pinB, "key")
			if !errors.As(perr, &fe) {
				t.Errorf("EnsurePIN over a malformed secret: got %v, want a format error", perr)
			}
			if got := h.fake.writes(); got != 0 {
				t.Errorf("writes: got %d, want 0", got)
			}
			h.checkNoLeak(t, err, perr)
		})
	}
}

func TestFirstWriteCreatesSecret(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "onb-1/exchange_token"); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
	creates := h.fake.callsOf("CreateSecret")
	if len(creates) != 1 {
		t.Fatalf("CreateSecret calls: got %d, want 1", len(creates))
	}
	in := creates[0].In
	wantToken := requestToken(wabaSec, "business_token", "onb-1/exchange_token", 0)
	for _, f := range []struct{ key, want string }{
		{"Name", wabaSec},
		{"KmsKeyId", "alias/wa-onboarding-dev"},
		{"ClientRequestToken", wantToken},
	} {
		if got := str(in, f.key); got != f.want {
			t.Errorf("CreateSecret %s: got %q, want %q", f.key, got, f.want)
		}
	}
	tags, _ := json.Marshal(in["Tags"])
	if got, want := string(tags), `[{"Key":"app","Value":"wa-onboarding"},{"Key":"stage","Value":"dev"}]`; got != want {
		t.Errorf("CreateSecret Tags: got %s, want %s", got, want)
	}
	if d := str(in, "Description"); !strings.Contains(d, waba) {
		t.Errorf("CreateSecret Description: got %q, want it to name the WABA", d)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(str(in, "SecretString")), &doc); err != nil {
		t.Fatalf("SecretString is not JSON: %v", err)
	}
	want := map[string]any{
		"business_token": vaulttest.TokenValue, "token_expires_at": "2025-08-01T00:00:00Z",
		"pins": map[string]any{}, "updated_at": "2025-06-01T12:00:00Z",
	}
	if got, want := fmt.Sprint(doc), fmt.Sprint(want); got != want {
		t.Errorf("SecretString: got %s, want %s", got, want)
	}
	if n := len(h.fake.callsOf("PutSecretValue")); n != 0 {
		t.Errorf("PutSecretValue calls: got %d, want 0", n)
	}
	h.checkNoLeak(t)
}

func TestRequestToken(t *testing.T) {
	base := requestToken(wabaSec, "pin/"+phone1, "key", 0)
	if n := len(base); n < 32 || n > 64 {
		t.Errorf("token length: got %d, want 32 to 64", n)
	}
	if again := requestToken(wabaSec, "pin/"+phone1, "key", 0); again != base {
		t.Errorf("token is not deterministic: got %q then %q", base, again)
	}
	for _, other := range []string{
		requestToken(prefix+"1", "pin/"+phone1, "key", 0),
		requestToken(wabaSec, "pin/"+phone2, "key", 0),
		requestToken(wabaSec, "pin/"+phone1, "key2", 0),
		requestToken(wabaSec, "pin/"+phone1, "key", 1),
		requestToken(wabaSec, "pin/"+phone1+"key", "", 0), // no ambiguity from concatenation
	} {
		if other == base {
			t.Errorf("different writes share the token %q", base)
		}
	}
}

func TestWriteKeepsPINsAndUnknownKeys(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	seedVersion := h.fake.seed(wabaSec, `{"business_token":"old-token-value","token_expires_at":"","pins":{"`+phone1+`":"314159"},"updated_at":"2025-01-01T00:00:00Z","added_later":{"x":1}}`)
	if err := h.vault.PutBusinessToken(ctx, waba, tokenA, time.Time{}, "k1"); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
	wantToken := requestToken(wabaSec, "business_token", "k1", 0)
	puts := h.fake.callsOf("PutSecretValue")
	if len(puts) != 1 {
		t.Fatalf("PutSecretValue calls: got %d, want 1", len(puts))
	}
	if got := str(puts[0].In, "ClientRequestToken"); got != wantToken {
		t.Errorf("PutSecretValue ClientRequestToken: got %q, want %q", got, wantToken)
	}
	if got := str(puts[0].In, "SecretId"); got != wabaSec {
		t.Errorf("PutSecretValue SecretId: got %q, want %q", got, wabaSec)
	}
	if got := fmt.Sprint(puts[0].In["VersionStages"]); got != "["+PendingStage+"]" {
		t.Errorf("PutSecretValue VersionStages: got %s, want [%s]", got, PendingStage)
	}
	stages := h.fake.callsOf("UpdateSecretVersionStage")
	if len(stages) != 1 {
		t.Fatalf("UpdateSecretVersionStage calls: got %d, want 1", len(stages))
	}
	for k, want := range map[string]string{"SecretId": wabaSec, "VersionStage": "AWSCURRENT", "MoveToVersionId": wantToken, "RemoveFromVersionId": seedVersion} {
		if got := str(stages[0].In, k); got != want {
			t.Errorf("UpdateSecretVersionStage %s: got %q, want %q", k, got, want)
		}
	}
	doc := h.stored(t)
	if doc["business_token"] != vaulttest.TokenValue || fmt.Sprint(doc["pins"]) != "map["+phone1+":314159]" || fmt.Sprint(doc["added_later"]) != "map[x:1]" {
		t.Errorf("stored: got token, pins, extra %v %v %v; want the new token, the old PIN and the unknown key", doc["business_token"] == vaulttest.TokenValue, doc["pins"], doc["added_later"])
	}
}

func TestIdempotentRerun(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(v *Vault) error
	}{
		{"PutBusinessToken", func(v *Vault) error { return v.PutBusinessToken(ctx, waba, tokenA, expiresA, "k") }},
		{"EnsurePIN", func(v *Vault) error { _, err := v.EnsurePIN(ctx, waba, phone1, pinA, "k"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if err := tc.run(h.vault); err != nil {
				t.Fatalf("first run: %v", err)
			}
			h.fake.resetCalls()
			h.clock.add(time.Hour) // a later re-run: updated_at would differ
			for _, v := range []*Vault{h.vault, h.newVault()} {
				if err := tc.run(v); err != nil {
					t.Fatalf("re-run: %v", err)
				}
			}
			if got, want := h.fake.writes(), 1; got != want {
				t.Errorf("versions written: got %d, want %d", got, want)
			}
			for _, c := range h.fake.callsOf("") {
				if c.Op != "GetSecretValue" {
					t.Errorf("re-run called %s, want reads only", c.Op)
				}
			}
		})
	}
}

func TestRepeatedWriteUsesSameToken(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.fake.seed(wabaSec, `{"business_token":"","pins":{}}`)
	for range 3 { // exhaust the SDK's attempts: the step fails and will be retried
		h.fake.failNext("PutSecretValue", "ThrottlingException", 400, false)
	}
	err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "k")
	if err == nil || !strings.Contains(err.Error(), wabaSec) || !strings.Contains(err.Error(), "PutBusinessToken") {
		t.Fatalf("throttled PutBusinessToken: got %v, want an error naming the operation and the secret", err)
	}
	h.clock.add(time.Minute)
	if err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "k"); err != nil {
		t.Fatalf("retried PutBusinessToken: %v", err)
	}
	puts := h.fake.callsOf("PutSecretValue")
	if len(puts) != 4 {
		t.Fatalf("PutSecretValue calls: got %d, want 4", len(puts))
	}
	want := requestToken(wabaSec, "business_token", "k", 0)
	for i, c := range puts {
		if got := str(c.In, "ClientRequestToken"); got != want {
			t.Errorf("PutSecretValue #%d token: got %q, want %q", i+1, got, want)
		}
	}
	if got, want := h.fake.writes(), 1; got != want {
		t.Errorf("versions written: got %d, want %d", got, want)
	}
	h.checkNoLeak(t, err)
}

func TestLostResponseRetriedBySDK(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"CreateSecret", "PutSecretValue"} {
		t.Run(op, func(t *testing.T) {
			h := newHarness(t)
			if op == "PutSecretValue" {
				h.fake.seed(wabaSec, `{"business_token":"","pins":{}}`)
			}
			// Secrets Manager stores the version, the answer is lost, the SDK retries the same request.
			h.fake.failNext(op, "InternalServiceError", 500, true)
			got, err := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "k")
			if err != nil {
				t.Fatalf("EnsurePIN: %v", err)
			}
			if !got.Equal(pinA) {
				t.Errorf("EnsurePIN: got %q, want %q", got.Reveal(), pinA.Reveal())
			}
			if n := len(h.fake.callsOf(op)); n != 2 {
				t.Errorf("%s calls: got %d, want 2 (the SDK's retry)", op, n)
			}
			if got, want := h.fake.writes(), 1; got != want {
				t.Errorf("versions written: got %d, want %d", got, want)
			}
		})
	}
}

func TestTokenConflict(t *testing.T) {
	ctx := context.Background()
	t.Run("token names a version without the change: next attempt's token", func(t *testing.T) {
		h := newHarness(t)
		h.fake.seed(wabaSec, `{"business_token":"","pins":{}}`)
		// An earlier run put a version with this write's first token and died before promoting it.
		tok0 := requestToken(wabaSec, "business_token", "k", 0)
		h.fake.addVersion(wabaSec, tok0, `{"business_token":"stale","pins":{}}`)
		if err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "k"); err != nil {
			t.Fatalf("PutBusinessToken: %v", err)
		}
		puts := h.fake.callsOf("PutSecretValue")
		if len(puts) != 2 {
			t.Fatalf("PutSecretValue calls: got %d, want 2", len(puts))
		}
		if got, want := str(puts[1].In, "ClientRequestToken"), requestToken(wabaSec, "business_token", "k", 1); got != want {
			t.Errorf("second token: got %q, want the attempt-1 token %q", got, want)
		}
		if got := h.stored(t)["business_token"]; got != vaulttest.TokenValue {
			t.Errorf("stored token: got another value, want the new one")
		}
		h.checkNoLeak(t)
	})
	t.Run("conflict but the change is present: success without another write", func(t *testing.T) {
		h := newHarness(t)
		h.fake.seed(wabaSec, `{"business_token":"","pins":{}}`)
		other := h.newVault()
		done := false
		h.fake.setHook(func(op string, _ map[string]any) {
			if op == "PutSecretValue" && !done {
				done = true
				// A duplicate execution of the same step stores the same token first.
				if err := other.PutBusinessToken(ctx, waba, tokenA, expiresA, "k-dup"); err != nil {
					t.Errorf("duplicate PutBusinessToken: %v", err)
				}
			}
		})
		h.fake.failNext("PutSecretValue", "ResourceExistsException", 400, false)
		if err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "k"); err != nil {
			t.Fatalf("PutBusinessToken: %v", err)
		}
		if got, want := h.fake.writes(), 1; got != want {
			t.Errorf("versions written: got %d, want %d (the duplicate's)", got, want)
		}
	})
}

func TestEnsurePINConcurrentMerge(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		seed    bool
		atOp    string // the request of vault A before which vault B runs its whole EnsurePIN
		wantOps []string
	}{
		{"B wins the race to create", false, "CreateSecret", []string{"CreateSecret", "PutSecretValue"}},
		{"B moves AWSCURRENT between A's put and A's promote", true, "UpdateSecretVersionStage", []string{"PutSecretValue", "PutSecretValue"}},
		{"B writes between A's read and A's put", true, "PutSecretValue", []string{"PutSecretValue", "PutSecretValue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.seed {
				h.fake.seed(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{}}`)
			}
			b := h.newVault()
			var fired atomic.Bool
			var gotB onboarding.Secret
			var errB error
			tokA := requestToken(wabaSec, "pin/"+phone1, "key-a", 0)
			h.fake.setHook(func(op string, in map[string]any) {
				// Only before A's first request of that kind (B's requests carry B's tokens).
				isA := str(in, "ClientRequestToken") == tokA || str(in, "MoveToVersionId") == tokA
				if op == tc.atOp && isA && fired.CompareAndSwap(false, true) {
					gotB, errB = b.EnsurePIN(ctx, waba, phone2, pinB, "key-b")
				}
			})
			gotA, errA := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "key-a")
			if errA != nil || errB != nil {
				t.Fatalf("EnsurePIN: A %v, B %v", errA, errB)
			}
			if !gotA.Equal(pinA) || !gotB.Equal(pinB) {
				t.Errorf("returned pins: got %q and %q, want %q and %q", gotA.Reveal(), gotB.Reveal(), pinA.Reveal(), pinB.Reveal())
			}
			if got, want := fmt.Sprint(h.stored(t)["pins"]), fmt.Sprintf("map[%s:%s %s:%s]", phone1, pinA.Reveal(), phone2, pinB.Reveal()); got != want {
				t.Errorf("stored pins: got %s, want %s", got, want)
			}
			if !strings.Contains(h.logs.String(), "write conflict") {
				t.Errorf("log: got no conflict line, want one")
			}
			h.checkNoLeak(t)
		})
	}
}

func TestEnsurePINVerifiesAfterWrite(t *testing.T) {
	// A writer that does not compare and swap (an operator editing the secret in the console) replaces the
	// secret right after A's write: A's read-back misses its PIN, and A merges again.
	ctx := context.Background()
	h := newHarness(t)
	h.fake.seed(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{}}`)
	promoted := false
	var once sync.Once
	h.fake.setHook(func(op string, _ map[string]any) {
		if op == "UpdateSecretVersionStage" {
			promoted = true
			return
		}
		if op == "GetSecretValue" && promoted {
			once.Do(func() {
				h.fake.putCurrent(wabaSec, "console-edit-0000000000000000000000", `{"business_token":"`+vaulttest.TokenValue+`","pins":{"`+phone2+`":"271828"}}`)
			})
		}
	})
	got, err := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "key-a")
	if err != nil {
		t.Fatalf("EnsurePIN: %v", err)
	}
	if !got.Equal(pinA) {
		t.Errorf("EnsurePIN: got %q, want %q", got.Reveal(), pinA.Reveal())
	}
	if got, want := fmt.Sprint(h.stored(t)["pins"]), fmt.Sprintf("map[%s:%s %s:%s]", phone1, pinA.Reveal(), phone2, pinB.Reveal()); got != want {
		t.Errorf("stored pins: got %s, want %s", got, want)
	}
	if got, want := len(h.fake.callsOf("UpdateSecretVersionStage")), 2; got != want {
		t.Errorf("promotions: got %d, want %d", got, want)
	}
}

func TestEnsurePINGivesUp(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, func(o *Options) { o.MaxWriteAttempts = 3 })
	h.fake.seed(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{}}`)
	n := 0
	h.fake.setHook(func(op string, _ map[string]any) {
		if op == "UpdateSecretVersionStage" { // someone else always gets there first
			n++
			h.fake.putCurrent(wabaSec, fmt.Sprintf("other-writer-%022d", n), `{"business_token":"`+vaulttest.OtherTokenValue+`","pins":{}}`)
		}
	})
	_, err := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "key-a")
	if !errors.Is(err, onboarding.ErrVersionConflict) {
		t.Fatalf("EnsurePIN: got %v, want ErrVersionConflict", err)
	}
	if got, want := len(h.fake.callsOf("PutSecretValue")), 3; got != want {
		t.Errorf("PutSecretValue calls: got %d, want %d", got, want)
	}
	h.checkNoLeak(t, err)
}

func TestWriteToSecretScheduledForDeletion(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.fake.seed(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{}}`)
	h.fake.scheduleDeletion(wabaSec)
	err := h.vault.PutBusinessToken(ctx, waba, tokenB, time.Time{}, "k")
	if err == nil || !strings.Contains(err.Error(), "scheduled for deletion") || errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("PutBusinessToken: got %v, want a scheduled-for-deletion error", err)
	}
	if got := len(h.fake.callsOf("CreateSecret")) + len(h.fake.callsOf("PutSecretValue")); got != 0 {
		t.Errorf("write calls: got %d, want 0", got)
	}
	h.checkNoLeak(t, err)
}

func TestSecretWithoutCurrentVersion(t *testing.T) {
	// Created by hand without a value: CreateSecret says it exists, GetSecretValue finds no AWSCURRENT.
	ctx := context.Background()
	h := newHarness(t)
	h.fake.seed(wabaSec, "")
	h.fake.mu.Lock()
	h.fake.secrets[wabaSec].versions = nil
	h.fake.mu.Unlock()
	if err := h.vault.PutBusinessToken(ctx, waba, tokenA, time.Time{}, "k"); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
	if got := h.stored(t)["business_token"]; got != vaulttest.TokenValue {
		t.Errorf("stored token: got another value, want the new one")
	}
}

func TestWABASecretCache(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	if err := h.vault.PutBusinessToken(ctx, waba, tokenA, expiresA, "k1"); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
	h.fake.resetCalls()
	read := func() *onboarding.WABASecret {
		t.Helper()
		s, err := h.vault.WABASecret(ctx, waba)
		if err != nil {
			t.Fatalf("WABASecret: %v", err)
		}
		return s
	}
	read()
	read()
	if got, want := len(h.fake.callsOf("GetSecretValue")), 1; got != want {
		t.Errorf("reads within the TTL: got %d GetSecretValue, want %d", got, want)
	}
	h.clock.add(DefaultWABASecretTTL)
	read()
	if got, want := len(h.fake.callsOf("GetSecretValue")), 2; got != want {
		t.Errorf("read after the TTL: got %d GetSecretValue, want %d", got, want)
	}
	// An own write is visible at once, without waiting for the TTL.
	if err := h.vault.PutBusinessToken(ctx, waba, tokenB, time.Time{}, "k2"); err != nil {
		t.Fatalf("PutBusinessToken: %v", err)
	}
	if got := read(); !got.BusinessToken.Equal(tokenB) || !got.TokenExpiresAt.IsZero() {
		t.Errorf("read after an own write: got the old token or expiry, want the new ones")
	}
}

func TestNegativeTTLDisablesCache(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, func(o *Options) { o.AppConfigTTL = -1 })
	for range 3 {
		if _, err := h.vault.AppConfig(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := len(h.fake.callsOf("GetSecretValue")), 3; got != want {
		t.Errorf("GetSecretValue calls: got %d, want %d", got, want)
	}
}

func TestInvalidateDuringFetch(t *testing.T) {
	// A fetch that started before an own write must not put the pre-write value into the cache.
	ctx := context.Background()
	h := newHarness(t)
	h.fake.seed(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{}}`)
	release := make(chan struct{})
	var once sync.Once
	h.fake.setHook(func(op string, _ map[string]any) {
		if op == "GetSecretValue" {
			once.Do(func() { <-release })
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := h.vault.WABASecret(ctx, waba); err != nil {
			t.Errorf("WABASecret: %v", err)
		}
	}()
	for h.vault.wabas.waiting(wabaSec) < 1 {
		runtime.Gosched()
	}
	h.vault.wabas.invalidate(wabaSec) // as a write does
	h.fake.putCurrent(wabaSec, "second-version-00000000000000000000", `{"business_token":"`+vaulttest.OtherTokenValue+`","pins":{}}`)
	close(release)
	<-done
	got, err := h.vault.WABASecret(ctx, waba)
	if err != nil {
		t.Fatalf("WABASecret: %v", err)
	}
	if !got.BusinessToken.Equal(tokenB) {
		t.Errorf("after invalidation: got the pre-write token, want the new one")
	}
}

func TestNoSecretInFmt(t *testing.T) {
	// Documents keep values in onboarding.Secret: an accidental %v or %+v discloses nothing.
	d, err := parseWABASecret(wabaSec, `{"business_token":"`+vaulttest.TokenValue+`","pins":{"`+phone1+`":"314159"}}`)
	if err != nil {
		t.Fatal(err)
	}
	vaulttest.NoSecretIn(t, "%+v of a document", fmt.Sprintf("%+v %v %#v", d, d, d))
	cfg, err := parseStageSecret(stageID, stageJSON(t, fullStage()))
	if err != nil {
		t.Fatal(err)
	}
	vaulttest.NoSecretIn(t, "%+v of the config", fmt.Sprintf("%+v %v %#v", cfg, cfg, cfg))
}

func TestCacheEviction(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: t0}
	c := newCache(time.Minute, clock.now, func(context.Context, string) (int, error) { return 1, nil })
	for i := range maxSlots {
		if _, err := c.get(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.add(time.Minute) // all expired
	if _, err := c.get(ctx, "one more"); err != nil {
		t.Fatal(err)
	}
	if got := len(c.slots); got != 1 {
		t.Errorf("slots after expiry: got %d, want 1", got)
	}
	for i := range maxSlots + 10 { // none expired: the map is cleared rather than grown
		if _, err := c.get(ctx, fmt.Sprint("live-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(c.slots); got > maxSlots {
		t.Errorf("slots: got %d, want at most %d", got, maxSlots)
	}
}
