package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/internal/corpustest"
	"github.com/waes/onboarding/shared/asl"
)

// snapshotStore keeps checkpoints as a durable store would: the progress replaced and the new events
// appended, through JSON, so that a test can "kill" an engine by copying what was saved.
type snapshotStore struct {
	// freezeAt, when set, stops the store after the first snapshot it accepts: later ones are lost, as
	// if the process had died right after that commit.
	freezeAt func(ExecutionSnapshot) bool
	frozen   bool

	mu    sync.Mutex
	execs map[string][]byte // ARN -> snapshot JSON without history
	hist  map[string][]json.RawMessage
}

func newSnapshotStore() *snapshotStore {
	return &snapshotStore{execs: map[string][]byte{}, hist: map[string][]json.RawMessage{}}
}

func (s *snapshotStore) save(snap ExecutionSnapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen {
		return errors.New("the process is dead")
	}
	if s.freezeAt != nil && s.freezeAt(snap) {
		s.frozen = true
	}
	if got, want := int64(len(s.hist[snap.ExecutionARN])+1), snap.FirstEventID; len(snap.NewEvents) > 0 && got != want {
		return errors.New("checkpoint out of order")
	}
	for _, ev := range snap.NewEvents {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		s.hist[snap.ExecutionARN] = append(s.hist[snap.ExecutionARN], b)
	}
	snap.NewEvents = nil
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	s.execs[snap.ExecutionARN] = b
	return nil
}

// crash returns what a process killed now would find on disk.
func (s *snapshotStore) crash(t *testing.T) []ExecutionSnapshot {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ExecutionSnapshot
	for arn, b := range s.execs {
		var snap ExecutionSnapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			t.Fatal(err)
		}
		for _, raw := range s.hist[arn] {
			var ev HistoryEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			snap.Progress.Events = append(snap.Progress.Events, ev)
		}
		out = append(out, snap)
	}
	return out
}

func (s *snapshotStore) status(t *testing.T, arn string) ExecutionStatus {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap ExecutionSnapshot
	if err := json.Unmarshal(s.execs[arn], &snap); err != nil {
		t.Fatal(err)
	}
	return snap.Progress.Status
}

// gateClock is a FakeClock whose Sleep blocks until the test lets it go: the test sees each sleep's
// duration (sleeps) and ends it with release, which moves the clock by that duration.
type gateClock struct {
	*FakeClock
	sleeps  chan time.Duration
	release chan struct{}
}

func newGateClock() *gateClock {
	return &gateClock{FakeClock: NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		sleeps: make(chan time.Duration, 8), release: make(chan struct{})}
}

