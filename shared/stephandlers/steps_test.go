package stephandlers

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/memory"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
)

const (
	appID        = "236484624622562"
	appSecret    = "614fc2afde15eee07a26b2fe3eaee9b9"
	systemToken  = "EAAsystemtoken0123456789"
	systemUser   = "100000000000001"
	creditLine   = "1972385232742146"
	wabaID       = "102290129340398"
	phoneID      = "106540352242922"
	testerNumber = "+16505551234"
)

type fixture struct {
	sim   *graphsim.Server
	store *memory.Store
	vault *vaultmem.Vault
	svc   *Service
	rec   *onboarding.Record
	token string
	now   time.Time
}

type fixtureOpts struct {
	creditLine string
	phone      string
	event      onboarding.Event
	recipient  string
	override   string
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.event == "" {
		o.event = onboarding.EventFinish
	}
	if o.phone == "" && o.event != onboarding.EventFinishOnlyWABA {
		o.phone = phoneID
	}
	f := &fixture{now: time.Now().UTC()}
	f.sim = graphsim.New(graphsim.Config{
		AppID: appID, AppSecret: onboarding.NewSecret(appSecret), SystemToken: onboarding.NewSecret(systemToken),
		SystemUserID: systemUser, CreditLineID: creditLine, TesterNumber: testerNumber,
	})
	srv := httptest.NewServer(f.sim)
	t.Cleanup(srv.Close)
	t.Cleanup(f.sim.Close)
	client, err := graph.New(graph.Options{
		BaseEndpoint: srv.URL, CallTimeout: 500 * time.Millisecond,
		Retry: graph.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.store = memory.New()
	f.vault = vaultmem.New(onboarding.AppConfig{
		AppID: appID, AppSecret: onboarding.NewSecret(appSecret), SystemToken: onboarding.NewSecret(systemToken),
		SystemUserID: systemUser, CreditLineID: o.creditLine, WebhookVerifyToken: onboarding.NewSecret("verify-me"),
	})
	f.token = f.sim.IssueToken(wabaID, o.phone)
	ctx := context.Background()
	if err := f.vault.PutBusinessToken(ctx, wabaID, onboarding.NewSecret(f.token), time.Time{}, "signup"); err != nil {
		t.Fatal(err)
	}
	f.rec = onboarding.NewRecord(onboarding.NewRecordInput{
		ID: onboarding.NewID(), WABAID: wabaID, PhoneNumberID: o.phone, Event: o.event, Currency: "USD", TestRecipient: o.recipient, Now: f.now,
	})
	if err := f.store.Create(ctx, f.rec); err != nil {
		t.Fatal(err)
	}
	f.svc = New(f.store, f.vault, client, f.store, &recordingCorrelator{}, Options{Config: Config{WebhookOverrideURL: o.override}})
	return f
}

type recordingCorrelator struct {
	mu  sync.Mutex
	ids []string
}

func (c *recordingCorrelator) RequestCorrelation(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
	return nil
}

func (f *fixture) record(t *testing.T) *onboarding.Record {
	t.Helper()
	r, err := f.store.Get(context.Background(), f.rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) in() Input { return Input{OnboardingID: f.rec.ID} }

func TestEachStepTwiceCausesOneSideEffect(t *testing.T) {
	tests := []struct {
		name        string
		opts        fixtureOpts
		prepare     func(*fixture)
		run         func(*Service) func(context.Context, Input) (Output, error)
		step        onboarding.StepName
		wantStatus  onboarding.StepStatus
		sideEffects map[string]int
		check       func(*testing.T, *fixture)
	}{
		{
			name: "subscribe_webhooks", run: func(s *Service) func(context.Context, Input) (Output, error) { return s.SubscribeWebhooks },
			step: onboarding.StepSubscribeWebhooks, wantStatus: onboarding.StepSucceeded,
			sideEffects: map[string]int{graph.CallSubscribedApps: 1},
			check: func(t *testing.T, f *fixture) {
				if w, _ := f.sim.WABAState(wabaID); !w.Subscribed {
					t.Errorf("the app is not subscribed at Meta")
				}
			},
		},
		{
			name: "subscribe_webhooks with callback override", opts: fixtureOpts{override: "https://hooks.partner.example/wa"},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.SubscribeWebhooks },
			step: onboarding.StepSubscribeWebhooks, wantStatus: onboarding.StepSucceeded,
			sideEffects: map[string]int{graph.CallSubscribedApps: 2}, // subscribe, then override: never both at once
			check: func(t *testing.T, f *fixture) {
				if w, _ := f.sim.WABAState(wabaID); w.OverrideCallbackURI != "https://hooks.partner.example/wa" {
					t.Errorf("override: got %q", w.OverrideCallbackURI)
				}
			},
		},
		{
			name: "share_credit_line", opts: fixtureOpts{creditLine: creditLine},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.ShareCreditLine },
			step: onboarding.StepShareCreditLine, wantStatus: onboarding.StepSucceeded,
			sideEffects: map[string]int{graph.CallAssignedUsers: 1, graph.CallCreditSharing: 1},
			check: func(t *testing.T, f *fixture) {
				w, _ := f.sim.WABAState(wabaID)
				if got := f.record(t).AllocationConfigID; got == "" || got != w.AllocationConfigID {
					t.Errorf("allocation_config_id: got %q, want Meta's %q", got, w.AllocationConfigID)
				}
			},
		},
		{
			name: "share_credit_line without a credit line", opts: fixtureOpts{},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.ShareCreditLine },
			step: onboarding.StepShareCreditLine, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallAssignedUsers: 0, graph.CallCreditSharing: 0},
		},
		{
			name: "register_phone",
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone },
			step: onboarding.StepRegisterPhone, wantStatus: onboarding.StepSucceeded,
			sideEffects: map[string]int{graph.CallRegister: 1},
			check: func(t *testing.T, f *fixture) {
				p, _ := f.sim.PhoneState(phoneID)
				sec, _ := f.vault.WABASecret(context.Background(), wabaID)
				if !p.PIN.Equal(sec.PINs[phoneID]) || p.PIN.IsZero() {
					t.Errorf("Meta's PIN is not the stored PIN")
				}
			},
		},
		{
			name: "sync_business_app", opts: fixtureOpts{phone: "106540352242222", event: onboarding.EventFinishBusinessApp},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.SyncBusinessApp },
			step: onboarding.StepSyncBusinessApp, wantStatus: onboarding.StepSucceeded,
			sideEffects: map[string]int{graph.CallSMBAppData: 2}, // contacts, then history: once each
			check: func(t *testing.T, f *fixture) {
				if p := f.record(t).Progress; !p.StateSynced || !p.HistorySynced || p.StateSyncStarted == nil || p.HistorySyncStarted == nil {
					t.Errorf("progress: %+v", p)
				}
				if n := f.record(t).Step(onboarding.StepSyncBusinessApp).Note; !strings.Contains(n, "request_id") {
					t.Errorf("note %q lacks Meta's request ids", n)
				}
			},
		},
		{
			name: "sync_business_app not coexistence",
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.SyncBusinessApp },
			step: onboarding.StepSyncBusinessApp, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallSMBAppData: 0},
		},
		{
			name: "verify_phone verified number", // reads only
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return verifyPhone(s) },
			step: onboarding.StepVerifyPhone, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallVerifyCode: 0, graph.CallRequestCode: 0},
		},
		{
			name: "register_phone already connected", opts: fixtureOpts{phone: "106540352241111"},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone },
			step: onboarding.StepRegisterPhone, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallRegister: 0},
		},
		{
			name: "register_phone coexistence number", opts: fixtureOpts{phone: "106540352242222"},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone },
			step: onboarding.StepRegisterPhone, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallRegister: 0},
		},
		{
			name: "register_phone coexistence event", opts: fixtureOpts{event: onboarding.EventFinishBusinessApp},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone },
			step: onboarding.StepRegisterPhone, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallRegister: 0, graph.CallPhoneInfo: 0},
		},
		{
			name: "register_phone without a phone", opts: fixtureOpts{event: onboarding.EventFinishOnlyWABA},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone },
			step: onboarding.StepRegisterPhone, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallRegister: 0, graph.CallPhoneInfo: 0},
		},
		{
			name: "send_test_message", opts: fixtureOpts{recipient: testerNumber},
			prepare: func(f *fixture) {
				f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "CLOUD_API", Status: "CONNECTED"})
				f.sim.OpenWindow(phoneID, testerNumber, time.Now())
			},
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.SendTestMessage },
			step: onboarding.StepSendTestMessage, wantStatus: onboarding.StepRunning, // done when the status webhook arrives
			sideEffects: map[string]int{graph.CallMessages: 1},
			check: func(t *testing.T, f *fixture) {
				if f.record(t).TestMessageID == "" {
					t.Errorf("test_message_id not recorded")
				}
			},
		},
		{
			name: "send_test_message without a recipient",
			run:  func(s *Service) func(context.Context, Input) (Output, error) { return s.SendTestMessage },
			step: onboarding.StepSendTestMessage, wantStatus: onboarding.StepSkipped,
			sideEffects: map[string]int{graph.CallMessages: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			run := tt.run(f.svc)
			for i := range 2 {
				out, err := run(context.Background(), f.in())
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
				if out.Status != tt.wantStatus {
					t.Errorf("run %d: got %s, want %s", i+1, out.Status, tt.wantStatus)
				}
			}
			for call, want := range tt.sideEffects {
				if got := f.sim.SideEffects(call); got != want {
					t.Errorf("side effects of %s at Meta: got %d, want %d", call, got, want)
				}
			}
			st := f.record(t).Step(tt.step)
			if st.Status != tt.wantStatus {
				t.Errorf("recorded step: got %s, want %s", st.Status, tt.wantStatus)
			}
			if tt.wantStatus == onboarding.StepSucceeded && st.Attempts != 1 {
				t.Errorf("attempts: got %d, want 1 (the second run found the step done)", st.Attempts)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// TestStepKilledAfterItsSideEffectReruns: Meta acted, the answer was lost (a timeout: the Lambda may as well
// have been killed); the re-run reads what was done and succeeds without acting again.
func TestStepKilledAfterItsSideEffectReruns(t *testing.T) {
	tests := []struct {
		name string
		opts fixtureOpts
		call string
		run  func(*Service) func(context.Context, Input) (Output, error)
		step onboarding.StepName
	}{
		{"credit line attached, answer lost", fixtureOpts{creditLine: creditLine}, graph.CallCreditSharing,
			func(s *Service) func(context.Context, Input) (Output, error) { return s.ShareCreditLine }, onboarding.StepShareCreditLine},
		{"number registered, answer lost", fixtureOpts{}, graph.CallRegister,
			func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone }, onboarding.StepRegisterPhone},
		{"app subscribed, answer lost", fixtureOpts{}, graph.CallSubscribedApps,
			func(s *Service) func(context.Context, Input) (Output, error) { return s.SubscribeWebhooks }, onboarding.StepSubscribeWebhooks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opts)
			// POST: the write takes effect and its answer is lost (subscribed_apps also names the read).
			f.sim.InjectFault(graphsim.Fault{Call: tt.call, Method: "POST", Kind: graphsim.FaultTimeout, Count: 1})
			run := tt.run(f.svc)
			_, err := run(context.Background(), f.in())
			var te *onboarding.TransientError
			if !errors.As(err, &te) {
				// A GET that timed out is retried by the client itself; then the step may already succeed.
				if err != nil {
					t.Fatalf("first run: got %T %v, want TransientError", err, err)
				}
			}
			out, err := run(context.Background(), f.in())
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if out.Status != onboarding.StepSucceeded {
				t.Errorf("re-run: got %s, want SUCCEEDED", out.Status)
			}
			if got := f.sim.SideEffects(tt.call); got != 1 {
				t.Errorf("side effects of %s: got %d, want 1", tt.call, got)
			}
			if tt.step == onboarding.StepShareCreditLine {
				w, _ := f.sim.WABAState(wabaID)
				if got := f.record(t).AllocationConfigID; got != w.AllocationConfigID {
					t.Errorf("allocation_config_id recovered: got %q, want %q", got, w.AllocationConfigID)
				}
			}
		})
	}
}

