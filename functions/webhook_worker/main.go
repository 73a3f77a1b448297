// Command webhook_worker consumes the webhook queue: it stores each event once, keeps message statuses
// monotonic, offboards WABAs whose partner was removed, publishes partner events, and resumes the workflow's
// test-message waits. Failed records are reported as batch item failures and redelivered.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/config"
	"github.com/waes/onboarding/shared/webhook/sqsqueue"
)

func main() {
	d := awswire.MustLoad(config.NeedTable | config.NeedStateMachine | config.NeedEventBus)
	lambda.Start(sqsqueue.Handler(d.Worker(), d.Logger))
}
