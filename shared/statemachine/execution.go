package statemachine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"
)

type execution struct {
	e        *Engine
	arn      string
	name     string
	input    []byte
	inputVal any
	start    time.Time

	// ctx is cancelled, with the reason as cause, as soon as the execution closes; every blocking
	// point of the run loop watches it. It carries the values of StartExecution's context.
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the execution closes

	hookMu sync.Mutex // orders OnEvent calls like the history

	tokens []*taskToken // open task tokens; guarded by Engine.mu
	busy   bool         // see Engine.setBusy; guarded by Engine.mu

	mu          sync.Mutex
	status      ExecutionStatus
	output      string
	errName     string
	cause       string
	stop        time.Time
	events      []HistoryEvent
	transitions []string
	// silentRetries counts retries of attempts that failed before recording anything (an
	// intrinsic failing in Parameters); they use up the history quota as if they had recorded
	// events, so that such a retry loop cannot spin forever on a clock that does not sleep.
	silentRetries int
	stopTimeout   func() bool
}

func newExecution(e *Engine, parent context.Context, arn, name string, input []byte, val any) *execution {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	return &execution{
		e: e, arn: arn, name: name, input: input, inputVal: val, start: e.now(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), status: StatusRunning,
	}
}

func (x *execution) currentStatus() ExecutionStatus {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status
}

func (x *execution) describe() ExecutionDescription {
	x.mu.Lock()
	defer x.mu.Unlock()
	return ExecutionDescription{
		ExecutionARN: x.arn, StateMachineARN: x.e.smARN, Name: x.name, Status: x.status,
		Input: string(x.input), Output: x.output, Error: x.errName, Cause: x.cause,
		StartDate: x.start, StopDate: x.stop,
	}
}

// closing describes the terminal transition recorded together with the last event.
type closing struct {
	status  ExecutionStatus
	output  string
	errName string
	cause   string
}

// record appends an event to a running execution's history; with fin it also closes the
// execution. It returns false, recording nothing, if the execution is already closed (a state
// that finishes after StopExecution must not add to the history), or if the history quota is
// reached, in which case the execution fails instead.
func (x *execution) record(ev HistoryEvent, fin *closing) bool {
	x.hookMu.Lock()
	defer x.hookMu.Unlock()
	x.mu.Lock()
	if x.status != StatusRunning {
		x.mu.Unlock()
		return false
	}
	ok := true
	if fin == nil && len(x.events)+x.silentRetries+2 > x.e.maxEvents {
		// Keep the last slot for the ExecutionFailed event.
		cause := fmt.Sprintf("The execution reached the maximum number of history events (%d).", x.e.maxEvents)
		fin = &closing{status: StatusFailed, errName: ErrorRuntime, cause: cause}
		ev = HistoryEvent{Type: EventExecutionFailed, ExecutionFailedEventDetails: &ErrorEventDetails{Error: ErrorRuntime, Cause: cause}}
		ok = false
	}
	now := x.e.now()
	ev.Timestamp = now
	ev.ID = int64(len(x.events) + 1)
	ev.PreviousEventID = ev.ID - 1
	x.events = append(x.events, ev)
	if d := ev.StateEnteredEventDetails; d != nil {
		x.transitions = append(x.transitions, d.Name)
	}
	var stopTimeout func() bool
	if fin != nil {
		x.status, x.output, x.errName, x.cause, x.stop = fin.status, fin.output, fin.errName, fin.cause, now
		stopTimeout = x.stopTimeout
	}
	x.mu.Unlock()

	if fin != nil {
		x.cancel(fmt.Errorf("%w: %s", errClosed, fin.status))
		x.e.closeExecutionTokens(x)
		if stopTimeout != nil {
			stopTimeout()
		}
		level := slog.LevelInfo
		if fin.status != StatusSucceeded {
			level = slog.LevelWarn
		}
		x.e.log.LogAttrs(x.ctx, level, "execution closed", slog.String("execution_arn", x.arn),
			slog.String("status", string(fin.status)), slog.String("error", fin.errName), slog.String("cause", fin.cause))
	}
	if x.e.opts.OnEvent != nil {
		x.e.opts.OnEvent(x.arn, ev)
	}
	if fin != nil {
		// Last, so that Wait returns once the closing event has been logged and delivered.
		close(x.done)
	}
	return ok
}

