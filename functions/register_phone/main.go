// Command register_phone is the workflow step that registers the business phone number for Cloud API.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("register_phone").Needs)
	svc, err := d.Steps()
	if err != nil {
		d.Fatal("building the steps service", err)
	}
	lambda.Start(awswire.Handler(svc.RegisterPhone))
}
