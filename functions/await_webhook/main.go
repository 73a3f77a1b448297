// Command await_webhook runs the workflow's .waitForTaskToken states: it stores the task token of the wait
// for the tester's message or for the reply's status, and asks the webhook worker to correlate it with what
// already arrived.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("await_webhook").Needs)
	svc, err := d.Steps()
	if err != nil {
		d.Fatal("building the steps service", err)
	}
	lambda.Start(awswire.Handler(svc.AwaitWebhook))
}