func (x *execution) eventCount() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.events)
}

// chargeSilentRetry books a retry that recorded no event against the history quota; it fails
// the execution and returns false when the quota is used up.
func (x *execution) chargeSilentRetry() bool {
	x.mu.Lock()
	x.silentRetries++
	full := len(x.events)+x.silentRetries+1 > x.e.maxEvents
	x.mu.Unlock()
	if full {
		cause := fmt.Sprintf("The execution reached the maximum number of history events (%d).", x.e.maxEvents)
		x.fail(&stateError{Name: ErrorRuntime, Cause: cause})
		return false
	}
	return true
}

// begin records ExecutionStarted and arms the execution timeout; it runs before StartExecution
// returns so that the history is never empty.
func (x *execution) begin() {
	x.record(HistoryEvent{Type: EventExecutionStarted, ExecutionStartedEventDetails: &ExecutionStartedEventDetails{
		Input: string(x.input), InputDetails: noTruncation, RoleArn: x.e.roleARN,
	}}, nil)
	x.e.log.LogAttrs(x.ctx, slog.LevelInfo, "execution started", slog.String("execution_arn", x.arn))
	if s := x.e.def.timeoutSeconds; s > 0 {
		stop := x.e.clock.AfterFunc(x.e.scaledTimeout(time.Duration(s)*time.Second), x.timedOut)
		x.mu.Lock()
		x.stopTimeout = stop
		closed := x.status != StatusRunning
		x.mu.Unlock()
		if closed {
			stop()
		}
	}
}

func (x *execution) timedOut() {
	cause := fmt.Sprintf("The execution ran longer than its TimeoutSeconds (%d).", x.e.def.timeoutSeconds)
	x.record(HistoryEvent{Type: EventExecutionTimedOut, ExecutionTimedOutEventDetails: &ErrorEventDetails{Error: ErrorTimeout, Cause: cause}},
		&closing{status: StatusTimedOut, errName: ErrorTimeout, cause: cause})
}

func (x *execution) abort(errName, cause string) {
	x.record(HistoryEvent{Type: EventExecutionAborted, ExecutionAbortedEventDetails: &ErrorEventDetails{Error: errName, Cause: cause}},
		&closing{status: StatusAborted, errName: errName, cause: cause})
}

func (x *execution) fail(se *stateError) {
	x.record(HistoryEvent{Type: EventExecutionFailed, ExecutionFailedEventDetails: &ErrorEventDetails{Error: se.Name, Cause: se.Cause}},
		&closing{status: StatusFailed, errName: se.Name, cause: se.Cause})
}

func (x *execution) succeed(out string) {
	x.record(HistoryEvent{Type: EventExecutionSucceeded, ExecutionSucceededEventDetails: &ExecutionSucceededEventDetails{Output: out, OutputDetails: noTruncation}},
		&closing{status: StatusSucceeded, output: out})
}

// run is the execution goroutine: one state after the other until a terminal state, an
// unhandled error, or the execution being closed from outside.
func (x *execution) run() {
	defer x.e.wg.Done()
	defer x.e.setBusy(x, false)
	name, input := x.e.def.startAt, x.inputVal
	for x.ctx.Err() == nil {
		st := x.e.def.states[name]
		out, next, err := x.runState(st, input)
		if err != nil {
			var se *stateError
			if errors.As(err, &se) {
				x.fail(se)
			}
			return
		}
		if next == "" {
			outJSON, err := x.dataJSON(out, "the execution output")
			if err != nil {
				x.fail(err)
				return
			}
			x.succeed(outJSON)
			return
		}
		name, input = next, out
	}
}

// dataJSON renders state data for the history, enforcing the 256 KiB payload quota.
func (x *execution) dataJSON(v any, what string) (string, *stateError) {
	b, err := marshalJSON(v)
	if err != nil {
		return "", runtimeError(fmt.Sprintf("%s cannot be serialized: %v", what, err))
	}
	if len(b) > maxPayloadBytes {
		return "", &stateError{Name: ErrorDataLimitExceeded, Cause: fmt.Sprintf("%s has %d bytes, more than the quota of %d", what, len(b), maxPayloadBytes)}
	}
	return string(b), nil
}

