package runner

// The fault-injection suite: the whole local system, one runner per case, with faults
// injected into the Graph simulator (every error class at every Graph call of every step, lost answers after
// a side effect), the DynamoDB stand-in (throttling of reads, writes and webhook claims), the Secrets Manager
// stand-in (throttling during the steps and at signup) and the workflow start. Every case asserts the outcome
// (completed after retries, or FAILED on the right step with Meta's code and fbtrace_id) and that no side
// effect happened twice at the simulator. docs/reliability.md holds the matrix with its results.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/stephandlers"
	"github.com/waes/onboarding/shared/store/dynamodb"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
	"github.com/waes/onboarding/shared/webhook"
)

const tester = "+16505551234"

// sideEffectCalls are the Graph calls that change something at Meta.
var sideEffectCalls = []string{
	graph.CallSubscribedApps, graph.CallAssignedUsers, graph.CallCreditSharing, graph.CallRegister, graph.CallMessages,
}

// startFaulty starts a runner like start does, with the Graph client's per-attempt timeout set (0: the
// client's default), so that a lost answer costs callTimeout rather than 10 seconds.
func startFaulty(t *testing.T, env map[string]string, callTimeout time.Duration) *harness {
	t.Helper()
	base := map[string]string{EnvAddr: "127.0.0.1:0", EnvTimeScale: "0.001", EnvState: StateMemory}
	maps.Copy(base, env)
	cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg.GraphCallTimeout = callTimeout
	h := &harness{t: t, logs: &testlog.Buffer{}}
	r, err := New(cfg, logging.New(h.logs, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	go func() { _ = r.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		h.scanForSecrets()
	})
	h.secrets = append(h.secrets, cfg.App.AppSecret.Reveal(), cfg.App.WebhookVerifyToken.Reveal(), cfg.App.SystemToken.Reveal())
	return h
}

// signupStatus posts a signup with a fresh code for the default WABA and phone and returns the answer.
func (h *harness) signupStatus(extra string) (int, map[string]any) {
	h.t.Helper()
	code := fmt.Sprintf("sim:%s:%s:%s", waba, phone, onboarding.NewID())
	h.mu.Lock()
	h.secrets = append(h.secrets, code)
	h.mu.Unlock()
	return h.do("POST", "/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q%s}`, code, waba, phone, extra))
}

// checkSideEffects fails the test if any call took effect at Meta more than once, or if a call in want
// took effect another number of times than wanted.
func checkSideEffects(t *testing.T, sim *graphsim.Server, want map[string]int) {
	t.Helper()
	for _, call := range sideEffectCalls {
		got := sim.SideEffects(call)
		w, ok := want[call]
		switch {
		case ok && got != w:
			t.Errorf("side effects of %s at the simulator: got %d, want %d", call, got, w)
		case !ok && got > 1:
			t.Errorf("side effects of %s at the simulator: got %d, want at most 1", call, got)
		}
	}
}

// completedSideEffects are the side effects of a completed onboarding of a fresh number with a credit line.
func completedSideEffects(withTest bool) map[string]int {
	m := map[string]int{graph.CallSubscribedApps: 1, graph.CallAssignedUsers: 1, graph.CallCreditSharing: 1, graph.CallRegister: 1, graph.CallMessages: 0}
	if withTest {
		m[graph.CallMessages] = 1
	}
	return m
}

// checkFailedOn checks that the onboarding FAILED on step with the error code (and Meta's graph code and
// an fbtrace_id when graphCode is not 0), and that no later step ran.
func checkFailedOn(t *testing.T, rec map[string]any, step onboarding.StepName, code string, graphCode int) {
	t.Helper()
	if rec["status"] != string(onboarding.StatusFailed) {
		t.Fatalf("status: got %v, want FAILED: %v", rec["status"], rec)
	}
	st := stepsOf(rec)
	s := st[string(step)]
	if s["status"] != string(onboarding.StepFailed) {
		t.Fatalf("step %s: got %v, want FAILED: %v", step, s["status"], rec)
	}
	e, _ := s["error"].(map[string]any)
	if e == nil {
		t.Fatalf("step %s failed without an error: %v", step, s)
	}
	if e["code"] != code {
		t.Errorf("step %s error code: got %v, want %s (%v)", step, e["code"], code, e)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("step %s error without a message: %v", step, e)
	}
	if graphCode != 0 {
		if g, _ := e["graph_code"].(float64); int(g) != graphCode {
			t.Errorf("step %s graph_code: got %v, want %d", step, e["graph_code"], graphCode)
		}
		if tr, _ := e["fbtrace_id"].(string); tr == "" {
			t.Errorf("step %s error without fbtrace_id: %v", step, e)
		}
	}
	later := false
	for _, name := range onboarding.StepOrder {
		if later && st[string(name)]["status"] != string(onboarding.StepPending) {
			t.Errorf("step %s after the failed %s: got %v, want PENDING", name, step, st[string(name)]["status"])
		}
		if name == step {
			later = true
		}
	}
}

// failedTasks counts the TaskFailed events of the onboarding's executions by error name: the retries the
// workflow made, as the Step Functions console shows them.
func failedTasks(h *harness, id string) map[string]int {
	out := map[string]int{}
	for _, ex := range h.r.Engine.ListExecutions("") {
		if onboardingIDOf(ex.Name) != id {
			continue
		}
		events, _ := h.r.Engine.GetExecutionHistory(ex.ExecutionARN)
		for _, e := range events {
			if e.Type == engine.EventTaskFailed && e.TaskFailedEventDetails != nil {
				out[e.TaskFailedEventDetails.Error]++
			}
		}
	}
	return out
}

func attemptsOf(rec map[string]any, step onboarding.StepName) int {
	a, _ := stepsOf(rec)[string(step)]["attempts"].(float64)
	return int(a)
}

// graphClass is one Graph error of the matrix: a code (or http500) and its class.
type graphClass struct {
	what  string // the GRAPH_SIM_FAULTS spelling: a code or http500
	code  int
	class graph.Class
	// stepCode is the error code a step records for a permanent error.
	stepCode string
}

var graphClasses = []graphClass{
	{"1", 1, graph.ClassTransient, onboarding.CodeGraphTransient},
	{"2", 2, graph.ClassTransient, onboarding.CodeGraphTransient},
	{"131000", 131000, graph.ClassTransient, onboarding.CodeGraphTransient},
	{"133004", 133004, graph.ClassTransient, onboarding.CodeGraphTransient},
	{"http500", 0, graph.ClassTransient, onboarding.CodeGraphTransient},
	{"4", 4, graph.ClassThrottled, onboarding.CodeGraphThrottled},
	{"80007", 80007, graph.ClassThrottled, onboarding.CodeGraphThrottled},
	{"130429", 130429, graph.ClassThrottled, onboarding.CodeGraphThrottled},
	{"133015", 133015, graph.ClassWaitFixed, onboarding.CodeGraphWaitFixed},
	{"100", 100, graph.ClassPermanent, onboarding.CodeGraphPermanent},
	{"190", 190, graph.ClassPermanent, onboarding.CodeReauthRequired},
	{"133016", 133016, graph.ClassPermanent, onboarding.CodeRegisterBlocked},
	{"133005", 133005, graph.ClassPermanent, onboarding.CodePINMismatch},
	{"131047", 131047, graph.ClassPermanent, onboarding.CodeOutsideWindow},
}

// faultPoint is a Graph call of a workflow step.
type faultPoint struct {
	call string // GRAPH_SIM_FAULTS call name, with .GET or .POST where one name covers a read and a write
	step onboarding.StepName
	// test: the call happens only in an onboarding with a test recipient.
	test bool
}

var faultPoints = []faultPoint{
	{"subscribed_apps.GET", onboarding.StepSubscribeWebhooks, false},
	{"subscribed_apps.POST", onboarding.StepSubscribeWebhooks, false},
	{"assigned_users", onboarding.StepShareCreditLine, false},
	{"credit_check", onboarding.StepShareCreditLine, false},
	{"credit_sharing", onboarding.StepShareCreditLine, false},
	{"phone_info", onboarding.StepVerifyPhone, false}, // verify_phone reads the number first
	{"register", onboarding.StepRegisterPhone, false},
	{"messages", onboarding.StepSendTestMessage, true},
}

// faultCount is how many calls in a row fail for the retryable classes: graph.DefaultMaxAttempts outlasts
// the client's own in-process retries of idempotent calls, so the workflow's retriers always see the error,
// and it stays within their limits (6 retries; 3 register waits).
const faultCount = graph.DefaultMaxAttempts

// TestGraphFaultMatrix injects every Graph error class at every Graph call of every step.
func TestGraphFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, p := range faultPoints {
		for _, c := range graphClasses {
			t.Run(p.call+"/"+c.what, func(t *testing.T) {
				t.Parallel()
				retryable := c.class == graph.ClassTransient || c.class == graph.ClassThrottled ||
					(c.class == graph.ClassWaitFixed && p.step == onboarding.StepRegisterPhone)
				count := 1
				if retryable {
					count = faultCount
				}
				h := startFaulty(t, map[string]string{EnvSimFaults: fmt.Sprintf("%s:%sx%d", p.call, c.what, count)}, 0)
				extra := ""
				if p.test {
					extra = `,"test_recipient":"` + tester + `"`
				}
				id := h.signup(phone, extra)
				if retryable {
					want := onboarding.StatusCompleted
					if p.test {
						want = onboarding.StatusVerified
					}
					rec := h.await(id, want)
					if got := attemptsOf(rec, p.step); got < 2 {
						t.Errorf("%s attempts: got %d, want at least 2 (the workflow retried)", p.step, got)
					}
					checkSideEffects(t, h.r.Sim, completedSideEffects(p.test))
					return
				}
				// Permanent errors, and wait-fixed errors outside register_phone (the only step whose calls Meta
				// answers with 133015, 133008 or 133009, and the only one with a wait loop), fail the step.
				rec := h.await(id, onboarding.StatusFailed)
				checkFailedOn(t, rec, p.step, c.stepCode, c.code)
				checkSideEffects(t, h.r.Sim, nil)
				switch c.code {
				case graph.CodeTokenInvalid:
					if rec["reauth_required"] != true {
						t.Errorf("reauth_required not set after 190: %v", rec)
					}
				case graph.CodeRegisterBlocked:
					if rec["register_retry_after"] == nil {
						t.Errorf("register_retry_after not set after 133016: %v", rec)
					}
				}
			})
		}
	}
}

// TestGraphFaultLimits: faults that outlast the definition's retry limits fail the step, and the register
// budget caps the register calls of an onboarding.
func TestGraphFaultLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		faults    string
		step      onboarding.StepName
		code      string
		graphCode int
		attempts  int
		calls     map[string]int
	}{
		// 1 attempt + 6 retries of TransientError, all refused.
		{"transient beyond 6 retries", "subscribed_apps.GET:131000x7", onboarding.StepSubscribeWebhooks, onboarding.CodeGraphTransient, 131000, 7, nil},
		// 1 attempt + 6 retries of ThrottledError.
		{"throttled beyond 6 retries", "credit_check:130429x7", onboarding.StepShareCreditLine, onboarding.CodeGraphThrottled, 130429, 7, nil},
		// Three waits of 300 s (scaled), then the fourth 133015 fails the step.
		{"wait-fixed beyond 3 waits", "register:133015x4", onboarding.StepRegisterPhone, onboarding.CodeGraphWaitFixed, 133015, 4,
			map[string]int{graph.CallRegister: 4}},
		// Transient register errors: the seventh attempt would make a seventh register call; the budget of
		// steps.DefaultRegisterCallLimit calls per onboarding stops it, leaving Meta's 10 per 72 h some room.
		{"register budget", "register:131000x7", onboarding.StepRegisterPhone, onboarding.CodeRegisterBlocked, 0, 7,
			map[string]int{graph.CallRegister: stephandlers.DefaultRegisterCallLimit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, map[string]string{EnvSimFaults: tt.faults}, 0)
			id := h.signup(phone, "")
			rec := h.await(id, onboarding.StatusFailed)
			checkFailedOn(t, rec, tt.step, tt.code, tt.graphCode)
			if got := attemptsOf(rec, tt.step); got != tt.attempts {
				t.Errorf("attempts: got %d, want %d", got, tt.attempts)
			}
			for call, want := range tt.calls {
				if got := h.r.Sim.Calls(call); got != want {
					t.Errorf("calls of %s: got %d, want %d", call, got, want)
				}
			}
			checkSideEffects(t, h.r.Sim, map[string]int{graph.CallRegister: 0})
		})
	}
}

