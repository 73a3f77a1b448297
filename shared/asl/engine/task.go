package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/asl"
)

// A Task state runs attempts until one succeeds, Retry gives up or a Catcher handles the error.
// Each attempt is a fixed pipeline of small steps:
//
//	input     the task token, Parameters, the timeout, the Lambda call (prepare)
//	schedule  TaskScheduled/TaskStarted, the deadline, the token, the invocation (schedule)
//	await     the function's response, then a callback task's token; the deadline ends either (await)
//	output    ResultSelector, ResultPath (asl.State.Output, in runTask)

// runTask runs a Task state: attempts, Retry and Catch. It returns the state output and the
// next state (the catcher's Next when a Catcher handled the error).
func (x *execution) runTask(st *asl.State, input any) (any, string, error) {
	x.mu.Lock()
	if x.p.Attempts == nil { // nil after a transition; a restored state keeps the retries it did
		x.p.Attempts = make([]int64, st.NumRetriers())
	}
	backingOff := !x.p.WakeAt.IsZero()
	x.mu.Unlock()
	// Restored in a retry back-off: the back-off sleeps what it had left.
	if backingOff && !x.sleep(0) {
		return nil, "", errClosed
	}
	for {
		result, scheduled, err := x.attempt(st, input)
		if err == nil {
			var out any
			if out, err = st.Output(input, result); err == nil {
				return out, st.Next(), nil
			}
		}
		se, ok := errors.AsType[*asl.Error](err)
		if !ok || !se.Catchable() {
			return nil, "", err
		}
		retry, err := x.retry(st, se, !scheduled)
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
	if !ok {
		return false, nil
	}
	x.mu.Lock()
	n := x.p.Attempts[i]
	x.mu.Unlock()
	if n >= maxAttempts {
		return false, nil
	}
	if silent && !x.chargeSilentRetry() {
		return false, errClosed
	}
	delay := st.RetryDelay(i, n, x.e.random)
	var retries int64 // of the state, by all its retriers
	x.update(func(p *Progress) {
		p.Attempts[i]++
		for _, a := range p.Attempts {
			retries += a
		}
	})
	x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "task retry scheduled", slog.String("execution_arn", x.arn),
		slog.String("state", st.Name()), slog.String("error", se.Name), slog.Int64("retry", retries),
		slog.Duration("delay", delay), slog.Duration("scaled_delay", x.e.scaled(delay)))
	if !x.sleep(delay) {
		return false, errClosed
	}
	return true, nil
}

// taskAttempt is one attempt of a Task state on its way through the pipeline.
type taskAttempt struct {
	st       *asl.State
	task     *asl.Task
	token    string     // a callback task's token
	restored *taskToken // the token a restored callback task waits on again
	timeout  int64
	call     *lambdaCall

	fired  chan struct{}       // the deadline passed; buffered so that the timer never blocks
	tokCh  <-chan TaskOutcome  // a callback task's answer
	resCh  <-chan invokeResult // the function's response; nil for a restored callback task
	cancel context.CancelCauseFunc
	stops  []func()
}

// attempt runs one attempt of a Task state through input, schedule and await. scheduled is false
// when it failed before recording anything (in prepare).
func (x *execution) attempt(st *asl.State, input any) (result any, scheduled bool, err error) {
	a := &taskAttempt{st: st, task: st.Task(), fired: make(chan struct{}, 1), cancel: func(error) {}}
	if err := x.prepare(a, input); err != nil {
		return nil, false, err
	}
	defer func() {
		for i := len(a.stops) - 1; i >= 0; i-- {
			a.stops[i]()
		}
	}()
	if err := x.schedule(a); err != nil {
		return nil, true, err
	}
	result, err = x.await(a)
	return result, true, err
}

