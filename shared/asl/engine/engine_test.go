package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/waes/onboarding/internal/testlog"

	"github.com/waes/onboarding/shared/asl"
)

// callbackDef waits for a task token (TimeoutSeconds 100).
const callbackDef = `{"StartAt":"Wait","States":{"Wait":{"Type":"Task",
  "Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
  "Parameters":{"FunctionName":"waiter","Payload":{"token.$":"$$.Task.Token"}},
  "TimeoutSeconds":100,"End":true}}}`

// tokenCatcher is a function that hands the task token it receives to the test.
func tokenCatcher(tokens chan<- string) lambda.Handler {
	return lambda.NewHandler(func(_ context.Context, in struct {
		Token string `json:"token"`
	}) (map[string]bool, error) {
		tokens <- in.Token
		return map[string]bool{"stored": true}, nil
	})
}

func TestStartExecutionIdempotency(t *testing.T) {
	tokens := make(chan string, 4)
	eng := New(mustParse(t, callbackDef), Options{Clock: NewFakeClock(corpusStart), Functions: map[string]lambdaHandler{"waiter": tokenCatcher(tokens)}})
	ctx := context.Background()
	arn, err := eng.StartExecution(ctx, "order-1", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := arn, "arn:aws:states:us-east-1:123456789012:execution:StateMachine:order-1"; got != want {
		t.Errorf("ARN = %q, want %q", got, want)
	}
	again, err := eng.StartExecution(ctx, "order-1", []byte(`{"a":1}`))
	if err != nil || again != arn {
		t.Errorf("same name and input while running: got %q, %v; want %q, nil", again, err, arn)
	}
	if _, err := eng.StartExecution(ctx, "order-1", []byte(`{"a":2}`)); !errors.Is(err, ErrExecutionAlreadyExists) {
		t.Errorf("different input: err = %v, want ErrExecutionAlreadyExists", err)
	}
	if err := eng.SendTaskSuccess(<-tokens, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if d, err := eng.Wait(testCtx(t), arn); err != nil || d.Status != StatusSucceeded {
		t.Fatalf("Wait: %+v, %v", d, err)
	}
	// As on Step Functions, idempotency only covers running executions.
	if _, err := eng.StartExecution(ctx, "order-1", []byte(`{"a":1}`)); !errors.Is(err, ErrExecutionAlreadyExists) {
		t.Errorf("same name after close: err = %v, want ErrExecutionAlreadyExists", err)
	}
	if got := len(eng.ListExecutions("")); got != 1 {
		t.Errorf("ListExecutions: %d executions, want 1", got)
	}
	if err := eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartExecutionValidation(t *testing.T) {
	eng := New(mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`), Options{Name: "Orders"})
	defer eng.Shutdown(context.Background())
	ctx := context.Background()

	arn, err := eng.StartExecution(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := eng.Wait(testCtx(t), arn)
	if len(d.Name) != 36 || d.Input != "{}" || d.Output != "{}" {
		t.Errorf("generated name %q (want a UUID), input %q, output %q (want {})", d.Name, d.Input, d.Output)
	}
	if !strings.HasPrefix(arn, "arn:aws:states:us-east-1:123456789012:execution:Orders:") {
		t.Errorf("ARN %q does not belong to the Orders state machine", arn)
	}
	for _, name := range []string{"a b", "a/b", "a:b", "a$b", "tab\t", "quote\"", strings.Repeat("x", 81)} {
		if _, err := eng.StartExecution(ctx, name, nil); !errors.Is(err, ErrInvalidName) {
			t.Errorf("name %q: err = %v, want ErrInvalidName", name, err)
		}
	}
	for _, in := range []string{`{`, `{"a":1} {}`, `nope`, `"` + strings.Repeat("x", asl.MaxPayloadBytes) + `"`} {
		if _, err := eng.StartExecution(ctx, "", []byte(in)); !errors.Is(err, ErrInvalidExecutionInput) {
			t.Errorf("input %.20q: err = %v, want ErrInvalidExecutionInput", in, err)
		}
	}
}

func TestTaskTokenSuccess(t *testing.T) {
	tokens := make(chan string, 1)
	clock := NewFakeClock(corpusStart)
	eng := New(mustParse(t, callbackDef), Options{Clock: clock, Functions: map[string]lambdaHandler{"waiter": tokenCatcher(tokens)}})
	defer eng.Shutdown(context.Background())
	arn, err := eng.StartExecution(context.Background(), "cb", nil)
	if err != nil {
		t.Fatal(err)
	}
	token := <-tokens
	waitForEvent(t, eng, arn, EventTaskSubmitted)

	clock.Advance(99 * time.Second)
	if d, _ := eng.DescribeExecution(arn); d.Status != StatusRunning {
		t.Fatalf("after 99 s: status %s, want RUNNING", d.Status)
	}
	if err := eng.SendTaskSuccess(token, []byte(`{"bad json`)); !errors.Is(err, ErrInvalidOutput) {
		t.Errorf("invalid output: err = %v, want ErrInvalidOutput", err)
	}
	if err := eng.SendTaskSuccess(token, []byte(`{"verified":true}`)); err != nil {
		t.Fatalf("SendTaskSuccess: %v", err)
	}
	d, err := eng.Wait(testCtx(t), arn)
	if err != nil || d.Status != StatusSucceeded || d.Output != `{"verified":true}` {
		t.Fatalf("got %s %s (%v), want SUCCEEDED {\"verified\":true}", d.Status, d.Output, err)
	}
	for name, send := range map[string]func() error{
		"success": func() error { return eng.SendTaskSuccess(token, []byte(`{}`)) },
		"failure": func() error { return eng.SendTaskFailure(token, "E", "c") },
	} {
		if err := send(); !errors.Is(err, ErrTaskTimedOut) {
			t.Errorf("%s after completion: err = %v, want ErrTaskTimedOut", name, err)
		}
	}
}

func TestTaskTokenErrors(t *testing.T) {
	eng := New(mustParse(t, callbackDef), Options{})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"empty token", eng.SendTaskSuccess("", []byte(`{}`)), ErrInvalidToken},
		{"malformed token", eng.SendTaskSuccess("not-a-token!", []byte(`{}`)), ErrInvalidToken},
		{"unknown token", eng.SendTaskSuccess(newTaskToken(), []byte(`{}`)), ErrTaskDoesNotExist},
		{"unknown token failure", eng.SendTaskFailure(newTaskToken(), "E", "c"), ErrTaskDoesNotExist},
		{"error too long", eng.SendTaskFailure(newTaskToken(), strings.Repeat("e", 257), ""), ErrValidation},
		{"output too large", eng.SendTaskSuccess(newTaskToken(), []byte(`"`+strings.Repeat("x", asl.MaxPayloadBytes)+`"`)), ErrInvalidOutput},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	var se *ServiceError
	if !errors.As(eng.SendTaskFailure(newTaskToken(), "E", "c"), &se) || se.Code != "TaskDoesNotExist" {
		t.Errorf("errors.As ServiceError: got %v, want code TaskDoesNotExist", se)
	}
}

func TestTimeoutExpiresToken(t *testing.T) {
	tokens := make(chan string, 1)
	clock := NewFakeClock(corpusStart)
	eng := New(mustParse(t, callbackDef), Options{Clock: clock, Functions: map[string]lambdaHandler{"waiter": tokenCatcher(tokens)}})
	defer eng.Shutdown(context.Background())
	arn, _ := eng.StartExecution(context.Background(), "timeout", nil)
	token := <-tokens
	waitForEvent(t, eng, arn, EventTaskSubmitted)
	clock.Advance(101 * time.Second)
	d, _ := eng.Wait(testCtx(t), arn)
	if d.Status != StatusFailed || d.Error != asl.ErrorTimeout {
		t.Fatalf("got %s %s, want FAILED %s", d.Status, d.Error, asl.ErrorTimeout)
	}
	if err := eng.SendTaskSuccess(token, []byte(`{}`)); !errors.Is(err, ErrTaskTimedOut) {
		t.Errorf("after the timeout: err = %v, want ErrTaskTimedOut", err)
	}
}

func TestShutdownDrainsInvocations(t *testing.T) {
	baseline := runtime.NumGoroutine()
	entered, release := make(chan struct{}), make(chan struct{})
	var secondCalls atomic.Int32
	slow := lambda.NewHandler(func() (string, error) {
		close(entered)
		<-release // deliberately ignores its context: Shutdown must wait for it
		return "done", nil
	})
	never := lambda.NewHandler(func() error {
		secondCalls.Add(1)
		return nil
	})
	tokens := make(chan string, 1)
	def := mustParse(t, `{"StartAt":"Choose","States":{
	  "Choose":{"Type":"Choice","Choices":[{"Variable":"$.callback","BooleanEquals":true,"Next":"Wait"}],"Default":"Slow"},
	  "Slow":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"slow"},"Next":"Second"},
	  "Second":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"never"},"End":true},
	  "Wait":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"waiter","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`)
	eng := New(def, Options{Functions: map[string]lambdaHandler{"slow": slow, "never": never, "waiter": tokenCatcher(tokens)}})
	ctx := context.Background()
	running, _ := eng.StartExecution(ctx, "in-flight", []byte(`{"callback":false}`))
	waiting, _ := eng.StartExecution(ctx, "waiting", []byte(`{"callback":true}`))
	<-entered
	token := <-tokens
	waitForEvent(t, eng, waiting, EventTaskSubmitted)

	done := make(chan error, 1)
	go func() { done <- eng.Shutdown(ctx) }()
	// Once StartExecution is refused the engine is draining; only then let the invocation end.
	for {
		_, err := eng.StartExecution(ctx, "late", nil)
		if errors.Is(err, ErrEngineShutdown) {
			break
		}
		runtime.Gosched()
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, arn := range []string{running, waiting} {
		d, _ := eng.DescribeExecution(arn)
		h, _ := eng.GetExecutionHistory(arn)
		if d.Status != StatusAborted || h[len(h)-1].Type != EventExecutionAborted {
			t.Errorf("%s: status %s, last event %s; want ABORTED / ExecutionAborted", d.Name, d.Status, h[len(h)-1].Type)
		}
	}
	// The in-flight invocation completed and was recorded; the next task was never scheduled.
	types := eventTypes(mustHistory(t, eng, running))
	want := []EventType{EventExecutionStarted, "ChoiceStateEntered", "ChoiceStateExited", "TaskStateEntered",
		EventTaskScheduled, EventTaskStarted, EventTaskSucceeded, "TaskStateExited", "TaskStateEntered", EventExecutionAborted}
	if !slices.Equal(types, want) {
		t.Errorf("history:\n got %v\nwant %v", types, want)
	}
	if n := secondCalls.Load(); n != 0 {
		t.Errorf("the task after the drained one ran %d times, want 0", n)
	}
	if err := eng.SendTaskSuccess(token, []byte(`{}`)); !errors.Is(err, ErrTaskTimedOut) {
		t.Errorf("token after shutdown: err = %v, want ErrTaskTimedOut", err)
	}
	checkNoGoroutineLeak(t, baseline)
}

func TestShutdownDuringWait(t *testing.T) {
	baseline := runtime.NumGoroutine()
	def := mustParse(t, `{"StartAt":"Pause","States":{"Pause":{"Type":"Wait","Seconds":3600,"Next":"Done"},"Done":{"Type":"Succeed"}}}`)
	eng := New(def, Options{}) // the real clock: the executions sit in their Wait state
	first, _ := eng.StartExecution(context.Background(), "first", nil)
	second, _ := eng.StartExecution(context.Background(), "second", nil)
	waitForEvent(t, eng, first, "WaitStateEntered")
	waitForEvent(t, eng, second, "WaitStateEntered")
	if err := eng.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, arn := range []string{first, second} {
		want := []EventType{EventExecutionStarted, "WaitStateEntered", EventExecutionAborted}
		if got := eventTypes(mustHistory(t, eng, arn)); !slices.Equal(got, want) {
			t.Errorf("%s: history %v, want %v", arn, got, want)
		}
	}
	checkNoGoroutineLeak(t, baseline)
}

func TestShutdownDeadline(t *testing.T) {
	baseline := runtime.NumGoroutine()
	entered := make(chan struct{})
	hang := lambda.NewHandler(func(ctx context.Context) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	})
	eng := New(mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"hang"},"End":true}}}`),
		Options{Functions: map[string]lambdaHandler{"hang": hang}})
	arn, _ := eng.StartExecution(context.Background(), "", nil)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := eng.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown: %v, want context.Canceled", err)
	}
	if d, _ := eng.DescribeExecution(arn); d.Status != StatusAborted {
		t.Errorf("status %s, want ABORTED", d.Status)
	}
	checkNoGoroutineLeak(t, baseline)
}

// valueError implements error on a value receiver: aws-lambda-go names it by its type name.
type valueError struct{ msg string }

func (e valueError) Error() string { return e.msg }

func TestFunctionErrorNames(t *testing.T) {
	type input struct {
		N int `json:"n"`
	}
	tests := []struct {
		name      string
		fn        any
		payload   string
		wantError string
		wantCause string // "" to skip
	}{
		{"pointer type", func() error { return &TransientError{Msg: "graph 503"} }, `{}`, "TransientError", `{"errorMessage":"graph 503","errorType":"TransientError"}`},
		{"value type", func() error { return valueError{"v"} }, `{}`, "valueError", `{"errorMessage":"v","errorType":"valueError"}`},
		{"errors.New", func() error { return errors.New("plain") }, `{}`, "errorString", `{"errorMessage":"plain","errorType":"errorString"}`},
		{"fmt.Errorf wrap", func() error { return fmt.Errorf("ctx: %w", &TransientError{Msg: "x"}) }, `{}`, "wrapError", `{"errorMessage":"ctx: x","errorType":"wrapError"}`},
		{"InvokeResponse_Error", func() error { return messages.InvokeResponse_Error{Type: "Graph.Throttled", Message: "m"} }, `{}`, "Graph.Throttled", `{"errorMessage":"m","errorType":"Graph.Throttled"}`},
		{"HTML kept as Lambda escapes it", func() error { return errors.New("<b>") }, `{}`, "errorString", `{"errorMessage":"\u003cb\u003e","errorType":"errorString"}`},
		{"panic string", func() error { panic("boom") }, `{}`, "string", `{"errorMessage":"boom","errorType":"string"}`},
		{"panic error", func() error { panic(&TransientError{Msg: "p"}) }, `{}`, "TransientError", `{"errorMessage":"p","errorType":"TransientError"}`},
		{"panic int", func() error { panic(42) }, `{}`, "int", `{"errorMessage":"42","errorType":"int"}`},
		{"bad payload", func(in input) error { return nil }, `{"n":"x"}`, "UnmarshalTypeError", ""},
		{"invalid handler", 42, `{}`, "errorString", `{"errorMessage":"handler kind int is not func","errorType":"errorString"}`},
	}
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fn","Payload.$":"$"},"End":true}}}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := New(def, Options{Functions: map[string]lambdaHandler{"fn": lambda.NewHandler(tt.fn)}})
			defer eng.Shutdown(context.Background())
			d, _ := eng.DescribeExecution(startAndWait(t, eng, tt.payload))
			if d.Status != StatusFailed || d.Error != tt.wantError {
				t.Errorf("got %s %q, want FAILED %q (cause %s)", d.Status, d.Error, tt.wantError, d.Cause)
			}
			if tt.wantCause != "" && d.Cause != tt.wantCause {
				t.Errorf("cause:\n got %s\nwant %s", d.Cause, tt.wantCause)
			}
		})
	}
}

type ctxKey struct{}

func TestHandlerContext(t *testing.T) {
	type seen struct {
		requestID, arn, value string
	}
	got := make(chan seen, 1)
	fn := lambda.NewHandler(func(ctx context.Context) error {
		lc, _ := lambdacontext.FromContext(ctx)
		v, _ := ctx.Value(ctxKey{}).(string)
		got <- seen{lc.AwsRequestID, lc.InvokedFunctionArn, v}
		return nil
	})
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fn"},"End":true}}}`)
	eng := New(def, Options{Region: "eu-west-1", AccountID: "111122223333", Functions: map[string]lambdaHandler{"fn": fn}})
	defer eng.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-7"))
	arn, err := eng.StartExecution(ctx, "", nil)
	cancel() // the execution outlives its start request
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.requestID == "" || s.arn != "arn:aws:lambda:eu-west-1:111122223333:function:fn" || s.value != "request-7" {
		t.Errorf("handler saw %+v, want a request id, the function ARN and the start context's value", s)
	}
	if d, _ := eng.Wait(testCtx(t), arn); d.Status != StatusSucceeded {
		t.Errorf("status %s (%s), want SUCCEEDED", d.Status, d.Cause)
	}
}

