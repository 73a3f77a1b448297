package statemachine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// runTask runs a Task state: attempts, Retry and Catch. It returns the state output and the
// next state (the catcher's Next when a Catcher handled the error).
func (x *execution) runTask(st *state, input any, entered time.Time) (any, string, error) {
	attempts := make([]int64, len(st.retry)) // retries done per retrier, for this state entry
	retries := 0
	for {
		before := x.eventCount()
		result, en, err := x.attempt(st, input, entered, retries)
		if err == nil {
			var out any
			if out, err = x.taskOutput(st, input, result, en); err == nil {
				return out, st.next, nil
			}
		}
		var se *stateError
		if !errors.As(err, &se) || !se.catchable() {
			return nil, "", err
		}
		// Only the first retrier whose ErrorEquals matches applies; once it is exhausted the
		// error goes to the catchers even if a later retrier would also match.
		if i := firstMatch(st.retry, se.Name); i >= 0 && attempts[i] < st.retry[i].maxAttempts {
			if x.eventCount() == before && !x.chargeSilentRetry() {
				return nil, "", errClosed
			}
			delay := st.retry[i].delay(attempts[i], x.e.random)
			attempts[i]++
			retries++
			x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "task retry scheduled", slog.String("execution_arn", x.arn),
				slog.String("state", st.name), slog.String("error", se.Name), slog.Int("retry", retries),
				slog.Duration("delay", delay), slog.Duration("scaled_delay", x.e.scaled(delay)))
			if !x.sleep(delay) {
				return nil, "", errClosed
			}
			continue
		}
		for _, c := range st.catch {
			if !matchesAny(c.errorEquals, se.Name) {
				continue
			}
			errOut := map[string]any{"Error": se.Name}
			if se.Cause != "" {
				errOut["Cause"] = se.Cause
			}
			out, err := applyResultPath(c.resultPath, input, errOut)
			if err != nil {
				// The catcher itself failed: nothing is left to catch this one.
				var rpe *stateError
				if errors.As(err, &rpe) {
					return nil, "", &stateError{Name: ErrorRuntime, Cause: rpe.Cause}
				}
				return nil, "", err
			}
			x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "task error caught", slog.String("execution_arn", x.arn),
				slog.String("state", st.name), slog.String("error", se.Name), slog.String("next", c.next))
			return out, c.next, nil
		}
		return nil, "", se
	}
}

func firstMatch(retry []*retrier, name string) int {
	for i, r := range retry {
		if matchesAny(r.errorEquals, name) {
			return i
		}
	}
	return -1
}

// maxRetryDelay caps a back-off without MaxDelaySeconds (a year; no execution lives longer).
const maxRetryDelay = 366 * 24 * time.Hour

// delay returns the back-off before retry n (0-based) of this retrier, before TimeScale:
// IntervalSeconds * BackoffRate^n, capped by MaxDelaySeconds, then with FULL jitter a uniformly
// random duration in [0, that).
func (r *retrier) delay(n int64, rnd func() float64) time.Duration {
	secs := float64(r.interval) * math.Pow(r.backoff, float64(n))
	if r.maxDelay > 0 {
		secs = min(secs, float64(r.maxDelay))
	}
	secs = min(secs, maxRetryDelay.Seconds())
	if r.jitterFull {
		secs *= rnd()
	}
	return time.Duration(secs * float64(time.Second))
}

func (x *execution) taskOutput(st *state, input, result any, en *env) (any, error) {
	var err error
	if st.resultSelector != nil {
		if result, err = st.resultSelector.eval(result, en); err != nil {
			return nil, err
		}
	}
	out, err := applyResultPath(st.resultPath, input, result)
	if err != nil {
		return nil, err
	}
	return st.outputPath.apply(out, en, "OutputPath")
}

