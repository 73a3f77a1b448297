package workflow_test

// Conformance of the workflow definition with third-party engines:
//
//   - TestDefinitionValidatesWithASLValidator validates the definition, with dummy Lambda ARNs substituted,
//     with asl-validator (npm).
//   - TestConformanceWithAWSLocalStepFunctions runs the same definition on the same scenarios through
//     aws-local-stepfunctions (npm; harness testdata/conformance/run.mjs, one Node process for all scenarios)
//     and through our interpreter (shared/asl/engine), and asserts the same entered states, final status,
//     output or error and cause, and the same function invocations with the same payloads. Each scenario
//     also states the path it expects, so that both engines agreeing on a wrong path fails too.
//
// The step functions are scripted, in both engines alike: a successful invocation answers like the real
// function (stephandlers.Output), a failing one fails with the error name Lambda reports for a Go function (the Go
// type name of the returned error: the step handlers' *onboarding.TransientError and so on), and the Go
// handlers decode every payload strictly into the real function's input type. Nothing sleeps: the Go
// interpreter runs on a FakeClock, the Node harness overrides every retry interval and Wait to 0 ms.
//
// Differences between the engines, and how the test handles them:
//
//   - aws-local-stepfunctions 3.0.0 has no service integrations: every Task state is overridden in the
//     harness; the override dispatches on Parameters.FunctionName and returns the lambda:invoke result shape
//     ({"Payload": ..., "StatusCode": 200, ...}), as Step Functions and our interpreter do.
//   - It has no .waitForTaskToken and no $$.Task.Token: the harness passes a Context Object with a fixed
//     Task.Token and plays the worker's callback inside the override (the SendTaskSuccess output becomes the
//     task result, SendTaskFailure a thrown error with that name and cause, no callback a promise that never
//     settles). In Go the await_webhook handler stores the token and the worker answers asynchronously once
//     the task reports TaskSubmitted (after the function returned), through Engine.SendTaskSuccess/Failure,
//     or never, and the FakeClock is moved to the task's deadline.
//   - It resolves TimeoutSecondsPath against the task input after Parameters ({"FunctionName", "Payload"}),
//     so "$.inbound_timeout_seconds" fails with States.Runtime. Step Functions resolves it against the
//     state's input ("a path in the state input"; with Parameters a lambda:invoke task could not carry the
//     value otherwise), as our interpreter does. The harness hands the library the paths rewritten to
//     $$.Execution.Input.<field>, equivalent because no state writes those fields; the Go side checks that
//     its TaskScheduled timeouts are the input's values.
//   - The cause of States.Timeout differs: ours "The task did not complete within its TimeoutSeconds (1).",
//     the library's "States.Timeout" (Step Functions' own is different again; an empty Cause has been seen
//     for timed-out callback tasks). Causes of States.* errors in payloads are compared by error name only,
//     which is all record_outcome reads of them.
//   - It requires Node >= 22 (Promise.withResolvers, used by every Task state); package.json allows >= 20,
//     so the harness polyfills it.
//   - JitterStrategy FULL and MaxDelaySeconds are supported by both but random and time-only: both engines
//     run with zero-length back-off, so only retry counts and matching are compared, not intervals.
//   - Lambda's own errors (Lambda.TooManyRequestsException) are not Go type names: in Go the scripted
//     function returns messages.InvokeResponse_Error with that errorType, which Lambda reports as the name.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/waes/onboarding/internal/testenv"
	"github.com/waes/onboarding/shared/asl"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/stephandlers"
	"github.com/waes/onboarding/shared/workflow"
)

const (
	harnessPath   = "shared/workflow/testdata/conformance/run.mjs"
	validatorPath = "node_modules/.bin/asl-validator"
	libraryPath   = "node_modules/aws-local-stepfunctions/package.json"
	onboardingID  = "3q2-7wEjRuW3bFq0DqRU1A"
	failedCause   = "An onboarding step failed: GET /onboardings/{id} shows the step and its error; POST /onboardings/{id}/retry resumes it."
)

func dummyARN(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }

// definitionWithARNs returns the definition with dummy Lambda ARNs in place of its placeholders.
func definitionWithARNs(t *testing.T) []byte {
	t.Helper()
	doc, err := asl.Substitute(workflow.Definition, workflow.Substitutions(dummyARN))
	if err != nil {
		t.Fatalf("substituting the definition: %v", err)
	}
	if bytes.Contains(doc, []byte("${")) {
		t.Fatalf("a placeholder is left after substitution:\n%s", doc)
	}
	return doc
}

