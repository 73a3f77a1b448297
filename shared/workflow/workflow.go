// Package workflow holds the one definition of the onboarding workflow: an Amazon States Language document
// whose Lambda function ARNs are ${...} placeholders. The CDK stack deploys it to AWS Step Functions with
// definition substitutions; the local runner substitutes local function names and interprets it. Nothing
// else encodes the order of the steps.
package workflow

import (
	_ "embed"
)

// Definition is the state machine definition, with ${...} placeholders (see Functions).
//
//go:embed definition.asl.json
var Definition []byte

// Function names the Lambda functions the definition invokes: each placeholder and the function directory
// under functions/ that implements it.
type Function struct {
	// Placeholder is the ${...} variable name in the definition.
	Placeholder string
	// Name is the function's directory under functions/ and its name in the local runner.
	Name string
}

// Functions lists every function the definition invokes.
var Functions = []Function{
	{Placeholder: "SubscribeWebhooksFunctionArn", Name: "subscribe_webhooks"},
	{Placeholder: "ShareCreditLineFunctionArn", Name: "share_credit_line"},
	{Placeholder: "RegisterPhoneFunctionArn", Name: "register_phone"},
	{Placeholder: "SendTestMessageFunctionArn", Name: "send_test_message"},
	{Placeholder: "AwaitWebhookFunctionArn", Name: "await_webhook"},
	{Placeholder: "RecordOutcomeFunctionArn", Name: "record_outcome"},
}

// Wait kinds of the await_webhook function: what the workflow waits for.
const (
	WaitInboundMessage = "inbound_message"
	WaitMessageStatus  = "message_status"
)

// Substitutions returns the definition substitutions mapping each placeholder to arn(name).
func Substitutions(arn func(name string) string) map[string]string {
	m := make(map[string]string, len(Functions))
	for _, f := range Functions {
		m[f.Placeholder] = arn(f.Name)
	}
	return m
}