func TestFunctionResolution(t *testing.T) {
	def := mustParse(t, `{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:123456789012:function:byArn","Payload":{"step":"A"}},"ResultPath":"$.a","Next":"B"},
	  "B":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"arn:aws:lambda:local:000000000000:function:byName","Payload":{"step":"B"}},"ResultSelector":{"v.$":"$.Payload.step"},"ResultPath":"$.b","End":true}}}`)
	eng := New(def, Options{
		Functions: map[string]lambdaHandler{
			"arn:aws:lambda:us-east-1:123456789012:function:byArn": echoHandler(),
			"byName": echoHandler(),
		},
	})
	defer eng.Shutdown(context.Background())
	d, _ := eng.DescribeExecution(startAndWait(t, eng, `{}`))
	if d.Status != StatusSucceeded {
		t.Fatalf("status %s: %s %s", d.Status, d.Error, d.Cause)
	}
	assertJSONEqual(t, "output", []byte(d.Output), []byte(`{"a":{"ExecutedVersion":"$LATEST","Payload":{"step":"A"},"SdkHttpMetadata":{"HttpHeaders":{"Content-Type":"application/json","X-Amz-Executed-Version":"$LATEST","x-amzn-RequestId":"`+requestID(t, d.Output, "a")+`"},"HttpStatusCode":200},"SdkResponseMetadata":{"RequestId":"`+requestID(t, d.Output, "a")+`"},"StatusCode":200},"b":{"v":"B"}}`))
}

