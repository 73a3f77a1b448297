package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/asl"
)

// A Task state runs attempts until one succeeds, Retry gives up or a Catcher handles the error.
// Each attempt is a fixed pipeline of small steps:
//
//	input     InputPath, the task token, Parameters, timeouts, the Lambda call (prepare)
//	schedule  TaskScheduled/TaskStarted, deadlines, the token, the invocation (schedule)
//	await     the function's response, the callback, or a deadline (await, nextSignal, handle)
//	output    ResultSelector, ResultPath, OutputPath (asl.State.Output, in runTask)

// runTask runs a Task state: attempts, Retry and Catch. It returns the state output and the
// next state (the catcher's Next when a Catcher handled the error).
func (x *execution) runTask(st *asl.State, input any, entered time.Time) (any, string, error) {
	if r := x.resume; r == nil {
		x.update(func(p *Progress) { p.Attempts = make([]int64, st.NumRetriers()) })
	} else if !r.wakeAt.IsZero() && !x.sleep(0) {
		// Restored in a retry back-off: the retries done are kept, the back-off sleeps what it had left.
		return nil, "", errClosed
	}
	for {
		before := x.eventCount()
		result, en, err := x.attempt(st, input, entered)
		if err == nil {
			var out any
			if out, err = st.Output(input, result, en); err == nil {
				return out, st.Next(), nil
			}
		}
		var se *asl.Error
		if !errors.As(err, &se) || !se.Catchable() {
			return nil, "", err
		}
		retry, err := x.retry(st, se, x.eventCount() == before)
		if err != nil {
			return nil, "", err
		}
		if retry {
			continue
		}
		out, next, ok, err := st.Catch(input, se)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "", se
		}
		x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "task error caught", slog.String("execution_arn", x.arn),
			slog.String("state", st.Name()), slog.String("error", se.Name), slog.String("next", next))
		return out, next, nil
	}
}

// retry applies the state's Retry to an attempt's error: it sleeps the back-off and reports
// true when the state should run another attempt.
func (x *execution) retry(st *asl.State, se *asl.Error, silent bool) (bool, error) {
	i, maxAttempts, ok := st.Retrier(se.Name)
	x.mu.Lock()
	ok = ok && x.p.Attempts[i] < maxAttempts
	var n int64
	if ok {
		n = x.p.Attempts[i]
	}
	x.mu.Unlock()
	if !ok {
		return false, nil
	}
	if silent && !x.chargeSilentRetry() {
		return false, errClosed
	}
	delay := st.RetryDelay(i, n, x.e.random)
	var retries int
	x.update(func(p *Progress) { p.Attempts[i]++; p.Retries++; retries = p.Retries })
	x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "task retry scheduled", slog.String("execution_arn", x.arn),
		slog.String("state", st.Name()), slog.String("error", se.Name), slog.Int("retry", retries),
		slog.Duration("delay", delay), slog.Duration("scaled_delay", x.e.scaled(delay)))
	if !x.sleep(delay) {
		return false, errClosed
	}
	return true, nil
}

// taskAttempt is one attempt of a Task state on its way through the pipeline.
type taskAttempt struct {
	st                 *asl.State
	task               *asl.Task
	en                 *env
	call               *lambdaCall
	timeout, heartbeat int64

	fired  chan string // deadlines; buffered so that timer callbacks never block
	tokCh  <-chan tokenResult
	resCh  <-chan invokeResult // nil once the function has answered
	cancel context.CancelCauseFunc
	early  *tokenResult // a callback that arrived while the function was still running
	stops  []func()
}

// attempt runs one attempt of a Task state through input, schedule and await.
func (x *execution) attempt(st *asl.State, input any, entered time.Time) (any, *env, error) {
	x.mu.Lock()
	retries := x.p.Retries
	x.mu.Unlock()
	a := &taskAttempt{st: st, task: st.Task(), en: &env{x: x, state: st.Name(), entered: entered, retryCount: retries}}
	if err := x.prepare(a, input); err != nil {
		return nil, a.en, err
	}
	defer a.release()
	if err := x.schedule(a); err != nil {
		return nil, a.en, err
	}
	result, err := x.await(a)
	return result, a.en, err
}