// repoRoot returns the module root, where node_modules lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the package directory: %v", err)
	}
	return root
}

// requireNodeTools skips the test when Node or the pinned npm tools are missing (fails it under `make test`).
func requireNodeTools(t *testing.T, root string) {
	t.Helper()
	testenv.NodeTools(t, validatorPath, libraryPath)
}

func TestDefinitionValidatesWithASLValidator(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeTools(t, root)
	file := filepath.Join(t.TempDir(), "definition.asl.json")
	if err := os.WriteFile(file, definitionWithARNs(t), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", validatorPath, "--json-path", file)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator rejects the definition (%v):\n%s", err, out)
	}
}

// behaviour scripts one invocation of a function, in both engines; JSON is what the Node harness reads.
// The zero value answers like the real function.
type behaviour struct {
	err error // Go: the error the function returns

	Error    string          `json:"error,omitempty"`    // error name (function error or SendTaskFailure)
	Message  string          `json:"message,omitempty"`  // errorMessage of a function error
	Callback string          `json:"callback,omitempty"` // await_webhook: success | failure | none
	Output   json.RawMessage `json:"output,omitempty"`   // SendTaskSuccess output
	Cause    string          `json:"cause,omitempty"`    // SendTaskFailure cause
	Status   string          `json:"status,omitempty"`   // a successful answer's step status instead of SUCCEEDED (verify_phone: RUNNING)
}

// awaitsCode scripts verify_phone finding the number unverified: the step stays RUNNING and the workflow waits.
var awaitsCode = behaviour{Status: string(onboarding.StepRunning)}

// fails scripts a function error named as Step Functions sees it.
func fails(name string) behaviour {
	var err error
	switch name {
	case onboarding.ErrorNameTransient:
		err = &onboarding.TransientError{StepError: onboarding.StepError{Code: onboarding.CodeGraphTransient, Message: "service temporarily unavailable", GraphCode: 2, FBTraceID: "AbCdEf123"}}
	case onboarding.ErrorNameThrottled:
		err = &onboarding.ThrottledError{StepError: onboarding.StepError{Code: onboarding.CodeGraphThrottled, Message: "too many calls", GraphCode: 80007}}
	case onboarding.ErrorNameWaitFixed:
		err = &onboarding.WaitFixedError{StepError: onboarding.StepError{Code: onboarding.CodeGraphWaitFixed, Message: "try again in 5 minutes", GraphCode: 133015}, WaitSeconds: 300}
	case onboarding.ErrorNamePermanent:
		err = &onboarding.PermanentError{StepError: onboarding.StepError{Code: onboarding.CodeGraphPermanent, Message: "invalid parameter", GraphCode: 100, GraphSubcode: 2388001}}
	default: // Lambda's own errors: not a Go type name, an errorType the service reports
		return behaviour{err: messages.InvokeResponse_Error{Type: name, Message: "Rate Exceeded."}, Error: name, Message: "Rate Exceeded."}
	}
	return behaviour{err: err, Error: name, Message: err.Error()}
}

func callbackSuccess(output string) behaviour {
	return behaviour{Callback: "success", Output: json.RawMessage(output)}
}

func callbackFailure(name, cause string) behaviour {
	return behaviour{Callback: "failure", Error: name, Cause: cause}
}

func times(n int, b behaviour) []behaviour { return slices.Repeat([]behaviour{b}, n) }

// roundTrip answers the two waits of the test message: the tester's message, then the reply's status.
var roundTrip = []behaviour{
	callbackSuccess(`{"message_id":"wamid.inbound"}`),
	callbackSuccess(`{"message_id":"wamid.reply","status":"delivered"}`),
}

type scenario struct {
	name      string
	input     onboarding.WorkflowInput
	functions map[string][]behaviour
	states    []string // the path the definition must take
	failed    bool     // the execution ends FAILED (OnboardingFailed), else SUCCEEDED
	// failError and failCause, when set, are the FAILED execution's error and cause instead of
	// OnboardingFailed's.
	failError, failCause string
}

// input returns the sample execution input (events/steps/execution_input.json) changed by edit.
func input(edit func(in *onboarding.WorkflowInput)) onboarding.WorkflowInput {
	in := onboarding.WorkflowInput{
		OnboardingID: onboardingID, WABAID: "102290129340398", PhoneNumberID: "106540352242922",
		Event: onboarding.EventFinish, ShareCreditLine: true, TestMessage: true,
		InboundTimeoutSeconds: 86400, StatusTimeoutSeconds: 3600, PhoneVerificationTimeoutSeconds: 604800,
	}
	if edit != nil {
		edit(&in)
	}
	return in
}