func requestID(t *testing.T, output, field string) string {
	t.Helper()
	var m map[string]struct {
		SdkResponseMetadata struct{ RequestId string }
	}
	if err := json.Unmarshal([]byte(output), &m); err != nil {
		t.Fatal(err)
	}
	return m[field].SdkResponseMetadata.RequestId
}

func TestHistoryEventJSONShape(t *testing.T) {
	var hooked []HistoryEvent
	var mu sync.Mutex
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"fn","Payload":{"x.$":"$.x"}},"TimeoutSeconds":30,"End":true}}}`)
	eng := New(def, Options{
		Clock:     NewFakeClock(corpusStart),
		Functions: map[string]lambdaHandler{"fn": echoHandler()},
		OnEvent: func(arn string, ev HistoryEvent) {
			mu.Lock()
			defer mu.Unlock()
			hooked = append(hooked, ev)
		},
	})
	defer eng.Shutdown(context.Background())
	arn := startAndWait(t, eng, `{"x":"<1>"}`)
	hist := mustHistory(t, eng, arn)
	mu.Lock()
	if !slices.EqualFunc(hooked, hist, func(a, b HistoryEvent) bool { return a.ID == b.ID && a.Type == b.Type }) {
		t.Errorf("OnEvent saw %v, history has %v", eventTypes(hooked), eventTypes(hist))
	}
	mu.Unlock()

	b, err := json.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	if err := json.Unmarshal(b, &events); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ, detailsKey string
		details         map[string]any
	}{
		{"ExecutionStarted", "executionStartedEventDetails", map[string]any{"input": `{"x":"<1>"}`}},
		{"TaskStateEntered", "stateEnteredEventDetails", map[string]any{"name": "T", "input": `{"x":"<1>"}`}},
		{"TaskScheduled", "taskScheduledEventDetails", map[string]any{"resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
			"parameters": `{"FunctionName":"fn","Payload":{"x":"<1>"}}`, "timeoutInSeconds": float64(30)}},
		{"TaskStarted", "taskStartedEventDetails", map[string]any{"resourceType": "lambda", "resource": "invoke"}},
	}
	for i, w := range want {
		ev := events[i]
		if ev["type"] != w.typ || ev["id"] != float64(i+1) || ev["previousEventId"] != float64(i) {
			t.Errorf("event %d: %v", i, ev)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["timestamp"])); err != nil {
			t.Errorf("event %d timestamp: %v", i, err)
		}
		got, _ := json.Marshal(ev[w.detailsKey])
		wantJSON, _ := json.Marshal(w.details)
		if string(got) != string(wantJSON) {
			t.Errorf("event %d %s:\n got %s\nwant %s", i, w.detailsKey, got, wantJSON)
		}
	}
	succeeded := events[4]["taskSucceededEventDetails"].(map[string]any)
	var out map[string]any
	if err := json.Unmarshal([]byte(succeeded["output"].(string)), &out); err != nil || out["StatusCode"] != float64(200) || out["ExecutedVersion"] != "$LATEST" {
		t.Errorf("TaskSucceeded output %v (%v), want the lambda:invoke response", succeeded["output"], err)
	}
}

func TestDescribeListAndWait(t *testing.T) {
	tokens := make(chan string, 2)
	def := mustParse(t, `{"StartAt":"C","States":{
	  "C":{"Type":"Choice","Choices":[{"Variable":"$.mode","StringEquals":"fail","Next":"F"},{"Variable":"$.mode","StringEquals":"wait","Next":"W"}],"Default":"S"},
	  "S":{"Type":"Succeed"},"F":{"Type":"Fail","Error":"E","Cause":"because"},
	  "W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"waiter","Payload":{"token.$":"$$.Task.Token"}},"End":true}}}`)
	clock := NewFakeClock(corpusStart)
	eng := New(def, Options{Clock: clock, Functions: map[string]lambdaHandler{"waiter": tokenCatcher(tokens)}})
	defer eng.Shutdown(context.Background())
	ctx := context.Background()
	ok, _ := eng.StartExecution(ctx, "ok", []byte(`{"mode":"ok"}`))
	eng.Wait(testCtx(t), ok)
	clock.Advance(time.Second)
	failed, _ := eng.StartExecution(ctx, "failed", []byte(`{"mode":"fail"}`))
	eng.Wait(testCtx(t), failed)
	clock.Advance(time.Second)
	running, _ := eng.StartExecution(ctx, "running", []byte(`{"mode":"wait"}`))
	<-tokens

	d, err := eng.DescribeExecution(failed)
	if err != nil {
		t.Fatal(err)
	}
	want := ExecutionDescription{ExecutionARN: failed, StateMachineARN: eng.smARN, Name: "failed", Status: StatusFailed,
		Input: `{"mode":"fail"}`, Error: "E", Cause: "because", StartDate: corpusStart.Add(time.Second), StopDate: corpusStart.Add(time.Second)}
	if d != want {
		t.Errorf("DescribeExecution:\n got %+v\nwant %+v", d, want)
	}
	var names []string
	for _, e := range eng.ListExecutions("") {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"running", "failed", "ok"}) {
		t.Errorf("ListExecutions = %q, want newest first", names)
	}
	if got := eng.ListExecutions(StatusRunning); len(got) != 1 || got[0].Name != "running" || !got[0].StopDate.IsZero() {
		t.Errorf("ListExecutions(RUNNING) = %+v", got)
	}
	waitCtx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := eng.Wait(waitCtx, running); !errors.Is(err, context.Canceled) || d.Status != StatusRunning {
		t.Errorf("Wait with a cancelled context: %s, %v", d.Status, err)
	}
	if _, err := eng.DescribeExecution("arn:unknown"); !errors.Is(err, ErrExecutionDoesNotExist) {
		t.Errorf("DescribeExecution(unknown): %v", err)
	}
	if _, err := eng.GetExecutionHistory("arn:unknown"); !errors.Is(err, ErrExecutionDoesNotExist) {
		t.Errorf("GetExecutionHistory(unknown): %v", err)
	}
	if got := eng.StateTransitions("arn:unknown"); got != nil {
		t.Errorf("StateTransitions(unknown) = %q, want nil", got)
	}
}

