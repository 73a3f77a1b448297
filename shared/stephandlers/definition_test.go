package stephandlers

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/workflow"
)

// The workflow definition routes around a step (Choice states, then a record_outcome "skip" with a reason)
// and bounds the register waits; the step functions apply the same rules when they run. These tests hold
// the two to each other, so that a rule changed on one side fails here until the other follows.

type aslChoice struct {
	Variable           string   `json:"Variable"`
	StringEquals       *string  `json:"StringEquals"`
	BooleanEquals      *bool    `json:"BooleanEquals"`
	NumericGreaterThan *float64 `json:"NumericGreaterThan"`
	Next               string   `json:"Next"`
}

type aslCatcher struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
}

type aslState struct {
	Type        string            `json:"Type"`
	Next        string            `json:"Next"`
	Default     string            `json:"Default"`
	Choices     []aslChoice       `json:"Choices"`
	Seconds     int               `json:"Seconds"`
	SecondsPath string            `json:"SecondsPath"`
	ResultPath  string            `json:"ResultPath"`
	Selector    map[string]string `json:"ResultSelector"`
	Result      json.RawMessage   `json:"Result"`
	Parameters  struct {
		Payload struct {
			Action string `json:"action"`
			Step   string `json:"step"`
			Reason string `json:"reason"`
		} `json:"Payload"`
		RegisterWaits string `json:"register_waits.$"`
	} `json:"Parameters"`
	Retry []aslCatcher `json:"Retry"`
	Catch []aslCatcher `json:"Catch"`
}

func definitionStates(t *testing.T) map[string]aslState {
	t.Helper()
	var def struct {
		States map[string]aslState `json:"States"`
	}
	if err := json.Unmarshal(workflow.Definition, &def); err != nil {
		t.Fatalf("parsing the workflow definition: %v", err)
	}
	return def.States
}

func state(t *testing.T, states map[string]aslState, name string) aslState {
	t.Helper()
	s, ok := states[name]
	if !ok {
		t.Fatalf("the workflow definition has no state %q", name)
	}
	return s
}

func TestDefinitionSkipReasonsAreTheSteps(t *testing.T) {
	states := definitionStates(t)
	want := map[string]struct {
		step   onboarding.StepName
		reason string
	}{
		"skip_share_credit_line":          {onboarding.StepShareCreditLine, NoteNoCreditLine},
		"skip_sync_business_app":          {onboarding.StepSyncBusinessApp, NoteSyncNotCoexistence},
		"skip_verify_phone_no_phone":      {onboarding.StepVerifyPhone, NoteVerifyNoPhone},
		"skip_verify_phone_coexistence":   {onboarding.StepVerifyPhone, NoteVerifyCoexistence},
		"skip_register_phone_no_phone":    {onboarding.StepRegisterPhone, NoteNoPhone},
		"skip_register_phone_coexistence": {onboarding.StepRegisterPhone, NoteCoexistence},
		"skip_send_test_message":          {onboarding.StepSendTestMessage, NoteNoTestRecipient},
	}
	for name, s := range states {
		if s.Parameters.Payload.Action != "skip" {
			continue
		}
		w, known := want[name]
		if !known {
			t.Errorf("state %s skips a step, but no Go rule is listed for it here", name)
			continue
		}
		if got := s.Parameters.Payload.Step; got != string(w.step) {
			t.Errorf("state %s: skipped step: got %q, want %q", name, got, w.step)
		}
		if got := s.Parameters.Payload.Reason; got != w.reason {
			t.Errorf("state %s: skip reason: got %q, want the step's %q", name, got, w.reason)
		}
	}
	for name := range want {
		if _, ok := states[name]; !ok {
			t.Errorf("the workflow definition has no state %s", name)
		}
	}
}

func TestDefinitionChoicesAreTheStepRules(t *testing.T) {
	states := definitionStates(t)
	str := func(s string) *string { return &s }
	yes := true
	tests := []struct {
		state       string
		want        []aslChoice
		wantDefault string
	}{
		{
			// verifyPhone and registerPhone check the phone number first, then the coexistence event: the same
			// order.
			state: "has_phone",
			want: []aslChoice{
				{Variable: "$.phone_number_id", StringEquals: str(""), Next: "skip_verify_phone_no_phone"},
				{Variable: "$.event", StringEquals: str(string(onboarding.EventFinishBusinessApp)), Next: "skip_verify_phone_coexistence"},
			},
			wantDefault: "verify_phone",
		},
		{
			state:       "is_business_app",
			want:        []aslChoice{{Variable: "$.event", StringEquals: str(string(onboarding.EventFinishBusinessApp)), Next: "sync_business_app"}},
			wantDefault: "skip_sync_business_app",
		},
		{
			// verify_phone leaves the step RUNNING exactly when the number waits for its code.
			state:       "needs_phone_verification",
			want:        []aslChoice{{Variable: "$.results.verify_phone.status", StringEquals: str(string(onboarding.StepRunning)), Next: "await_phone_verification"}},
			wantDefault: "register_phone",
		},
		{
			state:       "has_credit_line",
			want:        []aslChoice{{Variable: "$.share_credit_line", BooleanEquals: &yes, Next: "share_credit_line"}},
			wantDefault: "skip_share_credit_line",
		},
		{
			state:       "has_test_recipient",
			want:        []aslChoice{{Variable: "$.test_message", BooleanEquals: &yes, Next: "await_test_message"}},
			wantDefault: "skip_send_test_message",
		},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			s := state(t, states, tt.state)
			got, _ := json.Marshal(s.Choices)
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Errorf("choices: got %s, want %s", got, want)
			}
			if s.Default != tt.wantDefault {
				t.Errorf("default: got %q, want %q", s.Default, tt.wantDefault)
			}
		})
	}
}

