package signup

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/memory"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
)

const (
	testAppID  = "236484624622562"
	testWABA   = "102290129340398"
	testPhone  = "106540352242922"
	testToken  = "EAAtesttokenvalue0123456789"
	testCode   = "AQBtestcode"
	testSecret = "614fc2afde15eee07a26b2fe3eaee9b9"
)

// fakeGraph is a func-type fake of GraphAPI; nil funcs answer a valid grant for testWABA and testPhone.
type fakeGraph struct {
	mu        sync.Mutex
	calls     map[string]int
	exchange  func(*graph.ExchangeCodeInput) (*graph.ExchangeCodeOutput, error)
	debug     func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error)
	phones    func(*graph.ListPhoneNumbersInput) (*graph.ListPhoneNumbersOutput, error)
	optChecks []func(*graph.Options)
}

func (f *fakeGraph) count(name string, optFns []func(*graph.Options)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
	f.optChecks = append(f.optChecks, optFns...)
}

func (f *fakeGraph) Calls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeGraph) ExchangeCode(_ context.Context, in *graph.ExchangeCodeInput, optFns ...func(*graph.Options)) (*graph.ExchangeCodeOutput, error) {
	f.count("oauth", optFns)
	if f.exchange != nil {
		return f.exchange(in)
	}
	return &graph.ExchangeCodeOutput{AccessToken: onboarding.NewSecret(testToken), TokenType: "bearer"}, nil
}

func validGrant() *graph.DebugTokenOutput {
	return &graph.DebugTokenOutput{
		AppID: testAppID, IsValid: true, Type: "SYSTEM_USER",
		Scopes: []string{"whatsapp_business_management", "whatsapp_business_messaging", "business_management"},
		GranularScopes: []graph.GranularScope{
			{Scope: "whatsapp_business_management", TargetIDs: []string{testWABA}},
			{Scope: "whatsapp_business_messaging", TargetIDs: []string{testWABA}},
		},
	}
}

func (f *fakeGraph) DebugToken(_ context.Context, in *graph.DebugTokenInput, optFns ...func(*graph.Options)) (*graph.DebugTokenOutput, error) {
	f.count("debug_token", optFns)
	if f.debug != nil {
		return f.debug(in)
	}
	return validGrant(), nil
}

func (f *fakeGraph) ListPhoneNumbers(_ context.Context, in *graph.ListPhoneNumbersInput, optFns ...func(*graph.Options)) (*graph.ListPhoneNumbersOutput, error) {
	f.count("phone_numbers", optFns)
	if f.phones != nil {
		return f.phones(in)
	}
	return &graph.ListPhoneNumbersOutput{PhoneNumbers: []graph.PhoneNumber{{ID: testPhone}}}, nil
}

// fakeWorkflow records started executions.
type fakeWorkflow struct {
	mu      sync.Mutex
	started []onboarding.StartInput
	err     error
}

func (w *fakeWorkflow) Start(_ context.Context, in onboarding.StartInput) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return "", w.err
	}
	w.started = append(w.started, in)
	return "arn:aws:states:us-east-1:123456789012:execution:onboarding:" + in.Name, nil
}
func (w *fakeWorkflow) SendTaskSuccess(context.Context, string, []byte) error         { return nil }
func (w *fakeWorkflow) SendTaskFailure(context.Context, string, string, string) error { return nil }

type fixture struct {
	svc   *Service
	store *memory.Store
	vault *vaultmem.Vault
	graph *fakeGraph
	wf    *fakeWorkflow
	now   time.Time
}

func newFixture(t *testing.T, creditLine string) *fixture {
	t.Helper()
	f := &fixture{
		store: memory.New(),
		vault: vaultmem.New(onboarding.AppConfig{
			AppID: testAppID, AppSecret: onboarding.NewSecret(testSecret), CreditLineID: creditLine, SystemUserID: "100",
			SystemToken: onboarding.NewSecret("EAAsystem"), WebhookVerifyToken: onboarding.NewSecret("verify"),
		}),
		graph: &fakeGraph{},
		wf:    &fakeWorkflow{},
		now:   time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC),
	}
	f.svc = New(f.store, f.vault, f.graph, f.wf, Options{
		Config: Config{DefaultCurrency: "USD", InboundTimeout: 2 * time.Hour, StatusTimeout: 30 * time.Minute},
		Clock:  func() time.Time { return f.now },
	})
	return f
}