func (a *taskAttempt) release() {
	for i := len(a.stops) - 1; i >= 0; i-- {
		a.stops[i]()
	}
}

// prepare is the input step: InputPath, the task token, Parameters, the timeouts and the call.
func (x *execution) prepare(a *taskAttempt, input any) error {
	x.update(func(p *Progress) { p.Submitted, p.Outcome = false, nil })
	if a.task.Callback {
		a.en.token = newTaskToken()
		if r := x.resume; r != nil && r.token != nil {
			a.en.token = r.tokenID
		}
	}
	eff, params, err := a.st.Input(input, a.en)
	if err != nil {
		return err
	}
	if a.timeout, a.heartbeat, err = a.st.Timeouts(eff, a.en); err != nil {
		return err
	}
	if a.call, err = x.e.prepareCall(a.st, a.task, params); err != nil {
		return err
	}
	if len(a.call.parameters) > asl.MaxPayloadBytes {
		return &asl.Error{Name: asl.ErrorDataLimitExceeded, Cause: fmt.Sprintf("the input of task %q after Parameters has %d bytes, more than the quota of %d", a.st.Name(), len(a.call.parameters), asl.MaxPayloadBytes)}
	}
	return nil
}

// schedule records the task's scheduling, arms its deadlines, registers its token and invokes
// the function.
func (x *execution) schedule(a *taskAttempt) error {
	if r := x.resumedToken(); r != nil {
		return x.rescheduleCallback(a, r)
	}
	// During Shutdown nothing new is scheduled: park until the execution is aborted.
	if !x.e.mayStartTask(x) {
		<-x.ctx.Done()
		return errClosed
	}
	if !x.recordTask(a, EventTaskScheduled, TaskEventDetails{Region: x.e.opts.Region, Parameters: a.call.parameters,
		TimeoutInSeconds: secondsPtr(a.timeout), HeartbeatInSeconds: secondsPtr(a.heartbeat)}) || !x.recordTask(a, EventTaskStarted, TaskEventDetails{}) {
		return errClosed
	}
	if a.call.handler == nil {
		cause := fmt.Sprintf("Function not found: %s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: %s)", a.call.arn, newUUID())
		return x.taskError(a, EventTaskFailed, asl.ErrorLambdaNotFound, cause)
	}
	a.fired = make(chan string, 2)
	var deadline time.Time
	if a.timeout > 0 {
		d := x.e.scaledTimeout(a.timeout)
		stop := x.e.opts.Clock.AfterFunc(d, a.signal(asl.ErrorTimeout))
		a.stops = append(a.stops, func() { stop() })
		deadline = x.e.now().Add(d)
	}
	var onBeat func()
	if a.heartbeat > 0 {
		// A heartbeat restarts the deadline until the attempt is over.
		var mu sync.Mutex
		d, fire := x.e.scaledTimeout(a.heartbeat), a.signal(asl.ErrorHeartbeatTimeout)
		stop := x.e.opts.Clock.AfterFunc(d, fire)
		onBeat = func() {
			mu.Lock()
			defer mu.Unlock()
			if stop != nil && stop() {
				stop = x.e.opts.Clock.AfterFunc(d, fire)
			}
		}
		a.stops = append(a.stops, func() {
			mu.Lock()
			defer mu.Unlock()
			stop()
			stop = nil
		})
	}
	if a.task.Callback {
		tok := x.e.registerToken(a.en.token, x, onBeat)
		a.tokCh = tok.result
		a.stops = append(a.stops, func() { x.e.closeTokens(tok) })
	}
	x.update(func(p *Progress) { p.Token, p.Deadline = a.en.token, deadline })
	a.resCh, a.cancel = x.invoke(a.call)
	a.stops = append(a.stops, func() { a.cancel(nil) })
	return nil
}