// TestSignupGraphFaults: the signup's own Graph calls answer synchronously. Transient and throttled errors
// are retried in-process within the signup's budget; a refused code is 400 code_exchange_failed; Meta not
// answering usefully is 502 upstream_unavailable. A refused signup leaves no record and starts nothing.
func TestSignupGraphFaults(t *testing.T) {
	t.Parallel()
	for _, call := range []string{graph.CallOAuth, graph.CallDebugToken} {
		for _, c := range graphClasses {
			t.Run(call+"/"+c.what, func(t *testing.T) {
				t.Parallel()
				h := startFaulty(t, map[string]string{EnvSimFaults: fmt.Sprintf("%s:%sx1", call, c.what)}, 0)
				status, body := h.signupStatus("")
				want, wantCode := http.StatusAccepted, ""
				switch {
				case c.class == graph.ClassPermanent && call == graph.CallOAuth:
					want, wantCode = http.StatusBadRequest, onboarding.CodeCodeExchangeFailed
				case c.class == graph.ClassPermanent || c.class == graph.ClassWaitFixed:
					want, wantCode = http.StatusBadGateway, onboarding.CodeUpstreamUnavailable
				case c.code == 0 && call == graph.CallOAuth:
					// A 500 without an error envelope after the code was sent: Meta may have spent the code, and
					// the exchange is never repeated then.
					want, wantCode = http.StatusBadGateway, onboarding.CodeUpstreamUnavailable
				}
				if status != want {
					t.Fatalf("signup: got %d %v, want %d", status, body, want)
				}
				if want == http.StatusAccepted {
					h.await(body["id"].(string), onboarding.StatusCompleted)
					checkSideEffects(t, h.r.Sim, completedSideEffects(false))
					return
				}
				e, _ := body["error"].(map[string]any)
				if e["code"] != wantCode || e["message"] == "" {
					t.Errorf("error: got %v, want code %s with a message", body, wantCode)
				}
				if c.code != 0 && !strings.Contains(fmt.Sprint(e["message"]), "graph code "+c.what) {
					t.Errorf("error message does not name Meta's code %s: %v", c.what, e["message"])
				}
				checkNothingStarted(t, h)
			})
		}
	}
}

