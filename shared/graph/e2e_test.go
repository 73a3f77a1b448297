package graph_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
)

// simulator starts a simulator behind httptest and returns it with its base URL.
func simulator(t testing.TB, cfg graphsim.Config) (*graphsim.Server, string) {
	t.Helper()
	if cfg.AppSecret.IsZero() {
		cfg.AppSecret = secret(appSecret)
	}
	if cfg.SystemToken.IsZero() {
		cfg.SystemToken = secret(systemToken)
	}
	sim := graphsim.New(cfg)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	t.Cleanup(sim.Close) // first: releases stalled answers so that ts.Close returns
	return sim, ts.URL
}

// TestOnboardingAgainstSimulator runs the whole onboarding, every call of the client, against the
// simulator, the way the signup request and the workflow steps will.
func TestOnboardingAgainstSimulator(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := logging.New(&lockedWriter{w: &logs, mu: &mu}, slog.LevelDebug)
	var inbound []string
	var obsMu sync.Mutex
	sim, base := simulator(t, graphsim.Config{
		Logger:   logger,
		PageSize: 1, // so that the phone list pages, with Meta's token-carrying next links
		Observer: inboundObserver(func(from string) {
			obsMu.Lock()
			inbound = append(inbound, from)
			obsMu.Unlock()
		}),
	})
	c, err := graph.New(graph.Options{BaseEndpoint: base, Logger: logger,
		Retry: graph.RetryPolicy{RetryGraphErrors: true, Sleep: noSleep}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sys := secret(systemToken)
	const waba, phone = "102290129340398", "106540352242922"
	sim.SetPhone("106540352240001", graphsim.PhoneState{WABAID: waba, PlatformType: "NOT_APPLICABLE", Status: "DISCONNECTED"})
	code := sim.IssueCode(waba, phone)

	// The signup request: exchange (one transient Graph error retried in-process) and verify the grant.
	sim.InjectFault(graphsim.Fault{Call: graph.CallOAuth, Kind: graphsim.FaultGraphError, Code: 2, Count: 1})
	tok, err := c.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: graphsim.DefaultAppID, AppSecret: secret(appSecret), Code: secret(code)})
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	biz := tok.AccessToken
	dbg, err := c.DebugToken(ctx, &graph.DebugTokenInput{InputToken: biz, AccessToken: secret(graphsim.DefaultAppID + "|" + appSecret)})
	if err != nil || !dbg.IsValid || !dbg.HasGranularTarget("whatsapp_business_management", waba) || !dbg.HasGranularTarget("whatsapp_business_messaging", waba) {
		t.Fatalf("DebugToken = %+v, %v; want a valid grant of %s", dbg, err, waba)
	}
	list, err := c.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: waba, AccessToken: biz})
	if err != nil || len(list.PhoneNumbers) != 2 {
		t.Fatalf("ListPhoneNumbers = %+v, %v; want 2 numbers over 2 pages", list, err)
	}

	// subscribe_webhooks: empty body, then the override, then read back.
	if err := c.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: waba, AccessToken: biz}); err != nil {
		t.Fatalf("SubscribeApp: %v", err)
	}
	override := "https://partner.example/webhooks"
	if err := c.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: waba, AccessToken: biz, OverrideCallbackURI: override, VerifyToken: secret(verifyToken)}); err != nil {
		t.Fatalf("SubscribeApp override: %v", err)
	}
	apps, err := c.ListSubscribedApps(ctx, &graph.ListSubscribedAppsInput{WABAID: waba, AccessToken: biz})
	if err != nil || len(apps.Apps) != 1 || apps.Apps[0].OverrideCallbackURI != override {
		t.Fatalf("ListSubscribedApps = %+v, %v", apps, err)
	}

	// share_credit_line: assign (twice: already assigned counts as done), share, then re-check.
	for range 2 {
		if err := c.AssignUser(ctx, &graph.AssignUserInput{WABAID: waba, UserID: graphsim.DefaultSystemUserID, AccessToken: sys}); err != nil && !graph.IsAlreadyAssigned(err) {
			t.Fatalf("AssignUser: %v", err)
		}
	}
	shared, err := c.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: graphsim.DefaultCreditLineID, WABAID: waba, Currency: "USD", AccessToken: sys})
	if err != nil {
		t.Fatalf("ShareCreditLine: %v", err)
	}
	alloc, err := c.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: shared.AllocationConfigID, AccessToken: sys})
	if err != nil {
		t.Fatalf("GetAllocationConfig: %v", err)
	}
	w, err := c.GetWABA(ctx, &graph.GetWABAInput{WABAID: waba, AccessToken: sys})
	if err != nil || w.PrimaryFundingID != alloc.ReceivingCredentialID {
		t.Fatalf("GetWABA = %+v, %v; want primary_funding_id %s", w, err, alloc.ReceivingCredentialID)
	}
	allocs, err := c.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: graphsim.DefaultCreditLineID, AccessToken: sys})
	if err != nil || len(allocs) != 1 {
		t.Fatalf("ListCreditAllocations = %+v, %v", allocs, err)
	}

	// register_phone: check first, register, check again.
	p, err := c.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phone, AccessToken: biz})
	if err != nil || p.Registered() {
		t.Fatalf("GetPhoneNumber before register = %+v, %v", p, err)
	}
	if err := c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phone, PIN: secret(pin), AccessToken: biz}); err != nil {
		t.Fatalf("RegisterPhone: %v", err)
	}
	if p, err := c.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phone, AccessToken: biz}); err != nil || !p.Registered() {
		t.Fatalf("GetPhoneNumber after register = %+v, %v", p, err)
	}

	// send_test_message: the simulated tester wrote first; reply.
	obsMu.Lock()
	if len(inbound) != 1 || inbound[0] != "16505551234" {
		t.Errorf("inbound messages = %v, want one from the tester", inbound)
	}
	obsMu.Unlock()
	msg, err := c.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phone, To: graphsim.DefaultTesterNumber, Body: "Message received, loud and clear!", AccessToken: biz})
	if err != nil || !strings.HasPrefix(msg.MessageID, "wamid.") || msg.WAID != "16505551234" {
		t.Fatalf("SendTextMessage = %+v, %v", msg, err)
	}

	for call, want := range map[string]int{graph.CallSubscribedApps: 2, graph.CallAssignedUsers: 1, graph.CallCreditSharing: 1, graph.CallRegister: 1, graph.CallMessages: 1} {
		if got := sim.SideEffects(call); got != want {
			t.Errorf("side effects of %s = %d, want %d", call, got, want)
		}
	}
	if got, want := sim.Calls(graph.CallOAuth), 2; got != want {
		t.Errorf("exchange requests = %d, want %d (one fault, one retry)", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	assertNoSecrets(t, "logs", logs.String())
	for _, s := range []string{code, biz.Reveal()} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain a code or token")
		}
	}
}