// TestGraphErrorClassesPerStep injects each class of Graph error into each step and checks the typed error
// the workflow sees and what the record shows, then records the failure as the workflow's Catch would.
func TestGraphErrorClassesPerStep(t *testing.T) {
	steps := []struct {
		name string
		opts fixtureOpts
		call string
		run  func(*Service) func(context.Context, Input) (Output, error)
		step onboarding.StepName
	}{
		{"subscribe_webhooks", fixtureOpts{}, graph.CallSubscribedApps, func(s *Service) func(context.Context, Input) (Output, error) { return s.SubscribeWebhooks }, onboarding.StepSubscribeWebhooks},
		{"share_credit_line", fixtureOpts{creditLine: creditLine}, graph.CallCreditSharing, func(s *Service) func(context.Context, Input) (Output, error) { return s.ShareCreditLine }, onboarding.StepShareCreditLine},
		{"register_phone", fixtureOpts{}, graph.CallRegister, func(s *Service) func(context.Context, Input) (Output, error) { return s.RegisterPhone }, onboarding.StepRegisterPhone},
		{"send_test_message", fixtureOpts{recipient: testerNumber}, graph.CallMessages, func(s *Service) func(context.Context, Input) (Output, error) { return s.SendTestMessage }, onboarding.StepSendTestMessage},
	}
	classes := []struct {
		code     int
		wantName string
		wantCode string
	}{
		{1, onboarding.ErrorNameTransient, onboarding.CodeGraphTransient},
		{131000, onboarding.ErrorNameTransient, onboarding.CodeGraphTransient},
		{4, onboarding.ErrorNameThrottled, onboarding.CodeGraphThrottled},
		{130429, onboarding.ErrorNameThrottled, onboarding.CodeGraphThrottled},
		{133015, onboarding.ErrorNameWaitFixed, onboarding.CodeGraphWaitFixed},
		{100, onboarding.ErrorNamePermanent, onboarding.CodeGraphPermanent},
		{200, onboarding.ErrorNamePermanent, onboarding.CodeGraphPermanent},
		{190, onboarding.ErrorNamePermanent, onboarding.CodeReauthRequired},
	}
	for _, st := range steps {
		for _, c := range classes {
			t.Run(st.name+"/"+c.wantCode+"/"+strconv.Itoa(c.code), func(t *testing.T) {
				f := newFixture(t, st.opts)
				if st.step == onboarding.StepSendTestMessage {
					f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "CLOUD_API", Status: "CONNECTED"})
					f.sim.OpenWindow(phoneID, testerNumber, time.Now())
				}
				// Three failures outlast the client's own retries of idempotent calls (code 1 comes as a 5xx).
				f.sim.InjectFault(graphsim.Fault{Call: st.call, Kind: graphsim.FaultGraphError, Code: c.code, Count: graph.DefaultMaxAttempts})
				_, err := st.run(f.svc)(context.Background(), f.in())
				if err == nil {
					t.Fatal("got no error")
				}
				if got := errorName(err); got != c.wantName {
					t.Fatalf("error name: got %s (%v), want %s", got, err, c.wantName)
				}
				rec := f.record(t)
				s := rec.Step(st.step)
				if s.Status != onboarding.StepRunning || s.Error == nil {
					t.Fatalf("step after the attempt: got %+v, want RUNNING with the error noted", s)
				}
				if s.Error.Code != c.wantCode || s.Error.GraphCode != c.code || s.Error.FBTraceID == "" || s.Error.Message == "" {
					t.Errorf("recorded error: got %+v, want code %s, graph code %d and an fbtrace_id", s.Error, c.wantCode, c.code)
				}
				if got, want := rec.ReauthRequired, c.code == 190; got != want {
					t.Errorf("reauth_required: got %v, want %v", got, want)
				}
				if got := f.sim.SideEffects(st.call); got != 0 {
					t.Errorf("side effects: got %d, want 0", got)
				}
				// The workflow's Catch records the failure with Meta's code and trace id.
				cause := `{"errorMessage":"` + s.Error.String() + `","errorType":"` + c.wantName + `"}`
				if _, err := f.svc.RecordOutcome(context.Background(), OutcomeInput{Action: ActionFail, OnboardingID: f.rec.ID, Step: st.step, Error: &CaughtError{Error: c.wantName, Cause: cause}}); err != nil {
					t.Fatal(err)
				}
				rec = f.record(t)
				s = rec.Step(st.step)
				if rec.Status != onboarding.StatusFailed || s.Status != onboarding.StepFailed || s.Error.GraphCode != c.code || s.Error.FBTraceID == "" {
					t.Errorf("after the failure: record %s, step %+v", rec.Status, s)
				}
			})
		}
	}
}

