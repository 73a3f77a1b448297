// Command noopfn is the floor of a Go Lambda function: aws-lambda-go's runtime loop and a handler that
// decodes the API Gateway event and answers 200 without doing anything else. lambdabench runs it under the
// emulator next to the webhook function, so that the CPU per invocation the runtime itself costs (the
// Runtime API round trips, the event's JSON) is told apart from the function's work.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"ok":true}`, Headers: map[string]string{"content-type": "application/json"}}, nil
	})
}
