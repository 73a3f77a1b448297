// Command api is the Lambda behind the HTTP API routes POST /signup, GET /onboardings,
// GET /onboardings/{id}, POST /onboardings/{id}/retry and GET /healthz (API Gateway HTTP API, payload
// format 2.0). With partner authentication (AUTH_ISSUER set by the stack), API Gateway's JWT authorizer
// validates the bearer tokens and this function reads the verified claims it passes (auth.Gateway).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/auth"
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
	opts := httpapi.Options{Logger: d.Logger}
	if d.Stage.AuthIssuer != "" {
		opts.Auth = auth.Gateway{}
	}
	lambda.Start(apigw.Handler(httpapi.New(svc, opts)))
}