func TestRegisterRules(t *testing.T) {
	t.Run("blocked after 133016", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		f.sim.InjectFault(graphsim.Fault{Call: graph.CallRegister, Kind: graphsim.FaultGraphError, Code: 133016})
		_, err := f.svc.RegisterPhone(context.Background(), f.in())
		var pe *onboarding.PermanentError
		if !errors.As(err, &pe) || pe.Code != onboarding.CodeRegisterBlocked {
			t.Fatalf("got %v, want a permanent register_blocked error", err)
		}
		rec := f.record(t)
		if rec.RegisterRetryAfter == nil || rec.RegisterRetryAfter.Before(time.Now().Add(71*time.Hour)) {
			t.Fatalf("register_retry_after: got %v, want about 72 hours ahead", rec.RegisterRetryAfter)
		}
		// No further call is made while blocked.
		calls := f.sim.Calls(graph.CallRegister)
		if _, err := f.svc.RegisterPhone(context.Background(), f.in()); err == nil {
			t.Fatal("got no error while blocked")
		}
		if got := f.sim.Calls(graph.CallRegister); got != calls {
			t.Errorf("register calls while blocked: got %d, want %d", got, calls)
		}
	})
	t.Run("PIN mismatch 133005", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		// The number carries a two-step PIN from elsewhere and is not connected to Cloud API.
		f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "NOT_APPLICABLE", Status: "DISCONNECTED", PIN: onboarding.NewSecret("111111")})
		if _, err := f.vault.EnsurePIN(context.Background(), wabaID, phoneID, onboarding.NewSecret("222222"), "x"); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.RegisterPhone(context.Background(), f.in())
		var pe *onboarding.PermanentError
		if !errors.As(err, &pe) || pe.Code != onboarding.CodePINMismatch || pe.GraphCode != 133005 {
			t.Fatalf("got %v, want a permanent pin_mismatch error", err)
		}
		if !strings.Contains(pe.Message, "pin") {
			t.Errorf("message %q does not tell the operator what to do", pe.Message)
		}
	})
	t.Run("the stored PIN is reused", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		if _, err := f.vault.EnsurePIN(context.Background(), wabaID, phoneID, onboarding.NewSecret("581063"), "signup"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RegisterPhone(context.Background(), f.in()); err != nil {
			t.Fatal(err)
		}
		if p, _ := f.sim.PhoneState(phoneID); p.PIN.Reveal() != "581063" {
			t.Errorf("registered with another PIN than the stored one")
		}
	})
	t.Run("register call cap", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		for range DefaultRegisterCallLimit {
			f.sim.InjectFault(graphsim.Fault{Call: graph.CallRegister, Kind: graphsim.FaultGraphError, Code: 1})
			if _, err := f.svc.RegisterPhone(context.Background(), f.in()); err == nil {
				t.Fatal("got no error")
			}
		}
		_, err := f.svc.RegisterPhone(context.Background(), f.in())
		var pe *onboarding.PermanentError
		if !errors.As(err, &pe) || pe.Code != onboarding.CodeRegisterBlocked {
			t.Fatalf("got %v, want the cap to stop automatic register calls", err)
		}
		if got := f.sim.Calls(graph.CallRegister); got != DefaultRegisterCallLimit {
			t.Errorf("register calls: got %d, want %d", got, DefaultRegisterCallLimit)
		}
	})
}

