package workflow_test

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/waes/onboarding/shared/workflow"
)

type aslState struct {
	Type      string
	Next      string
	ErrorPath string
	CausePath string
	Catch     []aslCatch
}

type aslCatch struct {
	ErrorEquals []string
	Next        string
	ResultPath  *string
}

func states(t *testing.T) map[string]aslState {
	t.Helper()
	var def struct{ States map[string]aslState }
	if err := json.Unmarshal(workflow.Definition, &def); err != nil {
		t.Fatal(err)
	}
	return def.States
}

// TestEveryTaskCatchesAll: no Task state, the failure recorder included, can end an execution with an error
// the definition did not handle.
func TestEveryTaskCatchesAll(t *testing.T) {
	sts := states(t)
	names := make([]string, 0, len(sts))
	for n := range sts {
		names = append(names, n)
	}
	sort.Strings(names)
	tasks := 0
	for _, name := range names {
		st := sts[name]
		if st.Type != "Task" {
			continue
		}
		tasks++
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(st.Catch, func(c aslCatch) bool { return slices.Contains(c.ErrorEquals, "States.ALL") })
			if i < 0 {
				t.Fatalf("Catch: got %+v, want a States.ALL catcher", st.Catch)
			}
			if i != len(st.Catch)-1 {
				t.Errorf("the States.ALL catcher is #%d of %d: want it last (Step Functions requires it)", i+1, len(st.Catch))
			}
			if _, ok := sts[st.Catch[i].Next]; !ok {
				t.Errorf("Catch Next %q: no such state", st.Catch[i].Next)
			}
		})
	}
	if tasks == 0 {
		t.Fatal("no Task states in the definition")
	}
}

// TestRecorderCatchKeepsTheStepError: when recording a failure fails, the execution ends with the step's
// caught error ($.error) and cause, not the recorder's, which goes elsewhere in the state.
func TestRecorderCatchKeepsTheStepError(t *testing.T) {
	sts := states(t)
	rec, ok := sts["record_failure"]
	if !ok {
		t.Fatal("no record_failure state")
	}
	if len(rec.Catch) != 1 {
		t.Fatalf("record_failure Catch: got %d catchers, want 1", len(rec.Catch))
	}
	c := rec.Catch[0]
	if c.ResultPath == nil || *c.ResultPath == "$.error" || *c.ResultPath == "$" {
		t.Errorf("record_failure Catch ResultPath: got %v, want a path that keeps $.error", c.ResultPath)
	}
	fail := sts[c.Next]
	if got, want := [3]string{fail.Type, fail.ErrorPath, fail.CausePath}, [3]string{"Fail", "$.error.Error", "$.error.Cause"}; got != want {
		t.Errorf("record_failure's Catch target %q: got %q, want %q", c.Next, got, want)
	}
}
