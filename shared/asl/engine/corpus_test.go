package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/corpustest"
	"github.com/waes/onboarding/shared/asl"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

// The execution corpus: every testdata/cases/*.json file is one scenario (see testdata/README.md
// for the format). The runner plays the scripted Lambda functions, drives a FakeClock so that
// no case sleeps, and checks the entered states, the final status, output, error and cause, the
// back-off sleeps, and what each function received.

type corpusCase struct {
	Comment       string                 `json:"comment"`
	Definition    json.RawMessage        `json:"definition"`
	Input         json.RawMessage        `json:"input"`
	ExecutionName string                 `json:"executionName"`
	TimeScale     float64                `json:"timeScale"`
	Rand          *float64               `json:"rand"`
	Functions     map[string][]behaviour `json:"functions"`
	Expect        expectation            `json:"expect"`
}

// behaviour scripts one invocation of a function. Exactly one of the fields is meaningful.
type behaviour struct {
	Return     json.RawMessage `json:"return,omitempty"`     // respond with this JSON
	Echo       bool            `json:"echo,omitempty"`       // respond with the payload
	Error      string          `json:"error,omitempty"`      // fail with this errorType (messages.InvokeResponse_Error)
	Message    string          `json:"message,omitempty"`    // errorMessage for Error, GoError, TypedError, Panic
	GoError    bool            `json:"goError,omitempty"`    // fail with errors.New(Message): errorType "errorString"
	TypedError bool            `json:"typedError,omitempty"` // fail with *TransientError: errorType "TransientError"
	Panic      bool            `json:"panic,omitempty"`      // panic(Message)
	Hang       bool            `json:"hang,omitempty"`       // block until the context is cancelled (timeouts)
	Callback   string          `json:"callback,omitempty"`   // success | failure | none: answer the task token
	TokenField string          `json:"tokenField,omitempty"` // payload field holding the token (default "token")
	Output     json.RawMessage `json:"output,omitempty"`     // SendTaskSuccess output
	Cause      string          `json:"cause,omitempty"`      // SendTaskFailure cause (Error is the error name)
}

type expectation struct {
	States        []string                     `json:"states"`
	Status        ExecutionStatus              `json:"status"`
	Output        json.RawMessage              `json:"output,omitempty"`
	Error         string                       `json:"error,omitempty"`
	Cause         *string                      `json:"cause,omitempty"`
	CauseContains string                       `json:"causeContains,omitempty"`
	Sleeps        []float64                    `json:"sleeps,omitempty"` // seconds, as passed to the clock
	NoSleeps      bool                         `json:"noSleeps,omitempty"`
	Calls         map[string]int               `json:"calls,omitempty"`
	Payloads      map[string][]json.RawMessage `json:"payloads,omitempty"`
	Events        []EventType                  `json:"events,omitempty"`
}

// TransientError stands for a typed step error such as *steps.TransientError.
type TransientError struct{ Msg string }

func (e *TransientError) Error() string { return e.Msg }

var corpusStart = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCorpus(t *testing.T) {
	for name, b := range corpustest.Load(t, "cases") {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var c corpusCase
			corpustest.Decode(t, b, &c)
			runCase(t, &c)
		})
	}
}

// scriptedFunctions plays the behaviours of a case and records what each function received.
type scriptedFunctions struct {
	mu       sync.Mutex
	script   map[string][]behaviour
	calls    map[string]int
	payloads map[string][]json.RawMessage
	engine   *Engine
	blocked  chan string // a hang started: only a deadline can end it
	stalls   int         // callback invocations that will never be answered
}

// takeStall consumes one unanswered callback, if any.
func (s *scriptedFunctions) takeStall() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalls == 0 {
		return false
	}
	s.stalls--
	return true
}

func (s *scriptedFunctions) next(fn string, payload json.RawMessage) behaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.calls[fn]
	s.calls[fn]++
	s.payloads[fn] = append(s.payloads[fn], payload)
	bs := s.script[fn]
	return bs[min(n, len(bs)-1)]
}

