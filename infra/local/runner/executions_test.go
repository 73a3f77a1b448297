package runner

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/localstate"
)

// transitionSnapshot is a checkpoint as the onboarding workflow makes them: the progress into a Task state
// (its input the size of the workflow's state data) and the two events of the state left.
func transitionSnapshot(arn string, firstID int64) engine.ExecutionSnapshot {
	input := map[string]any{
		"onboarding_id": "9RlX63oWC71umvPC5wqzug", "waba_id": "102290129340398", "phone_number_id": "106540352242922",
		"share_credit_line": true, "test_message": true, "inbound_timeout_seconds": json.Number("300"),
		"counters": map[string]any{"register_waits": json.Number("0")},
		"results":  map[string]any{"subscribe_webhooks": map[string]any{"step": "subscribe_webhooks", "status": "SUCCEEDED"}},
	}
	doc, _ := json.Marshal(input)
	now := time.Now()
	return engine.ExecutionSnapshot{
		ExecutionARN: arn, Name: arn[len(arn)-24:], Input: string(doc), StartDate: now,
		Progress: engine.Progress{Status: engine.StatusRunning, State: "share_credit_line", StateInput: input,
			Transitions: []string{"init", "route", "subscribe_webhooks", "has_credit_line", "share_credit_line"}},
		FirstEventID: firstID,
		NewEvents: []engine.HistoryEvent{
			{ID: firstID, Timestamp: now, Type: engine.EventTaskSucceeded, TaskSucceededEventDetails: &engine.TaskEventDetails{
				ResourceType: "lambda", Resource: "invoke", Output: `{"Payload":{"step":"subscribe_webhooks","status":"SUCCEEDED"}}`}},
			{ID: firstID + 1, Timestamp: now, Type: engine.EventType("TaskStateExited"), StateExitedEventDetails: &engine.StateEventDetails{
				Name: "subscribe_webhooks", Output: string(doc)}},
		},
	}
}

func TestExecutionStoreRoundTrip(t *testing.T) {
	st, err := localstate.Open(t.TempDir(), localstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := newExecutionStore(st.DB)
	if err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:states:local:000000000000:execution:wa-onboarding-local:9RlX63oWC71umvPC5wqzug-1"
	for i := range 3 {
		if err := s.save(transitionSnapshot(arn, int64(1+2*i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Progress.Events) != 6 || got[0].Progress.State != "share_credit_line" {
		t.Fatalf("load: got %d executions (%+v), want one with 6 events", len(got), got)
	}
	for i, ev := range got[0].Progress.Events {
		if ev.ID != int64(i+1) {
			t.Errorf("event %d: got ID %d", i, ev.ID)
		}
	}
	if n, ok := got[0].Progress.StateInput.(map[string]any)["inbound_timeout_seconds"].(json.Number); !ok || n != "300" {
		t.Errorf("state input number: got %#v, want json.Number 300", got[0].Progress.StateInput.(map[string]any)["inbound_timeout_seconds"])
	}
}

// BenchmarkCheckpoint is the cost a durable execution pays at each checkpoint (each state transition and
// each wait): encoding the progress and the new events, and one bbolt transaction with its fsync. The
// executions=N variants measure the same with N other executions in the database.
func BenchmarkCheckpoint(b *testing.B) {
	for _, others := range []int{0, 1000} {
		b.Run(fmt.Sprintf("executions=%d", others), func(b *testing.B) {
			st, err := localstate.Open(b.TempDir(), localstate.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			s, err := newExecutionStore(st.DB)
			if err != nil {
				b.Fatal(err)
			}
			for i := range others {
				arn := fmt.Sprintf("arn:aws:states:local:000000000000:execution:wa-onboarding-local:other%017d-1", i)
				if err := s.save(transitionSnapshot(arn, 1)); err != nil {
					b.Fatal(err)
				}
			}
			const arn = "arn:aws:states:local:000000000000:execution:wa-onboarding-local:9RlX63oWC71umvPC5wqzug-1"
			id := int64(1)
			for b.Loop() {
				if err := s.save(transitionSnapshot(arn, id)); err != nil {
					b.Fatal(err)
				}
				id += 2
			}
		})
	}
}