func TestSendTestMessageOutsideTheWindow(t *testing.T) {
	f := newFixture(t, fixtureOpts{recipient: testerNumber})
	f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "CLOUD_API", Status: "CONNECTED"})
	_, err := f.svc.SendTestMessage(context.Background(), f.in())
	var pe *onboarding.PermanentError
	if !errors.As(err, &pe) || pe.Code != onboarding.CodeOutsideWindow || pe.GraphCode != 131047 {
		t.Fatalf("got %v, want a permanent outside-window error", err)
	}
}

func TestMissingTokenIsPermanent(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.vault = vaultmem.New(onboarding.AppConfig{AppID: appID, AppSecret: onboarding.NewSecret(appSecret)})
	f.svc.vault = f.vault
	_, err := f.svc.SubscribeWebhooks(context.Background(), f.in())
	var pe *onboarding.PermanentError
	if !errors.As(err, &pe) || pe.Code != onboarding.CodeMissingSecret {
		t.Fatalf("got %v, want missing_secret", err)
	}
}

func TestVaultOutageIsTransient(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.vault.FailNext(vaultmem.OpWABASecret, errors.New("secretsmanager: ThrottlingException"))
	_, err := f.svc.SubscribeWebhooks(context.Background(), f.in())
	if got := errorName(err); got != onboarding.ErrorNameTransient {
		t.Fatalf("got %s (%v), want TransientError", got, err)
	}
	if _, err := f.svc.SubscribeWebhooks(context.Background(), f.in()); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestStoreThrottlingIsTransient(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.store.FailNext("Get", errors.New("ProvisionedThroughputExceededException"))
	_, err := f.svc.SubscribeWebhooks(context.Background(), f.in())
	if got := errorName(err); got != onboarding.ErrorNameTransient {
		t.Fatalf("got %s (%v), want TransientError", got, err)
	}
}

func TestCreditLineConflict(t *testing.T) {
	f := newFixture(t, fixtureOpts{creditLine: creditLine})
	real := f.svc.graph
	f.svc.graph = fundedGraph{GraphAPI: real}
	_, err := f.svc.ShareCreditLine(context.Background(), f.in())
	var pe *onboarding.PermanentError
	if !errors.As(err, &pe) || pe.Code != onboarding.CodeCreditLineConflict {
		t.Fatalf("got %v, want credit_line_conflict", err)
	}
	if got := f.sim.SideEffects(graph.CallCreditSharing); got != 0 {
		t.Errorf("attached despite the conflict: %d", got)
	}
}

// fundedGraph reports the WABA as funded by a payment method that is not the partner's credit line.
type fundedGraph struct{ GraphAPI }

func (g fundedGraph) GetWABA(ctx context.Context, in *graph.GetWABAInput, optFns ...func(*graph.Options)) (*graph.WABA, error) {
	w, err := g.GraphAPI.GetWABA(ctx, in, optFns...)
	if err == nil {
		w.PrimaryFundingID = "9999999999"
	}
	return w, err
}

func TestRecordOutcome(t *testing.T) {
	ctx := context.Background()
	t.Run("skip is idempotent", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		for range 2 {
			out, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionSkip, OnboardingID: f.rec.ID, Step: onboarding.StepShareCreditLine, Reason: "no credit line configured"})
			if err != nil || out.Status != onboarding.StepSkipped {
				t.Fatalf("got %+v %v", out, err)
			}
		}
		if st := f.record(t).Step(onboarding.StepShareCreditLine); st.Note != "no credit line configured" {
			t.Errorf("note: got %q", st.Note)
		}
	})
	t.Run("wait timeout fails send_test_message", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{recipient: testerNumber})
		_, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionFail, OnboardingID: f.rec.ID, Step: onboarding.StepSendTestMessage, Error: &CaughtError{Error: "States.Timeout", Cause: ""}})
		if err != nil {
			t.Fatal(err)
		}
		st := f.record(t).Step(onboarding.StepSendTestMessage)
		if st.Status != onboarding.StepFailed || st.Error.Code != onboarding.CodeTestMessageTimeout {
			t.Errorf("got %+v", st)
		}
	})
	t.Run("a Lambda crash is recorded", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		_, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionFail, OnboardingID: f.rec.ID, Step: onboarding.StepRegisterPhone, Error: &CaughtError{Error: "Lambda.ServiceException", Cause: `{"errorMessage":"Rate exceeded"}`}})
		if err != nil {
			t.Fatal(err)
		}
		st := f.record(t).Step(onboarding.StepRegisterPhone)
		if st.Error.Code != onboarding.CodeStepCrashed || !strings.Contains(st.Error.Message, "Rate exceeded") {
			t.Errorf("got %+v", st.Error)
		}
	})
	t.Run("complete verified", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{recipient: testerNumber})
		r := f.record(t)
		for _, s := range []onboarding.StepName{onboarding.StepSubscribeWebhooks, onboarding.StepSyncBusinessApp, onboarding.StepShareCreditLine, onboarding.StepVerifyPhone, onboarding.StepRegisterPhone} {
			_ = r.SucceedStep(s, "", time.Now())
		}
		_ = r.StartStep(onboarding.StepSendTestMessage, time.Now())
		if err := f.store.Update(ctx, r); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionComplete, OnboardingID: f.rec.ID, Verified: true}); err != nil {
				t.Fatal(err)
			}
		}
		r = f.record(t)
		if r.Status != onboarding.StatusVerified || r.Step(onboarding.StepSendTestMessage).Status != onboarding.StepSucceeded {
			t.Errorf("got %s with send_test_message %s", r.Status, r.Step(onboarding.StepSendTestMessage).Status)
		}
	})
	t.Run("complete with a pending step is refused", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		if _, err := f.svc.RecordOutcome(ctx, OutcomeInput{Action: ActionComplete, OnboardingID: f.rec.ID}); err == nil {
			t.Fatal("got no error")
		}
	})
	t.Run("bad input", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{})
		for _, in := range []OutcomeInput{
			{Action: "explode", OnboardingID: f.rec.ID, Step: onboarding.StepRegisterPhone},
			{Action: ActionSkip, OnboardingID: "x", Step: onboarding.StepRegisterPhone},
			{Action: ActionSkip, OnboardingID: f.rec.ID, Step: "nope"},
		} {
			if _, err := f.svc.RecordOutcome(ctx, in); errorName(err) != onboarding.ErrorNamePermanent {
				t.Errorf("%+v: got %v, want PermanentError", in, err)
			}
		}
	})
}