func finishRequest() Request {
	return Request{Code: onboarding.NewSecret(testCode), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish}
}

func TestSignupHappyPath(t *testing.T) {
	f := newFixture(t, "1972385232742146")
	req := finishRequest()
	req.TestRecipient = "+16505551234"
	rec, err := f.svc.Signup(context.Background(), req)
	if err != nil {
		t.Fatalf("Signup: %v", err)
	}
	if got, want := rec.Status, onboarding.StatusRunning; got != want {
		t.Errorf("status: got %s, want %s", got, want)
	}
	stored, err := f.store.Get(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stored.Steps {
		want := onboarding.StepPending
		if st.Name == onboarding.StepExchangeToken || st.Name == onboarding.StepVerifyGrant {
			want = onboarding.StepSucceeded
		}
		if st.Status != want {
			t.Errorf("step %s: got %s, want %s", st.Name, st.Status, want)
		}
	}
	if got, want := stored.Currency, "USD"; got != want {
		t.Errorf("currency: got %q, want the stage default %q", got, want)
	}
	sec, err := f.vault.WABASecret(context.Background(), testWABA)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sec.BusinessToken.Reveal(), testToken; got != want {
		t.Errorf("stored token: got %q, want %q", got, want)
	}
	if pin := sec.PINs[testPhone]; !onboarding.ValidPIN(pin.Reveal()) {
		t.Errorf("stored PIN: got %q, want 6 digits", pin.Reveal())
	}
	if got, want := len(f.wf.started), 1; got != want {
		t.Fatalf("executions started: got %d, want %d", got, want)
	}
	in := f.wf.started[0]
	if got, want := in.Name, rec.ID+"-1"; got != want {
		t.Errorf("execution name: got %q, want %q", got, want)
	}
	wantInput := onboarding.WorkflowInput{
		OnboardingID: rec.ID, WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish,
		ShareCreditLine: true, TestMessage: true, InboundTimeoutSeconds: 7200, StatusTimeoutSeconds: 1800,
		PhoneVerificationTimeoutSeconds: int(DefaultPhoneVerificationTimeout / time.Second),
	}
	if got := in.Input; got != wantInput {
		t.Errorf("execution input:\n got %+v\nwant %+v", got, wantInput)
	}
	// The signup's own Graph calls retry in-process with a budget.
	o := graph.Options{}
	for _, fn := range f.graph.optChecks {
		fn(&o)
	}
	if !o.Retry.RetryGraphErrors || o.Retry.Budget <= 0 || o.Retry.Budget > 10*time.Second {
		t.Errorf("signup retry options: got %+v, want RetryGraphErrors within a few seconds", o.Retry)
	}
}

func TestSignupPINRules(t *testing.T) {
	tests := []struct {
		name    string
		req     func() Request
		wantPIN string // "" means none stored, "*" any valid PIN
	}{
		{"partner PIN kept", func() Request { r := finishRequest(); r.PIN = onboarding.NewSecret("581063"); return r }, "581063"},
		{"generated PIN", finishRequest, "*"},
		{"no phone: no PIN", func() Request {
			r := finishRequest()
			r.PhoneNumberID, r.Event = "", onboarding.EventFinishOnlyWABA
			return r
		}, ""},
		{"coexistence: no PIN", func() Request { r := finishRequest(); r.Event = onboarding.EventFinishBusinessApp; return r }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			if _, err := f.svc.Signup(context.Background(), tt.req()); err != nil {
				t.Fatalf("Signup: %v", err)
			}
			sec, err := f.vault.WABASecret(context.Background(), testWABA)
			if err != nil {
				t.Fatal(err)
			}
			pin, ok := sec.PINs[testPhone]
			switch tt.wantPIN {
			case "":
				if ok {
					t.Errorf("got a stored PIN, want none")
				}
			case "*":
				if !ok || !onboarding.ValidPIN(pin.Reveal()) {
					t.Errorf("got PIN %v (present %v), want a valid generated one", pin.Reveal(), ok)
				}
			default:
				if got := pin.Reveal(); got != tt.wantPIN {
					t.Errorf("PIN: got %q, want %q", got, tt.wantPIN)
				}
			}
		})
	}
}

