package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/waes/onboarding/shared/asl"
)

type invokeResult struct {
	out       []byte
	err       *asl.Error
	requestID string
}

// invoke calls the handler in its own goroutine, one invocation at a time per function (as in one
// Lambda execution environment; aws-lambda-go handlers reuse their response buffer). The context
// carries a lambdacontext.LambdaContext and the execution context's values, and is cancelled when
// the execution closes or the task times out.
func (x *execution) invoke(c *lambdaCall) (<-chan invokeResult, context.CancelCauseFunc) {
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(x.ctx))
	stopWatch := context.AfterFunc(x.ctx, func() { cancel(context.Cause(x.ctx)) })
	requestID := newUUID()
	hctx = lambdacontext.NewContext(hctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: c.arn})
	ch := make(chan invokeResult, 1)
	l, _ := x.e.fnLocks.LoadOrStore(c.name, &sync.Mutex{})
	lock := l.(*sync.Mutex)
	x.e.handlers.Go(func() {
		defer stopWatch()
		lock.Lock()
		defer lock.Unlock()
		if err := context.Cause(hctx); err != nil {
			// Queued behind another invocation until the task was abandoned: do not start it.
			ch <- invokeResult{requestID: requestID, err: &asl.Error{Name: asl.ErrorLambdaUnknown, Cause: "invocation abandoned: " + err.Error()}}
			return
		}
		ch <- x.callHandler(hctx, c, requestID)
	})
	return ch, cancel
}

// callHandler invokes the handler, turning a returned error or a panic into the Error/Cause
// pair Step Functions reports for a failed Lambda invocation.
func (x *execution) callHandler(ctx context.Context, c *lambdaCall, requestID string) (res invokeResult) {
	res.requestID = requestID
	defer func() {
		if v := recover(); v != nil {
			x.e.opts.Logger.LogAttrs(x.ctx, slog.LevelError, "task handler panicked", slog.String("execution_arn", x.arn),
				slog.String("function", c.function), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			res.out, res.err = nil, functionError(v)
		}
	}()
	out, err := c.handler.Invoke(ctx, c.payload)
	if err != nil {
		res.err = functionError(err)
		return res
	}
	res.out = bytes.Clone(out) // the handler may reuse its buffer for the next invocation
	return res
}

// functionError is the task error of a failed invocation (a returned error or a panic value),
// as aws-lambda-go reports it: Error is the errorType, the Go type name of the value with pointers
// dereferenced ("*steps.TransientError" gives "TransientError"); Cause is the runtime's error
// document ({"errorMessage":...,"errorType":...}). A panic's stack trace is logged instead.
func functionError(v any) *asl.Error {
	ive, ok := v.(messages.InvokeResponse_Error)
	if !ok {
		t := reflect.TypeOf(v)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		ive = messages.InvokeResponse_Error{Message: fmt.Sprint(v), Type: t.Name()}
	}
	cause, _ := json.Marshal(ive)
	return &asl.Error{Name: cmp.Or(ive.Type, asl.ErrorLambdaUnknown), Cause: string(cause)}
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
