package dynamodb

import (
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
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

// ThrottleError returns the error DynamoDB throttles op with: a *types.ProvisionedThroughputExceededException,
// which IsThrottled recognises. It is for fault injection (memory.Store.SetFault, FailNext).
func ThrottleError(op string) error {
	return &types.ProvisionedThroughputExceededException{
		Message: aws.String("injected fault: " + op + " throttled"),
	}
}

// Throttle returns a fault hook (for memory.Store.SetFault, or a client middleware) that throttles the named
// operations, or every operation when none is named.
func Throttle(ops ...string) func(op string) error {
	return func(op string) error {
		if len(ops) == 0 || slices.Contains(ops, op) {
			return ThrottleError(op)
		}
		return nil
	}
}