func (x *execution) runState(st *state, input any) (any, string, error) {
	inJSON, serr := x.dataJSON(input, fmt.Sprintf("the input of state %q", st.name))
	if serr != nil {
		return nil, "", serr
	}
	if !x.record(HistoryEvent{Type: stateEnteredType(st.typ), StateEnteredEventDetails: &StateEnteredEventDetails{
		Name: st.name, Input: inJSON, InputDetails: noTruncation,
	}}, nil) {
		return nil, "", errClosed
	}
	x.e.log.LogAttrs(x.ctx, slog.LevelDebug, "state entered", slog.String("execution_arn", x.arn), slog.String("state", st.name), slog.String("type", st.typ))
	entered := x.e.now()
	en := &env{x: x, state: st.name, entered: entered}
	var out any
	var err error
	next := st.next
	switch st.typ {
	case "Pass":
		out, err = x.runPass(st, input, en)
	case "Task":
		out, next, err = x.runTask(st, input, entered)
	case "Choice":
		out, next, err = x.runChoice(st, input, en)
	case "Wait":
		out, err = x.runWait(st, input, en)
	case "Succeed":
		out, err = x.runSucceed(st, input, en)
	case "Fail":
		return nil, "", x.runFail(st, input, en)
	}
	if err != nil {
		return nil, "", withStateContext(err, st.name)
	}
	outJSON, serr := x.dataJSON(out, fmt.Sprintf("the output of state %q", st.name))
	if serr != nil {
		return nil, "", serr
	}
	if !x.record(HistoryEvent{Type: stateExitedType(st.typ), StateExitedEventDetails: &StateExitedEventDetails{
		Name: st.name, Output: outJSON, OutputDetails: noTruncation,
	}}, nil) {
		return nil, "", errClosed
	}
	return out, next, nil
}

// withStateContext prefixes States.Runtime causes with the state, as Step Functions does.
func withStateContext(err error, name string) error {
	var se *stateError
	if errors.As(err, &se) && se.Name == ErrorRuntime {
		return &stateError{Name: se.Name, Cause: fmt.Sprintf("An error occurred while executing the state '%s'. %s", name, se.Cause)}
	}
	return err
}

func (ip ioPath) apply(v any, en *env, field string) (any, error) {
	switch {
	case !ip.set:
		return v, nil
	case ip.null:
		return map[string]any{}, nil
	}
	out, ok := ip.p.get(v, en)
	if !ok {
		return nil, runtimeError(fmt.Sprintf("Invalid path '%s' in %s: no results for the path in the input.", ip.p.src, field))
	}
	return out, nil
}

// applyResultPath places result into the state's raw input as ResultPath (or a Catcher's) says.
func applyResultPath(rp ioPath, raw, result any) (any, error) {
	switch {
	case rp.null:
		return raw, nil
	case !rp.set || rp.p.isRoot():
		return result, nil
	}
	out, err := rp.p.set(raw, result)
	if err != nil {
		return nil, &stateError{Name: ErrorResultPathMatchFailure, Cause: fmt.Sprintf("Unable to apply ResultPath '%s' to the input: %v", rp.p.src, err)}
	}
	return out, nil
}

func (x *execution) runPass(st *state, input any, en *env) (any, error) {
	eff, err := st.inputPath.apply(input, en, "InputPath")
	if err != nil {
		return nil, err
	}
	if st.parameters != nil {
		if eff, err = st.parameters.eval(eff, en); err != nil {
			return nil, err
		}
	}
	result := eff
	if st.hasResult {
		result = st.result
	}
	out, err := applyResultPath(st.resultPath, input, result)
	if err != nil {
		return nil, err
	}
	return st.outputPath.apply(out, en, "OutputPath")
}

func (x *execution) runChoice(st *state, input any, en *env) (any, string, error) {
	eff, err := st.inputPath.apply(input, en, "InputPath")
	if err != nil {
		return nil, "", err
	}
	next := ""
	for _, r := range st.choices {
		ok, err := r.cond.eval(eff, en)
		if err != nil {
			return nil, "", err
		}
		if ok {
			next = r.next
			break
		}
	}
	if next == "" {
		if st.defaultNext == "" {
			return nil, "", &stateError{Name: ErrorNoChoiceMatched, Cause: fmt.Sprintf("No Choice rule of state '%s' matched the input and there is no Default.", st.name)}
		}
		next = st.defaultNext
	}
	out, err := st.outputPath.apply(eff, en, "OutputPath")
	return out, next, err
}

