package engine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/asl"
	"github.com/waes/onboarding/shared/asl/engine"
)

// TransientError is what a step returns for a failure worth retrying; Lambda (and the engine)
// name it "TransientError" in Retry and Catch.
type TransientError struct{ Msg string }

func (e *TransientError) Error() string { return e.Msg }

// The definition deployed to Step Functions, with CDK/CloudFormation placeholders, runs in
// process: placeholders are substituted, Lambda functions are plain Go handlers, and a FakeClock
// makes the production retry intervals cost no time.
func Example() {
	definition := []byte(`{
	  "StartAt": "Subscribe",
	  "States": {
	    "Subscribe": {
	      "Type": "Task",
	      "Resource": "arn:aws:states:::lambda:invoke",
	      "Parameters": {"FunctionName": "${SubscribeFunctionArn}", "Payload.$": "$"},
	      "ResultSelector": {"subscribed.$": "$.Payload.subscribed"},
	      "ResultPath": "$.subscribe",
	      "TimeoutSeconds": 60,
	      "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 30, "MaxAttempts": 3, "JitterStrategy": "FULL"}],
	      "End": true
	    }
	  }
	}`)
	definition, err := asl.Substitute(definition, map[string]string{
		"SubscribeFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:subscribe",
	})
	if err != nil {
		panic(err)
	}
	def, err := asl.Parse(definition)
	if err != nil {
		panic(err)
	}
	calls := 0
	subscribe := lambda.NewHandler(func(_ context.Context, in struct {
		WABA string `json:"waba"`
	}) (map[string]bool, error) {
		calls++
		if calls == 1 {
			return nil, &TransientError{Msg: "graph: (#2) service temporarily unavailable"}
		}
		return map[string]bool{"subscribed": true}, nil
	})
	clock := engine.NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	eng := engine.New(def, engine.Options{
		Name:      "Onboarding",
		Functions: map[string]lambda.Handler{"subscribe": subscribe},
		Clock:     clock,
		Rand:      func() float64 { return 0.5 },
	})
	defer eng.Shutdown(context.Background())

	arn, err := eng.StartExecution(context.Background(), "onboarding-1", []byte(`{"waba":"102290129340398"}`))
	if err != nil {
		panic(err)
	}
	d, err := eng.Wait(context.Background(), arn)
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Status, d.Output)
	fmt.Println(eng.StateTransitions(arn), "retried after", clock.Sleeps())
	// Output:
	// SUCCEEDED {"subscribe":{"subscribed":true},"waba":"102290129340398"}
	// [Subscribe] retried after [15s]
}