// prepare is the input step: the task token, Parameters, the timeout and the call.
func (x *execution) prepare(a *taskAttempt, input any) error {
	x.update(func(p *Progress) { p.Submitted, p.Outcome = false, nil })
	a.restored, x.resumeToken = x.resumeToken, nil
	if a.restored != nil {
		a.token = a.restored.id
	} else if a.task.Callback {
		a.token = newTaskToken()
	}
	params, err := a.st.Input(input, a.token)
	if err != nil {
		return err
	}
	if a.timeout, err = a.st.Timeout(input); err != nil {
		return err
	}
	payload, err := a.st.Payload(params)
	if err != nil {
		return err
	}
	fn := a.task.Function
	a.call = &lambdaCall{function: fn, payload: payload, parameters: asl.JSONString(params), name: fn[strings.LastIndexByte(fn, ':')+1:]}
	a.call.arn = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", x.e.opts.Region, x.e.opts.AccountID, a.call.name)
	if strings.HasPrefix(fn, "arn:") {
		a.call.arn = fn
	}
	a.call.handler = cmp.Or(x.e.opts.Functions[fn], x.e.opts.Functions[a.call.name])
	if len(a.call.parameters) > asl.MaxPayloadBytes {
		return &asl.Error{Name: asl.ErrorDataLimitExceeded, Cause: fmt.Sprintf("the input of task %q after Parameters has %d bytes, more than the quota of %d", a.st.Name(), len(a.call.parameters), asl.MaxPayloadBytes)}
	}
	return nil
}

// schedule records the task's scheduling, arms its deadline, registers its token and invokes
// the function. A restored callback task whose function had returned records and invokes nothing
// again: it waits for the same token until the deadline it had.
func (x *execution) schedule(a *taskAttempt) error {
	if a.restored != nil {
		x.mu.Lock()
		deadline := x.p.Deadline
		x.p.Submitted = true
		x.mu.Unlock()
		if !deadline.IsZero() {
			x.arm(a, deadline.Sub(x.e.now())) // fires at once if it passed while the engine was down
		}
		x.listen(a, a.restored)
		return nil
	}
	// During Shutdown nothing new is scheduled: park until the execution is aborted.
	if !x.e.mayStartTask(x) {
		<-x.ctx.Done()
		return errClosed
	}
	scheduled := TaskEventDetails{Region: x.e.opts.Region, Parameters: a.call.parameters}
	if a.timeout > 0 {
		scheduled.TimeoutInSeconds = &a.timeout
	}
	if err := x.recordTask(a, EventTaskScheduled, scheduled); err != nil {
		return err
	}
	if err := x.recordTask(a, EventTaskStarted, TaskEventDetails{}); err != nil {
		return err
	}
	if a.call.handler == nil {
		cause := fmt.Sprintf("Function not found: %s (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: %s)", a.call.arn, newUUID())
		return x.taskError(a, EventTaskFailed, asl.ErrorLambdaNotFound, cause)
	}
	var deadline time.Time
	if a.timeout > 0 {
		d := x.e.scaledTimeout(a.timeout)
		x.arm(a, d)
		deadline = x.e.now().Add(d)
	}
	if a.task.Callback {
		x.listen(a, x.e.registerToken(a.token, x))
	}
	x.update(func(p *Progress) { p.Token, p.Deadline = a.token, deadline })
	a.resCh, a.cancel = x.invoke(a.call)
	a.stops = append(a.stops, func() { a.cancel(nil) })
	return nil
}

// arm makes the attempt's deadline fire after d (at once if d <= 0).
func (x *execution) arm(a *taskAttempt, d time.Duration) {
	fire := func() {
		select {
		case a.fired <- struct{}{}:
		default:
		}
	}
	if d <= 0 {
		fire()
		return
	}
	stop := x.e.opts.Clock.AfterFunc(d, fire)
	a.stops = append(a.stops, func() { stop() })
}

// listen makes the attempt wait for the answer to token t, which it expires when it ends.
func (x *execution) listen(a *taskAttempt, t *taskToken) {
	a.tokCh = t.result
	a.stops = append(a.stops, func() { x.e.closeTokens(t) })
}

// answered returns the callback's answer if it has come.
func (a *taskAttempt) answered() *TaskOutcome {
	select {
	case tr := <-a.tokCh:
		return &tr
	default:
		return nil
	}
}