// taskTimeouts resolves TimeoutSeconds(Path) and HeartbeatSeconds(Path), in seconds (0: none).
func (x *execution) taskTimeouts(t *taskSpec, eff any, en *env) (timeout, heartbeat int64, err error) {
	timeout, heartbeat = t.timeout, t.heartbeat
	resolve := func(p *path, field string) (int64, error) {
		v, ok := p.get(eff, en)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 1 || n > maxSeconds {
			return 0, runtimeError(fmt.Sprintf("The %s '%s' must resolve to a positive integer, got %s.", field, p.src, describeValue(v, ok)))
		}
		return n, nil
	}
	if t.timeoutPath != nil {
		if timeout, err = resolve(t.timeoutPath, "TimeoutSecondsPath"); err != nil {
			return 0, 0, err
		}
	}
	if t.heartbeatPath != nil {
		if heartbeat, err = resolve(t.heartbeatPath, "HeartbeatSecondsPath"); err != nil {
			return 0, 0, err
		}
	}
	if heartbeat > 0 && timeout > 0 && heartbeat >= timeout {
		return 0, 0, runtimeError(fmt.Sprintf("The heartbeat (%d s) must be shorter than the timeout (%d s).", heartbeat, timeout))
	}
	return timeout, heartbeat, nil
}

// lambdaCall is a resolved invocation.
type lambdaCall struct {
	handler    lambda.Handler
	lockKey    string // bare function name: one invocation at a time per function
	function   string // as named by the definition
	arn        string // invoked function ARN (for lambdacontext and messages)
	version    string // ExecutedVersion
	payload    []byte
	parameters string // TaskScheduled parameters (integration) or LambdaFunctionScheduled input
}

func (e *Engine) prepareCall(t *taskSpec, params any) (*lambdaCall, error) {
	c := &lambdaCall{version: "$LATEST"}
	var qualifier string
	var payload any = params
	if t.kind == resFunction {
		c.function = t.resource
	} else {
		m, ok := params.(map[string]any)
		if !ok {
			return nil, runtimeError(fmt.Sprintf("The Parameters of a lambda:invoke task must be an object, got %s.", jsonType(params)))
		}
		fn, ok := m["FunctionName"].(string)
		if !ok || fn == "" {
			return nil, runtimeError("The lambda:invoke parameter FunctionName must be a non-empty string.")
		}
		c.function = fn
		if q, present := m["Qualifier"]; present {
			if qualifier, ok = q.(string); !ok {
				return nil, runtimeError("The lambda:invoke parameter Qualifier must be a string.")
			}
		}
		if it, present := m["InvocationType"]; present && it != "RequestResponse" {
			return nil, runtimeError("Only the RequestResponse InvocationType is supported.")
		}
		payload, ok = m["Payload"]
		if !ok {
			// Lambda hands an invocation without payload to the function as {}.
			payload = map[string]any{}
		}
	}
	var err error
	if c.payload, err = marshalJSON(payload); err != nil {
		return nil, runtimeError(fmt.Sprintf("The task payload cannot be serialized: %v", err))
	}
	ps := params
	if t.kind == resFunction {
		ps = payload
	}
	c.parameters = jsonString(ps)

	name, q := splitFunction(c.function)
	if qualifier == "" {
		qualifier = q
	}
	if qualifier != "" && strings.Trim(qualifier, "0123456789") == "" {
		c.version = qualifier
	}
	c.lockKey = name
	unqualified := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", e.opts.Region, e.opts.AccountID, name)
	if strings.HasPrefix(c.function, "arn:") {
		unqualified = strings.TrimSuffix(c.function, ":"+q)
	}
	c.arn = unqualified
	if qualifier != "" {
		c.arn += ":" + qualifier
	}
	candidates := []string{c.function}
	if qualifier != "" {
		candidates = append(candidates, name+":"+qualifier, c.arn)
	}
	candidates = append(candidates, name, unqualified)
	for _, k := range candidates {
		if h, ok := e.opts.Functions[k]; ok && h != nil {
			c.handler = h
			return c, nil
		}
	}
	if e.opts.Resolve != nil {
		if h, ok := e.opts.Resolve(c.function); ok && h != nil {
			c.handler = h
		}
	}
	return c, nil
}

