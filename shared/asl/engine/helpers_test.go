package engine

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/waes/onboarding/shared/asl"
)

type lambdaHandler = lambda.Handler

func mustParse(t testing.TB, def string) *asl.Definition {
	t.Helper()
	d, err := asl.Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func failingHandler(errType string) lambda.Handler {
	return lambda.NewHandler(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return nil, messages.InvokeResponse_Error{Type: errType, Message: "failed"}
	})
}

func echoHandler() lambda.Handler {
	return lambda.NewHandler(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
}

// testCtx bounds how long a test may wait for an execution; reaching it is a failure, never an
// expected outcome.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startAndWait(t testing.TB, eng *Engine, input string) string {
	t.Helper()
	arn, err := eng.StartExecution(context.Background(), "", []byte(input))
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	if _, err := eng.Wait(testCtx(t), arn); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return arn
}

// waitForEvent blocks until the execution's history contains an event of the given type.
func waitForEvent(t testing.TB, eng *Engine, arn string, typ EventType) HistoryEvent {
	t.Helper()
	ctx := testCtx(t)
	for {
		h, err := eng.GetExecutionHistory(arn)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h {
			if ev.Type == typ {
				return ev
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s event; history: %v", typ, eventTypes(h))
		case <-time.After(time.Millisecond):
		}
	}
}

// checkNoGoroutineLeak waits for the goroutine count to come back to the baseline.
func checkNoGoroutineLeak(t testing.TB, baseline int) {
	t.Helper()
	ctx := testCtx(t)
	for runtime.NumGoroutine() > baseline {
		select {
		case <-ctx.Done():
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), baseline, buf[:n])
		case <-time.After(time.Millisecond):
		}
	}
}
