// Command subscribe_webhooks is the workflow step that subscribes the partner's app to the customer WABA's webhooks.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("subscribe_webhooks").Needs)
	svc, err := d.Steps()
	if err != nil {
		d.Fatal("building the steps service", err)
	}
	lambda.Start(awswire.Handler(svc.SubscribeWebhooks))
}