// checkNothingStarted checks that a refused signup left no onboarding record, no workflow execution and no
// side effect at Meta.
func checkNothingStarted(t *testing.T, h *harness) {
	t.Helper()
	recs, err := h.r.Store.FindByWABA(context.Background(), waba, 10)
	if err != nil || len(recs) != 0 {
		t.Errorf("onboarding records after a refused signup: %d %v", len(recs), err)
	}
	if ex := h.r.Engine.ListExecutions(""); len(ex) != 0 {
		t.Errorf("workflow executions after a refused signup: %d", len(ex))
	}
	checkSideEffects(t, h.r.Sim, map[string]int{graph.CallSubscribedApps: 0, graph.CallAssignedUsers: 0, graph.CallCreditSharing: 0, graph.CallRegister: 0, graph.CallMessages: 0})
}

// checkAborted checks that the signup's record was ended FAILED and not retryable, and that nothing ran.
func checkAborted(t *testing.T, h *harness) {
	t.Helper()
	recs, err := h.r.Store.FindByWABA(context.Background(), waba, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("onboarding records after an aborted signup: %d %v, want 1", len(recs), err)
	}
	if r := recs[0]; r.Status != onboarding.StatusFailed || !r.ReauthRequired {
		t.Errorf("aborted record: status %s, reauth_required %v; want FAILED, true", r.Status, r.ReauthRequired)
	}
	if status, body := h.do("POST", "/onboardings/"+recs[0].ID+"/retry", ""); status != http.StatusConflict {
		t.Errorf("retry of the aborted signup: got %d %v, want 409", status, body)
	}
	if ex := h.r.Engine.ListExecutions(""); len(ex) != 0 {
		t.Errorf("workflow executions after an aborted signup: %d", len(ex))
	}
	checkSideEffects(t, h.r.Sim, map[string]int{graph.CallSubscribedApps: 0, graph.CallAssignedUsers: 0, graph.CallCreditSharing: 0, graph.CallRegister: 0, graph.CallMessages: 0})
}