func noTestMessage(in *onboarding.WorkflowInput) { in.TestMessage = false }

func path(parts ...[]string) []string { return slices.Concat(parts...) }

// Paths through the definition.
var (
	start          = []string{"init", "route"}
	subscribe      = []string{"subscribe_webhooks", "is_business_app", "skip_sync_business_app", "has_credit_line"}
	subscribeCoex  = []string{"subscribe_webhooks", "is_business_app", "sync_business_app", "has_credit_line"}
	credit         = []string{"share_credit_line", "has_phone"}
	verify         = []string{"verify_phone", "needs_phone_verification"}
	register       = []string{"register_phone", "has_test_recipient"}
	coexPhone      = []string{"skip_verify_phone_coexistence", "skip_register_phone_coexistence", "has_test_recipient"}
	testMessage    = []string{"await_test_message", "send_test_message", "await_test_status", "complete_verified", "verified"}
	noTest         = []string{"skip_send_test_message", "complete", "completed"}
	registerWait   = []string{"register_phone", "count_register_wait", "register_wait_allowed", "register_wait_time", "wait_before_register"}
	registerFailed = []string{"register_phone_failed", "record_failure", "failed"}
	verifyFailed   = []string{"verify_phone_failed", "record_failure", "failed"}
	testFailed     = []string{"send_test_message_failed", "record_failure", "failed"}
)

