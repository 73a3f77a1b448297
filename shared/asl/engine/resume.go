package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/asl"
)

// ExecutionSnapshot is an execution as Options.Checkpoint receives it and Restore takes it back.
//
// Checkpoint receives Progress without its history (Progress.Events is empty) and NewEvents, the events
// recorded since the previous successful checkpoint of the execution, so that the store appends them in
// the same transaction as it replaces the progress. Restore takes Progress with the whole history in
// Progress.Events (NewEvents is ignored).
type ExecutionSnapshot struct {
	ExecutionARN string    `json:"executionArn"`
	Name         string    `json:"name"`
	Input        string    `json:"input"`
	StartDate    time.Time `json:"startDate"`
	Progress     Progress  `json:"progress"`
	// FirstEventID is the ID of NewEvents[0] (history event IDs are 1, 2, ...).
	FirstEventID int64          `json:"firstEventId,omitempty"`
	NewEvents    []HistoryEvent `json:"newEvents,omitempty"`
}

// UnmarshalJSON decodes a Progress as MarshalJSON encoded it, with the state input's numbers kept as the
// interpreter reads them (json.Number, not float64).
func (p *Progress) UnmarshalJSON(b []byte) error {
	type plain Progress // without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // StateInput is the only value of type any
	return dec.Decode((*plain)(p))
}

// TaskOutcome is a callback task's answer: Output for SendTaskSuccess, Error and Cause for
// SendTaskFailure.
type TaskOutcome struct {
	Token  string `json:"token"`
	Output string `json:"output,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	value  any    // Output decoded
}

// deliver hands a callback's answer to its task. With Options.Checkpoint it is saved with the
// execution first, so that an answer SendTask* accepted outlives a crash before the task records it.
func (e *Engine) deliver(t *taskToken, o TaskOutcome) {
	if e.opts.Checkpoint != nil {
		t.x.update(func(p *Progress) { p.Outcome = &o })
		t.x.checkpoint()
	}
	t.result <- o
}

// errSuspended cancels the executions that Shutdown leaves running for a later Restore.
var errSuspended = errors.New("execution suspended by the engine's shutdown")

// checkpoint hands the execution's progress and its new history events to Options.Checkpoint. Calls are
// serialised per execution; a failed one is logged and its events go with the next one.
func (x *execution) checkpoint() {
	save := x.e.opts.Checkpoint
	if save == nil || x.e.suspended.Load() {
		return
	}
	x.ckMu.Lock()
	defer x.ckMu.Unlock()
	x.mu.Lock()
	p := x.p
	p.Events = nil
	p.Attempts = slices.Clone(x.p.Attempts)
	p.Transitions = slices.Clone(x.p.Transitions)
	n := len(x.p.Events)
	newEvents := slices.Clone(x.p.Events[x.saved:])
	x.mu.Unlock()
	s := ExecutionSnapshot{
		ExecutionARN: x.arn, Name: x.name, Input: string(x.input), StartDate: x.start, Progress: p,
		FirstEventID: int64(x.saved + 1), NewEvents: newEvents,
	}
	if err := save(s); err != nil {
		x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelWarn, "execution checkpoint failed", slog.String("execution_arn", x.arn), slog.String("error", err.Error()))
		return
	}
	x.saved = n
}

// suspend stops a running execution without closing it: its goroutine ends, its timers are released
// and its tokens expire, and its last checkpoint still says RUNNING, so that Restore resumes it in the
// next process.
func (x *execution) suspend() { x.release(errSuspended) }

// Restore adds an execution from a snapshot that Options.Checkpoint received, with its whole history in
// Progress.Events. A closed execution is readable again (DescribeExecution, GetExecutionHistory,
// ListExecutions). A running one resumes where its last checkpoint left it: the state it had entered
// runs again from its input (a Task's function is invoked again: steps must be idempotent), except that a
// Wait state or a retry back-off sleeps only the time it had left, and a callback task whose function had
// returned waits again for the same token, with the timeout it had left; a timeout that passed while the
// engine was down fails the task with States.Timeout at once, into its Retry and Catch. The execution
// timeout keeps counting from the execution's start. The token is registered before Restore returns, so that SendTaskSuccess may be called right
// after; an answer SendTask* had accepted before the crash (Progress.Outcome) is recorded at once. The
// same name may not be restored or started twice.
func (e *Engine) Restore(ctx context.Context, s ExecutionSnapshot) error {
	if s.ExecutionARN != strings.Replace(e.smARN, ":stateMachine:", ":execution:", 1)+":"+s.Name {
		return fmt.Errorf("engine: restore %q: not an execution of %s named %q: %w", s.ExecutionARN, e.smARN, s.Name, ErrValidation)
	}
	input := []byte(s.Input)
	val, err := asl.DecodeJSON(input)
	if err != nil {
		return fmt.Errorf("engine: restore %q: input: %v: %w", s.ExecutionARN, err, ErrInvalidExecutionInput)
	}
	p := s.Progress
	if len(p.Events) == 0 {
		return fmt.Errorf("engine: restore %q: no history: %w", s.ExecutionARN, ErrValidation)
	}
	x := newExecution(e, ctx, s.ExecutionARN, s.Name, input, val)
	x.start, x.saved, x.p = s.StartDate, len(p.Events), p
	running := p.Status == StatusRunning
	st := e.def.State(p.State)
	x.resumed = running && p.State != "" && !p.Entered.IsZero() && st != nil
	waiting := x.resumed && p.Submitted && p.Token != "" && st.Type() == "Task" && st.Task().Callback
	var outcome *TaskOutcome
	if o := p.Outcome; waiting && o != nil && o.Token == p.Token {
		outcome = &TaskOutcome{Token: o.Token, Output: o.Output, Failed: o.Failed, Error: o.Error, Cause: o.Cause}
		if outcome.value, err = asl.DecodeJSON([]byte(o.Output)); err != nil && !o.Failed {
			return fmt.Errorf("engine: restore %q: saved task output: %w", s.ExecutionARN, err)
		}
	}

	if _, err := e.add(x); err != nil {
		return fmt.Errorf("engine: restore %q: %w", s.ExecutionARN, err)
	}
	if !running {
		x.cancel(fmt.Errorf("%w: %s", errClosed, p.Status))
		close(x.done)
		return nil
	}

	if waiting {
		x.resumeToken = e.registerToken(p.Token, x)
		if outcome != nil {
			// Answered before the crash: the task records the saved answer as soon as it runs.
			e.closeTokens(x.resumeToken)
			x.resumeToken.result <- *outcome
		}
	}
	e.opts.Logger.LogAttrs(x.ctx, slog.LevelInfo, "execution resumed", slog.String("execution_arn", x.arn),
		slog.String("state", p.State), slog.Bool("waiting_for_callback", waiting))
	if sec := e.def.TimeoutSeconds(); sec > 0 {
		left := e.scaledTimeout(sec) - e.now().Sub(x.start)
		stop := e.opts.Clock.AfterFunc(max(left, 0), x.timedOut)
		x.mu.Lock()
		x.stopTimeout = stop
		x.mu.Unlock()
	}
	go x.run()
	return nil
}
