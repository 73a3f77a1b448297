// Package stepfunctions implements onboarding.Workflow with AWS Step Functions.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/waes/onboarding/shared/onboarding"
)

// API is the part of the Step Functions client the adapter uses.
type API interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
}

// Workflow starts and resumes executions of the onboarding state machine.
type Workflow struct {
	client          API
	stateMachineARN string
}

// New returns the adapter for the state machine.
func New(client API, stateMachineARN string) *Workflow {
	return &Workflow{client: client, stateMachineARN: stateMachineARN}
}

// ErrTaskGone reports that the task token is unknown, already used or timed out; there is nothing left to resume.
var ErrTaskGone = errors.New("the task token is no longer valid")

// Start starts the named execution. Execution names are deterministic per onboarding and attempt, so a
// repeated start (a retried Lambda) finds the execution it already started instead of starting another.
func (w *Workflow) Start(ctx context.Context, in onboarding.StartInput) (string, error) {
	doc, err := json.Marshal(in.Input)
	if err != nil {
		return "", fmt.Errorf("encoding the execution input: %w", err)
	}
	out, err := w.client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.stateMachineARN),
		Name:            aws.String(in.Name),
		Input:           aws.String(string(doc)),
	})
	if _, ok := errors.AsType[*types.ExecutionAlreadyExists](err); ok {
		return executionARN(w.stateMachineARN, in.Name), nil
	}
	if err != nil {
		return "", fmt.Errorf("starting execution %s: %w", in.Name, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// executionARN derives an execution ARN from the state machine ARN and the execution name.
func executionARN(stateMachineARN, name string) string {
	// arn:aws:states:region:account:stateMachine:Name -> arn:aws:states:region:account:execution:Name:name
	if prefix, machine, ok := strings.Cut(stateMachineARN, ":stateMachine:"); ok {
		return prefix + ":execution:" + machine + ":" + name
	}
	return name
}

// SendTaskSuccess resumes the waiting task with output. An unknown or expired token is ErrTaskGone.
func (w *Workflow) SendTaskSuccess(ctx context.Context, token string, output []byte) error {
	if len(output) == 0 {
		output = []byte("{}") // Step Functions requires a JSON document
	}
	_, err := w.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return taskError("SendTaskSuccess", err)
}

// SendTaskFailure fails the waiting task. An unknown or expired token is ErrTaskGone.
func (w *Workflow) SendTaskFailure(ctx context.Context, token, errorName, cause string) error {
	_, err := w.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String(errorName), Cause: aws.String(cause)})
	return taskError("SendTaskFailure", err)
}

func taskError(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		notExist *types.TaskDoesNotExist
		timedOut *types.TaskTimedOut
		invalid  *types.InvalidToken
	)
	if errors.As(err, &notExist) || errors.As(err, &timedOut) || errors.As(err, &invalid) {
		return fmt.Errorf("%s: %w", op, ErrTaskGone)
	}
	return fmt.Errorf("%s: %w", op, err)
}