func TestPartnerPINReplacesAStoredOne(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.vault.EnsurePIN(ctx, testWABA, testPhone, onboarding.NewSecret("111111"), "earlier"); err != nil {
		t.Fatal(err)
	}
	req := finishRequest()
	req.PIN = onboarding.NewSecret("222222")
	if _, err := f.svc.Signup(ctx, req); err != nil {
		t.Fatalf("Signup: %v", err)
	}
	sec, _ := f.vault.WABASecret(ctx, testWABA)
	if got := sec.PINs[testPhone].Reveal(); got != "222222" {
		t.Errorf("PIN: got %q, want the partner's 222222", got)
	}
	// Without a PIN, the stored one is kept.
	f2 := newFixture(t, "")
	if _, err := f2.vault.EnsurePIN(ctx, testWABA, testPhone, onboarding.NewSecret("333333"), "earlier"); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.svc.Signup(ctx, finishRequest()); err != nil {
		t.Fatalf("Signup: %v", err)
	}
	sec, _ = f2.vault.WABASecret(ctx, testWABA)
	if got := sec.PINs[testPhone].Reveal(); got != "333333" {
		t.Errorf("PIN: got %q, want the stored 333333", got)
	}
}

func TestSignupDependencyFailuresAre503s(t *testing.T) {
	t.Run("configuration unreadable: nothing is spent or written", func(t *testing.T) {
		f := newFixture(t, "")
		f.vault.FailNext(vaultmem.OpAppConfig, errors.New("secretsmanager: ThrottlingException"))
		_, err := f.svc.Signup(context.Background(), finishRequest())
		var ue *UnavailableError
		if !errors.As(err, &ue) {
			t.Fatalf("got %T %v, want UnavailableError", err, err)
		}
		if f.graph.Calls("oauth") != 0 {
			t.Errorf("the code was exchanged although the configuration could not be read")
		}
		assertNothingWritten(t, f)
	})
	t.Run("record unsaved: no token or PIN written", func(t *testing.T) {
		f := newFixture(t, "")
		f.store.FailNext("Create", errors.New("dynamodb: ProvisionedThroughputExceededException"))
		_, err := f.svc.Signup(context.Background(), finishRequest())
		var ue *UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "restart Embedded Signup") {
			t.Fatalf("got %T %v, want UnavailableError telling to restart Embedded Signup", err, err)
		}
		assertNothingWritten(t, f)
	})
	// The record exists before its secrets; when they cannot be stored it ends FAILED, not retryable
	// (the code is spent), and it no longer holds the WABA+phone guard: the customer can sign up again.
	for _, op := range []string{vaultmem.OpPutBusinessToken, vaultmem.OpEnsurePIN} {
		t.Run(op+" fails after the record was created", func(t *testing.T) {
			f := newFixture(t, "")
			f.vault.FailNext(op, errors.New("secretsmanager: ThrottlingException"))
			_, err := f.svc.Signup(context.Background(), finishRequest())
			var ue *UnavailableError
			if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "restart Embedded Signup") {
				t.Fatalf("got %T %v, want UnavailableError telling to restart Embedded Signup", err, err)
			}
			recs, _ := f.store.FindByWABA(context.Background(), testWABA, 0)
			if len(recs) != 1 {
				t.Fatalf("records: got %d, want the aborted one", len(recs))
			}
			rec := recs[0]
			if rec.Status != onboarding.StatusFailed || !rec.ReauthRequired {
				t.Errorf("aborted record: got status %s, reauth_required %v; want FAILED, true", rec.Status, rec.ReauthRequired)
			}
			if st := rec.Step(onboarding.StepExchangeToken); st.Status != onboarding.StepFailed || st.Error == nil || st.Error.Code != onboarding.CodeDependency {
				t.Errorf("exchange_token: got %+v, want FAILED with %s", st, onboarding.CodeDependency)
			}
			var nr *onboarding.NotRetryableError
			if _, err := f.svc.Retry(context.Background(), rec.ID); !errors.As(err, &nr) || nr.Code != onboarding.CodeReauthRequired {
				t.Errorf("retry of the aborted record: got %v, want %s", err, onboarding.CodeReauthRequired)
			}
			if len(f.wf.started) != 0 {
				t.Errorf("executions started: got %d, want none", len(f.wf.started))
			}
			again, err := f.svc.Signup(context.Background(), finishRequest())
			if err != nil {
				t.Fatalf("signing up again after the abort: %v", err)
			}
			if again.Status != onboarding.StatusRunning {
				t.Errorf("new signup: got %s, want RUNNING", again.Status)
			}
		})
	}
}