// TestStepKilledAfterItsSideEffect: Meta acts, the answer is lost (the simulator stalls the response until
// the client gives up, as when the Lambda is killed after the call), the workflow retries the step, and the
// re-run finds the work done. Exactly one side effect at Meta, except for the test message: Meta has no way
// to look a sent message up, so a lost answer sends it again (documented in docs/reliability.md).
func TestStepKilledAfterItsSideEffect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault string
		step  onboarding.StepName
		test  bool
		want  map[string]int
	}{
		{"credit_sharing:timeoutx1", onboarding.StepShareCreditLine, false, completedSideEffects(false)},
		{"register:timeoutx1", onboarding.StepRegisterPhone, false, completedSideEffects(false)},
		{"subscribed_apps.POST:timeoutx1", onboarding.StepSubscribeWebhooks, false, completedSideEffects(false)},
		{"assigned_users.POST:timeoutx1", onboarding.StepShareCreditLine, false, completedSideEffects(false)},
		{"messages:timeoutx1", onboarding.StepSendTestMessage, true, map[string]int{
			graph.CallSubscribedApps: 1, graph.CallAssignedUsers: 1, graph.CallCreditSharing: 1, graph.CallRegister: 1, graph.CallMessages: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, map[string]string{EnvSimFaults: tt.fault}, time.Second)
			extra, want := "", onboarding.StatusCompleted
			if tt.test {
				extra, want = `,"test_recipient":"`+tester+`"`, onboarding.StatusVerified
			}
			id := h.signup(phone, extra)
			rec := h.await(id, want)
			checkSideEffects(t, h.r.Sim, tt.want)
			if st := stepsOf(rec)[string(tt.step)]; st["status"] != string(onboarding.StepSucceeded) {
				t.Errorf("%s: got %v, want SUCCEEDED", tt.step, st)
			}
			switch tt.step {
			case onboarding.StepShareCreditLine:
				w, _ := h.r.Sim.WABAState(waba)
				if rec["allocation_config_id"] != w.AllocationConfigID || w.AllocationConfigID == "" {
					t.Errorf("allocation_config_id: got %v, want Meta's %q", rec["allocation_config_id"], w.AllocationConfigID)
				}
			case onboarding.StepRegisterPhone:
				if p, _ := h.r.Sim.PhoneState(phone); !p.Registered() {
					t.Errorf("the number is not registered at Meta: %+v", p)
				}
			case onboarding.StepSubscribeWebhooks:
				if w, _ := h.r.Sim.WABAState(waba); !w.Subscribed {
					t.Errorf("the app is not subscribed at Meta")
				}
			}
		})
	}
}