// await waits for the function's response, then for a callback task's token; the deadline ends
// either wait, unless what it waits for is already there. The worker usually calls back from
// inside the function: its answer waits until the function's response is recorded, so that the
// history reads the same every time (TaskSubmitted, then TaskSucceeded/TaskFailed).
func (x *execution) await(a *taskAttempt) (any, error) {
	if a.resCh != nil {
		var r invokeResult
		select {
		case r = <-a.resCh:
		case <-a.fired:
			select {
			case r = <-a.resCh:
				a.fired <- struct{}{} // keep the deadline for a callback task still waiting for its token
			default:
				return x.deadline(a)
			}
		case <-x.ctx.Done():
			return nil, errClosed
		}
		tr := a.answered()
		if r.err != nil && tr != nil {
			// The callback already closed the task; the function's own failure no longer matters.
			return x.finishCallback(a, tr)
		}
		if r.err != nil {
			x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "task failed", slog.String("execution_arn", x.arn),
				slog.String("state", a.st.Name()), slog.String("error", r.err.Name))
			return nil, x.taskError(a, EventTaskFailed, r.err.Name, r.err.Cause)
		}
		result := invokeOutput(&r)
		outJSON, serr := x.dataJSON(result, fmt.Sprintf("the result of task %q", a.st.Name()))
		if serr != nil {
			return nil, serr
		}
		if !a.task.Callback {
			return result, x.recordTask(a, EventTaskSucceeded, TaskEventDetails{Output: outJSON})
		}
		// The function returned; the task now waits for SendTaskSuccess/Failure.
		if err := x.recordTask(a, EventTaskSubmitted, TaskEventDetails{Output: outJSON}); err != nil {
			return nil, err
		}
		if tr != nil {
			return x.finishCallback(a, tr)
		}
		x.update(func(p *Progress) { p.Submitted = true })
		x.checkpoint()
	}
	// Waiting for a callback once the function has returned is idle time for Shutdown.
	x.e.setBusy(x, false)
	select {
	case tr := <-a.tokCh:
		x.e.setBusy(x, true)
		return x.finishCallback(a, &tr)
	case <-a.fired:
		x.e.setBusy(x, true)
		return x.deadline(a)
	case <-x.ctx.Done():
		return nil, errClosed
	}
}

// deadline ends an attempt whose deadline passed, unless its callback came first.
func (x *execution) deadline(a *taskAttempt) (any, error) {
	if tr := a.answered(); tr != nil {
		return x.finishCallback(a, tr)
	}
	// On AWS the Lambda function would run on until its own timeout; locally its context is
	// cancelled so that the goroutine ends.
	a.cancel(errors.New(asl.ErrorTimeout))
	x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelWarn, "task timed out", slog.String("execution_arn", x.arn),
		slog.String("state", a.st.Name()), slog.String("error", asl.ErrorTimeout))
	return nil, x.taskError(a, EventTaskTimedOut, asl.ErrorTimeout, fmt.Sprintf("The task did not complete within its TimeoutSeconds (%d).", a.timeout))
}

// taskError records a failed (or timed-out) attempt and returns its error.
func (x *execution) taskError(a *taskAttempt, typ EventType, name, cause string) error {
	if err := x.recordTask(a, typ, TaskEventDetails{Error: name, Cause: cause}); err != nil {
		return err
	}
	return &asl.Error{Name: name, Cause: cause}
}

// finishCallback records the outcome SendTaskSuccess/SendTaskFailure gave a callback task.
func (x *execution) finishCallback(a *taskAttempt, o *TaskOutcome) (any, error) {
	if o.Failed {
		return nil, x.taskError(a, EventTaskFailed, o.Error, o.Cause)
	}
	return o.value, x.recordTask(a, EventTaskSucceeded, TaskEventDetails{Output: o.Output})
}

// invokeOutput is the result of the lambda:invoke integration: the function's response as
// Payload (a response that is not JSON becomes a string), with the Invoke API's metadata.
func invokeOutput(r *invokeResult) any {
	payload, err := asl.DecodeJSON(r.out)
	if err != nil && len(bytes.TrimSpace(r.out)) > 0 {
		payload = string(r.out)
	}
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         payload,
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

// lambdaCall is a resolved invocation.
type lambdaCall struct {
	handler    lambda.Handler // nil: no such function
	function   string         // as named by the definition
	name       string         // bare function name: one invocation at a time per function
	arn        string         // invoked function ARN (for lambdacontext)
	payload    []byte
	parameters string // TaskScheduled parameters
}

// recordTask records an event of the attempt's task; it fails with errClosed when the execution is closed.
func (x *execution) recordTask(a *taskAttempt, typ EventType, d TaskEventDetails) error {
	d.ResourceType, d.Resource = "lambda", "invoke"
	if a.task.Callback {
		d.Resource = "invoke.waitForTaskToken"
	}
	if !x.record(taskEvent(typ, &d), nil) {
		return errClosed
	}
	return nil
}