func scenarios() []scenario {
	return []scenario{
		{
			name:      "happy path: credit line, test message resumed by both task tokens",
			input:     input(nil),
			functions: map[string][]behaviour{"await_webhook": roundTrip},
			states:    path(start, subscribe, credit, verify, register, testMessage),
		},
		{
			name:      "skip: no credit line",
			input:     input(func(in *onboarding.WorkflowInput) { in.ShareCreditLine = false }),
			functions: map[string][]behaviour{"await_webhook": roundTrip},
			states:    path(start, subscribe, []string{"skip_share_credit_line", "has_phone"}, verify, register, testMessage),
		},
		{
			name: "skip: no phone number (FINISH_ONLY_WABA)",
			input: input(func(in *onboarding.WorkflowInput) {
				in.PhoneNumberID, in.Event, in.TestMessage = "", onboarding.EventFinishOnlyWABA, false
			}),
			states: path(start, subscribe, credit, []string{"skip_verify_phone_no_phone", "skip_register_phone_no_phone", "has_test_recipient"}, noTest),
		},
		{
			name:      "skip: coexistence number (FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING)",
			input:     input(func(in *onboarding.WorkflowInput) { in.Event = onboarding.EventFinishBusinessApp }),
			functions: map[string][]behaviour{"await_webhook": roundTrip},
			states:    path(start, subscribeCoex, credit, coexPhone, testMessage),
		},
		{
			name:   "skip: no test recipient",
			input:  input(noTestMessage),
			states: path(start, subscribe, credit, verify, register, noTest),
		},
		{
			name: "resume from share_credit_line",
			input: input(func(in *onboarding.WorkflowInput) {
				in.ResumeFrom, in.TestMessage = onboarding.StepShareCreditLine, false
			}),
			states: path(start, []string{"has_credit_line"}, credit, verify, register, noTest),
		},
		{
			name: "resume from register_phone",
			input: input(func(in *onboarding.WorkflowInput) {
				in.ResumeFrom, in.TestMessage = onboarding.StepRegisterPhone, false
			}),
			states: path(start, []string{"has_phone"}, verify, register, noTest),
		},
		{
			name: "resume from verify_phone: the number still waits for its code",
			input: input(func(in *onboarding.WorkflowInput) {
				in.ResumeFrom, in.TestMessage = onboarding.StepVerifyPhone, false
			}),
			functions: map[string][]behaviour{"verify_phone": {awaitsCode}, "await_webhook": {callbackSuccess(`{"verified":true}`)}},
			states:    path(start, []string{"has_phone"}, verify, []string{"await_phone_verification"}, register, noTest),
		},
		{
			name: "resume from sync_business_app (coexistence)",
			input: input(func(in *onboarding.WorkflowInput) {
				in.ResumeFrom, in.Event, in.TestMessage = onboarding.StepSyncBusinessApp, onboarding.EventFinishBusinessApp, false
			}),
			states: path(start, []string{"is_business_app", "sync_business_app", "has_credit_line"}, credit, coexPhone, noTest),
		},
		{
			name:      "phone verification: unverified number, the code accepted resumes the wait",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"verify_phone": {awaitsCode}, "await_webhook": {callbackSuccess(`{"verified":true}`)}},
			states:    path(start, subscribe, credit, verify, []string{"await_phone_verification"}, register, noTest),
		},
		{
			name: "phone verification: the wait times out and verify_phone fails it",
			input: input(func(in *onboarding.WorkflowInput) {
				in.TestMessage, in.PhoneVerificationTimeoutSeconds = false, 1
			}),
			functions: map[string][]behaviour{
				"verify_phone":  {awaitsCode, fails(onboarding.ErrorNamePermanent)},
				"await_webhook": {{Callback: "none"}},
			},
			states: path(start, subscribe, credit, verify, []string{"await_phone_verification", "verify_phone_after_wait"}, verifyFailed),
			failed: true,
		},
		{
			name: "phone verification: the wait times out after the code was accepted (lost resume)",
			input: input(func(in *onboarding.WorkflowInput) {
				in.TestMessage, in.PhoneVerificationTimeoutSeconds = false, 1
			}),
			functions: map[string][]behaviour{"verify_phone": {awaitsCode}, "await_webhook": {{Callback: "none"}}},
			states:    path(start, subscribe, credit, verify, []string{"await_phone_verification", "verify_phone_after_wait"}, register, noTest),
		},
		{
			name:      "phone verification: verify_phone's TransientError is retried",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"verify_phone": {fails(onboarding.ErrorNameTransient)}},
			states:    path(start, subscribe, credit, verify, register, noTest),
		},
		{
			name: "coexistence: sync_business_app's PermanentError is caught",
			input: input(func(in *onboarding.WorkflowInput) {
				in.Event, in.TestMessage = onboarding.EventFinishBusinessApp, false
			}),
			functions: map[string][]behaviour{"sync_business_app": {fails(onboarding.ErrorNamePermanent)}},
			states:    path(start, []string{"subscribe_webhooks", "is_business_app", "sync_business_app", "sync_business_app_failed", "record_failure", "failed"}),
			failed:    true,
		},
		{
			name: "coexistence: sync_business_app's ThrottledError is retried",
			input: input(func(in *onboarding.WorkflowInput) {
				in.Event, in.TestMessage = onboarding.EventFinishBusinessApp, false
			}),
			functions: map[string][]behaviour{"sync_business_app": {fails(onboarding.ErrorNameThrottled)}},
			states:    path(start, subscribeCoex, credit, coexPhone, noTest),
		},
		{
			name:      "resume from send_test_message",
			input:     input(func(in *onboarding.WorkflowInput) { in.ResumeFrom = onboarding.StepSendTestMessage }),
			functions: map[string][]behaviour{"await_webhook": roundTrip},
			states:    path(start, []string{"has_test_recipient"}, testMessage),
		},
		{
			name:      "retry: TransientError twice on register_phone, then success",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"register_phone": times(2, fails(onboarding.ErrorNameTransient))},
			states:    path(start, subscribe, credit, verify, register, noTest),
		},
		{
			name:      "retry: Lambda.TooManyRequestsException once on subscribe_webhooks",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"subscribe_webhooks": {fails("Lambda.TooManyRequestsException")}},
			states:    path(start, subscribe, credit, verify, register, noTest),
		},
		{
			name:  "retry: ThrottledError on send_test_message",
			input: input(nil),
			functions: map[string][]behaviour{
				"await_webhook":     roundTrip,
				"send_test_message": {fails(onboarding.ErrorNameThrottled)},
			},
			states: path(start, subscribe, credit, verify, register, testMessage),
		},
		{
			name:      "retry: record_outcome fails once (States.ALL retrier)",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"record_outcome": {fails(onboarding.ErrorNameTransient)}},
			states:    path(start, subscribe, credit, verify, register, noTest),
		},
		{
			name:      "retries exhausted: TransientError 7 times on share_credit_line is caught",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"share_credit_line": times(7, fails(onboarding.ErrorNameTransient))},
			states:    path(start, subscribe, []string{"share_credit_line", "share_credit_line_failed", "record_failure", "failed"}),
			failed:    true,
		},
		{
			name:      "permanent failure: PermanentError on register_phone is caught",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"register_phone": {fails(onboarding.ErrorNamePermanent)}},
			states:    path(start, subscribe, credit, verify, []string{"register_phone"}, registerFailed),
			failed:    true,
		},
		{
			name:      "wait-fixed: WaitFixedError once, then registered",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"register_phone": {fails(onboarding.ErrorNameWaitFixed)}},
			states:    path(start, subscribe, credit, verify, registerWait, register, noTest),
		},
		{
			name:      "wait-fixed: the 4th WaitFixedError fails register_phone",
			input:     input(noTestMessage),
			functions: map[string][]behaviour{"register_phone": times(4, fails(onboarding.ErrorNameWaitFixed))},
			states: path(start, subscribe, credit, verify, registerWait, registerWait, registerWait,
				[]string{"register_phone", "count_register_wait", "register_wait_allowed"}, registerFailed),
			failed: true,
		},
		{
			name:      "task token: await_test_message times out",
			input:     input(func(in *onboarding.WorkflowInput) { in.InboundTimeoutSeconds = 1 }),
			functions: map[string][]behaviour{"await_webhook": {{Callback: "none"}}},
			states:    path(start, subscribe, credit, verify, register, []string{"await_test_message"}, testFailed),
			failed:    true,
		},
		{
			name:  "task token: await_test_status times out",
			input: input(func(in *onboarding.WorkflowInput) { in.StatusTimeoutSeconds = 1 }),
			functions: map[string][]behaviour{"await_webhook": {
				callbackSuccess(`{"message_id":"wamid.inbound"}`), {Callback: "none"},
			}},
			states: path(start, subscribe, credit, verify, register, []string{"await_test_message", "send_test_message", "await_test_status"}, testFailed),
			failed: true,
		},
		{
			name:  "task token: SendTaskFailure TestMessageFailed on await_test_status",
			input: input(nil),
			functions: map[string][]behaviour{"await_webhook": {
				callbackSuccess(`{"message_id":"wamid.inbound"}`),
				callbackFailure("TestMessageFailed", "the test reply wamid.reply failed to deliver"),
			}},
			states: path(start, subscribe, credit, verify, register, []string{"await_test_message", "send_test_message", "await_test_status"}, testFailed),
			failed: true,
		},
		{
			// The recorder's retries exhausted too: its Catch ends the execution with the step's own error.
			name:  "recorder fails: record_outcome exhausts its retries after a PermanentError on register_phone",
			input: input(noTestMessage),
			functions: map[string][]behaviour{
				"register_phone": {fails(onboarding.ErrorNamePermanent)},
				// The first record_outcome call records the skip of sync_business_app; the recorder fails after.
				"record_outcome": append([]behaviour{{}}, times(9, fails(onboarding.ErrorNameTransient))...),
			},
			states:    path(start, subscribe, credit, verify, []string{"register_phone", "register_phone_failed", "record_failure", "failed_unrecorded"}),
			failed:    true,
			failError: onboarding.ErrorNamePermanent,
			failCause: lambdaCause(fails(onboarding.ErrorNamePermanent)),
		},
	}
}

