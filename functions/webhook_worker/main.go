// Command webhook_worker consumes the webhook queue: it stores each event once, keeps message statuses
// monotonic, offboards WABAs whose partner was removed, publishes partner events, and resumes the workflow's
// test-message waits. Failed records are reported as batch item failures and redelivered.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/webhook/sqsqueue"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("webhook_worker").Needs)
	lambda.Start(sqsqueue.Handler(d.Worker(), d.Logger))
}
