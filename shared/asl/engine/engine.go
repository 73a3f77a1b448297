package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/asl"
)

// Options configures an Engine. The zero value works: real time, no functions, a discarded log.
type Options struct {
	// Name (default StateMachine), Region (us-east-1) and AccountID (123456789012) make the ARNs.
	Name      string
	Region    string
	AccountID string

	// Functions maps Lambda function names or ARNs to handlers (lambda.NewHandler). A FunctionName
	// is looked up as written, then as the function name of its ARN.
	Functions map[string]lambda.Handler

	// TimeScale multiplies every duration the definition asks for (Wait states, retry back-off,
	// timeouts): 1 (or 0, the default) is real time; the local runner uses e.g. 0.01, so that the
	// definition keeps its production values. History and causes show the definition's values.
	TimeScale float64
	// TimeoutScale, when set, replaces TimeScale for task and execution timeouts (the
	// local runner keeps them real: a step's Graph calls take real time whatever the scale).
	TimeoutScale float64
	// Clock defaults to the real clock; tests pass a *FakeClock.
	Clock Clock
	// Rand returns numbers in [0, 1) for FULL jitter. Default: math/rand/v2.
	// Calls are serialised by the engine, so a *rand.Rand's Float64 may be used directly.
	Rand func() float64

	// Logger receives structured logs (default: discarded). Execution input and output are never
	// logged; error causes are.
	Logger *slog.Logger
	// OnEvent is called synchronously, in order, for every history event of every execution. It
	// must not block, nor call Shutdown.
	OnEvent func(executionARN string, ev HistoryEvent)
	// MaxHistoryEvents fails an execution with States.Runtime when its history would exceed it
	// (Step Functions' quota, default 25,000), which also stops runaway Choice loops.
	MaxHistoryEvents int
	// Checkpoint, when set, makes executions durable: it is called with the execution's snapshot when
	// it starts (before StartExecution returns), at every state transition, when it starts to wait (a
	// Wait state, a retry back-off, a callback task whose function returned) and when it closes. Calls
	// for one execution are serialised and in order. An error is logged and the execution goes on; its
	// events are handed over again with the next checkpoint. With Checkpoint set, Shutdown suspends the
	// executions still running instead of aborting them, so that Restore resumes them in the next process.
	Checkpoint func(ExecutionSnapshot) error
}

// ExecutionStatus is the status of an execution, as DescribeExecution reports it.
type ExecutionStatus string

// Execution statuses.
const (
	StatusRunning   ExecutionStatus = "RUNNING"
	StatusSucceeded ExecutionStatus = "SUCCEEDED"
	StatusFailed    ExecutionStatus = "FAILED"
	StatusTimedOut  ExecutionStatus = "TIMED_OUT"
	StatusAborted   ExecutionStatus = "ABORTED"
)

// ExecutionDescription is what DescribeExecution returns. Input and Output are JSON text; Output
// is set only for SUCCEEDED executions, Error and Cause only for the other closed statuses.
type ExecutionDescription struct {
	ExecutionARN    string          `json:"executionArn"`
	StateMachineARN string          `json:"stateMachineArn"`
	Name            string          `json:"name"`
	Status          ExecutionStatus `json:"status"`
	Input           string          `json:"input"`
	Output          string          `json:"output,omitempty"`
	Error           string          `json:"error,omitempty"`
	Cause           string          `json:"cause,omitempty"`
	StartDate       time.Time       `json:"startDate"`
	StopDate        time.Time       `json:"stopDate,omitzero"`
}

