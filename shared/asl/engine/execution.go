package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/waes/onboarding/shared/asl"
)

// Progress is everything about an execution that changes while it runs, in one serializable
// value: its status, the state it is in with that state's raw input, the retries done there, the
// task token and deadline it waits on, and its history. The run loop updates it at every
// transition (see execution.transition), where Options.Checkpoint receives it (resume.go).
type Progress struct {
	Status   ExecutionStatus `json:"status"`
	Output   string          `json:"output,omitempty"`
	Error    string          `json:"error,omitempty"`
	Cause    string          `json:"cause,omitempty"`
	StopDate time.Time       `json:"stopDate,omitzero"`

	State      string    `json:"state,omitempty"` // the state being run (or last run, once closed)
	StateInput any       `json:"stateInput,omitempty"`
	Entered    time.Time `json:"entered,omitzero"`
	// Attempts counts the retries done per retrier of State.
	Attempts []int64 `json:"attempts,omitempty"`
	// Token and Deadline describe the task attempt in progress (Deadline zero: no timeout).
	Token    string    `json:"token,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`

	Events      []HistoryEvent `json:"events"`
	Transitions []string       `json:"transitions"`
	// SilentRetries counts retries of attempts that failed before recording anything (an
	// intrinsic failing in Parameters); they use up the history quota as if they had recorded
	// events, so that such a retry loop cannot spin forever on a clock that does not sleep.
	SilentRetries int `json:"silentRetries,omitempty"`
	// WakeAt is when the sleep in progress ends (a Wait state or a retry back-off); Submitted says that a
	// callback task's function returned and the task waits for Token. Restore resumes from them.
	WakeAt    time.Time `json:"wakeAt,omitzero"`
	Submitted bool      `json:"submitted,omitempty"`
	// Outcome is the answer SendTaskSuccess or SendTaskFailure accepted for a callback task, saved
	// before the task records it (with Options.Checkpoint).
	Outcome *TaskOutcome `json:"outcome,omitempty"`
}

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
	busy   bool       // see Engine.setBusy; guarded by Engine.mu

	mu          sync.Mutex
	p           Progress
	stopTimeout func() bool

	ckMu  sync.Mutex // serialises checkpoints
	saved int        // events handed to a successful checkpoint; guarded by ckMu

	// Set by Restore, used by the run goroutine only: resumed says that the entry of the state the
	// execution is in is already in the history; resumeToken is the token a callback task whose
	// function had returned waits on again.
	resumed     bool
	resumeToken *taskToken
}

func newExecution(e *Engine, parent context.Context, arn, name string, input []byte, val any) *execution {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	return &execution{
		e: e, arn: arn, name: name, input: input, inputVal: val, start: e.now(),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), p: Progress{Status: StatusRunning},
	}
}

func (x *execution) describe() ExecutionDescription {
	x.mu.Lock()
	defer x.mu.Unlock()
	return ExecutionDescription{
		ExecutionARN: x.arn, StateMachineARN: x.e.smARN, Name: x.name, Status: x.p.Status,
		Input: string(x.input), Output: x.p.Output, Error: x.p.Error, Cause: x.p.Cause,
		StartDate: x.start, StopDate: x.p.StopDate,
	}
}

// update changes the progress under the execution's lock.
func (x *execution) update(f func(p *Progress)) {
	x.mu.Lock()
	f(&x.p)
	x.mu.Unlock()
}

// closing describes the terminal transition recorded together with the last event.
type closing struct {
	status ExecutionStatus
	ExecutionEventDetails
}

func (x *execution) quotaCause() string {
	return fmt.Sprintf("The execution reached the maximum number of history events (%d).", x.e.opts.MaxHistoryEvents)
}

