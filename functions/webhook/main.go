// Command webhook is the Lambda behind GET and POST /webhooks: Meta's verification handshake, and signed
// event notifications, verified over the raw body and enqueued change by change to the webhook queue.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/webhook"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("webhook").Needs)
	h := webhook.NewHandler(d.Vault().AppConfig, d.Queue(), webhook.Options{Logger: d.Logger})
	lambda.Start(apigw.Handler(h))
}