// Engine runs executions of one state machine definition in goroutines, with the API of Step
// Functions (StartExecution, DescribeExecution, SendTaskSuccess, ...). It is safe for concurrent use.
type Engine struct {
	def                 *asl.Definition
	opts                Options
	smARN               string
	scale, timeoutScale float64

	randMu  sync.Mutex
	fnLocks sync.Map // function name: *sync.Mutex

	mu         sync.Mutex
	executions map[string]*execution
	order      []*execution
	tokens     map[string]*taskToken
	closing    bool
	suspended  atomic.Bool // Shutdown suspended the executions: nothing more is recorded or checkpointed

	busy     int            // executions doing work: not sleeping, waiting for a callback or parked
	quiet    chan struct{}  // closed while busy == 0
	wg       sync.WaitGroup // execution goroutines
	handlers sync.WaitGroup // handler goroutines, including abandoned ones (timed out, answered early)
}

// New returns an engine for def.
func New(def *asl.Definition, opts Options) *Engine {
	opts.Functions = maps.Clone(opts.Functions) // read from many goroutines: keep a copy
	opts.Name = cmp.Or(opts.Name, "StateMachine")
	opts.Region = cmp.Or(opts.Region, "us-east-1")
	opts.AccountID = cmp.Or(opts.AccountID, "123456789012")
	opts.Clock = cmp.Or(opts.Clock, Clock(realClock{}))
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.MaxHistoryEvents = cmp.Or(max(opts.MaxHistoryEvents, 0), 25000)
	e := &Engine{
		def: def, opts: opts,
		smARN:      fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", opts.Region, opts.AccountID, opts.Name),
		executions: map[string]*execution{}, tokens: map[string]*taskToken{},
		quiet: make(chan struct{}),
	}
	close(e.quiet)
	e.scale = cmp.Or(max(opts.TimeScale, 0), 1)
	e.timeoutScale = cmp.Or(max(opts.TimeoutScale, 0), e.scale)
	return e
}

// StateMachineARN returns the ARN executions of this engine belong to.
func (e *Engine) StateMachineARN() string { return e.smARN }

func (e *Engine) now() time.Time { return e.opts.Clock.Now() }

func (e *Engine) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * e.scale) }

// scaledTimeout scales a task or execution timeout.
func (e *Engine) scaledTimeout(seconds int64) time.Duration {
	return time.Duration(float64(time.Duration(seconds)*time.Second) * e.timeoutScale)
}

func (e *Engine) random() float64 {
	if e.opts.Rand == nil {
		return mrand.Float64()
	}
	e.randMu.Lock()
	defer e.randMu.Unlock()
	return e.opts.Rand()
}