func (x *execution) runWait(st *state, input any, en *env) (any, error) {
	eff, err := st.inputPath.apply(input, en, "InputPath")
	if err != nil {
		return nil, err
	}
	w := st.wait
	var d time.Duration
	switch {
	case w.hasSeconds:
		d = time.Duration(w.seconds) * time.Second
	case w.hasTimestamp:
		d = w.timestamp.Sub(x.e.now())
	case w.secondsPath != nil:
		v, ok := w.secondsPath.get(eff, en)
		n, isInt := toInt(v)
		if !ok || !isInt || n < 0 || n > maxSeconds {
			return nil, runtimeError(fmt.Sprintf("The SecondsPath '%s' must resolve to a non-negative integer, got %s.", w.secondsPath.src, describeValue(v, ok)))
		}
		d = time.Duration(n) * time.Second
	case w.timestampPath != nil:
		v, ok := w.timestampPath.get(eff, en)
		t, isTS := timestampValue(v)
		if !ok || !isTS {
			return nil, runtimeError(fmt.Sprintf("The TimestampPath '%s' must resolve to an RFC 3339 timestamp, got %s.", w.timestampPath.src, describeValue(v, ok)))
		}
		d = t.Sub(x.e.now())
	}
	if d > 0 && !x.sleep(d) {
		return nil, errClosed
	}
	return st.outputPath.apply(eff, en, "OutputPath")
}

// sleep waits d (scaled), idle for Shutdown, and reports whether the execution is still open.
func (x *execution) sleep(d time.Duration) bool {
	x.e.setBusy(x, false)
	err := x.e.clock.Sleep(x.ctx, x.e.scaled(d))
	x.e.setBusy(x, true)
	return err == nil && x.ctx.Err() == nil
}

func describeValue(v any, ok bool) string {
	if !ok {
		return "nothing (the path does not exist)"
	}
	return jsonString(v)
}

func (x *execution) runSucceed(st *state, input any, en *env) (any, error) {
	eff, err := st.inputPath.apply(input, en, "InputPath")
	if err != nil {
		return nil, err
	}
	return st.outputPath.apply(eff, en, "OutputPath")
}

func (x *execution) runFail(st *state, input any, en *env) error {
	errName, cause := st.failError, st.failCause
	for _, f := range []struct {
		dyn *dynValue
		dst *string
		fld string
	}{{st.failErrorDyn, &errName, "ErrorPath"}, {st.failCauseDyn, &cause, "CausePath"}} {
		if f.dyn == nil {
			continue
		}
		v, err := f.dyn.eval(input, en)
		if err != nil {
			return withStateContext(err, st.name)
		}
		s, ok := v.(string)
		if !ok {
			return withStateContext(runtimeError(fmt.Sprintf("The %s '%s' must resolve to a string, got %s.", f.fld, f.dyn.src, jsonType(v))), st.name)
		}
		*f.dst = s
	}
	return &stateError{Name: errName, Cause: cause}
}

// env is what path and intrinsic evaluation may need besides the input: the context object ($$)
// and the engine's random source.
type env struct {
	x          *execution
	state      string
	entered    time.Time
	retryCount int
	token      string
	ctxObj     any
}

// contextTime formats times as the context object does (ISO 8601, milliseconds, UTC).
func contextTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (en *env) contextObject() any {
	if en.ctxObj != nil || en.x == nil {
		return en.ctxObj
	}
	x := en.x
	c := map[string]any{
		"Execution": map[string]any{
			"Id": x.arn, "Input": x.inputVal, "Name": x.name, "RoleArn": x.e.roleARN,
			"StartTime": contextTime(x.start), "RedriveCount": json.Number("0"),
		},
		"State": map[string]any{
			"EnteredTime": contextTime(en.entered), "Name": en.state, "RetryCount": intNumber(int64(en.retryCount)),
		},
		"StateMachine": map[string]any{"Id": x.e.smARN, "Name": x.e.smName},
	}
	if en.token != "" {
		c["Task"] = map[string]any{"Token": en.token}
	}
	en.ctxObj = c
	return c
}

func (en *env) random() float64 {
	if en == nil || en.x == nil {
		return mrand.Float64()
	}
	return en.x.e.random()
}
