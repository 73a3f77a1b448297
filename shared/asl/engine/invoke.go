package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/waes/onboarding/shared/asl"
)

// lambdaOutput decodes a function's response; a response that is not JSON becomes a string.
func lambdaOutput(b []byte) any {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	v, err := asl.DecodeJSON(b)
	if err != nil {
		return string(b)
	}
	return v
}

type invokeResult struct {
	out       []byte
	err       *asl.Error
	requestID string
}

// invoke calls the handler in its own goroutine, one invocation at a time per function (a Lambda
// execution environment serves one request at a time, and aws-lambda-go handlers reuse their
// response buffer between invocations, so concurrent Invoke calls on one handler would race).
// The handler's context carries a lambdacontext.LambdaContext and the execution context's values,
// and is cancelled when the execution closes or the task times out.
func (x *execution) invoke(c *lambdaCall) (<-chan invokeResult, context.CancelCauseFunc) {
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(x.ctx))
	stopWatch := context.AfterFunc(x.ctx, func() { cancel(context.Cause(x.ctx)) })
	requestID := newUUID()
	hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: c.arn})
	ch := make(chan invokeResult, 1)
	lock := x.e.functionLock(c.lockKey)
	x.e.handlers.Add(1)
	go func() {
		defer x.e.handlers.Done()
		defer stopWatch()
		lock.Lock()
		defer lock.Unlock()
		if err := context.Cause(hctx); err != nil {
			// Queued behind another invocation until the task was abandoned: do not start it.
			ch <- invokeResult{requestID: requestID, err: &asl.Error{Name: asl.ErrorLambdaUnknown, Cause: "invocation abandoned: " + err.Error()}}
			return
		}
		ch <- x.callHandler(hctx, c, requestID)
	}()
	return ch, cancel
}

func (e *Engine) functionLock(name string) *sync.Mutex {
	e.fnMu.Lock()
	defer e.fnMu.Unlock()
	l, ok := e.fnLocks[name]
	if !ok {
		l = &sync.Mutex{}
		e.fnLocks[name] = l
	}
	return l
}

// callHandler invokes the handler, turning a returned error or a panic into the Error/Cause
// pair Step Functions reports for a failed Lambda invocation.
func (x *execution) callHandler(ctx context.Context, c *lambdaCall, requestID string) (res invokeResult) {
	res.requestID = requestID
	defer func() {
		if v := recover(); v != nil {
			x.e.log.LogAttrs(x.ctx, slog.LevelError, "task handler panicked", slog.String("execution_arn", x.arn),
				slog.String("function", c.function), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			res.out, res.err = nil, functionError(lambdaPanicResponse(v))
		}
	}()
	out, err := c.handler.Invoke(ctx, c.payload)
	if err != nil {
		res.err = functionError(lambdaErrorResponse(err))
		return res
	}
	res.out = bytes.Clone(out) // the handler may reuse its buffer for the next invocation
	return res
}

// errorTypeName mirrors aws-lambda-go's getErrorType: the reflect type name of the value, of the
// pointed-to type for pointers ("*steps.TransientError" gives "TransientError").
func errorTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// lambdaErrorResponse mirrors aws-lambda-go's lambdaErrorResponse.
func lambdaErrorResponse(err error) messages.InvokeResponse_Error {
	if ive, ok := err.(messages.InvokeResponse_Error); ok {
		return ive
	}
	return messages.InvokeResponse_Error{Message: err.Error(), Type: errorTypeName(err)}
}

// lambdaPanicResponse mirrors aws-lambda-go's lambdaPanicResponse (without the stack trace,
// which is logged instead of being copied into the cause).
func lambdaPanicResponse(v any) messages.InvokeResponse_Error {
	if ive, ok := v.(messages.InvokeResponse_Error); ok {
		return ive
	}
	return messages.InvokeResponse_Error{Message: fmt.Sprintf("%v", v), Type: errorTypeName(v)}
}

// functionError is the task error of a failed invocation: Error is the errorType, Cause the
// error document the Lambda runtime returns ({"errorMessage":...,"errorType":...}).
func functionError(ive messages.InvokeResponse_Error) *asl.Error {
	cause, err := json.Marshal(ive) // as the runtime's safeMarshal does
	if err != nil {
		cause = []byte(fmt.Sprintf(`{"errorMessage":%q,"errorType":"Runtime.SerializationError"}`, err.Error()))
	}
	name := ive.Type
	if name == "" {
		name = asl.ErrorLambdaUnknown
	}
	return &asl.Error{Name: name, Cause: string(cause)}
}

// resettableTimer is a heartbeat deadline: reset restarts it, stop disarms it for good.
type resettableTimer struct {
	mu      sync.Mutex
	clock   Clock
	d       time.Duration
	f       func()
	cancel  func() bool
	stopped bool
}

func newResettableTimer(c Clock, d time.Duration, f func()) *resettableTimer {
	t := &resettableTimer{clock: c, d: d, f: f}
	t.cancel = c.AfterFunc(d, f)
	return t
}

func (t *resettableTimer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.cancel()
	t.cancel = t.clock.AfterFunc(t.d, t.f)
}

func (t *resettableTimer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.cancel()
}

// taskRecorder builds the history events of one task attempt.
type taskRecorder struct {
	resourceType string
	resource     string
	region       string
}

func newTaskRecorder(x *execution, t *asl.Task) *taskRecorder {
	r := &taskRecorder{resourceType: "lambda", resource: resourceInvoke, region: x.e.opts.Region}
	if t.Callback {
		r.resource = resourceCallback
	}
	return r
}

const (
	resourceInvoke   = "invoke"
	resourceCallback = "invoke.waitForTaskToken"
)

func secondsPtr(n int64) *int64 {
	if n <= 0 {
		return nil
	}
	return &n
}

func (r *taskRecorder) scheduled(c *lambdaCall, timeout, heartbeat int64) HistoryEvent {
	return HistoryEvent{Type: EventTaskScheduled, TaskScheduledEventDetails: &TaskScheduledEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Region: r.region, Parameters: c.parameters,
		TimeoutInSeconds: secondsPtr(timeout), HeartbeatInSeconds: secondsPtr(heartbeat),
	}}
}

func (r *taskRecorder) started() HistoryEvent {
	return HistoryEvent{Type: EventTaskStarted, TaskStartedEventDetails: &TaskEventDetails{ResourceType: r.resourceType, Resource: r.resource}}
}

func (r *taskRecorder) failed(errName, cause string) HistoryEvent {
	return HistoryEvent{Type: EventTaskFailed, TaskFailedEventDetails: &TaskErrorEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Error: errName, Cause: cause,
	}}
}

func (r *taskRecorder) timedOut(errName, cause string) HistoryEvent {
	return HistoryEvent{Type: EventTaskTimedOut, TaskTimedOutEventDetails: &TaskErrorEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Error: errName, Cause: cause,
	}}
}

func (r *taskRecorder) submitted(out string) HistoryEvent {
	return HistoryEvent{Type: EventTaskSubmitted, TaskSubmittedEventDetails: &TaskOutputEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Output: out, OutputDetails: noTruncation,
	}}
}

func (r *taskRecorder) succeeded(out string) HistoryEvent {
	return HistoryEvent{Type: EventTaskSucceeded, TaskSucceededEventDetails: &TaskOutputEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Output: out, OutputDetails: noTruncation,
	}}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