func TestConcurrentExecutions(t *testing.T) {
	// Many executions share one handler: aws-lambda-go handlers reuse their response buffer,
	// so the engine must serialise invocations per function (run with -race).
	def := mustParse(t, `{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$"},"ResultSelector":{"n.$":"$.Payload.n","pad.$":"$.Payload.pad"},"Next":"B"},
	  "B":{"Type":"Wait","Seconds":1,"Next":"C"},
	  "C":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"echo","Payload.$":"$"},"ResultSelector":{"n.$":"$.Payload.n","pad.$":"$.Payload.pad"},"End":true}}}`)
	eng := New(def, Options{TimeScale: 0.001, Functions: map[string]lambdaHandler{"echo": echoHandler()}})
	defer eng.Shutdown(context.Background())
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			input := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", i*50))
			arn, err := eng.StartExecution(context.Background(), fmt.Sprintf("exec-%d", i), []byte(input))
			if err != nil {
				t.Error(err)
				return
			}
			d, err := eng.Wait(testCtx(t), arn)
			if err != nil || d.Status != StatusSucceeded || d.Output != input {
				t.Errorf("execution %d: %s %v, output %.40s, want its input back", i, d.Status, err, d.Output)
			}
		})
	}
	wg.Wait()
	if got := len(eng.ListExecutions(StatusSucceeded)); got != 40 {
		t.Errorf("%d executions succeeded, want 40", got)
	}
}