// lambdaCause is the Cause Step Functions reports for a function error: the Lambda runtime's error document.
func lambdaCause(b behaviour) string {
	doc, err := json.Marshal(map[string]string{"errorMessage": b.Message, "errorType": b.Error})
	if err != nil {
		panic(err)
	}
	return string(doc)
}

// result is what one engine did with a scenario (the Node harness prints the same shape).
type result struct {
	Name      string          `json:"name"`
	States    []string        `json:"states"`
	Status    string          `json:"status"`
	Output    json.RawMessage `json:"output"`
	Error     string          `json:"error"`
	Cause     string          `json:"cause"`
	Exception string          `json:"exception"` // Node: the error execution.result rejected with
	Calls     []invocation    `json:"calls"`
}

type invocation struct {
	Function string          `json:"function"`
	Payload  json.RawMessage `json:"payload"`
}

// runNode runs every scenario through aws-local-stepfunctions in one Node process.
func runNode(t *testing.T, root string, definition []byte, scs []scenario) map[string]result {
	t.Helper()
	type nodeScenario struct {
		Name      string                   `json:"name"`
		Input     onboarding.WorkflowInput `json:"input"`
		Functions map[string][]behaviour   `json:"functions,omitempty"`
	}
	req := struct {
		Definition json.RawMessage `json:"definition"`
		Scenarios  []nodeScenario  `json:"scenarios"`
	}{Definition: definition}
	for _, sc := range scs {
		req.Scenarios = append(req.Scenarios, nodeScenario{Name: sc.name, Input: sc.input, Functions: sc.functions})
	}
	stdin, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", harnessPath)
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstderr:\n%s", harnessPath, err, stderr.String())
	}
	var resp struct {
		Results []result `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatalf("node %s printed no result document: %v\nstdout:\n%s\nstderr:\n%s", harnessPath, err, stdout.String(), stderr.String())
	}
	out := make(map[string]result, len(resp.Results))
	for _, r := range resp.Results {
		out[r.Name] = r
	}
	return out
}

func TestConformanceWithAWSLocalStepFunctions(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireNodeTools(t, root)
	doc := definitionWithARNs(t)
	def, err := asl.Parse(doc)
	if err != nil {
		t.Fatalf("the Go interpreter rejects the definition: %v", err)
	}
	scs := scenarios()
	node := runNode(t, root, doc, scs)
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			want, ok := node[sc.name]
			if !ok {
				t.Fatalf("the Node harness returned no result for %q", sc.name)
			}
			got := runGo(t, def, sc)
			compare(t, sc, got, want)
		})
	}
}

// compare asserts that the Go interpreter (got) did what aws-local-stepfunctions (want) did, and what the
// scenario expects.
func compare(t *testing.T, sc scenario, got, want result) {
	t.Helper()
	if !slices.Equal(got.States, want.States) {
		t.Errorf("entered states differ between the engines:\n got (Go interpreter)          %s\nwant (aws-local-stepfunctions) %s",
			strings.Join(got.States, " → "), strings.Join(want.States, " → "))
	}
	if !slices.Equal(got.States, sc.states) {
		t.Errorf("entered states differ from the scenario's path:\n got (Go interpreter) %s\nwant (scenario)       %s",
			strings.Join(got.States, " → "), strings.Join(sc.states, " → "))
	}
	if got.Status != want.Status || got.Error != want.Error || got.Cause != want.Cause {
		t.Errorf("final status differs:\n got (Go interpreter)          %s %q %q\nwant (aws-local-stepfunctions) %s %q %q (%s)",
			got.Status, got.Error, got.Cause, want.Status, want.Error, want.Cause, want.Exception)
	}
	wantStatus, wantError, wantCause := "SUCCEEDED", "", ""
	if sc.failed {
		wantStatus, wantError, wantCause = "FAILED", "OnboardingFailed", failedCause
		if sc.failError != "" {
			wantError, wantCause = sc.failError, sc.failCause
		}
	}
	if got.Status != wantStatus || got.Error != wantError || got.Cause != wantCause {
		t.Errorf("final status: got %s %q %q, want %s %q %q", got.Status, got.Error, got.Cause, wantStatus, wantError, wantCause)
	}
	if g, w := decode(t, got.Output), decode(t, want.Output); !reflect.DeepEqual(g, w) {
		t.Errorf("final output differs:\n got (Go interpreter)          %s\nwant (aws-local-stepfunctions) %s", jsonText(g), jsonText(w))
	}
	if sc.failed == (len(got.Output) > 0 && string(got.Output) != "null") {
		t.Errorf("output %s for status %s", got.Output, got.Status)
	}
	if g, w := normalizeCalls(t, got.Calls), normalizeCalls(t, want.Calls); !reflect.DeepEqual(g, w) {
		t.Errorf("function invocations differ:\n got (Go interpreter)\n%s\nwant (aws-local-stepfunctions)\n%s", callList(g), callList(w))
	}
}

func decode(t *testing.T, b json.RawMessage) any {
	t.Helper()
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

// normalizeCalls makes invocations comparable across engines: task tokens are engine-specific, and so are
// the causes the engines write for their own States.* errors (see the file comment).
func normalizeCalls(t *testing.T, calls []invocation) []map[string]any {
	t.Helper()
	out := make([]map[string]any, 0, len(calls))
	for _, c := range calls {
		p, _ := decode(t, c.Payload).(map[string]any)
		if tok, ok := p["task_token"].(string); ok && tok != "" {
			p["task_token"] = "TASK-TOKEN"
		}
		if e, ok := p["error"].(map[string]any); ok {
			if name, _ := e["Error"].(string); strings.HasPrefix(name, "States.") {
				e["Cause"] = "ENGINE-SPECIFIC"
			}
		}
		out = append(out, map[string]any{"function": c.Function, "payload": p})
	}
	return out
}

func callList(calls []map[string]any) string {
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "  %2d %s %s\n", i+1, c["function"], jsonText(c["payload"]))
	}
	return b.String()
}

// jsonText renders a decoded JSON value for a failure message (sorted keys, "null" for nothing).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// scripted plays the functions of one scenario for the Go interpreter and records their invocations.
type scripted struct {
	t      *testing.T
	script map[string][]behaviour
	clock  *engine.FakeClock
	engine *engine.Engine

	mu      sync.Mutex
	counts  map[string]int
	calls   []invocation
	pending *pendingCallback // the callback the worker owes the task that is waiting
	workers sync.WaitGroup
}

type pendingCallback struct {
	token string
	b     behaviour
}

func (s *scripted) next(fn string, payload json.RawMessage) behaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.counts[fn]
	s.counts[fn]++
	s.calls = append(s.calls, invocation{Function: fn, Payload: bytes.Clone(payload)})
	if bs := s.script[fn]; n < len(bs) {
		return bs[n]
	}
	return behaviour{}
}

func (s *scripted) handler(fn string) lambda.Handler {
	return lambda.NewHandler(func(_ context.Context, payload json.RawMessage) (stephandlers.Output, error) {
		b := s.next(fn, payload)
		if b.err != nil && b.Callback == "" {
			return stephandlers.Output{}, b.err
		}
		out, token, err := respond(fn, payload)
		if err != nil {
			s.t.Errorf("%s: the payload the definition sends is not what the function accepts: %v\n%s", fn, err, payload)
			return stephandlers.Output{}, err
		}
		if b.Status != "" {
			out.Status = onboarding.StepStatus(b.Status)
		}
		if token != "" {
			if b.Callback == "" {
				s.t.Errorf("%s: the scenario scripts no callback for this wait", fn)
			}
			s.mu.Lock()
			s.pending = &pendingCallback{token: token, b: b}
			s.mu.Unlock()
		}
		return out, nil
	})
}

// onEvent plays the webhook worker: once a .waitForTaskToken task reports TaskSubmitted (its function
// returned), it answers the token asynchronously, or lets the task's deadline pass.
func (s *scripted) onEvent(_ string, ev engine.HistoryEvent) {
	if ev.Type != engine.EventTaskSubmitted {
		return
	}
	s.mu.Lock()
	cb := s.pending
	s.pending = nil
	s.mu.Unlock()
	if cb == nil {
		return
	}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		var err error
		switch cb.b.Callback {
		case "success":
			err = s.engine.SendTaskSuccess(cb.token, cb.b.Output)
		case "failure":
			err = s.engine.SendTaskFailure(cb.token, cb.b.Error, cb.b.Cause)
		case "none":
			// Nobody calls back: move the clock to the next deadline, the task's timeout.
			if _, ok := s.clock.AdvanceToNext(); !ok {
				err = errors.New("no deadline armed for a task nobody will answer")
			}
		}
		if err != nil {
			s.t.Errorf("worker callback: %v", err)
		}
	}()
}

// decodeStrict decodes a payload into the real function's input type, rejecting unknown fields.
func decodeStrict(payload json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// respond answers like the real function does (stephandlers.Output) and returns the task token of a wait. The
// Node harness's respond mirrors it.
func respond(fn string, payload json.RawMessage) (stephandlers.Output, string, error) {
	switch fn {
	case "record_outcome":
		var in stephandlers.OutcomeInput
		if err := decodeStrict(payload, &in); err != nil {
			return stephandlers.Output{}, "", err
		}
		out := stephandlers.Output{OnboardingID: in.OnboardingID, Step: in.Step}
		switch in.Action {
		case stephandlers.ActionSkip:
			out.Status, out.Note = onboarding.StepSkipped, in.Reason
		case stephandlers.ActionFail:
			out.Status = onboarding.StepFailed
			if in.Error == nil || in.Error.Error == "" {
				return stephandlers.Output{}, "", errors.New("fail without the caught error")
			}
		case stephandlers.ActionComplete:
			out.Step, out.Status = onboarding.StepSendTestMessage, onboarding.StepSkipped
			if in.Verified {
				out.Status = onboarding.StepSucceeded
			}
		case stephandlers.ActionWait:
			out.Status, out.WaitSeconds = onboarding.StepRunning, 420
		default:
			return stephandlers.Output{}, "", fmt.Errorf("unknown action %q", in.Action)
		}
		if in.Action != stephandlers.ActionComplete && !in.Step.Valid() {
			return stephandlers.Output{}, "", fmt.Errorf("unknown step %q", in.Step)
		}
		return out, "", nil
	case "await_webhook":
		var in stephandlers.AwaitInput
		if err := decodeStrict(payload, &in); err != nil {
			return stephandlers.Output{}, "", err
		}
		if !in.Kind.Valid() || in.TaskToken == "" {
			return stephandlers.Output{}, "", fmt.Errorf("kind %q, task token %q", in.Kind, in.TaskToken)
		}
		step := onboarding.StepSendTestMessage
		if in.Kind == onboarding.WaitPhoneVerification {
			step = onboarding.StepVerifyPhone
		}
		return stephandlers.Output{OnboardingID: in.OnboardingID, Step: step, Status: onboarding.StepRunning}, in.TaskToken, nil
	case "verify_phone":
		var in stephandlers.VerifyPhoneInput
		if err := decodeStrict(payload, &in); err != nil {
			return stephandlers.Output{}, "", err
		}
		if in.OnboardingID != onboardingID {
			return stephandlers.Output{}, "", fmt.Errorf("onboarding_id %q", in.OnboardingID)
		}
		return stephandlers.Output{OnboardingID: in.OnboardingID, Step: onboarding.StepVerifyPhone, Status: onboarding.StepSucceeded}, "", nil
	default:
		var in stephandlers.Input
		if err := decodeStrict(payload, &in); err != nil {
			return stephandlers.Output{}, "", err
		}
		if in.OnboardingID != onboardingID {
			return stephandlers.Output{}, "", fmt.Errorf("onboarding_id %q", in.OnboardingID)
		}
		if fn == string(onboarding.StepSendTestMessage) {
			return stephandlers.Output{OnboardingID: in.OnboardingID, Step: onboarding.StepSendTestMessage, Status: onboarding.StepRunning, MessageID: "wamid.reply"}, "", nil
		}
		return stephandlers.Output{OnboardingID: in.OnboardingID, Step: onboarding.StepName(fn), Status: onboarding.StepSucceeded}, "", nil
	}
}

// runGo runs a scenario through the Go interpreter, on a FakeClock: retries and Wait states take no time,
// and a task nobody answers times out when the worker moves the clock to its deadline.
func runGo(t *testing.T, def *asl.Definition, sc scenario) result {
	t.Helper()
	s := &scripted{
		t: t, script: sc.functions, counts: map[string]int{},
		clock: engine.NewFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
	}
	functions := map[string]lambda.Handler{}
	for _, f := range catalog.Workflow() {
		functions[f.Name] = s.handler(f.Name)
	}
	s.engine = engine.New(def, engine.Options{
		Name: "conformance", Functions: functions, Clock: s.clock, OnEvent: s.onEvent,
		Rand: func() float64 { return 0.5 },
	})
	input, err := json.Marshal(sc.input)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := s.engine.StartExecution(context.Background(), "conformance", input)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	desc, err := s.engine.Wait(ctx, arn)
	if err != nil {
		t.Fatalf("the execution did not finish: %v; entered so far: %q", err, s.engine.StateTransitions(arn))
	}
	s.workers.Wait()
	if err := s.engine.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	checkCallbackTimeouts(t, s.engine, arn, sc.input)

	res := result{Name: sc.name, States: s.engine.StateTransitions(arn), Status: string(desc.Status), Error: desc.Error, Cause: desc.Cause}
	if desc.Output != "" {
		res.Output = json.RawMessage(desc.Output)
	}
	s.mu.Lock()
	res.Calls = slices.Clone(s.calls)
	s.mu.Unlock()
	return res
}

// checkCallbackTimeouts checks that the waits' TimeoutSecondsPath resolved to the execution input's values,
// which is what makes the Node harness's rewrite of those paths to $$.Execution.Input equivalent.
func checkCallbackTimeouts(t *testing.T, eng *engine.Engine, arn string, in onboarding.WorkflowInput) {
	t.Helper()
	hist, err := eng.GetExecutionHistory(arn)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"await_test_message":       int64(in.InboundTimeoutSeconds),
		"await_test_status":        int64(in.StatusTimeoutSeconds),
		"await_phone_verification": int64(in.PhoneVerificationTimeoutSeconds),
	}
	state := ""
	for _, ev := range hist {
		if ev.StateEnteredEventDetails != nil {
			state = ev.StateEnteredEventDetails.Name
		}
		d := ev.TaskScheduledEventDetails
		w, ok := want[state]
		if ev.Type != engine.EventTaskScheduled || d == nil || !ok {
			continue
		}
		if d.TimeoutInSeconds == nil || *d.TimeoutInSeconds != w {
			t.Errorf("%s scheduled with timeout %v, want the input's %d", state, d.TimeoutInSeconds, w)
		}
	}
}
