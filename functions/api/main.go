// Command api is the Lambda behind the HTTP API routes POST /signup, GET /onboardings/{id},
// POST /onboardings/{id}/retry and GET /healthz (API Gateway HTTP API, payload format 2.0).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/httpapi"
)

func main() {
	d := awswire.MustLoad(catalog.Lookup("api").Needs)
	svc, err := d.Signup()
	if err != nil {
		d.Fatal("building the signup service", err)
	}
	lambda.Start(apigw.Handler(httpapi.New(svc, httpapi.Options{Logger: d.Logger})))
}