func TestAwaitWebhook(t *testing.T) {
	f := newFixture(t, fixtureOpts{recipient: testerNumber})
	ctx := context.Background()
	if _, err := f.svc.AwaitWebhook(ctx, AwaitInput{OnboardingID: f.rec.ID, Kind: onboarding.WaitInboundMessage, TaskToken: "tok-1"}); err != nil {
		t.Fatal(err)
	}
	r := f.record(t)
	if r.Status != onboarding.StatusAwaitingTestMessage || r.Step(onboarding.StepSendTestMessage).Status != onboarding.StepRunning {
		t.Errorf("got %s with send_test_message %s", r.Status, r.Step(onboarding.StepSendTestMessage).Status)
	}
	w, err := f.store.TakeWait(ctx, f.rec.ID, string(onboarding.WaitInboundMessage))
	if err != nil || w.TaskToken != "tok-1" {
		t.Errorf("stored wait: got %+v %v", w, err)
	}
	if c := f.svc.correlator.(*recordingCorrelator); len(c.ids) != 1 || c.ids[0] != f.rec.ID {
		t.Errorf("correlation requests: got %v", c.ids)
	}
	// The send continues the attempt the wait started.
	f.sim.SetPhone(phoneID, graphsim.PhoneState{ID: phoneID, WABAID: wabaID, PlatformType: "CLOUD_API", Status: "CONNECTED"})
	f.sim.OpenWindow(phoneID, testerNumber, time.Now())
	if _, err := f.svc.SendTestMessage(ctx, f.in()); err != nil {
		t.Fatal(err)
	}
	if got := f.record(t).Step(onboarding.StepSendTestMessage).Attempts; got != 1 {
		t.Errorf("attempts: got %d, want 1", got)
	}
	for _, bad := range []AwaitInput{{OnboardingID: f.rec.ID, Kind: "x", TaskToken: "t"}, {OnboardingID: f.rec.ID, Kind: onboarding.WaitMessageStatus}} {
		if _, err := f.svc.AwaitWebhook(ctx, bad); errorName(err) != onboarding.ErrorNamePermanent {
			t.Errorf("%+v: got %v, want PermanentError", bad, err)
		}
	}
}