// record appends an event to a running execution's history; with fin it also closes the
// execution. It returns false, recording nothing, if the execution is already closed, or if the
// history quota is reached, in which case the execution fails instead.
func (x *execution) record(ev HistoryEvent, fin *closing) bool {
	x.hookMu.Lock()
	defer x.hookMu.Unlock()
	x.mu.Lock()
	if x.p.Status != StatusRunning || x.e.suspended.Load() {
		x.mu.Unlock()
		return false
	}
	ok := true
	if fin == nil && len(x.p.Events)+x.p.SilentRetries+2 > x.e.opts.MaxHistoryEvents {
		// Keep the last slot for the ExecutionFailed event.
		fin = &closing{StatusFailed, ExecutionEventDetails{Error: asl.ErrorRuntime, Cause: x.quotaCause()}}
		ev = executionEvent(EventExecutionFailed, &fin.ExecutionEventDetails)
		ok = false
	}
	now := x.e.now()
	ev.Timestamp = now
	ev.ID = int64(len(x.p.Events) + 1)
	ev.PreviousEventID = ev.ID - 1
	x.p.Events = append(x.p.Events, ev)
	if d := ev.StateEnteredEventDetails; d != nil {
		x.p.Transitions = append(x.p.Transitions, d.Name)
	}
	if fin != nil {
		x.p.Status, x.p.Output, x.p.Error, x.p.Cause, x.p.StopDate = fin.status, fin.Output, fin.Error, fin.Cause, now
		x.p.Token, x.p.Deadline = "", time.Time{}
	}
	x.mu.Unlock()

	if fin != nil {
		x.closed(fin)
		x.checkpoint()
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

// closed releases what a closed execution holds and logs its end.
func (x *execution) closed(fin *closing) {
	x.release(fmt.Errorf("%w: %s", errClosed, fin.status))
	level := slog.LevelInfo
	if fin.status != StatusSucceeded {
		level = slog.LevelWarn
	}
	x.e.opts.Logger.LogAttrs(x.ctx, level, "execution closed", slog.String("execution_arn", x.arn),
		slog.String("status", string(fin.status)), slog.String("error", fin.Error), slog.String("cause", fin.Cause))
}

// release cancels the execution's context, which ends its goroutine and expires its tokens, and
// stops its execution timeout.
func (x *execution) release(cause error) {
	x.cancel(cause)
	x.mu.Lock()
	stop := x.stopTimeout
	x.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// chargeSilentRetry books a retry that recorded no event against the history quota; it fails
// the execution and returns false when the quota is used up.
func (x *execution) chargeSilentRetry() bool {
	x.mu.Lock()
	x.p.SilentRetries++
	full := len(x.p.Events)+x.p.SilentRetries+1 > x.e.opts.MaxHistoryEvents
	x.mu.Unlock()
	if full {
		x.fail(&asl.Error{Name: asl.ErrorRuntime, Cause: x.quotaCause()})
		return false
	}
	return true
}

// begin records ExecutionStarted and arms the execution timeout; it runs before StartExecution
// returns so that the history is never empty.
func (x *execution) begin() {
	x.record(executionEvent(EventExecutionStarted, &ExecutionEventDetails{Input: string(x.input)}), nil)
	x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "execution started", slog.String("execution_arn", x.arn))
	if s := x.e.def.TimeoutSeconds(); s > 0 {
		stop := x.e.opts.Clock.AfterFunc(x.e.scaledTimeout(s), x.timedOut)
		x.mu.Lock()
		x.stopTimeout = stop
		closed := x.p.Status != StatusRunning
		x.mu.Unlock()
		if closed {
			stop()
		}
	}
}

// finish closes the execution with the given status, recording its closing event.
func (x *execution) finish(typ EventType, fin *closing) {
	x.record(executionEvent(typ, &fin.ExecutionEventDetails), fin)
}

func (x *execution) timedOut() {
	cause := fmt.Sprintf("The execution ran longer than its TimeoutSeconds (%d).", x.e.def.TimeoutSeconds())
	x.finish(EventExecutionTimedOut, &closing{StatusTimedOut, ExecutionEventDetails{Error: asl.ErrorTimeout, Cause: cause}})
}

func (x *execution) fail(se *asl.Error) {
	x.finish(EventExecutionFailed, &closing{StatusFailed, ExecutionEventDetails{Error: se.Name, Cause: se.Cause}})
}

// transition moves the execution to the named state with its raw input, and checkpoints it: the
// whole resumable state is in x.p at this point.
func (x *execution) transition(name string, input any) {
	x.update(func(p *Progress) {
		p.State, p.StateInput, p.Entered = name, input, time.Time{}
		p.Attempts, p.Token, p.Deadline = nil, "", time.Time{}
		p.WakeAt, p.Submitted, p.Outcome = time.Time{}, false, nil
	})
	x.checkpoint()
}

// run is the execution goroutine: one state after the other until a terminal state, an
// unhandled error, or the execution being closed from outside.
func (x *execution) run() {
	defer x.e.wg.Done()
	defer x.e.setBusy(x, false)
	x.mu.Lock()
	first := x.p.State == ""
	x.mu.Unlock()
	if first {
		x.transition(x.e.def.StartAt(), x.inputVal)
	}
	for x.ctx.Err() == nil {
		x.mu.Lock()
		name, input := x.p.State, x.p.StateInput
		x.mu.Unlock()
		st := x.e.def.State(name)
		if st == nil { // restored by a process with another definition
			x.fail(asl.RuntimeError(fmt.Sprintf("The execution cannot resume: its state %q is not in the definition.", name)))
			return
		}
		out, next, err := x.runState(st, input)
		if err != nil {
			if se, ok := errors.AsType[*asl.Error](err); ok {
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
			x.finish(EventExecutionSucceeded, &closing{StatusSucceeded, ExecutionEventDetails{Output: outJSON}})
			return
		}
		x.transition(next, out)
	}
}

// dataJSON renders state data for the history, enforcing the 256 KiB payload quota.
func (x *execution) dataJSON(v any, what string) (string, *asl.Error) {
	b, err := asl.MarshalJSON(v)
	if err != nil {
		return "", asl.RuntimeError(fmt.Sprintf("%s cannot be serialized: %v", what, err))
	}
	if len(b) > asl.MaxPayloadBytes {
		return "", &asl.Error{Name: asl.ErrorDataLimitExceeded, Cause: fmt.Sprintf("%s has %d bytes, more than the quota of %d", what, len(b), asl.MaxPayloadBytes)}
	}
	return string(b), nil
}

// runState records the state's entry, runs it and records its exit.
func (x *execution) runState(st *asl.State, input any) (any, string, error) {
	inJSON, serr := x.dataJSON(input, fmt.Sprintf("the input of state %q", st.Name()))
	if serr != nil {
		return nil, "", serr
	}
	// A restored execution resumes inside the state it had entered, whose entry is in the history.
	if !x.resumed {
		if !x.record(HistoryEvent{Type: EventType(st.Type() + "StateEntered"), StateEnteredEventDetails: &StateEventDetails{Name: st.Name(), Input: inJSON}}, nil) {
			return nil, "", errClosed
		}
		x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelDebug, "state entered", slog.String("execution_arn", x.arn), slog.String("state", st.Name()), slog.String("type", st.Type()))
		x.update(func(p *Progress) { p.Entered = x.e.now() })
	}
	x.resumed = false
	if st.Type() == "Fail" {
		return nil, "", st.Fail(input)
	}
	out, next, err := x.runStep(st, input)
	if err != nil {
		return nil, "", withStateContext(err, st.Name())
	}
	outJSON, serr := x.dataJSON(out, fmt.Sprintf("the output of state %q", st.Name()))
	if serr != nil {
		return nil, "", serr
	}
	if !x.record(HistoryEvent{Type: EventType(st.Type() + "StateExited"), StateExitedEventDetails: &StateEventDetails{Name: st.Name(), Output: outJSON}}, nil) {
		return nil, "", errClosed
	}
	return out, next, nil
}

// runStep runs every state but Fail through the same pipeline: input (Parameters), the state's own
// work (a task, a choice, a wait), output (ResultSelector, ResultPath).
func (x *execution) runStep(st *asl.State, input any) (any, string, error) {
	if st.Type() == "Task" {
		return x.runTask(st, input)
	}
	params, err := st.Input(input, "")
	if err != nil {
		return nil, "", err
	}
	result, next := input, st.Next()
	switch st.Type() {
	case "Pass":
		result = st.PassResult(params)
	case "Choice":
		next, err = st.Choose(input)
	case "Wait":
		var d time.Duration
		if d, err = st.WaitDuration(input); err == nil && d > 0 && !x.sleep(d) {
			err = errClosed
		}
	}
	if err != nil {
		return nil, "", err
	}
	out, err := st.Output(input, result)
	return out, next, err
}

// withStateContext prefixes States.Runtime causes with the state, as Step Functions does.
func withStateContext(err error, name string) error {
	if se, ok := errors.AsType[*asl.Error](err); ok && se.Name == asl.ErrorRuntime {
		return &asl.Error{Name: se.Name, Cause: fmt.Sprintf("An error occurred while executing the state '%s'. %s", name, se.Cause)}
	}
	return err
}

// sleep waits d (scaled), idle for Shutdown, and reports whether the execution is still open. A
// restored Wait state or retry back-off sleeps only what it had left (until Progress.WakeAt).
func (x *execution) sleep(d time.Duration) bool {
	now := x.e.now()
	x.mu.Lock()
	sd := max(x.p.WakeAt.Sub(now), 0)
	if x.p.WakeAt.IsZero() {
		sd = x.e.scaled(d)
		x.p.WakeAt = now.Add(sd)
	}
	x.mu.Unlock()
	x.checkpoint()
	x.e.setBusy(x, false)
	err := x.e.opts.Clock.Sleep(x.ctx, sd)
	x.e.setBusy(x, true)
	x.update(func(p *Progress) { p.WakeAt = time.Time{} })
	return err == nil && x.ctx.Err() == nil
}