func (c *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps <- d
	select {
	case <-c.release:
		return c.FakeClock.Sleep(ctx, d)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// sleeping returns the duration of the next sleep to start.
func (c *gateClock) sleeping(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.sleeps:
		return d
	case <-testCtx(t).Done():
		t.Fatal("no sleep")
		return 0
	}
}

// restart builds a second engine on the same definition and clock and restores what the first saved.
func restart(t *testing.T, def string, clock Clock, fns map[string]lambda.Handler, saved []ExecutionSnapshot) (*Engine, *snapshotStore) {
	t.Helper()
	store := newSnapshotStore()
	eng := New(mustParse(t, def), Options{Clock: clock, Functions: fns, Checkpoint: store.save})
	t.Cleanup(func() { _ = eng.Shutdown(context.Background()) })
	for _, s := range saved {
		if err := eng.Restore(context.Background(), s); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	return eng, store
}

func count(evs []HistoryEvent, typ EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func waitSaved(t *testing.T, store *snapshotStore, arn string, cond func(Progress) bool) {
	t.Helper()
	ctx := testCtx(t)
	for {
		store.mu.Lock()
		b := store.execs[arn]
		store.mu.Unlock()
		var snap ExecutionSnapshot
		if b != nil && json.Unmarshal(b, &snap) == nil && cond(snap.Progress) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no such checkpoint; last: %s", b)
		case <-time.After(time.Millisecond):
		}
	}
}

const waitDef = `{"StartAt":"a","States":{
	"a":{"Type":"Pass","Result":{"n":1},"ResultPath":"$.a","Next":"w"},
	"w":{"Type":"Wait","Seconds":100,"Next":"b"},
	"b":{"Type":"Pass","End":true}}}`

func TestRestoreWaitSleepsWhatItHadLeft(t *testing.T) {
	clock := newGateClock()
	store := newSnapshotStore()
	eng := New(mustParse(t, waitDef), Options{Clock: clock, Checkpoint: store.save})
	arn, err := eng.StartExecution(context.Background(), "x", []byte(`{"k":12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := clock.sleeping(t), 100*time.Second; got != want {
		t.Fatalf("wait: got %v, want %v", got, want)
	}
	waitSaved(t, store, arn, func(p Progress) bool { return !p.WakeAt.IsZero() })
	clock.Advance(40 * time.Second)
	saved := store.crash(t)
	_ = eng.Shutdown(context.Background())

	eng2, _ := restart(t, waitDef, clock, nil, saved)
	if got, want := clock.sleeping(t), 60*time.Second; got != want {
		t.Errorf("resumed wait: got %v, want %v", got, want)
	}
	clock.release <- struct{}{}
	d, err := eng2.Wait(testCtx(t), arn)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := asl.DecodeJSON([]byte(d.Output))
	want, _ := asl.DecodeJSON([]byte(`{"k":12345678901234567890,"a":{"n":1}}`))
	if d.Status != StatusSucceeded || d.Output != asl.JSONString(want) || !corpustest.JSONEqual(out, want) {
		t.Errorf("got %s %s, want SUCCEEDED with the input's number intact", d.Status, d.Output)
	}
	h, _ := eng2.GetExecutionHistory(arn)
	if got := count(h, EventType("WaitStateEntered")); got != 1 {
		t.Errorf("WaitStateEntered events: got %d, want 1: %v", got, eventTypes(h))
	}
	for i, ev := range h {
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d has ID %d", i, ev.ID)
		}
	}
}

const resumeCallbackDef = `{"StartAt":"t","States":{
	"t":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}},"TimeoutSeconds":100,
		"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.error","Next":"timedout"}],"Next":"done"},
	"done":{"Type":"Succeed"},
	"timedout":{"Type":"Pass","End":true}}}`

// countingTokenCatcher is a callback task's function: it hands over the token and returns.
func countingTokenCatcher(calls *atomic.Int32, tokens chan<- string) lambda.Handler {
	return lambda.NewHandler(func(_ context.Context, in struct {
		Token string `json:"token"`
	}) (struct{}, error) {
		calls.Add(1)
		tokens <- in.Token
		return struct{}{}, nil
	})
}

func TestRestoreCallbackWaitsForTheSameToken(t *testing.T) {
	for _, tc := range []struct {
		name       string
		downFor    time.Duration
		wantStatus ExecutionStatus
		wantEvent  EventType
	}{
		{"answered after the restart", 30 * time.Second, StatusSucceeded, EventTaskSucceeded},
		{"timeout passed while down", 200 * time.Second, StatusSucceeded, EventTaskTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var calls atomic.Int32
			tokens := make(chan string, 4)
			fns := map[string]lambda.Handler{"f": countingTokenCatcher(&calls, tokens)}
			store := newSnapshotStore()
			eng := New(mustParse(t, resumeCallbackDef), Options{Clock: clock, Functions: fns, Checkpoint: store.save})
			arn, err := eng.StartExecution(context.Background(), "x", nil)
			if err != nil {
				t.Fatal(err)
			}
			token := <-tokens
			waitSaved(t, store, arn, func(p Progress) bool { return p.Submitted })
			saved := store.crash(t)
			_ = eng.Shutdown(context.Background())
			if got := store.status(t, arn); got != StatusRunning {
				t.Errorf("saved status after Shutdown: got %s, want RUNNING", got)
			}
			clock.Advance(tc.downFor)

			eng2, _ := restart(t, resumeCallbackDef, clock, fns, saved)
			if tc.wantEvent == EventTaskSucceeded {
				if err := eng2.SendTaskSuccess(token, []byte(`{"ok":true}`)); err != nil {
					t.Fatalf("SendTaskSuccess after the restart: %v", err)
				}
			}
			d, err := eng2.Wait(testCtx(t), arn)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := eng2.GetExecutionHistory(arn)
			if d.Status != tc.wantStatus || count(h, tc.wantEvent) != 1 {
				t.Errorf("got %s, history %v; want %s with one %s", d.Status, eventTypes(h), tc.wantStatus, tc.wantEvent)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("function calls: got %d, want 1 (the resumed task waits, it does not invoke again)", got)
			}
			if got := count(h, EventTaskScheduled); got != 1 {
				t.Errorf("TaskScheduled events: got %d, want 1", got)
			}
		})
	}
}

func TestRestoreRerunsATaskInFlight(t *testing.T) {
	const def = `{"StartAt":"p","States":{
		"p":{"Type":"Pass","Next":"t"},
		"t":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{}},"End":true}}}`
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var calls atomic.Int32
	block := make(chan struct{})
	blocking := lambda.NewHandler(func(ctx context.Context, _ json.RawMessage) (string, error) {
		calls.Add(1)
		select {
		case <-block:
		case <-ctx.Done():
		}
		return "first", nil
	})
	store := newSnapshotStore()
	eng := New(mustParse(t, def), Options{Clock: clock, Functions: map[string]lambda.Handler{"f": blocking}, Checkpoint: store.save})
	arn, err := eng.StartExecution(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, eng, arn, EventTaskStarted)
	saved := store.crash(t)
	close(block)
	_, _ = eng.Wait(testCtx(t), arn)

	eng2, _ := restart(t, def, clock, map[string]lambda.Handler{"f": echoHandler()}, saved)
	d, err := eng2.Wait(testCtx(t), arn)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := eng2.GetExecutionHistory(arn)
	if d.Status != StatusSucceeded || count(h, EventType("TaskStateEntered")) != 1 || count(h, EventType("PassStateExited")) != 1 {
		t.Errorf("got %s, history %v; want SUCCEEDED, the task entered once, the pass state run once", d.Status, eventTypes(h))
	}
}

func TestRestoreRetryBackOff(t *testing.T) {
	const def = `{"StartAt":"t","States":{
		"t":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{}},
			"Retry":[{"ErrorEquals":["Boom"],"IntervalSeconds":10,"MaxAttempts":2,"BackoffRate":1}],"End":true}}}`
	clock := newGateClock()
	store := newSnapshotStore()
	eng := New(mustParse(t, def), Options{Clock: clock, Functions: map[string]lambda.Handler{"f": failingHandler("Boom")}, Checkpoint: store.save})
	arn, err := eng.StartExecution(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := clock.sleeping(t), 10*time.Second; got != want {
		t.Fatalf("back-off: got %v, want %v", got, want)
	}
	waitSaved(t, store, arn, func(p Progress) bool { return !p.WakeAt.IsZero() })
	clock.Advance(4 * time.Second)
	saved := store.crash(t)
	_ = eng.Shutdown(context.Background())

	eng2, _ := restart(t, def, clock, map[string]lambda.Handler{"f": failingHandler("Boom")}, saved)
	if got, want := clock.sleeping(t), 6*time.Second; got != want {
		t.Errorf("resumed back-off: got %v, want %v", got, want)
	}
	clock.release <- struct{}{}
	if got, want := clock.sleeping(t), 10*time.Second; got != want {
		t.Errorf("second back-off: got %v, want %v", got, want)
	}
	clock.release <- struct{}{}
	d, err := eng2.Wait(testCtx(t), arn)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := eng2.GetExecutionHistory(arn)
	// Two retries in all: the one restored in its back-off, and one more; then the error is final.
	if d.Status != StatusFailed || d.Error != "Boom" || count(h, EventTaskFailed) != 3 {
		t.Errorf("got %s %s, history %v; want FAILED Boom after 3 attempts", d.Status, d.Error, eventTypes(h))
	}
}

func TestRestoreClosedExecutionIsReadable(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := newSnapshotStore()
	eng := New(mustParse(t, waitDef), Options{Clock: clock, Checkpoint: store.save})
	arn := startAndWait(t, eng, `{}`)
	want, _ := eng.GetExecutionHistory(arn)
	_ = eng.Shutdown(context.Background())

	eng2, _ := restart(t, waitDef, clock, nil, store.crash(t))
	d, err := eng2.DescribeExecution(arn)
	if err != nil || d.Status != StatusSucceeded {
		t.Fatalf("got %v %v, want SUCCEEDED", d.Status, err)
	}
	got, _ := eng2.GetExecutionHistory(arn)
	if !slices.EqualFunc(got, want, func(a, b HistoryEvent) bool {
		return a.Type == b.Type && a.ID == b.ID && a.Timestamp.Equal(b.Timestamp)
	}) {
		t.Errorf("history after restore: got %v, want %v", eventTypes(got), eventTypes(want))
	}
	if _, err := eng2.StartExecution(context.Background(), "x", []byte(`{}`)); err == nil && d.Name == "x" {
		t.Error("starting a restored closed execution's name again succeeded")
	}
	if err := eng2.Restore(context.Background(), store.crash(t)[0]); !errors.Is(err, ErrExecutionAlreadyExists) {
		t.Errorf("restoring twice: got %v, want ErrExecutionAlreadyExists", err)
	}
}

// TestRestoreAnswerAcceptedBeforeTheCrash: an answer SendTaskSuccess accepted is saved before it returns, so
// that a crash before the task records it does not lose it: the restored task records it without being
// answered again.
func TestRestoreAnswerAcceptedBeforeTheCrash(t *testing.T) {
	for _, failed := range []bool{false, true} {
		t.Run(fmt.Sprintf("failed=%t", failed), func(t *testing.T) {
			clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var calls atomic.Int32
			tokens := make(chan string, 4)
			fns := map[string]lambda.Handler{"f": countingTokenCatcher(&calls, tokens)}
			store := newSnapshotStore()
			store.freezeAt = func(s ExecutionSnapshot) bool { return s.Progress.Outcome != nil }
			eng := New(mustParse(t, resumeCallbackDef), Options{Clock: clock, Functions: fns, Checkpoint: store.save})
			arn, err := eng.StartExecution(context.Background(), "x", nil)
			if err != nil {
				t.Fatal(err)
			}
			token := <-tokens
			waitSaved(t, store, arn, func(p Progress) bool { return p.Submitted })
			if failed {
				err = eng.SendTaskFailure(token, "States.Timeout", "told to")
			} else {
				err = eng.SendTaskSuccess(token, []byte(`{"ok":true}`))
			}
			if err != nil {
				t.Fatal(err)
			}
			saved := store.crash(t)
			_, _ = eng.Wait(testCtx(t), arn)

			eng2, _ := restart(t, resumeCallbackDef, clock, fns, saved)
			d, err := eng2.Wait(testCtx(t), arn)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := eng2.GetExecutionHistory(arn)
			want, wantEvent := `{"ok":true}`, EventTaskSucceeded
			if failed {
				want, wantEvent = `{"error":{"Cause":"told to","Error":"States.Timeout"}}`, EventTaskFailed
			}
			if d.Status != StatusSucceeded || d.Output != want || count(h, wantEvent) != 1 || calls.Load() != 1 {
				t.Errorf("got %s %s, history %v, %d calls; want SUCCEEDED %s with one %s and one call", d.Status, d.Output, eventTypes(h), calls.Load(), want, wantEvent)
			}
			if err := eng2.SendTaskSuccess(token, []byte(`{}`)); !errors.Is(err, ErrTaskTimedOut) {
				t.Errorf("answering the token again: got %v, want ErrTaskTimedOut", err)
			}
		})
	}
}