// verifyPhone adapts VerifyPhone to the steps' Input signature.
func verifyPhone(s *Service) func(context.Context, Input) (Output, error) {
	return func(ctx context.Context, in Input) (Output, error) {
		return s.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: in.OnboardingID})
	}
}

func TestVerifyPhone(t *testing.T) {
	ctx := context.Background()
	const unverified = "106540352243333"
	t.Run("an unverified number leaves the step RUNNING for the wait", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{phone: unverified})
		out, err := f.svc.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: f.rec.ID})
		if err != nil || out.Status != onboarding.StepRunning {
			t.Fatalf("got %+v, %v, want RUNNING", out, err)
		}
		if st := f.record(t).Step(onboarding.StepVerifyPhone); st.Status != onboarding.StepRunning || st.Attempts != 1 {
			t.Errorf("step: %+v", st)
		}
		// The wait times out with the code never accepted: phone_verification_timeout, permanent.
		_, err = f.svc.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: f.rec.ID, AfterWait: true})
		var pe *onboarding.PermanentError
		if !errors.As(err, &pe) || pe.Code != onboarding.CodePhoneVerificationTimeout {
			t.Errorf("after the wait: got %v, want phone_verification_timeout", err)
		}
	})
	t.Run("after the wait, a code accepted meanwhile succeeds", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{phone: unverified})
		if _, err := f.svc.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: f.rec.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := onboarding.Mutate(ctx, f.store, f.rec.ID, func(r *onboarding.Record) error { r.Progress.PhoneVerified = true; return nil }); err != nil {
			t.Fatal(err)
		}
		out, err := f.svc.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: f.rec.ID, AfterWait: true})
		if err != nil || out.Status != onboarding.StepSucceeded {
			t.Errorf("got %+v, %v, want SUCCEEDED", out, err)
		}
	})
	t.Run("no number and coexistence numbers skip", func(t *testing.T) {
		for _, o := range []fixtureOpts{{event: onboarding.EventFinishOnlyWABA}, {event: onboarding.EventFinishBusinessApp, phone: "106540352242222"}} {
			f := newFixture(t, o)
			out, err := f.svc.VerifyPhone(ctx, VerifyPhoneInput{OnboardingID: f.rec.ID})
			if err != nil || out.Status != onboarding.StepSkipped || f.sim.Calls(graph.CallPhoneInfo) != 0 {
				t.Errorf("%s: got %+v, %v, %d phone reads", o.event, out, err, f.sim.Calls(graph.CallPhoneInfo))
			}
		}
	})
}