// assertNothingWritten checks that a refused signup left no record, secret or execution behind.
func assertNothingWritten(t *testing.T, f *fixture) {
	t.Helper()
	if recs, _ := f.store.FindByWABA(context.Background(), testWABA, 0); len(recs) != 0 {
		t.Errorf("records: got %d, want none", len(recs))
	}
	if _, err := f.vault.WABASecret(context.Background(), testWABA); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("vault: got %v, want nothing stored", err)
	}
	if len(f.wf.started) != 0 {
		t.Errorf("executions started: got %d, want none", len(f.wf.started))
	}
}

func TestSignupRefusals(t *testing.T) {
	permanentCode := &graph.Error{Call: graph.CallOAuth, HTTPStatus: 400, Code: 100, Subcode: 36007, Message: "This authorization code has expired.", Class: graph.ClassPermanent, FBTraceID: "AbC"}
	tests := []struct {
		name         string
		setup        func(*fixture)
		wantErr      any
		wantField    string
		wantExchange int
	}{
		{
			name: "expired code",
			setup: func(f *fixture) {
				f.graph.exchange = func(*graph.ExchangeCodeInput) (*graph.ExchangeCodeOutput, error) { return nil, permanentCode }
			},
			wantErr:      &ExchangeError{},
			wantExchange: 1,
		},
		{
			name: "exchange timed out",
			setup: func(f *fixture) {
				f.graph.exchange = func(*graph.ExchangeCodeInput) (*graph.ExchangeCodeOutput, error) {
					return nil, &graph.Error{Call: graph.CallOAuth, Timeout: true, Sent: true, Class: graph.ClassTransient, Message: "timeout"}
				}
			},
			wantErr:      &UpstreamError{},
			wantExchange: 1,
		},
		{
			name: "Meta unavailable",
			setup: func(f *fixture) {
				f.graph.exchange = func(*graph.ExchangeCodeInput) (*graph.ExchangeCodeOutput, error) {
					return nil, &graph.Error{Call: graph.CallOAuth, HTTPStatus: 500, Code: 2, Class: graph.ClassTransient}
				}
			},
			wantErr:      &UpstreamError{},
			wantExchange: 1,
		},
		{
			name: "token invalid",
			setup: func(f *fixture) {
				f.graph.debug = func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
					g := validGrant()
					g.IsValid = false
					return g, nil
				}
			},
			wantErr: &GrantError{}, wantField: "code", wantExchange: 1,
		},
		{
			name: "token of another app",
			setup: func(f *fixture) {
				f.graph.debug = func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
					g := validGrant()
					g.AppID = "999"
					return g, nil
				}
			},
			wantErr: &GrantError{}, wantField: "code", wantExchange: 1,
		},
		{
			name: "messaging scope missing",
			setup: func(f *fixture) {
				f.graph.debug = func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
					g := validGrant()
					g.Scopes = []string{"whatsapp_business_management"}
					g.GranularScopes = g.GranularScopes[:1]
					return g, nil
				}
			},
			wantErr: &GrantError{}, wantField: "code", wantExchange: 1,
		},
		{
			name: "WABA not granted",
			setup: func(f *fixture) {
				f.graph.debug = func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
					g := validGrant()
					for i := range g.GranularScopes {
						g.GranularScopes[i].TargetIDs = []string{"555"}
					}
					return g, nil
				}
			},
			wantErr: &GrantError{}, wantField: "waba_id", wantExchange: 1,
		},
		{
			name: "phone not in the WABA",
			setup: func(f *fixture) {
				f.graph.phones = func(*graph.ListPhoneNumbersInput) (*graph.ListPhoneNumbersOutput, error) {
					return &graph.ListPhoneNumbersOutput{PhoneNumbers: []graph.PhoneNumber{{ID: "1"}}}, nil
				}
			},
			wantErr: &GrantError{}, wantField: "phone_number_id", wantExchange: 1,
		},
		{
			name: "WABA unreadable with the token",
			setup: func(f *fixture) {
				f.graph.phones = func(*graph.ListPhoneNumbersInput) (*graph.ListPhoneNumbersOutput, error) {
					return nil, &graph.Error{Call: graph.CallPhoneNumbers, HTTPStatus: 403, Code: 200, Class: graph.ClassPermanent}
				}
			},
			wantErr: &GrantError{}, wantField: "waba_id", wantExchange: 1,
		},
		{
			// The 409 names the running onboarding only after the code was exchanged and the grant checked.
			name:         "already running: refused after proving control, and nothing written",
			setup:        func(f *fixture) { createRunning(f) },
			wantErr:      &onboarding.ActiveOnboardingError{},
			wantExchange: 1,
		},
		{
			name: "already running, but the code is expired: no 409, no id",
			setup: func(f *fixture) {
				createRunning(f)
				f.graph.exchange = func(*graph.ExchangeCodeInput) (*graph.ExchangeCodeOutput, error) { return nil, permanentCode }
			},
			wantErr:      &ExchangeError{},
			wantExchange: 1,
		},
		{
			name: "already running, but the token cannot reach the WABA: no 409, no id",
			setup: func(f *fixture) {
				createRunning(f)
				f.graph.debug = func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
					g := validGrant()
					for i := range g.GranularScopes {
						g.GranularScopes[i].TargetIDs = []string{"555"}
					}
					return g, nil
				}
			},
			wantErr: &GrantError{}, wantField: "waba_id", wantExchange: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			tt.setup(f)
			before, _ := f.store.FindByWABA(context.Background(), testWABA, 0)
			running := ""
			if len(before) == 1 {
				running = before[0].ID
			}
			_, err := f.svc.Signup(context.Background(), finishRequest())
			if err == nil {
				t.Fatalf("Signup: got no error, want %T", tt.wantErr)
			}
			switch want := tt.wantErr.(type) {
			case *ExchangeError:
				if !errors.As(err, &want) {
					t.Fatalf("got %T %v, want %T", err, err, want)
				}
			case *UpstreamError:
				if !errors.As(err, &want) {
					t.Fatalf("got %T %v, want %T", err, err, want)
				}
			case *GrantError:
				if !errors.As(err, &want) {
					t.Fatalf("got %T %v, want %T", err, err, want)
				}
				if got := want.Field; got != tt.wantField {
					t.Errorf("field: got %q, want %q", got, tt.wantField)
				}
			case *onboarding.ActiveOnboardingError:
				if !errors.As(err, &want) {
					t.Fatalf("got %T %v, want %T", err, err, want)
				}
				if got := want.ExistingID; got != running {
					t.Errorf("409 names %q, want the running %q", got, running)
				}
			}
			if _, isConflict := tt.wantErr.(*onboarding.ActiveOnboardingError); !isConflict && running != "" && strings.Contains(err.Error(), running) {
				t.Errorf("refusal %q names the running onboarding to a caller who did not prove control", err)
			}
			if got := f.graph.Calls("oauth"); got != tt.wantExchange {
				t.Errorf("exchange calls: got %d, want %d", got, tt.wantExchange)
			}
			// Nothing half-written: no new record, no token stored, no execution.
			after, _ := f.store.FindByWABA(context.Background(), testWABA, 0)
			if got, want := len(after), len(before); got != want {
				t.Errorf("records: got %d, want %d", got, want)
			}
			if _, err := f.vault.WABASecret(context.Background(), testWABA); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("vault: got %v, want nothing stored", err)
			}
			if len(f.wf.started) != 0 {
				t.Errorf("got %d executions started, want none", len(f.wf.started))
			}
			for _, s := range []string{testCode, testToken, testSecret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains a secret", err.Error())
				}
			}
		})
	}
}

