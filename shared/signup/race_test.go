package signup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
	"github.com/waes/onboarding/shared/store/memory"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
)

const (
	testAppID  = "236484624622562"
	testWABA   = "102290129340398"
	testPhone  = "106540352242922"
	testSecret = "614fc2afde15eee07a26b2fe3eaee9b9"
)

// countingWorkflow counts started executions.
type countingWorkflow struct {
	mu      sync.Mutex
	started []onboarding.StartInput
}

func (w *countingWorkflow) Start(_ context.Context, in onboarding.StartInput) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = append(w.started, in)
	return "arn:aws:states:us-east-1:123456789012:execution:onboarding:" + in.Name, nil
}
func (w *countingWorkflow) SendTaskSuccess(context.Context, string, []byte) error         { return nil }
func (w *countingWorkflow) SendTaskFailure(context.Context, string, string, string) error { return nil }

// simService returns a Service on the memory adapters and the real Graph client talking to a Graph
// simulator, and the simulator.
func simService(t *testing.T) (*signup.Service, *graphsim.Server, *memory.Store, *vaultmem.Vault, *countingWorkflow) {
	t.Helper()
	secret := onboarding.NewSecret(testSecret)
	sim := graphsim.New(graphsim.Config{AppID: testAppID, AppSecret: secret})
	base, err := sim.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	client, err := graph.New(graph.Options{BaseEndpoint: base})
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	vault := vaultmem.New(onboarding.AppConfig{AppID: testAppID, AppSecret: secret, WebhookVerifyToken: onboarding.NewSecret("verify")})
	wf := &countingWorkflow{}
	svc := signup.New(store, vault, client, wf, signup.Options{Config: signup.Config{DefaultCurrency: "USD"}})
	return svc, sim, store, vault, wf
}

// TestConcurrentSignupsOneWinner: 20 signups for the same WABA and phone, each with its own valid code and
// its own PIN, race. Exactly one wins; the others get the 409 naming the winner, and the stored PIN (the one
// the workflow will register) is the winner's: a loser writes no token, PIN or record.
func TestConcurrentSignupsOneWinner(t *testing.T) {
	const n = 20
	svc, sim, store, vault, wf := simService(t)
	reqs := make([]signup.Request, n)
	for i := range reqs {
		reqs[i] = signup.Request{
			Code:   onboarding.NewSecret(sim.IssueCode(testWABA, testPhone)),
			WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish,
			PIN: onboarding.NewSecret(fmt.Sprintf("%06d", 100000+i)),
		}
	}
	recs := make([]*onboarding.Record, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			recs[i], errs[i] = svc.Signup(context.Background(), reqs[i])
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("signups %d and %d both won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no signup won: %v", errors.Join(errs...))
	}
	won := recs[winner]
	for i, err := range errs {
		if i == winner {
			continue
		}
		var active *onboarding.ActiveOnboardingError
		if !errors.As(err, &active) {
			t.Errorf("signup %d: got %v, want *onboarding.ActiveOnboardingError", i, err)
			continue
		}
		if got, want := active.ExistingID, won.ID; got != want {
			t.Errorf("signup %d: 409 names %s, want the winner %s", i, got, want)
		}
	}
	all, err := store.FindByWABA(context.Background(), testWABA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != won.ID {
		t.Errorf("records: got %v, want only the winner's %s", len(all), won.ID)
	}
	sec, err := vault.WABASecret(context.Background(), testWABA)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sec.PINs[testPhone].Reveal(), reqs[winner].PIN.Reveal(); got != want {
		t.Errorf("stored PIN: got %s, want the winner's %s", got, want)
	}
	// The winner wrote its token and its PIN; no loser wrote anything.
	if got, want := vault.Writes(), 2; got != want {
		t.Errorf("vault writes: got %d, want %d (the winner's token and PIN)", got, want)
	}
	if got, want := len(wf.started), 1; got != want {
		t.Errorf("executions started: got %d, want %d", got, want)
	}
	// Each loser spent its code proving control: the exchange ran for every signup.
	if got, want := sim.Calls("oauth"), n; got != want {
		t.Errorf("code exchanges: got %d, want %d", got, want)
	}
}

// TestExpiredCodeForRunningOnboarding: a caller who knows a WABA and phone id with a running onboarding,
// but holds no valid code, learns nothing: the answer is the exchange failure, with no id in it.
func TestExpiredCodeForRunningOnboarding(t *testing.T) {
	svc, sim, store, vault, _ := simService(t)
	first, err := svc.Signup(context.Background(), signup.Request{
		Code: onboarding.NewSecret(sim.IssueCode(testWABA, testPhone)), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish,
	})
	if err != nil {
		t.Fatalf("first signup: %v", err)
	}
	writes := vault.Writes()
	// The simulator refuses a code starting with "expired" as Meta refuses an expired one.
	for _, code := range []string{"expired-code-0001", "expired"} {
		t.Run(code, func(t *testing.T) {
			_, err := svc.Signup(context.Background(), signup.Request{
				Code: onboarding.NewSecret(code), WABAID: testWABA, PhoneNumberID: testPhone, Event: onboarding.EventFinish,
				PIN: onboarding.NewSecret("654321"),
			})
			var ee *signup.ExchangeError
			var active *onboarding.ActiveOnboardingError
			switch {
			case errors.As(err, &active):
				t.Fatalf("got a 409 naming %s for a caller without a valid code", active.ExistingID)
			case !errors.As(err, &ee):
				t.Fatalf("got %T %v, want ExchangeError (400 code_exchange_failed)", err, err)
			}
			if msg := err.Error(); strings.Contains(msg, first.ID) {
				t.Errorf("error %q names the running onboarding", msg)
			}
		})
	}
	if got := vault.Writes(); got != writes {
		t.Errorf("vault writes: got %d more, want none", got-writes)
	}
	recs, _ := store.FindByWABA(context.Background(), testWABA, 0)
	if len(recs) != 1 {
		t.Errorf("records: got %d, want 1", len(recs))
	}
}
