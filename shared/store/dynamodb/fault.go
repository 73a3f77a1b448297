package dynamodb

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// throttleCodes are the error codes with which DynamoDB refuses a request for capacity or rate reasons.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true, // a partition or provisioned capacity is exhausted
	"ThrottlingException":                    true, // on-demand table or control plane rate exceeded
	"RequestLimitExceeded":                   true, // account-level throughput limit
}

// IsThrottled reports whether err (wrapped or not) is a DynamoDB throttling error. The SDK has already retried
// it with backoff; callers treat it as transient (step handlers return a TransientError, the API a 503).
func IsThrottled(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && throttleCodes[apiErr.ErrorCode()]
}

// WithFaults is a client option for reliability tests: before each call the client calls fail with the
// operation's name ("GetItem", "PutItem", ...), and a non-nil error is returned instead of making the call.
// It runs before the SDK's retry step, so an injected error reaches the Store at once, as a real one does
// after the retries gave up. fail is called concurrently when the client is.
//
//	st := dynamodb.New(ddb.New(client.Options(), dynamodb.WithFaults(dynamodb.Throttle("UpdateItem"))), table)
func WithFaults(fail func(op string) error) func(*ddb.Options) {
	inject := middleware.InitializeMiddlewareFunc("InjectFault", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if err := fail(middleware.GetOperationName(ctx)); err != nil {
			return middleware.InitializeOutput{}, middleware.Metadata{}, err
		}
		return next.HandleInitialize(ctx, in)
	})
	return func(o *ddb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(inject, middleware.Before)
		})
	}
}

// ThrottleError returns the error DynamoDB throttles op with: a *types.ProvisionedThroughputExceededException,
// which IsThrottled recognises. It is for fault injection (WithFaults, memory.Store.SetFault).
func ThrottleError(op string) error {
	return &types.ProvisionedThroughputExceededException{
		Message: aws.String("injected fault: " + op + " throttled"),
	}
}

// Throttle returns a WithFaults (or memory.Store.SetFault) hook that throttles the named operations, or
// every operation when none is named.
func Throttle(ops ...string) func(op string) error {
	return func(op string) error {
		if len(ops) == 0 || slices.Contains(ops, op) {
			return ThrottleError(op)
		}
		return nil
	}
}