// signal returns a timer callback that reports the named deadline.
func (a *taskAttempt) signal(name string) func() {
	return func() {
		select {
		case a.fired <- name:
		default:
		}
	}
}

// taskSignal is what an attempt waits for: one of the function's response, the callback, or a
// deadline (the error name States.Timeout or States.HeartbeatTimeout).
type taskSignal struct {
	r        *invokeResult
	tr       *tokenResult
	deadline string
}

// await waits until the attempt has a result or an error.
func (x *execution) await(a *taskAttempt) (any, error) {
	for {
		s, err := x.nextSignal(a)
		if err != nil {
			return nil, err
		}
		if done, result, err := x.handle(a, s); done {
			return result, err
		}
	}
}

func (x *execution) nextSignal(a *taskAttempt) (taskSignal, error) {
	var s taskSignal
	// Waiting for a callback once the function has returned is idle time for Shutdown.
	x.e.setBusy(x, a.resCh != nil)
	select {
	case v := <-a.resCh:
		s.r = &v
	case v := <-a.tokCh:
		s.tr = &v
	case s.deadline = <-a.fired:
		// A result already available wins over a deadline observed at the same moment.
		select {
		case v := <-a.resCh:
			s.r = &v
		case v := <-a.tokCh:
			s.tr = &v
		default:
		}
		if s.r != nil || s.tr != nil {
			a.signal(s.deadline)() // keep the deadline for a callback task still waiting for its token
			s.deadline = ""
		}
	case <-x.ctx.Done():
		return s, errClosed
	}
	x.e.setBusy(x, true)
	return s, nil
}

// handle processes one signal and reports whether the attempt is over.
func (x *execution) handle(a *taskAttempt, s taskSignal) (bool, any, error) {
	switch {
	case s.tr != nil && a.resCh != nil:
		// The worker called back before the function returned (it usually calls back from
		// inside the function). Record the function's response first so that the history
		// reads the same every time: TaskSubmitted, then TaskSucceeded/TaskFailed.
		a.early, a.tokCh = s.tr, nil
		return false, nil, nil
	case s.deadline != "" && a.early != nil:
		// The callback came before the deadline; only the function was still running.
		return x.finishCallback(a, a.early)
	case s.deadline != "":
		return true, nil, x.timeOut(a, s.deadline)
	case s.tr != nil:
		return x.finishCallback(a, s.tr)
	case s.r == nil:
		return false, nil, nil
	}
	a.resCh = nil // the invocation answered
	return x.handleResponse(a, s.r)
}

// timeOut ends an attempt whose deadline passed.
func (x *execution) timeOut(a *taskAttempt, deadline string) error {
	cause := fmt.Sprintf("The task did not complete within its TimeoutSeconds (%d).", a.timeout)
	if deadline == asl.ErrorHeartbeatTimeout {
		cause = fmt.Sprintf("The task sent no heartbeat within its HeartbeatSeconds (%d).", a.heartbeat)
	}
	// On AWS the Lambda function would run on until its own timeout; locally its context is
	// cancelled so that the goroutine ends.
	a.cancel(errors.New(deadline))
	x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelWarn, "task timed out", slog.String("execution_arn", x.arn),
		slog.String("state", a.st.Name()), slog.String("error", deadline))
	return x.taskError(a, EventTaskTimedOut, deadline, cause)
}

// taskError records a failed (or timed-out) attempt and returns its error.
func (x *execution) taskError(a *taskAttempt, typ EventType, name, cause string) error {
	if !x.recordTask(a, typ, TaskEventDetails{Error: name, Cause: cause}) {
		return errClosed
	}
	return &asl.Error{Name: name, Cause: cause}
}

