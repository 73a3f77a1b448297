package dynamodb

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Operation names FaultAPI passes to Fail.
const (
	OpGetItem    = "GetItem"
	OpPutItem    = "PutItem"
	OpUpdateItem = "UpdateItem"
	OpDeleteItem = "DeleteItem"
	OpQuery      = "Query"
	OpScan       = "Scan"
)

// FaultAPI wraps an API for reliability tests: before each call it calls Fail (if set) with the operation's
// name (OpGetItem, ...), and a non-nil error is returned instead of making the call. It sits between the
// Store and the client, so an injected error reaches the Store at once, as a real one does after the SDK's
// retries gave up. Fail is called concurrently when the Store is.
//
//	api := &dynamodb.FaultAPI{API: client, Fail: dynamodb.Throttle(dynamodb.OpUpdateItem)}
//	st := dynamodb.New(api, table)
type FaultAPI struct {
	API
	Fail func(op string) error
}

var _ API = (*FaultAPI)(nil)

func (f *FaultAPI) fail(op string) error {
	if f.Fail == nil {
		return nil
	}
	return f.Fail(op)
}

// GetItem fails with Fail(OpGetItem) or calls the wrapped API.
func (f *FaultAPI) GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	if err := f.fail(OpGetItem); err != nil {
		return nil, err
	}
	return f.API.GetItem(ctx, in, optFns...)
}

// PutItem fails with Fail(OpPutItem) or calls the wrapped API.
func (f *FaultAPI) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	if err := f.fail(OpPutItem); err != nil {
		return nil, err
	}
	return f.API.PutItem(ctx, in, optFns...)
}

// UpdateItem fails with Fail(OpUpdateItem) or calls the wrapped API.
func (f *FaultAPI) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	if err := f.fail(OpUpdateItem); err != nil {
		return nil, err
	}
	return f.API.UpdateItem(ctx, in, optFns...)
}

// DeleteItem fails with Fail(OpDeleteItem) or calls the wrapped API.
func (f *FaultAPI) DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	if err := f.fail(OpDeleteItem); err != nil {
		return nil, err
	}
	return f.API.DeleteItem(ctx, in, optFns...)
}

// Query fails with Fail(OpQuery) or calls the wrapped API.
func (f *FaultAPI) Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	if err := f.fail(OpQuery); err != nil {
		return nil, err
	}
	return f.API.Query(ctx, in, optFns...)
}

// Scan fails with Fail(OpScan) or calls the wrapped API.
func (f *FaultAPI) Scan(ctx context.Context, in *ddb.ScanInput, optFns ...func(*ddb.Options)) (*ddb.ScanOutput, error) {
	if err := f.fail(OpScan); err != nil {
		return nil, err
	}
	return f.API.Scan(ctx, in, optFns...)
}

// ThrottleError returns the error DynamoDB throttles op with: a *types.ProvisionedThroughputExceededException,
// which IsThrottled recognises. It is for fault injection (FaultAPI, memory.Store.SetFault).
func ThrottleError(op string) error {
	return &types.ProvisionedThroughputExceededException{
		Message: aws.String("injected fault: " + op + " throttled"),
	}
}

// Throttle returns a FaultAPI.Fail (or memory.Store.SetFault hook) that throttles the named operations, or
// every operation when none is named.
func Throttle(ops ...string) func(op string) error {
	return func(op string) error {
		if len(ops) == 0 || slices.Contains(ops, op) {
			return ThrottleError(op)
		}
		return nil
	}
}