// countingFault returns a memory.Store fault hook that throttles each named operation the first n times it
// is called (with dynamodb.ThrottleError, as DynamoDB does once the SDK's retries gave up), and a counter of
// the faults it injected.
func countingFault(n int64, ops ...string) (func(op string) error, *atomic.Int64) {
	var injected atomic.Int64
	seen := map[string]*atomic.Int64{}
	for _, op := range ops {
		seen[op] = &atomic.Int64{}
	}
	return func(op string) error {
		c, ok := seen[op]
		if !ok || c.Add(1) > n {
			return nil
		}
		injected.Add(1)
		return dynamodb.ThrottleError(op)
	}, &injected
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDynamoDBThrottling: the store throttles reads, writes and webhook claims for a while during the
// steps; the steps fail with TransientError and the workflow's retriers carry the onboarding through; the
// throttled webhook deliveries are answered 5xx and redelivered.
func TestDynamoDBThrottling(t *testing.T) {
	t.Parallel()
	for _, ops := range [][]string{{"Get"}, {"Update"}, {"Get", "Update", "ClaimEvent"}} {
		t.Run(strings.Join(ops, "+"), func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, nil, 0)
			// The signup itself uses FindByWABA and Create only: the first throttled calls are the steps'.
			const n = 3
			hook, injected := countingFault(n, ops...)
			h.r.Store.SetFault(hook)
			withTest := slices.Contains(ops, "ClaimEvent")
			extra, want := "", onboarding.StatusCompleted
			if withTest {
				extra, want = `,"test_recipient":"`+tester+`"`, onboarding.StatusVerified
			}
			id := h.signup(phone, extra)
			// Poll only after the faults are used up: the status reads would take them otherwise.
			waitFor(t, "the injected throttling", func() bool { return injected.Load() >= n*int64(len(ops)) })
			h.await(id, want)
			checkSideEffects(t, h.r.Sim, completedSideEffects(withTest))
			if withTest {
				if !strings.Contains(h.logs.String(), "simulated webhook not accepted; retrying") {
					t.Errorf("no webhook delivery was refused and redelivered")
				}
				if n := countEvents(h, "message.received"); n != 1 {
					t.Errorf("message.received partner events: got %d, want 1", n)
				}
			}
			// A throttled read fails a step before it counts an attempt: the history shows the retries.
			if got := failedTasks(h, id)[onboarding.ErrorNameTransient]; got < 1 {
				t.Errorf("TransientError task failures in the history: got %d, want at least 1", got)
			}
		})
	}
}