// handleResponse records the function's response. A callback task then goes on waiting for its
// token (unless the callback came early); a plain invoke is done.
func (x *execution) handleResponse(a *taskAttempt, r *invokeResult) (bool, any, error) {
	if r.err != nil && a.early != nil {
		// The callback already closed the task; the function's own failure no longer matters.
		return x.finishCallback(a, a.early)
	}
	if r.err != nil {
		x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "task failed", slog.String("execution_arn", x.arn),
			slog.String("state", a.st.Name()), slog.String("error", r.err.Name))
		return true, nil, x.taskError(a, EventTaskFailed, r.err.Name, r.err.Cause)
	}
	result := invokeOutput(r)
	outJSON, serr := x.dataJSON(result, fmt.Sprintf("the result of task %q", a.st.Name()))
	if serr != nil {
		return true, nil, serr
	}
	if a.task.Callback {
		// The function returned; the task now waits for SendTaskSuccess/Failure.
		if !x.recordTask(a, EventTaskSubmitted, TaskEventDetails{Output: outJSON}) {
			return true, nil, errClosed
		}
		if a.early == nil {
			x.update(func(p *Progress) { p.Submitted = true })
			x.checkpoint()
		}
		if a.early != nil {
			return x.finishCallback(a, a.early)
		}
		return false, nil, nil
	}
	if !x.recordTask(a, EventTaskSucceeded, TaskEventDetails{Output: outJSON}) {
		return true, nil, errClosed
	}
	return true, result, nil
}

// invokeOutput is the result of the lambda:invoke integration: the function's response as
// Payload, with the Invoke API's metadata.
func invokeOutput(r *invokeResult) any {
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         lambdaOutput(r.out),
		"SdkHttpMetadata": map[string]any{
			"HttpHeaders": map[string]any{
				"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": r.requestID,
			},
			"HttpStatusCode": json.Number("200"),
		},
		"SdkResponseMetadata": map[string]any{"RequestId": r.requestID},
		"StatusCode":          json.Number("200"),
	}
}

// finishCallback records the outcome SendTaskSuccess/SendTaskFailure gave a callback task.
func (x *execution) finishCallback(a *taskAttempt, tr *tokenResult) (bool, any, error) {
	if tr.failed {
		return true, nil, x.taskError(a, EventTaskFailed, tr.errName, tr.cause)
	}
	if !x.recordTask(a, EventTaskSucceeded, TaskEventDetails{Output: tr.outJSON}) {
		return true, nil, errClosed
	}
	return true, tr.output, nil
}

// lambdaCall is a resolved invocation.
type lambdaCall struct {
	handler    lambda.Handler // nil: no such function
	function   string         // as named by the definition
	name       string         // bare function name: one invocation at a time per function
	arn        string         // invoked function ARN (for lambdacontext)
	payload    []byte
	parameters string // TaskScheduled parameters
}

func (e *Engine) prepareCall(st *asl.State, t *asl.Task, params any) (*lambdaCall, error) {
	payload, err := st.Payload(params)
	if err != nil {
		return nil, err
	}
	c := &lambdaCall{function: t.Function, payload: payload, parameters: jsonString(params)}
	c.name = t.Function[strings.LastIndexByte(t.Function, ':')+1:]
	c.arn = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", e.opts.Region, e.opts.AccountID, c.name)
	if strings.HasPrefix(t.Function, "arn:") {
		c.arn = t.Function
	}
	if c.handler = e.opts.Functions[c.function]; c.handler == nil {
		c.handler = e.opts.Functions[c.name]
	}
	return c, nil
}

// recordTask records an event of the attempt's task.
func (x *execution) recordTask(a *taskAttempt, typ EventType, d TaskEventDetails) bool {
	d.ResourceType, d.Resource = "lambda", "invoke"
	if a.task.Callback {
		d.Resource = "invoke.waitForTaskToken"
	}
	return x.record(taskEvent(typ, &d), nil)
}

func secondsPtr(n int64) *int64 {
	if n <= 0 {
		return nil
	}
	return &n
}

// jsonString renders a value for display (history, causes).
func jsonString(v any) string {
	b, err := asl.MarshalJSON(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}