func TestDefinitionRegisterWaitBudget(t *testing.T) {
	states := definitionStates(t)
	var counters struct {
		RegisterWaits *int `json:"register_waits"`
	}
	if err := json.Unmarshal(state(t, states, "init").Result, &counters); err != nil || counters.RegisterWaits == nil || *counters.RegisterWaits != 0 {
		t.Errorf("init: register_waits must start at 0 (err %v)", err)
	}
	// register_phone catches a wait-fixed answer and counts it before waiting.
	var caught bool
	for _, c := range state(t, states, "register_phone").Catch {
		if len(c.ErrorEquals) == 1 && c.ErrorEquals[0] == onboarding.ErrorNameWaitFixed && c.Next == "count_register_wait" {
			caught = true
		}
	}
	if !caught {
		t.Errorf("register_phone does not catch %s into count_register_wait", onboarding.ErrorNameWaitFixed)
	}
	if got, want := state(t, states, "count_register_wait").Parameters.RegisterWaits,
		"States.MathAdd($.counters.register_waits, 1)"; got != want {
		t.Errorf("count_register_wait: got %q, want %q", got, want)
	}
	allowed := state(t, states, "register_wait_allowed")
	if len(allowed.Choices) != 1 || allowed.Choices[0].NumericGreaterThan == nil ||
		allowed.Choices[0].Variable != "$.counters.register_waits" || allowed.Choices[0].Next != "register_phone_failed" {
		t.Fatalf("register_wait_allowed: want one NumericGreaterThan on $.counters.register_waits to register_phone_failed, got %+v", allowed.Choices)
	}
	maxWaits := int(*allowed.Choices[0].NumericGreaterThan)
	// Each wait leads to one more register call: the first call and every allowed wait's must fit in the
	// step's own call limit, or the workflow would wait only to be refused by the step.
	if got, limit := 1+maxWaits, DefaultRegisterCallLimit; got > limit {
		t.Errorf("register calls the workflow's waits allow: %d, more than DefaultRegisterCallLimit %d", got, limit)
	}
	// The wait is the one the register step recorded from Meta's error: record_outcome's wait action reads it
	// and the Wait state waits that long.
	if allowed.Default != "register_wait_time" {
		t.Errorf("register_wait_allowed: default: got %q, want register_wait_time", allowed.Default)
	}
	wt := state(t, states, "register_wait_time")
	if wt.Parameters.Payload.Action != ActionWait || wt.Parameters.Payload.Step != string(onboarding.StepRegisterPhone) ||
		wt.Selector["seconds.$"] != "$.Payload.wait_seconds" || wt.ResultPath != "$.register_wait" || wt.Next != "wait_before_register" {
		t.Errorf("register_wait_time: want record_outcome's wait action for register_phone into $.register_wait.seconds, got %+v", wt)
	}
	wait := state(t, states, "wait_before_register")
	if wait.Next != "register_phone" || wait.SecondsPath != "$.register_wait.seconds" {
		t.Errorf("wait_before_register: got next %q, SecondsPath %q; want register_phone, $.register_wait.seconds", wait.Next, wait.SecondsPath)
	}
	for _, code := range []int{graph.CodeRegisterDeleting, graph.CodeTwoStepTooManyTries, graph.CodeTwoStepTooFast} {
		if need := graph.WaitSeconds(code); int(DefaultStepWait/time.Second) < need {
			t.Errorf("the default wait %s is less than the %ds Meta asks for after %d", DefaultStepWait, need, code)
		}
	}
}

func TestDefinitionErrorNamesAreTheSteps(t *testing.T) {
	names := map[string]bool{
		onboarding.ErrorNameTransient: true, onboarding.ErrorNameThrottled: true,
		onboarding.ErrorNameWaitFixed: true, onboarding.ErrorNamePermanent: true,
	}
	for name, s := range definitionStates(t) {
		for _, c := range append(append([]aslCatcher{}, s.Retry...), s.Catch...) {
			for _, e := range c.ErrorEquals {
				if !names[e] && !strings.HasPrefix(e, "States.") && !strings.HasPrefix(e, "Lambda.") {
					t.Errorf("state %s handles %q, which no step returns", name, e)
				}
			}
		}
	}
}

func TestDefinitionChoicesReadTheWorkflowInput(t *testing.T) {
	fields := map[string]bool{}
	typ := reflect.TypeOf(onboarding.WorkflowInput{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	for name, s := range definitionStates(t) {
		for _, c := range s.Choices {
			field, isInput := strings.CutPrefix(c.Variable, "$.")
			if strings.HasPrefix(field, "counters.") || strings.HasPrefix(field, "results.") {
				continue // kept by the workflow itself (init, and the steps' outputs)
			}
			if !isInput || !fields[field] {
				t.Errorf("state %s reads %s, which is not a field of onboarding.WorkflowInput", name, c.Variable)
			}
			if field == "resume_from" && (c.StringEquals == nil || !onboarding.StepName(*c.StringEquals).Valid()) {
				t.Errorf("state %s resumes from %v, which is not a step", name, c.StringEquals)
			}
		}
	}
}