// TestWebhookDuringStoreThrottling: while the store throttles the dedupe claim, a webhook delivery is
// answered 5xx (never acknowledged unstored), and the simulator's sender redelivers it, as Meta does; the
// tester's message is then processed once and the onboarding is verified.
func TestWebhookDuringStoreThrottling(t *testing.T) {
	t.Parallel()
	h := startFaulty(t, nil, 0)

	// A delivery while ClaimEvent is throttled: 5xx, nothing stored; the redelivery after it is stored once.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100","phone_number_id":"` + phone + `"},"statuses":[{"id":"wamid.throttled","status":"delivered","timestamp":"1749416383","recipient_id":"16505551234"}]},"field":"messages"}]}]}`)
	post := func() int {
		req, _ := http.NewRequest("POST", h.r.URL+"/webhooks", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", webhook.Sign(body, h.r.cfg.App.AppSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	h.r.Store.SetFault(dynamodb.Throttle("ClaimEvent"))
	if got := post(); got < 500 {
		t.Fatalf("delivery during store throttling: got %d, want 5xx", got)
	}
	if _, err := h.r.Store.GetEventClaim(context.Background(), "status:wamid.throttled:delivered"); err == nil {
		t.Errorf("an event claim was stored although the delivery failed")
	}
	h.r.Store.SetFault(nil)
	if got := post(); got != http.StatusOK {
		t.Fatalf("redelivery: got %d, want 200", got)
	}
	if claim, err := h.r.Store.GetEventClaim(context.Background(), "status:wamid.throttled:delivered"); err != nil || !claim.Done || claim.Attempts != 1 {
		t.Errorf("claim after the redelivery: got %+v %v, want one completed claim", claim, err)
	}

	// The simulator's tester message arrives while the claim is throttled: its sender retries until 200.
	hook, injected := countingFault(2, "ClaimEvent")
	h.r.Store.SetFault(hook)
	id := h.signup(phone, `,"test_recipient":"`+tester+`"`)
	rec := h.await(id, onboarding.StatusVerified)
	if injected.Load() < 2 {
		t.Errorf("the throttling was not exercised: %d faults", injected.Load())
	}
	if !strings.Contains(h.logs.String(), "simulated webhook not accepted; retrying") {
		t.Errorf("the simulator did not have to redeliver")
	}
	if received := countEvents(h, "message.received"); received != 1 {
		t.Errorf("message.received partner events: got %d, want 1", received)
	}
	checkSideEffects(t, h.r.Sim, completedSideEffects(true))
	if rec["test_message_status"] == nil {
		t.Errorf("no test message status recorded: %v", rec)
	}
}

var errSecretsThrottled = errors.New("ThrottlingException: Rate exceeded")

// TestSecretsManagerThrottlingDuringSteps: the vault throttles the business token read (subscribe) and the
// PIN write (register): the steps retry and complete, and Meta has the partner's PIN.
func TestSecretsManagerThrottlingDuringSteps(t *testing.T) {
	t.Parallel()
	h := startFaulty(t, nil, 0)
	// The signup does not read the business token, and with a partner PIN it calls SetPIN, not EnsurePIN:
	// these faults hit the steps.
	h.r.Vault.FailNext(vaultmem.OpWABASecret, errSecretsThrottled)
	h.r.Vault.FailNext(vaultmem.OpWABASecret, errSecretsThrottled)
	h.r.Vault.FailNext(vaultmem.OpEnsurePIN, errSecretsThrottled)
	h.secrets = append(h.secrets, "581063")
	id := h.signup(phone, `,"pin":"581063"`)
	rec := h.await(id, onboarding.StatusCompleted)
	if got := attemptsOf(rec, onboarding.StepSubscribeWebhooks); got != 3 {
		t.Errorf("subscribe_webhooks attempts: got %d, want 3", got)
	}
	if got := attemptsOf(rec, onboarding.StepRegisterPhone); got != 2 {
		t.Errorf("register_phone attempts: got %d, want 2", got)
	}
	checkSideEffects(t, h.r.Sim, completedSideEffects(false))
	if p, _ := h.r.Sim.PhoneState(phone); p.PIN.Reveal() != "581063" {
		t.Errorf("Meta registered the number with another PIN than the partner's")
	}
}

// TestSecretsManagerThrottlingAtSignup: a vault failure during the signup is a 5xx that names no secret and
// nothing starts, so a new signup goes through. Before the exchange (the configuration) no record exists;
// after the record was created (token, PIN) it is ended FAILED, needing a new Embedded Signup, which
// releases the WABA+phone guard.
func TestSecretsManagerThrottlingAtSignup(t *testing.T) {
	t.Parallel()
	for _, op := range []string{vaultmem.OpAppConfig, vaultmem.OpPutBusinessToken, vaultmem.OpEnsurePIN} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, nil, 0)
			h.r.Vault.FailNext(op, errSecretsThrottled)
			status, body := h.signupStatus("")
			if status < 500 {
				t.Fatalf("signup: got %d %v, want 5xx", status, body)
			}
			if e, _ := body["error"].(map[string]any); e["code"] == nil || e["message"] == "" {
				t.Errorf("5xx without an error code and message: %v", body)
			}
			if op == vaultmem.OpAppConfig {
				checkNothingStarted(t, h)
			} else {
				checkAborted(t, h)
			}
			if op != vaultmem.OpEnsurePIN {
				// The token is written only after the exchange and debug_token, and before the PIN.
				if _, err := h.r.Vault.WABASecret(context.Background(), waba); !errors.Is(err, onboarding.ErrNotFound) {
					t.Errorf("a business token was stored for a failed signup: %v", err)
				}
			}
			if op == vaultmem.OpAppConfig && h.r.Sim.Calls(graph.CallOAuth) != 0 {
				t.Errorf("the code was spent although the signup failed before the exchange")
			}
			// Nothing blocks the customer's next attempt.
			status, body = h.signupStatus("")
			if status != http.StatusAccepted {
				t.Fatalf("next signup: got %d %v", status, body)
			}
			h.await(body["id"].(string), onboarding.StatusCompleted)
			checkSideEffects(t, h.r.Sim, completedSideEffects(false))
		})
	}
}