// StartExecution starts an execution and returns its ARN (empty name: a UUID; empty input: {}).
// It is idempotent while the execution with that name and input is RUNNING; otherwise a used name
// fails with ErrExecutionAlreadyExists. ctx only provides values (for logging) to the execution.
func (e *Engine) StartExecution(ctx context.Context, name string, input []byte) (string, error) {
	if name == "" {
		name = newUUID()
	}
	if utf8.RuneCountInString(name) > 80 || strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`"+`$&,;:/`, r)
	}) {
		return "", fmt.Errorf("engine: start execution %q: %w", name, ErrInvalidName)
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = []byte("{}")
	}
	val, err := asl.DecodeJSON(input)
	if err != nil || len(input) > asl.MaxPayloadBytes {
		return "", fmt.Errorf("engine: start execution %q: %d bytes, %v: %w", name, len(input), err, ErrInvalidExecutionInput)
	}
	arn := strings.Replace(e.smARN, ":stateMachine:", ":execution:", 1) + ":" + name
	x := newExecution(e, ctx, arn, name, bytes.Clone(input), val)
	if old, err := e.add(x); old != nil && old.describe().Status == StatusRunning && bytes.Equal(old.input, input) {
		return arn, nil
	} else if err != nil {
		return "", fmt.Errorf("engine: start execution %q: %w", name, err)
	}
	x.begin()
	x.checkpoint()
	go x.run()
	return arn, nil
}

// add registers x, a running execution (whose goroutine the caller starts) or a closed one. It fails
// during Shutdown, and when an execution has x's ARN already, which it returns.
func (e *Engine) add(x *execution) (*execution, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return nil, ErrEngineShutdown
	}
	if old, ok := e.executions[x.arn]; ok {
		return old, ErrExecutionAlreadyExists
	}
	e.executions[x.arn] = x
	e.order = append(e.order, x)
	if x.p.Status == StatusRunning {
		e.wg.Add(1)
		e.setBusyLocked(x, true)
	}
	return nil, nil
}

func (e *Engine) lookup(arn string) (*execution, error) {
	e.mu.Lock()
	x, ok := e.executions[arn]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("engine: execution %q: %w", arn, ErrExecutionDoesNotExist)
	}
	return x, nil
}

// DescribeExecution returns the current state of an execution.
func (e *Engine) DescribeExecution(arn string) (ExecutionDescription, error) {
	x, err := e.lookup(arn)
	if err != nil {
		return ExecutionDescription{}, err
	}
	return x.describe(), nil
}

// GetExecutionHistory returns a copy of the execution's history, oldest event first.
func (e *Engine) GetExecutionHistory(arn string) ([]HistoryEvent, error) {
	x, err := e.lookup(arn)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.p.Events), nil
}

// StateTransitions returns the names of the states the execution entered, in order (a state
// retried by a Retrier is entered once; a state visited again through a loop appears again).
// It returns nil for an unknown ARN.
func (e *Engine) StateTransitions(arn string) []string {
	x, err := e.lookup(arn)
	if err != nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.p.Transitions)
}

// ListExecutions returns the executions with the given status ("" for all), newest first.
func (e *Engine) ListExecutions(status ExecutionStatus) []ExecutionDescription {
	e.mu.Lock()
	all := slices.Clone(e.order)
	e.mu.Unlock()
	var out []ExecutionDescription
	for _, x := range slices.Backward(all) {
		if d := x.describe(); status == "" || d.Status == status {
			out = append(out, d)
		}
	}
	return out
}

// Wait blocks until the execution is closed (or ctx is done) and returns its description.
func (e *Engine) Wait(ctx context.Context, arn string) (ExecutionDescription, error) {
	x, err := e.lookup(arn)
	if err != nil {
		return ExecutionDescription{}, err
	}
	select {
	case <-x.done:
		return x.describe(), nil
	case <-ctx.Done():
		return x.describe(), fmt.Errorf("engine: wait for %q: %w", arn, ctx.Err())
	}
}

// Shutdown stops the engine: StartExecution fails with ErrEngineShutdown and no new task is
// scheduled. It lets the work in flight finish until every execution is idle (parked before a
// task, sleeping, or waiting for a token), aborts every execution still running, and waits for
// the execution and handler goroutines. If ctx ends first, the rest is aborted at once, handler
// contexts are cancelled, and Shutdown returns ctx's error.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()

	var err error
	for err == nil {
		e.mu.Lock()
		busy, quiet := e.busy, e.quiet
		e.mu.Unlock()
		if busy == 0 {
			break
		}
		select {
		case <-quiet:
		case <-ctx.Done():
			err = fmt.Errorf("engine: shutdown: %d executions still busy: %w", busy, ctx.Err())
		}
	}

	e.mu.Lock()
	all := slices.Clone(e.order)
	e.mu.Unlock()
	suspending := e.opts.Checkpoint != nil
	e.suspended.Store(suspending)
	for _, x := range all {
		if suspending {
			x.suspend()
			continue
		}
		x.finish(EventExecutionAborted, &closing{StatusAborted, ExecutionEventDetails{Cause: "The state machine engine was shut down."}})
	}
	e.wg.Wait()

	if err == nil {
		handlersDone := make(chan struct{})
		go func() {
			e.handlers.Wait()
			close(handlersDone)
		}()
		select {
		case <-handlersDone:
		case <-ctx.Done():
			err = fmt.Errorf("engine: shutdown: task handlers still running: %w", ctx.Err())
		}
	}
	e.opts.Logger.Info("state machine engine shut down", slog.String("state_machine_arn", e.smARN), slog.Bool("clean", err == nil))
	return err
}

// setBusyLocked records whether x is doing work; Shutdown waits for all executions to be idle.
func (e *Engine) setBusyLocked(x *execution, busy bool) {
	if x.busy == busy {
		return
	}
	x.busy = busy
	if busy {
		if e.busy == 0 {
			e.quiet = make(chan struct{})
		}
		e.busy++
		return
	}
	if e.busy--; e.busy == 0 {
		close(e.quiet)
	}
}

func (e *Engine) setBusy(x *execution, busy bool) {
	e.mu.Lock()
	e.setBusyLocked(x, busy)
	e.mu.Unlock()
}

// mayStartTask reports whether a new task may be scheduled; during Shutdown it marks the
// execution idle so that Shutdown can proceed, and the caller parks until it is aborted.
func (e *Engine) mayStartTask(x *execution) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		e.setBusyLocked(x, false)
	}
	return !e.closing
}

// taskToken is an open .waitForTaskToken task. It expires when its attempt ends or its execution
// closes (or is suspended): later SendTask* calls get ErrTaskTimedOut, as on AWS.
type taskToken struct {
	x      *execution
	id     string
	result chan TaskOutcome // buffered: the first SendTask* wins, later ones see closed
	closed bool             // guarded by Engine.mu
}

const tokenBytes = 48

func newTaskToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Engine) registerToken(token string, x *execution) *taskToken {
	t := &taskToken{x: x, id: token, result: make(chan TaskOutcome, 1)}
	e.mu.Lock()
	e.tokens[token] = t
	e.mu.Unlock()
	return t
}

// closeTokens expires a token.
func (e *Engine) closeTokens(t *taskToken) {
	e.mu.Lock()
	t.closed = true
	e.mu.Unlock()
}

// claimToken finds an open token and closes it so that it is answered once.
func (e *Engine) claimToken(op, token string) (*taskToken, error) {
	if b, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(b) != tokenBytes {
		return nil, fmt.Errorf("engine: %s: %w", op, ErrInvalidToken)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tokens[token]
	switch {
	case !ok:
		return nil, fmt.Errorf("engine: %s: %w", op, ErrTaskDoesNotExist)
	case t.closed || t.x.ctx.Err() != nil:
		return nil, fmt.Errorf("engine: %s: %w", op, ErrTaskTimedOut)
	}
	t.closed = true
	return t, nil
}

// SendTaskSuccess completes the .waitForTaskToken task that was given token; output (JSON, at
// most 256 KiB) becomes the task's result. It fails with ErrInvalidToken, ErrTaskDoesNotExist,
// ErrTaskTimedOut (the task already completed, failed, timed out or its execution closed) or
// ErrInvalidOutput.
func (e *Engine) SendTaskSuccess(token string, output []byte) error {
	v, err := asl.DecodeJSON(output)
	if err != nil || len(output) > asl.MaxPayloadBytes {
		return fmt.Errorf("engine: send task success: %d bytes, %v: %w", len(output), err, ErrInvalidOutput)
	}
	t, err := e.claimToken("send task success", token)
	if err != nil {
		return err
	}
	e.deliver(t, TaskOutcome{Token: t.id, Output: asl.JSONString(v), value: v})
	return nil
}

// SendTaskFailure fails the .waitForTaskToken task that was given token with an error name (at
// most 256 characters) and cause (at most 32,768), which its Retry and Catch then see.
func (e *Engine) SendTaskFailure(token, errorName, cause string) error {
	if utf8.RuneCountInString(errorName) > 256 || utf8.RuneCountInString(cause) > 32768 {
		return fmt.Errorf("engine: send task failure: error or cause too long: %w", ErrValidation)
	}
	t, err := e.claimToken("send task failure", token)
	if err != nil {
		return err
	}
	e.deliver(t, TaskOutcome{Token: t.id, Failed: true, Error: errorName, Cause: cause})
	return nil
}

// errClosed reports that the execution was closed (timed out, aborted) while a state ran.
var errClosed = errors.New("execution closed")