// TestRetryPolicyAgainstSimulatorFaults checks the retry rules against the simulator's injected faults.
func TestRetryPolicyAgainstSimulatorFaults(t *testing.T) {
	const waba, phone = "200000000000001", "300000000000001"
	tests := []struct {
		name       string
		fault      graphsim.Fault
		graphRetry bool
		run        func(c *graph.Client, sim *graphsim.Server) error
		call       string
		wantCalls  int
		wantErr    bool
	}{
		{"idempotent read retried over plain 5xx", graphsim.Fault{Call: graph.CallPhoneInfo, Kind: graphsim.FaultHTTP500, Count: 2}, false,
			func(c *graph.Client, sim *graphsim.Server) error {
				_, err := c.GetPhoneNumber(context.Background(), &graph.GetPhoneNumberInput{PhoneNumberID: phone, AccessToken: secret(sim.IssueToken(waba, phone))})
				return err
			}, graph.CallPhoneInfo, 3, false},
		{"throttled read not retried by default", graphsim.Fault{Call: graph.CallPhoneNumbers, Kind: graphsim.FaultGraphError, Code: 4, Count: 1}, false,
			func(c *graph.Client, sim *graphsim.Server) error {
				_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: waba, AccessToken: secret(sim.IssueToken(waba, phone))})
				return err
			}, graph.CallPhoneNumbers, 1, true},
		{"throttled read retried when asked", graphsim.Fault{Call: graph.CallPhoneNumbers, Kind: graphsim.FaultGraphError, Code: 4, Count: 1}, true,
			func(c *graph.Client, sim *graphsim.Server) error {
				_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: waba, AccessToken: secret(sim.IssueToken(waba, phone))})
				return err
			}, graph.CallPhoneNumbers, 2, false},
		{"register never retried once sent", graphsim.Fault{Call: graph.CallRegister, Kind: graphsim.FaultGraphError, Code: 2, Count: 1}, true,
			func(c *graph.Client, sim *graphsim.Server) error {
				return c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phone, PIN: secret(pin), AccessToken: secret(sim.IssueToken(waba, phone))})
			}, graph.CallRegister, 1, true},
		{"credit sharing never retried after a lost answer", graphsim.Fault{Call: graph.CallCreditSharing, Kind: graphsim.FaultTimeout, Count: 1}, true,
			func(c *graph.Client, sim *graphsim.Server) error {
				sim.IssueToken(waba, phone)
				if err := c.AssignUser(context.Background(), &graph.AssignUserInput{WABAID: waba, UserID: graphsim.DefaultSystemUserID, AccessToken: secret(systemToken)}); err != nil {
					return err
				}
				_, err := c.ShareCreditLine(context.Background(), &graph.ShareCreditLineInput{CreditLineID: graphsim.DefaultCreditLineID, WABAID: waba, Currency: "USD", AccessToken: secret(systemToken)})
				return err
			}, graph.CallCreditSharing, 1, true},
		{"exchange never retried after a timeout", graphsim.Fault{Call: graph.CallOAuth, Kind: graphsim.FaultTimeout, Count: 1}, true,
			func(c *graph.Client, sim *graphsim.Server) error {
				_, err := c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: graphsim.DefaultAppID, AppSecret: secret(appSecret), Code: secret(sim.IssueCode(waba, phone))})
				return err
			}, graph.CallOAuth, 1, true},
		// The step reads subscribed_apps back before subscribing again, so the subscription is written once.
		{"subscribe not repeated after a lost answer", graphsim.Fault{Call: graph.CallSubscribedApps, Kind: graphsim.FaultTimeout, Count: 1}, false,
			func(c *graph.Client, sim *graphsim.Server) error {
				return c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: waba, AccessToken: secret(sim.IssueToken(waba, phone))})
			}, graph.CallSubscribedApps, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, base := simulator(t, graphsim.Config{Faults: []graphsim.Fault{tt.fault}})
			c, err := graph.New(graph.Options{BaseEndpoint: base, CallTimeout: 300 * time.Millisecond,
				Retry: graph.RetryPolicy{RetryGraphErrors: tt.graphRetry, Sleep: noSleep}})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.run(c, sim)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if got := sim.Calls(tt.call); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// inboundObserver is a graphsim.Observer that reports the sender of each inbound message.
type inboundObserver func(from string)

func (inboundObserver) PhoneRegistered(string, string, string) {}

func (o inboundObserver) InboundMessage(_, _, from, _, _ string, _ time.Time) { o(from) }

func (inboundObserver) MessageSent(string, string, string, string, time.Time) {}

func (inboundObserver) BusinessAppSynced(string, string, string, string, time.Time) {}