// TestWorkflowStartFails: the record is created but the execution cannot be started (as when StartExecution
// is throttled): the signup answers with the record FAILED on subscribe_webhooks (workflow_start_failed),
// nothing happened at Meta, and POST /onboardings/{id}/retry, refused to start once more, then resumes it.
func TestWorkflowStartFails(t *testing.T) {
	t.Parallel()
	h := startFaulty(t, nil, 0)
	var fails atomic.Int64
	fails.Store(2)
	fail := func() error {
		if fails.Add(-1) >= 0 {
			return errors.New("ThrottlingException: Rate exceeded")
		}
		return nil
	}
	h.r.workflow.failStart.Store(&fail)

	status, body := h.signupStatus("")
	if status != http.StatusAccepted || body["status"] != string(onboarding.StatusFailed) {
		t.Fatalf("signup: got %d %v, want 202 with status FAILED", status, body)
	}
	id := body["id"].(string)
	_, rec := h.do("GET", "/onboardings/"+id, "")
	checkFailedOn(t, rec, onboarding.StepSubscribeWebhooks, onboarding.CodeWorkflowStart, 0)
	checkSideEffects(t, h.r.Sim, map[string]int{graph.CallSubscribedApps: 0, graph.CallRegister: 0})

	// The first retry cannot start either: still FAILED, still resumable.
	if status, m := h.do("POST", "/onboardings/"+id+"/retry", ""); status != http.StatusAccepted || m["status"] != string(onboarding.StatusFailed) {
		t.Fatalf("retry while starts fail: got %d %v, want 202 with status FAILED", status, m)
	}
	if status, m := h.do("POST", "/onboardings/"+id+"/retry", ""); status != http.StatusAccepted {
		t.Fatalf("retry: got %d %v", status, m)
	}
	rec = h.await(id, onboarding.StatusCompleted)
	checkSteps(t, rec, map[string]string{"subscribe_webhooks": "SUCCEEDED", "register_phone": "SUCCEEDED"})
	checkSideEffects(t, h.r.Sim, completedSideEffects(false))
	if n := len(h.r.Engine.ListExecutions("")); n != 1 {
		t.Errorf("executions: got %d, want 1", n)
	}
}

// countEvents counts the partner events of a type.
func countEvents(h *harness, typ string) int {
	n := 0
	for _, e := range h.r.Events.Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}
