package runner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	boltvault "github.com/waes/onboarding/shared/vault/bolt"
)

func TestConfigState(t *testing.T) {
	tests := []struct {
		name              string
		env               map[string]string
		wantState, wantIn string
		wantErr           string
	}{
		{"defaults", nil, StateDisk, DefaultStateDir, ""},
		{"memory", map[string]string{EnvState: "memory"}, StateMemory, DefaultStateDir, ""},
		{"empty means the default", map[string]string{EnvState: "", EnvStateDir: ""}, StateDisk, DefaultStateDir, ""},
		{"another directory", map[string]string{EnvStateDir: "/tmp/x"}, StateDisk, "/tmp/x", ""},
		{"unknown mode", map[string]string{EnvState: "sqlite"}, "", "", EnvState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.State != tc.wantState || cfg.StateDir != tc.wantIn {
				t.Errorf("got state %q in %q, want %q in %q", cfg.State, cfg.StateDir, tc.wantState, tc.wantIn)
			}
		})
	}
}

// newDiskRunner starts a runner whose state is in dir; the caller shuts it down (stop).
func newDiskRunner(t *testing.T, dir string, env map[string]string) (*harness, error) {
	t.Helper()
	vars := map[string]string{EnvAddr: "127.0.0.1:0", EnvTimeScale: "0.001", EnvState: StateDisk, EnvStateDir: dir}
	maps.Copy(vars, env)
	cfg, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, logs: &testlog.Buffer{}}
	r, err := New(cfg, logging.New(h.logs, slog.LevelDebug))
	if err != nil {
		return nil, err
	}
	h.r = r
	h.secrets = append(h.secrets, cfg.App.AppSecret.Reveal(), cfg.App.WebhookVerifyToken.Reveal(), cfg.App.SystemToken.Reveal())
	go func() { _ = r.Serve() }()
	return h, nil
}

