package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/waes/onboarding/shared/onboarding"
)

var _ onboarding.Workflow = (*Workflow)(nil)

const stateMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:onboarding-prod"

// fakeAPI is a func-type fake of the Step Functions client: each operation is a func field; an unset one
// fails the test.
type fakeAPI struct {
	t       *testing.T
	start   func(*awssfn.StartExecutionInput) (*awssfn.StartExecutionOutput, error)
	success func(*awssfn.SendTaskSuccessInput) (*awssfn.SendTaskSuccessOutput, error)
	failure func(*awssfn.SendTaskFailureInput) (*awssfn.SendTaskFailureOutput, error)
}

func (f fakeAPI) StartExecution(_ context.Context, in *awssfn.StartExecutionInput, _ ...func(*awssfn.Options)) (*awssfn.StartExecutionOutput, error) {
	if f.start == nil {
		f.t.Fatal("unexpected StartExecution")
	}
	return f.start(in)
}

func (f fakeAPI) SendTaskSuccess(_ context.Context, in *awssfn.SendTaskSuccessInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskSuccessOutput, error) {
	if f.success == nil {
		f.t.Fatal("unexpected SendTaskSuccess")
	}
	return f.success(in)
}

func (f fakeAPI) SendTaskFailure(_ context.Context, in *awssfn.SendTaskFailureInput, _ ...func(*awssfn.Options)) (*awssfn.SendTaskFailureOutput, error) {
	if f.failure == nil {
		f.t.Fatal("unexpected SendTaskFailure")
	}
	return f.failure(in)
}

// sdkError wraps err as the SDK returns service errors: inside a smithy.OperationError.
func sdkError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "SFN", OperationName: op, Err: err}
}

func startInput() onboarding.StartInput {
	return onboarding.StartInput{
		OnboardingID: "3q2-7wEjRuW3bFq0DqRU1A",
		Name:         "3q2-7wEjRuW3bFq0DqRU1A-1",
		Input:        onboarding.WorkflowInput{OnboardingID: "3q2-7wEjRuW3bFq0DqRU1A", WABAID: "102290129340398", PhoneNumberID: "106540352242922"},
	}
}

func TestStart(t *testing.T) {
	in := startInput()
	wantDoc, _ := json.Marshal(in.Input)
	const started = "arn:aws:states:us-east-1:123456789012:execution:onboarding-prod:3q2-7wEjRuW3bFq0DqRU1A-1"
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		err     error
		want    string
		wantErr bool
	}{
		{name: "started", want: started},
		{name: "already exists", err: sdkError("StartExecution", &types.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists")}), want: started},
		{name: "already exists unwrapped", err: &types.ExecutionAlreadyExists{}, want: started},
		{name: "state machine missing", err: sdkError("StartExecution", &types.StateMachineDoesNotExist{}), wantErr: true},
		{name: "execution limit", err: sdkError("StartExecution", &types.ExecutionLimitExceeded{}), wantErr: true},
		{name: "invalid name", err: sdkError("StartExecution", &types.InvalidName{}), wantErr: true},
		{name: "transport", err: boom, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *awssfn.StartExecutionInput
			w := New(fakeAPI{t: t, start: func(in *awssfn.StartExecutionInput) (*awssfn.StartExecutionOutput, error) {
				got = in
				if tc.err != nil {
					return nil, tc.err
				}
				return &awssfn.StartExecutionOutput{ExecutionArn: aws.String(started)}, nil
			}}, stateMachine)
			arn, err := w.Start(context.Background(), in)
			if got == nil {
				t.Fatal("StartExecution was not called")
			}
			if s := aws.ToString(got.StateMachineArn); s != stateMachine {
				t.Errorf("StateMachineArn: got %q, want %q", s, stateMachine)
			}
			if s := aws.ToString(got.Name); s != in.Name {
				t.Errorf("Name: got %q, want %q", s, in.Name)
			}
			if s := aws.ToString(got.Input); s != string(wantDoc) {
				t.Errorf("Input: got %s, want %s", s, wantDoc)
			}
			var decoded onboarding.WorkflowInput
			if err := json.Unmarshal([]byte(aws.ToString(got.Input)), &decoded); err != nil || !reflect.DeepEqual(decoded, in.Input) {
				t.Errorf("Input decodes to %+v (%v), want %+v", decoded, err, in.Input)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Start: got %q, nil; want an error", arn)
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("Start error %v: want it to wrap %v", err, tc.err)
				}
				if !strings.Contains(err.Error(), in.Name) {
					t.Errorf("Start error %q: want the execution name %s", err, in.Name)
				}
				if arn != "" {
					t.Errorf("ARN on error: got %q, want empty", arn)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: got %v, want nil", err)
			}
			if arn != tc.want {
				t.Errorf("ARN: got %q, want %q", arn, tc.want)
			}
		})
	}
}

func TestStartErrorsKeepTheirType(t *testing.T) {
	w := New(fakeAPI{t: t, start: func(*awssfn.StartExecutionInput) (*awssfn.StartExecutionOutput, error) {
		return nil, sdkError("StartExecution", &types.ExecutionLimitExceeded{Message: aws.String("too many")})
	}}, stateMachine)
	_, err := w.Start(context.Background(), startInput())
	var limit *types.ExecutionLimitExceeded
	if !errors.As(err, &limit) {
		t.Errorf("Start error %v: want an *types.ExecutionLimitExceeded inside", err)
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		t.Errorf("Start error %v: want the SDK's operation error inside", err)
	}
}

