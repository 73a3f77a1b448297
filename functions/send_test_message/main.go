// Command send_test_message is the workflow step that replies to the tester's message from the business number.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("send_test_message").Needs)
	svc, err := d.Steps()
	if err != nil {
		d.Fatal("building the steps service", err)
	}
	lambda.Start(awswire.Handler(svc.SendTestMessage))
}