func (s *scriptedFunctions) handler(fn string) lambda.Handler {
	return lambda.NewHandler(func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		b := s.next(fn, payload)
		switch {
		case b.Callback != "":
			field := b.TokenField
			if field == "" {
				field = "token"
			}
			var m map[string]any
			if err := json.Unmarshal(payload, &m); err != nil {
				return nil, err
			}
			token, _ := m[field].(string)
			var err error
			switch b.Callback {
			case "success":
				err = s.engine.SendTaskSuccess(token, b.Output)
			case "failure":
				err = s.engine.SendTaskFailure(token, b.Error, b.Cause)
			case "none":
				// Nobody will answer: the runner advances the clock to the task's deadline once
				// the task reports TaskSubmitted.
				s.mu.Lock()
				s.stalls++
				s.mu.Unlock()
			default:
				err = fmt.Errorf("unknown callback behaviour %q", b.Callback)
			}
			if err != nil {
				return nil, err
			}
			return json.RawMessage(`{"accepted":true}`), nil
		case b.Hang:
			s.blocked <- fn
			<-ctx.Done()
			return nil, ctx.Err()
		case b.Panic:
			panic(b.Message)
		case b.Error != "":
			return nil, messages.InvokeResponse_Error{Type: b.Error, Message: b.Message}
		case b.GoError:
			return nil, errors.New(b.Message)
		case b.TypedError:
			return nil, &TransientError{Msg: b.Message}
		case b.Echo:
			return payload, nil
		}
		return b.Return, nil
	})
}

func runCase(t *testing.T, c *corpusCase) {
	t.Helper()
	def, err := asl.Parse(c.Definition)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	clock := NewFakeClock(corpusStart)
	fns := &scriptedFunctions{
		script: c.Functions, calls: map[string]int{}, payloads: map[string][]json.RawMessage{},
		blocked: make(chan string, 16),
	}
	handlers := map[string]lambda.Handler{}
	for fn := range c.Functions {
		handlers[fn] = fns.handler(fn)
	}
	events := make(chan HistoryEvent, 4096)
	opts := Options{
		Name: "CorpusMachine", Functions: handlers, Clock: clock, TimeScale: c.TimeScale,
		OnEvent: func(_ string, ev HistoryEvent) { events <- ev },
	}
	if c.Rand != nil {
		r := *c.Rand
		opts.Rand = func() float64 { return r }
	}
	eng := New(def, opts)
	fns.engine = eng
	name := c.ExecutionName
	if name == "" {
		name = "corpus-execution"
	}
	arn, err := eng.StartExecution(context.Background(), name, c.Input)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}

	// Drive the clock only when the execution can make no progress by itself: a function hangs
	// (until its task times out), or a callback task waits for a token nobody will send.
	done := make(chan struct{})
	go func() {
		_, _ = eng.Wait(context.Background(), arn)
		close(done)
	}()
	advance := func() {
		if _, ok := clock.AdvanceToNext(); !ok {
			t.Fatalf("the execution is blocked and no timer is armed: it would never finish")
		}
	}