func (h *harness) stop() {
	h.t.Helper()
	// The vault's secrets are read while the database is open; the scan runs after the shutdown's logs.
	if sec, err := h.r.adapters.vault.WABASecret(context.Background(), waba); err == nil {
		h.secrets = append(h.secrets, sec.BusinessToken.Reveal())
		for _, p := range sec.PINs {
			h.secrets = append(h.secrets, p.Reveal())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.r.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	h.scanForSecrets()
}

// TestDiskStateSurvivesRestart: an onboarding finished by one runner is served by the next one on the same
// state directory, its secrets still readable, and the first runner's lock is released by its shutdown.
func TestDiskStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.r.Store != nil || h.r.DiskStore == nil || h.r.StateDir() != dir {
		t.Fatalf("disk mode: got memory store %v, disk store %v, dir %q", h.r.Store != nil, h.r.DiskStore != nil, h.r.StateDir())
	}
	id := h.signup(phone, "")
	before := h.await(id, onboarding.StatusCompleted)
	h.stop()

	h2, err := newDiskRunner(t, dir, nil)
	if err != nil {
		t.Fatalf("second start on the same directory: %v", err)
	}
	defer h2.stop()
	status, after := h2.do("GET", "/onboardings/"+id, "")
	if status != http.StatusOK {
		t.Fatalf("GET after restart: got %d %v", status, after)
	}
	if got, want := after["status"], before["status"]; got != want {
		t.Errorf("status after restart: got %v, want %v", got, want)
	}
	if got, want := after["updated_at"], before["updated_at"]; got != want {
		t.Errorf("updated_at after restart: got %v, want %v", got, want)
	}
	sec, err := h2.r.DiskVault.WABASecret(context.Background(), waba)
	if err != nil || sec.BusinessToken.IsZero() || sec.PINs[phone].IsZero() {
		t.Errorf("vault after restart: got %v (token set %t); want the business token and the phone's PIN", err, err == nil && !sec.BusinessToken.IsZero())
	}
	// The finished onboarding released its guard: a new signup for the same number is accepted.
	id2 := h2.signup(phone, "")
	h2.await(id2, onboarding.StatusCompleted)

	// Neither the business token nor the PIN is in the database file as plaintext.
	if err == nil {
		raw, err := os.ReadFile(localstate.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		if tok := sec.BusinessToken.Reveal(); strings.Contains(string(raw), tok) {
			t.Errorf("the business token is in %s as plaintext", localstate.DBFile)
		}
		if pin := sec.PINs[phone].Reveal(); strings.Contains(string(raw), `"`+pin+`"`) {
			t.Errorf("the PIN is in %s as plaintext", localstate.DBFile)
		}
	}
}

// TestDiskStateLocked: a second runner on a directory in use fails to start with a message saying so, and
// binds nothing.
func TestDiskStateLocked(t *testing.T) {
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	_, err = newDiskRunner(t, dir, nil)
	if !errors.Is(err, localstate.ErrLocked) || !strings.Contains(err.Error(), "another make run") {
		t.Fatalf("second runner: got %v, want the state directory's lock error", err)
	}
}

// TestDiskStateKeyMissing: a state directory whose vault key was deleted is refused at start.
func TestDiskStateKeyMissing(t *testing.T) {
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := h.signup(phone, "")
	h.await(id, onboarding.StatusCompleted)
	h.stop()
	if err := os.Remove(localstate.KeyPath(dir)); err != nil {
		t.Fatal(err)
	}
	_, err = newDiskRunner(t, dir, nil)
	if !errors.Is(err, boltvault.ErrKeyMissing) || !strings.Contains(err.Error(), "make reset-local") {
		t.Fatalf("start without the key: got %v, want the key-missing refusal", err)
	}
	// The refused start released the directory: a reset works.
	if err := localstate.Reset(dir, localstate.Options{}); err != nil {
		t.Fatalf("reset after the refusal: %v", err)
	}
}

// TestDiskStateResumesWaitingOnboarding: an onboarding waiting for its test message when the runner stops
// is still waiting after the next start: its execution was suspended, not aborted, and the resumed execution
// takes the same task token. The embedded simulator's world came back too: the tester can message the number
// registered before the restart, and the onboarding ends VERIFIED with each side effect at Meta made once.
func TestDiskStateResumesWaitingOnboarding(t *testing.T) {
	const tester = "+15550001111"
	env := map[string]string{EnvInboundTimeout: "600"}
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	id := h.signup(phone, `,"test_recipient":"`+tester+`"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	waitFor(t, "the wait for the test message saved", func() bool {
		for _, ex := range h.r.Engine.ListExecutions(engine.StatusRunning) {
			events, _ := h.r.Engine.GetExecutionHistory(ex.ExecutionARN)
			for _, ev := range events {
				if ev.Type == engine.EventTaskSubmitted {
					return true
				}
			}
		}
		return false
	})
	h.stop()
	if strings.Contains(h.logs.String(), "interrupted by the shutdown") || !strings.Contains(h.logs.String(), "suspended by the shutdown") {
		t.Errorf("the shutdown does not log the execution as suspended")
	}

	h2, err := newDiskRunner(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.stop()
	_, rec := h2.do("GET", "/onboardings/"+id, "")
	if got := rec["status"]; got != string(onboarding.StatusAwaitingTestMessage) {
		t.Fatalf("status after the restart: got %v, want %s", got, onboarding.StatusAwaitingTestMessage)
	}
	running := h2.r.Engine.ListExecutions(engine.StatusRunning)
	if len(running) != 1 || onboardingIDOf(running[0].Name) != id {
		t.Fatalf("running executions after the restart: got %v, want the onboarding's", running)
	}
	if status, m := h2.simMessage(`{"phone_number_id":"` + phone + `","text":"hello","from":"` + tester + `"}`); status != http.StatusAccepted {
		t.Fatalf("the tester's message after the restart: got %d %v", status, m)
	}
	d, err := h2.r.Engine.Wait(testCtxOf(t), running[0].ExecutionARN)
	if err != nil || d.Status != engine.StatusSucceeded {
		t.Fatalf("the resumed execution: got %v %v, want SUCCEEDED", d.Status, err)
	}
	rec = h2.await(id, onboarding.StatusVerified)
	checkSteps(t, rec, map[string]string{"register_phone": "SUCCEEDED", "send_test_message": "SUCCEEDED"})
	checkSideEffects(t, h2.r.Sim, completedSideEffects(true))
}

// TestDiskStateResumedTokenIsKnown: the webhook worker answers a resumed wait with the token it stored
// before the restart, and the engine knows it.
func TestDiskStateResumedTokenIsKnown(t *testing.T) {
	env := map[string]string{EnvInboundTimeout: "600"}
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	id := h.signup(phone, `,"test_recipient":"+15550001111"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	waitFor(t, "the wait for the test message saved", func() bool {
		ex := h.r.Engine.ListExecutions(engine.StatusRunning)
		events, _ := h.r.Engine.GetExecutionHistory(ex[0].ExecutionARN)
		return events[len(events)-1].Type == engine.EventTaskSubmitted
	})
	h.stop()
	h2, err := newDiskRunner(t, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.stop()
	running := h2.r.Engine.ListExecutions(engine.StatusRunning)
	events, _ := h2.r.Engine.GetExecutionHistory(running[0].ExecutionARN)
	token := taskTokenOf(t, events, "await_test_message")
	if err := h2.r.workflow.SendTaskFailure(context.Background(), token, "Probe", "resumed token"); err != nil {
		t.Fatalf("SendTaskFailure with the token of the earlier run: %v", err)
	}
	rec := h2.await(id, onboarding.StatusFailed)
	checkSteps(t, rec, map[string]string{"register_phone": "SUCCEEDED", "send_test_message": "FAILED"})
}

// TestDiskStateInterruptedOnboarding: an active onboarding without a saved execution (the runner stopped
// between the record's creation and the execution's start) is FAILED at the next start, with the step's
// error saying so, and a retry resumes it from that step.
func TestDiskStateInterruptedOnboarding(t *testing.T) {
	const tester = "+15550001111"
	dir := t.TempDir()
	h, err := newDiskRunner(t, dir, map[string]string{EnvInboundTimeout: "600"})
	if err != nil {
		t.Fatal(err)
	}
	id := h.signup(phone, `,"test_recipient":"`+tester+`"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	h.stop()
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.DB.Update(func(tx *bbolt.Tx) error {
		return errors.Join(tx.DeleteBucket(bucketExecutions), tx.DeleteBucket(bucketExecutionEvents))
	})
	if err := errors.Join(err, st.Close()); err != nil {
		t.Fatal(err)
	}

	h2, err := newDiskRunner(t, dir, map[string]string{EnvInboundTimeout: "600"})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.stop()
	_, rec := h2.do("GET", "/onboardings/"+id, "")
	if got := rec["status"]; got != string(onboarding.StatusFailed) {
		t.Fatalf("status after the restart: got %v, want FAILED", got)
	}
	step := stepsOf(rec)["send_test_message"]
	if e, _ := step["error"].(map[string]any); step["status"] != "FAILED" || e["code"] != onboarding.CodeStepCrashed {
		t.Fatalf("send_test_message after the restart: got %v, want FAILED with %s", step, onboarding.CodeStepCrashed)
	}
	if !strings.Contains(h2.logs.String(), "interrupted by an earlier stop") {
		t.Errorf("the start does not log the interrupted onboarding")
	}
	if status, m := h2.do("POST", "/onboardings/"+id+"/retry", ""); status != http.StatusAccepted {
		t.Fatalf("retry: got %d %v", status, m)
	}
	// The retry resumes from the interrupted step: the wait for the test message.
	rec = h2.await(id, onboarding.StatusAwaitingTestMessage)
	checkSteps(t, rec, map[string]string{"register_phone": "SUCCEEDED", "send_test_message": "RUNNING"})
}

// taskTokenOf returns the task token the named callback state was scheduled with (its Payload.task_token).
func taskTokenOf(t *testing.T, events []engine.HistoryEvent, state string) string {
	t.Helper()
	in := ""
	for _, ev := range events {
		if d := ev.StateEnteredEventDetails; d != nil {
			in = d.Name
		}
		if d := ev.TaskScheduledEventDetails; d != nil && in == state {
			var p struct {
				Payload struct {
					TaskToken string `json:"task_token"`
				} `json:"Payload"`
			}
			if err := json.Unmarshal([]byte(d.Parameters), &p); err == nil && p.Payload.TaskToken != "" {
				return p.Payload.TaskToken
			}
		}
	}
	t.Fatalf("no task token scheduled in %s", state)
	return ""
}

func testCtxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
