package dynamodb_test

import (
	"context"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// withFaults is a client option for reliability tests: before each call the client calls fail with the
// operation's name ("GetItem", "PutItem", ...), and a non-nil error is returned instead of making the call.
// It runs before the SDK's retry step, so an injected error reaches the Store at once, as a real one does
// after the retries gave up. fail is called concurrently when the client is.
func withFaults(fail func(op string) error) func(*ddb.Options) {
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