func TestDataLimitExceeded(t *testing.T) {
	big := lambda.NewHandler(func() (string, error) { return strings.Repeat("x", asl.MaxPayloadBytes), nil })
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"big"},
	  "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},"Caught":{"Type":"Succeed"}}}`)
	eng := New(def, Options{Functions: map[string]lambdaHandler{"big": big}})
	defer eng.Shutdown(context.Background())
	d, _ := eng.DescribeExecution(startAndWait(t, eng, `{}`))
	if d.Status != StatusFailed || d.Error != asl.ErrorDataLimitExceeded {
		t.Errorf("got %s %s, want FAILED %s (not caught)", d.Status, d.Error, asl.ErrorDataLimitExceeded)
	}
}

func TestHistoryLimit(t *testing.T) {
	def := mustParse(t, `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`)
	eng := New(def, Options{MaxHistoryEvents: 50})
	defer eng.Shutdown(context.Background())
	arn := startAndWait(t, eng, `{}`)
	d, _ := eng.DescribeExecution(arn)
	h := mustHistory(t, eng, arn)
	if d.Status != StatusFailed || d.Error != asl.ErrorRuntime || len(h) != 50 || h[49].Type != EventExecutionFailed {
		t.Errorf("got %s %s with %d events (last %s), want FAILED States.Runtime after exactly 50 events", d.Status, d.Error, len(h), h[len(h)-1].Type)
	}
}

