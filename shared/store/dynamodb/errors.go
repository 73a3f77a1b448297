package dynamodb

import (
	"errors"

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