func TestSyncBusinessAppWindowAndRepeats(t *testing.T) {
	ctx := context.Background()
	opts := fixtureOpts{phone: "106540352242222", event: onboarding.EventFinishBusinessApp}
	t.Run("outside 24 hours nothing is sent", func(t *testing.T) {
		f := newFixture(t, opts)
		// The onboarding began more than 24 hours ago (a retry the next day).
		if _, err := onboarding.Mutate(ctx, f.store, f.rec.ID, func(r *onboarding.Record) error {
			r.CreatedAt = r.CreatedAt.Add(-SyncWindow - time.Minute)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.SyncBusinessApp(ctx, Input{OnboardingID: f.rec.ID})
		var pe *onboarding.PermanentError
		if !errors.As(err, &pe) || pe.Code != onboarding.CodeBusinessAppSyncWindow || f.sim.Calls(graph.CallSMBAppData) != 0 {
			t.Errorf("got %v after %d calls, want business_app_sync_window_expired and none", err, f.sim.Calls(graph.CallSMBAppData))
		}
	})
	t.Run("a sync Meta already has counts as done", func(t *testing.T) {
		f := newFixture(t, opts)
		f.sim.InjectFault(graphsim.Fault{Call: graph.CallSMBAppData, Kind: graphsim.FaultGraphError, Code: graph.CodeSyncAlreadyDone, Count: 1})
		out, err := f.svc.SyncBusinessApp(ctx, Input{OnboardingID: f.rec.ID})
		if err != nil || out.Status != onboarding.StepSucceeded || !strings.Contains(out.Note, "contacts sync already requested") {
			t.Errorf("got %+v, %v", out, err)
		}
	})
}