func TestRealClockWithTimeScale(t *testing.T) {
	// Production-like values in the definition, shortened by TimeScale on the real clock.
	calls := 0
	flaky := lambda.NewHandler(func() (map[string]int, error) {
		calls++
		if calls < 3 {
			return nil, &TransientError{Msg: "try again"}
		}
		return map[string]int{"calls": calls}, nil
	})
	def := mustParse(t, `{"StartAt":"W","States":{
	  "W":{"Type":"Wait","Seconds":2,"Next":"T"},
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"flaky"},"ResultSelector":{"calls.$":"$.Payload.calls"},
	       "TimeoutSeconds":600,"Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":3,"MaxAttempts":5}],"End":true}}}`)
	eng := New(def, Options{TimeScale: 0.001, Functions: map[string]lambdaHandler{"flaky": flaky}})
	defer eng.Shutdown(context.Background())
	d, _ := eng.DescribeExecution(startAndWait(t, eng, `{}`))
	if d.Status != StatusSucceeded || d.Output != `{"calls":3}` {
		t.Errorf("got %s %s, want SUCCEEDED {\"calls\":3}", d.Status, d.Output)
	}
}

func TestStateTransitionsCountRetriesOnce(t *testing.T) {
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
	  "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":2}],"Next":"P"},"P":{"Type":"Pass","End":true}}}`)
	eng := New(def, Options{Clock: NewFakeClock(corpusStart), Functions: map[string]lambdaHandler{"f": failingHandler("E")}})
	defer eng.Shutdown(context.Background())
	arn := startAndWait(t, eng, `{}`)
	if got := eng.StateTransitions(arn); !slices.Equal(got, []string{"T"}) {
		t.Errorf("StateTransitions = %q, want [T]", got)
	}
}

func TestLogsAreStructuredAndExcludeExecutionData(t *testing.T) {
	var buf testlog.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	def := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
	  "Parameters":{"FunctionName":"fn","Payload.$":"$"},"Retry":[{"ErrorEquals":["E"],"MaxAttempts":1}],"End":true}}}`)
	eng := New(def, Options{Clock: NewFakeClock(corpusStart), Logger: logger, Functions: map[string]lambdaHandler{"fn": failingHandler("E")}})
	defer eng.Shutdown(context.Background())
	startAndWait(t, eng, `{"secretish":"do-not-log-me"}`)
	var messages []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		messages = append(messages, fmt.Sprint(rec["msg"]))
		if _, ok := rec["execution_arn"]; !ok && rec["msg"] != "state machine engine shut down" {
			t.Errorf("log line without execution_arn: %s", line)
		}
	}
	for _, want := range []string{"execution started", "state entered", "task failed", "task retry scheduled", "execution closed"} {
		if !slices.Contains(messages, want) {
			t.Errorf("no %q log line in %q", want, messages)
		}
	}
	if strings.Contains(buf.String(), "do-not-log-me") {
		t.Errorf("the execution input was logged:\n%s", buf.String())
	}
}