// splitFunction extracts the function name and qualifier from a name, a partial ARN
// (123456789012:function:name) or a full ARN, each with an optional :qualifier.
func splitFunction(s string) (name, qualifier string) {
	if _, rest, ok := strings.Cut(s, ":function:"); ok {
		s = rest
	} else if strings.HasPrefix(s, "function:") {
		s = strings.TrimPrefix(s, "function:")
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

// attempt runs one attempt of a Task state: input processing, scheduling, the invocation and,
// for .waitForTaskToken, the wait for the callback, bounded by the task's timeouts.
func (x *execution) attempt(st *state, input any, entered time.Time, retries int) (any, *env, error) {
	t := st.task
	en := &env{x: x, state: st.name, entered: entered, retryCount: retries}
	eff, err := st.inputPath.apply(input, en, "InputPath")
	if err != nil {
		return nil, en, err
	}
	if t.kind == resCallback {
		en.token = newTaskToken()
	}
	params := eff
	if st.parameters != nil {
		if params, err = st.parameters.eval(eff, en); err != nil {
			return nil, en, err
		}
	}
	timeout, heartbeat, err := x.taskTimeouts(t, eff, en)
	if err != nil {
		return nil, en, err
	}
	call, err := x.e.prepareCall(t, params)
	if err != nil {
		return nil, en, err
	}
	if len(call.parameters) > maxPayloadBytes {
		return nil, en, &stateError{Name: ErrorDataLimitExceeded, Cause: fmt.Sprintf("the input of task %q after Parameters has %d bytes, more than the quota of %d", st.name, len(call.parameters), maxPayloadBytes)}
	}

	// During Shutdown nothing new is scheduled: park until the execution is aborted.
	if !x.e.mayStartTask(x) {
		<-x.ctx.Done()
		return nil, en, errClosed
	}

	rt := newTaskRecorder(x, t)
	if !x.record(rt.scheduled(call, timeout, heartbeat), nil) {
		return nil, en, errClosed
	}
	if call.handler == nil {
		cause := fmt.Sprintf("Function not found: %s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: %s)", call.arn, newUUID())
		if t.kind != resFunction && !x.record(rt.started(), nil) {
			return nil, en, errClosed
		}
		if !x.record(rt.startFailed(ErrorLambdaNotFound, cause), nil) {
			return nil, en, errClosed
		}
		return nil, en, &stateError{Name: ErrorLambdaNotFound, Cause: cause}
	}
	if !x.record(rt.started(), nil) {
		return nil, en, errClosed
	}

	// Deadlines. fired is buffered so that timer callbacks never block.
	fired := make(chan string, 2)
	signal := func(name string) func() {
		return func() {
			select {
			case fired <- name:
			default:
			}
		}
	}
	if timeout > 0 {
		stop := x.e.clock.AfterFunc(x.e.scaledTimeout(time.Duration(timeout)*time.Second), signal(ErrorTimeout))
		defer stop()
	}
	var beat *resettableTimer
	if heartbeat > 0 {
		beat = newResettableTimer(x.e.clock, x.e.scaledTimeout(time.Duration(heartbeat)*time.Second), signal(ErrorHeartbeatTimeout))
		defer beat.stop()
	}
	var tokCh <-chan tokenResult
	if t.kind == resCallback {
		var onBeat func()
		if beat != nil {
			onBeat = beat.reset
		}
		tokCh = x.e.registerToken(en.token, x, st.name, onBeat).result
		defer x.e.closeToken(en.token)
	}

	resCh, cancelHandler := x.invoke(call)
	defer cancelHandler(nil)

	var early *tokenResult // a callback that arrived while the function was still running
	for {
		var r *invokeResult
		var tr *tokenResult
		var deadline string
		// Waiting for a callback once the function has returned is idle time for Shutdown.
		x.e.setBusy(x, resCh != nil)
		select {
		case v := <-resCh:
			r = &v
		case v := <-tokCh:
			tr = &v
		case deadline = <-fired:
			// A result already available wins over a deadline observed at the same moment.
			select {
			case v := <-resCh:
				r = &v
			case v := <-tokCh:
				tr = &v
			default:
			}
			if r != nil || tr != nil {
				signal(deadline)() // keep the deadline for a callback task still waiting for its token
				deadline = ""
			}
		case <-x.ctx.Done():
			return nil, en, errClosed
		}
		x.e.setBusy(x, true)
		if tr != nil && resCh != nil {
			// The worker called back before the function returned (it usually calls back from
			// inside the function). Record the function's response first so that the history
			// reads the same every time: TaskSubmitted, then TaskSucceeded/TaskFailed.
			early, tr, tokCh = tr, nil, nil
			continue
		}
		if r == nil && tr == nil && deadline == "" {
			continue
		}
		switch {
		case deadline != "" && early != nil:
			// The callback came before the deadline; only the function was still running.
			return x.finishCallback(rt, en, early)
		case deadline != "":
			cause := fmt.Sprintf("The task did not complete within its TimeoutSeconds (%d).", timeout)
			if deadline == ErrorHeartbeatTimeout {
				cause = fmt.Sprintf("The task sent no heartbeat within its HeartbeatSeconds (%d).", heartbeat)
			}
			// On AWS the Lambda function would run on until its own timeout; locally its context is
			// cancelled so that the goroutine ends.
			cancelHandler(errors.New(deadline))
			x.e.log.LogAttrs(x.ctx, slog.LevelWarn, "task timed out", slog.String("execution_arn", x.arn),
				slog.String("state", st.name), slog.String("error", deadline))
			if !x.record(rt.timedOut(deadline, cause), nil) {
				return nil, en, errClosed
			}
			return nil, en, &stateError{Name: deadline, Cause: cause}
		case tr != nil:
			return x.finishCallback(rt, en, tr)
		}
		resCh = nil // the invocation answered
		if r.err != nil && early != nil {
			// The callback already closed the task; the function's own failure no longer matters.
			return x.finishCallback(rt, en, early)
		}
		if r.err != nil {
			x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "task failed", slog.String("execution_arn", x.arn),
				slog.String("state", st.name), slog.String("error", r.err.Name))
			if !x.record(rt.failed(r.err.Name, r.err.Cause), nil) {
				return nil, en, errClosed
			}
			return nil, en, r.err
		}
		payload := lambdaOutput(r.out)
		result := payload
		if t.kind != resFunction {
			result = map[string]any{
				"ExecutedVersion": call.version,
				"Payload":         payload,
				"SdkHttpMetadata": map[string]any{
					"HttpHeaders": map[string]any{
						"Content-Type": "application/json", "X-Amz-Executed-Version": call.version, "x-amzn-RequestId": r.requestID,
					},
					"HttpStatusCode": json.Number("200"),
				},
				"SdkResponseMetadata": map[string]any{"RequestId": r.requestID},
				"StatusCode":          json.Number("200"),
			}
		}
		outJSON, serr := x.dataJSON(result, fmt.Sprintf("the result of task %q", st.name))
		if serr != nil {
			return nil, en, serr
		}
		if t.kind == resCallback {
			// The function returned; the task now waits for SendTaskSuccess/Failure.
			if !x.record(rt.submitted(outJSON), nil) {
				return nil, en, errClosed
			}
			if early != nil {
				return x.finishCallback(rt, en, early)
			}
			continue
		}
		if !x.record(rt.succeeded(outJSON), nil) {
			return nil, en, errClosed
		}
		return result, en, nil
	}
}

// finishCallback records the outcome SendTaskSuccess/SendTaskFailure gave a callback task.
func (x *execution) finishCallback(rt *taskRecorder, en *env, tr *tokenResult) (any, *env, error) {
	if tr.failed {
		if !x.record(rt.failed(tr.errName, tr.cause), nil) {
			return nil, en, errClosed
		}
		return nil, en, &stateError{Name: tr.errName, Cause: tr.cause}
	}
	if !x.record(rt.succeeded(tr.outJSON), nil) {
		return nil, en, errClosed
	}
	return tr.output, en, nil
}

// lambdaOutput decodes a function's response; a response that is not JSON becomes a string.
func lambdaOutput(b []byte) any {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	v, err := decodeJSON(b)
	if err != nil {
		return string(b)
	}
	return v
}

type invokeResult struct {
	out       []byte
	err       *stateError
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
			ch <- invokeResult{requestID: requestID, err: &stateError{Name: ErrorLambdaUnknown, Cause: "invocation abandoned: " + err.Error()}}
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
func functionError(ive messages.InvokeResponse_Error) *stateError {
	cause, err := json.Marshal(ive) // as the runtime's safeMarshal does
	if err != nil {
		cause = []byte(fmt.Sprintf(`{"errorMessage":%q,"errorType":"Runtime.SerializationError"}`, err.Error()))
	}
	name := ive.Type
	if name == "" {
		name = ErrorLambdaUnknown
	}
	return &stateError{Name: name, Cause: string(cause)}
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

// taskRecorder builds the history events of one task attempt: Task* events for the lambda:invoke
// integrations, LambdaFunction* events for a plain function ARN resource.
type taskRecorder struct {
	legacy       bool
	resourceType string
	resource     string
	region       string
}

func newTaskRecorder(x *execution, t *taskSpec) *taskRecorder {
	r := &taskRecorder{legacy: t.kind == resFunction, resourceType: "lambda", resource: resourceInvoke, region: x.e.opts.Region}
	if t.kind == resCallback {
		r.resource = resourceCallback
	}
	return r
}

func secondsPtr(n int64) *int64 {
	if n <= 0 {
		return nil
	}
	return &n
}

func (r *taskRecorder) scheduled(c *lambdaCall, timeout, heartbeat int64) HistoryEvent {
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionScheduled, LambdaFunctionScheduledEventDetails: &LambdaFunctionScheduledEventDetails{
			Resource: c.function, Input: c.parameters, InputDetails: noTruncation, TimeoutInSeconds: secondsPtr(timeout),
		}}
	}
	return HistoryEvent{Type: EventTaskScheduled, TaskScheduledEventDetails: &TaskScheduledEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Region: r.region, Parameters: c.parameters,
		TimeoutInSeconds: secondsPtr(timeout), HeartbeatInSeconds: secondsPtr(heartbeat),
	}}
}