// createRunning stores a RUNNING onboarding for testWABA and testPhone, as an earlier signup would.
func createRunning(f *fixture) *onboarding.Record {
	r := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish, Now: f.now})
	if err := f.store.Create(context.Background(), r); err != nil {
		panic(err)
	}
	return r
}

func TestSignupWorkflowStartFailureLeavesARetryableRecord(t *testing.T) {
	f := newFixture(t, "")
	f.wf.err = errors.New("states unavailable")
	rec, err := f.svc.Signup(context.Background(), finishRequest())
	if err != nil {
		t.Fatalf("Signup: %v", err)
	}
	if got, want := rec.Status, onboarding.StatusFailed; got != want {
		t.Fatalf("status: got %s, want %s", got, want)
	}
	st := rec.Step(onboarding.StepSubscribeWebhooks)
	if st.Status != onboarding.StepFailed || st.Error == nil || st.Error.Code != onboarding.CodeWorkflowStart {
		t.Fatalf("subscribe_webhooks: got %+v, want FAILED with %s", st, onboarding.CodeWorkflowStart)
	}
	// The workflow is back: the retry resumes from the step that never ran.
	f.wf.err = nil
	rec, err = f.svc.Retry(context.Background(), rec.ID)
	if err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if got, want := rec.Status, onboarding.StatusRunning; got != want {
		t.Errorf("status after retry: got %s, want %s", got, want)
	}
	if got, want := f.wf.started[0].Name, rec.ID+"-2"; got != want {
		t.Errorf("execution name: got %q, want %q", got, want)
	}
	if got, want := f.wf.started[0].Input.ResumeFrom, onboarding.StepSubscribeWebhooks; got != want {
		t.Errorf("resume_from: got %q, want %q", got, want)
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	failed := func(f *fixture, step onboarding.StepName, mutate func(*onboarding.Record)) string {
		r := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish, Now: f.now})
		r.Executions = 1
		if err := f.store.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		for _, s := range []onboarding.StepName{onboarding.StepSubscribeWebhooks, onboarding.StepShareCreditLine, onboarding.StepRegisterPhone} {
			if s == step {
				break
			}
			_ = r.SucceedStep(s, "", f.now)
		}
		if err := r.Fail(step, onboarding.StepError{Code: onboarding.CodeGraphPermanent, Message: "x"}, f.now); err != nil {
			t.Fatal(err)
		}
		if mutate != nil {
			mutate(r)
		}
		if err := f.store.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	t.Run("resumes from the failed step", func(t *testing.T) {
		f := newFixture(t, "1")
		id := failed(f, onboarding.StepRegisterPhone, nil)
		rec, err := f.svc.Retry(ctx, id)
		if err != nil {
			t.Fatalf("Retry: %v", err)
		}
		if got, want := rec.Step(onboarding.StepRegisterPhone).Status, onboarding.StepPending; got != want {
			t.Errorf("register_phone: got %s, want %s", got, want)
		}
		if got, want := f.wf.started[0].Input.ResumeFrom, onboarding.StepRegisterPhone; got != want {
			t.Errorf("resume_from: got %q, want %q", got, want)
		}
		if got, want := f.wf.started[0].Name, id+"-2"; got != want {
			t.Errorf("execution name: got %q, want %q", got, want)
		}
		// A second retry while it runs is refused.
		_, err = f.svc.Retry(ctx, id)
		var nr *onboarding.NotRetryableError
		if !errors.As(err, &nr) || nr.Code != onboarding.CodeNotRetryable {
			t.Errorf("second retry: got %v, want not_retryable", err)
		}
	})
	tests := []struct {
		name     string
		mutate   func(*onboarding.Record)
		wantCode string
	}{
		{"token refused by Meta", func(r *onboarding.Record) { r.ReauthRequired = true }, onboarding.CodeReauthRequired},
		{"register blocked", func(r *onboarding.Record) {
			t := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
			r.RegisterRetryAfter = &t
		}, onboarding.CodeRegisterBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			id := failed(f, onboarding.StepRegisterPhone, tt.mutate)
			_, err := f.svc.Retry(ctx, id)
			var nr *onboarding.NotRetryableError
			if !errors.As(err, &nr) || nr.Code != tt.wantCode {
				t.Fatalf("got %v, want %s", err, tt.wantCode)
			}
			if len(f.wf.started) != 0 {
				t.Errorf("an execution was started")
			}
		})
	}
	t.Run("another onboarding took the WABA and phone", func(t *testing.T) {
		f := newFixture(t, "")
		id := failed(f, onboarding.StepSubscribeWebhooks, nil)
		other := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish, Now: f.now})
		if err := f.store.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Retry(ctx, id)
		var active *onboarding.ActiveOnboardingError
		if !errors.As(err, &active) || active.ExistingID != other.ID {
			t.Fatalf("got %v, want ActiveOnboardingError naming %s", err, other.ID)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		f := newFixture(t, "")
		if _, err := f.svc.Retry(ctx, onboarding.NewID()); !errors.Is(err, onboarding.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

// TestCustomerOwnsItsOnboardings: with a caller in the context (partner authentication), a signup stamps
// the caller's customer_ref, and another caller can neither read nor retry the record: it does not exist
// for them.
func TestCustomerOwnsItsOnboardings(t *testing.T) {
	f := newFixture(t, "")
	alice := auth.WithCaller(context.Background(), auth.Caller{Subject: "customer-alice"})
	bob := auth.WithCaller(context.Background(), auth.Caller{Subject: "customer-bob"})
	req := finishRequest()
	req.CustomerRef = "customer-alice"
	f.wf.err = errors.New("states unavailable") // leaves the record FAILED, so that a retry is possible
	rec, err := f.svc.Signup(alice, req)
	if err != nil {
		t.Fatalf("Signup: %v", err)
	}
	if got, want := rec.CustomerRef, "customer-alice"; got != want {
		t.Errorf("customer_ref: got %q, want %q", got, want)
	}
	f.wf.err = nil
	if _, err := f.svc.Get(bob, rec.ID); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("another customer's Get: got %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Retry(bob, rec.ID); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("another customer's Retry: got %v, want ErrNotFound", err)
	}
	if len(f.wf.started) != 0 {
		t.Errorf("another customer's retry started %d executions", len(f.wf.started))
	}
	if _, err := f.svc.Get(alice, rec.ID); err != nil {
		t.Errorf("owner's Get: %v", err)
	}
	// Without partner authentication (no caller) the id is the capability.
	if _, err := f.svc.Get(context.Background(), rec.ID); err != nil {
		t.Errorf("Get without a caller: %v", err)
	}
	recs, next, err := f.svc.List(alice, "customer-alice", "", 20, "")
	if err != nil || len(recs) != 1 || recs[0].ID != rec.ID || next != "" {
		t.Errorf("List: got %v, %q, %v; want the one record", recs, next, err)
	}
	if recs, _, err := f.svc.List(alice, "", "", 20, ""); err != nil || len(recs) != 0 {
		t.Errorf("List without a customer: got %v, %v; want nothing", recs, err)
	}
	if _, err := f.svc.Retry(alice, rec.ID); err != nil {
		t.Errorf("owner's Retry: %v", err)
	}
}