func TestExecutionARN(t *testing.T) {
	for _, tc := range []struct {
		stateMachine, name, want string
	}{
		{stateMachine, "ob-1", "arn:aws:states:us-east-1:123456789012:execution:onboarding-prod:ob-1"},
		{"arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m", "x", "arn:aws-cn:states:cn-north-1:123456789012:execution:m:x"},
		{"arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:Onboarding-Dev", "a-b_c", "arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:Onboarding-Dev:a-b_c"},
		{"onboarding-prod", "ob-1", "ob-1"}, // not an ARN: the name is all that is known
		{"", "ob-1", "ob-1"},
	} {
		t.Run(tc.stateMachine, func(t *testing.T) {
			if got := executionARN(tc.stateMachine, tc.name); got != tc.want {
				t.Errorf("executionARN(%q, %q): got %q, want %q", tc.stateMachine, tc.name, got, tc.want)
			}
		})
	}
}

func TestSendTask(t *testing.T) {
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name     string
		err      error
		wantGone bool
		wantErr  bool
	}{
		{name: "resumed"},
		{name: "task does not exist", err: sdkError("SendTask", &types.TaskDoesNotExist{}), wantGone: true},
		{name: "task timed out", err: sdkError("SendTask", &types.TaskTimedOut{}), wantGone: true},
		{name: "invalid token", err: sdkError("SendTask", &types.InvalidToken{}), wantGone: true},
		{name: "invalid token unwrapped", err: &types.InvalidToken{}, wantGone: true},
		{name: "invalid output", err: sdkError("SendTask", &types.InvalidOutput{}), wantErr: true},
		{name: "throttled", err: sdkError("SendTask", &smithy.GenericAPIError{Code: "ThrottlingException"}), wantErr: true},
		{name: "transport", err: boom, wantErr: true},
	} {
		for _, op := range []struct {
			name string
			call func(w *Workflow, f *fakeAPI, got *[]string) error
		}{
			{"SendTaskSuccess", func(w *Workflow, f *fakeAPI, got *[]string) error {
				f.success = func(in *awssfn.SendTaskSuccessInput) (*awssfn.SendTaskSuccessOutput, error) {
					*got = []string{aws.ToString(in.TaskToken), aws.ToString(in.Output)}
					return &awssfn.SendTaskSuccessOutput{}, tc.err
				}
				return w.SendTaskSuccess(context.Background(), "token-1", []byte(`{"message_id":"wamid.1"}`))
			}},
			{"SendTaskFailure", func(w *Workflow, f *fakeAPI, got *[]string) error {
				f.failure = func(in *awssfn.SendTaskFailureInput) (*awssfn.SendTaskFailureOutput, error) {
					*got = []string{aws.ToString(in.TaskToken), aws.ToString(in.Error), aws.ToString(in.Cause)}
					return &awssfn.SendTaskFailureOutput{}, tc.err
				}
				return w.SendTaskFailure(context.Background(), "token-1", "TestMessageFailed", "the reply failed")
			}},
		} {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				f := &fakeAPI{t: t}
				w := New(f, stateMachine)
				var got []string // f is a pointer: call sets the operation before the Workflow uses it
				err := op.call(w, f, &got)
				want := map[string][]string{
					"SendTaskSuccess": {"token-1", `{"message_id":"wamid.1"}`},
					"SendTaskFailure": {"token-1", "TestMessageFailed", "the reply failed"},
				}[op.name]
				if !reflect.DeepEqual(got, want) {
					t.Errorf("request: got %q, want %q", got, want)
				}
				switch {
				case tc.wantGone:
					if !errors.Is(err, ErrTaskGone) {
						t.Errorf("error: got %v, want ErrTaskGone", err)
					}
				case tc.wantErr:
					if err == nil || errors.Is(err, ErrTaskGone) {
						t.Fatalf("error: got %v, want a wrapped error that is not ErrTaskGone", err)
					}
					if !errors.Is(err, tc.err) {
						t.Errorf("error %v: want it to wrap %v", err, tc.err)
					}
					if !strings.Contains(err.Error(), op.name) {
						t.Errorf("error %q: want the operation %s", err, op.name)
					}
				default:
					if err != nil {
						t.Errorf("error: got %v, want nil", err)
					}
				}
			})
		}
	}
}

func TestTaskErrorKeepsTheSDKError(t *testing.T) {
	err := taskError("SendTaskSuccess", sdkError("SendTaskSuccess", &types.InvalidOutput{Message: aws.String("bad")}))
	var invalid *types.InvalidOutput
	if !errors.As(err, &invalid) || aws.ToString(invalid.Message) != "bad" {
		t.Errorf("taskError: got %v, want the *types.InvalidOutput inside", err)
	}
	if got := taskError("SendTaskSuccess", nil); got != nil {
		t.Errorf("taskError(nil): got %v, want nil", got)
	}
}

func ExampleWorkflow_SendTaskSuccess() {
	w := New(fakeAPI{success: func(*awssfn.SendTaskSuccessInput) (*awssfn.SendTaskSuccessOutput, error) {
		return nil, &smithy.OperationError{ServiceID: "SFN", OperationName: "SendTaskSuccess", Err: &types.TaskTimedOut{}}
	}}, stateMachine)
	err := w.SendTaskSuccess(context.Background(), "token", []byte(`{}`))
	fmt.Println(errors.Is(err, ErrTaskGone))
	// Output: true
}