func (r *taskRecorder) started() HistoryEvent {
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionStarted}
	}
	return HistoryEvent{Type: EventTaskStarted, TaskStartedEventDetails: &TaskEventDetails{ResourceType: r.resourceType, Resource: r.resource}}
}

func (r *taskRecorder) startFailed(errName, cause string) HistoryEvent {
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionStartFailed, LambdaFunctionStartFailedEventDetails: &ErrorEventDetails{Error: errName, Cause: cause}}
	}
	return r.failed(errName, cause)
}

func (r *taskRecorder) failed(errName, cause string) HistoryEvent {
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionFailed, LambdaFunctionFailedEventDetails: &ErrorEventDetails{Error: errName, Cause: cause}}
	}
	return HistoryEvent{Type: EventTaskFailed, TaskFailedEventDetails: &TaskErrorEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Error: errName, Cause: cause,
	}}
}

func (r *taskRecorder) timedOut(errName, cause string) HistoryEvent {
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionTimedOut, LambdaFunctionTimedOutEventDetails: &ErrorEventDetails{Error: errName, Cause: cause}}
	}
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
	if r.legacy {
		return HistoryEvent{Type: EventLambdaFunctionSucceeded, LambdaFunctionSucceededEventDetails: &OutputEventDetails{Output: out, OutputDetails: noTruncation}}
	}
	return HistoryEvent{Type: EventTaskSucceeded, TaskSucceededEventDetails: &TaskOutputEventDetails{
		ResourceType: r.resourceType, Resource: r.resource, Output: out, OutputDetails: noTruncation,
	}}
}