loop:
	for {
		select {
		case <-done:
			break loop
		case <-fns.blocked:
			advance()
		case ev := <-events:
			if ev.Type == EventTaskSubmitted && fns.takeStall() {
				advance()
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the execution did not finish; history so far: %v", eventTypes(mustHistory(t, eng, arn)))
		}
	}
	desc, err := eng.DescribeExecution(arn)
	if err != nil {
		t.Fatal(err)
	}
	hist := mustHistory(t, eng, arn)
	checkExpectation(t, c, eng, arn, desc, hist, clock, fns)
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func mustHistory(t *testing.T, eng *Engine, arn string) []HistoryEvent {
	t.Helper()
	h, err := eng.GetExecutionHistory(arn)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func eventTypes(h []HistoryEvent) []EventType {
	out := make([]EventType, len(h))
	for i, ev := range h {
		out[i] = ev.Type
	}
	return out
}

func checkExpectation(t *testing.T, c *corpusCase, eng *Engine, arn string, desc ExecutionDescription, hist []HistoryEvent, clock *FakeClock, fns *scriptedFunctions) {
	t.Helper()
	x := c.Expect
	if got := eng.StateTransitions(arn); !slices.Equal(got, x.States) {
		t.Errorf("entered states:\n got %q\nwant %q", got, x.States)
	}
	if desc.Status != x.Status {
		t.Errorf("status: got %s, want %s (error %q, cause %q)", desc.Status, x.Status, desc.Error, desc.Cause)
	}
	if len(x.Output) > 0 {
		assertJSONEqual(t, "output", []byte(desc.Output), x.Output)
	}
	if desc.Error != x.Error {
		t.Errorf("error: got %q, want %q (cause %q)", desc.Error, x.Error, desc.Cause)
	}
	if x.Cause != nil && desc.Cause != *x.Cause {
		t.Errorf("cause:\n got %q\nwant %q", desc.Cause, *x.Cause)
	}
	if x.CauseContains != "" && !strings.Contains(desc.Cause, x.CauseContains) {
		t.Errorf("cause %q does not contain %q", desc.Cause, x.CauseContains)
	}
	if x.Sleeps != nil || x.NoSleeps {
		var got []float64
		for _, d := range clock.Sleeps() {
			got = append(got, d.Seconds())
		}
		if !slices.EqualFunc(got, x.Sleeps, func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }) {
			t.Errorf("sleeps (s): got %v, want %v", got, x.Sleeps)
		}
	}
	for fn, want := range x.Calls {
		fns.mu.Lock()
		got := fns.calls[fn]
		fns.mu.Unlock()
		if got != want {
			t.Errorf("calls of %s: got %d, want %d", fn, got, want)
		}
	}
	for fn, want := range x.Payloads {
		fns.mu.Lock()
		got := slices.Clone(fns.payloads[fn])
		fns.mu.Unlock()
		if len(got) != len(want) {
			t.Errorf("payloads of %s: got %d, want %d", fn, len(got), len(want))
			continue
		}
		for i := range want {
			assertJSONEqual(t, fmt.Sprintf("payload %d of %s", i, fn), got[i], want[i])
		}
	}
	if x.Events != nil && !slices.Equal(eventTypes(hist), x.Events) {
		t.Errorf("events:\n got %v\nwant %v", eventTypes(hist), x.Events)
	}
	checkHistoryShape(t, hist, desc)
}

// checkHistoryShape verifies invariants every history must satisfy.
func checkHistoryShape(t *testing.T, hist []HistoryEvent, desc ExecutionDescription) {
	t.Helper()
	if len(hist) == 0 || hist[0].Type != EventExecutionStarted {
		t.Fatalf("history must start with ExecutionStarted: %v", eventTypes(hist))
	}
	for i, ev := range hist {
		if ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) {
			t.Errorf("event %d: id %d previousEventId %d", i, ev.ID, ev.PreviousEventID)
		}
		if i > 0 && ev.Timestamp.Before(hist[i-1].Timestamp) {
			t.Errorf("event %d (%s) is older than the one before", i, ev.Type)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		details := 0
		for k := range m {
			if strings.HasSuffix(k, "EventDetails") {
				details++
			}
		}
		if details > 1 || (details == 0 && true) {
			t.Errorf("event %d (%s) has %d detail fields: %s", i, ev.Type, details, b)
		}
	}
	last := hist[len(hist)-1].Type
	want := map[ExecutionStatus]EventType{
		StatusSucceeded: EventExecutionSucceeded, StatusFailed: EventExecutionFailed,
		StatusTimedOut: EventExecutionTimedOut, StatusAborted: EventExecutionAborted,
	}[desc.Status]
	if last != want {
		t.Errorf("last event: got %s, want %s for status %s", last, want, desc.Status)
	}
}

func assertJSONEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	g, err1 := asl.DecodeJSON(got)
	w, err2 := asl.DecodeJSON(want)
	if err1 != nil || err2 != nil {
		t.Errorf("%s: cannot compare %q with %q: %v %v", what, got, want, err1, err2)
		return
	}
	if !corpustest.JSONEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, asl.JSONString(g), asl.JSONString(w))
	}
}
func TestParseAcceptsCorpusDefinitions(t *testing.T) {
	// Every execution case's definition is valid; Parse must also be deterministic.
	for name, b := range corpustest.Load(t, "cases") {
		t.Run(name, func(t *testing.T) {
			var c corpusCase
			corpustest.Decode(t, b, &c)
			d, err := asl.Parse(c.Definition)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := d.StateNames(); len(got) == 0 || got[0] != d.StartAt() {
				t.Errorf("StateNames() = %q, want it to start with StartAt %q", got, d.StartAt())
			}
		})
	}
}
