package statemachine

import (
	"strings"
)

// Error names of the Amazon States Language that the engine raises or matches in Retry and Catch.
const (
	ErrorAll                    = "States.ALL"
	ErrorTaskFailed             = "States.TaskFailed"
	ErrorTimeout                = "States.Timeout"
	ErrorHeartbeatTimeout       = "States.HeartbeatTimeout"
	ErrorRuntime                = "States.Runtime"
	ErrorDataLimitExceeded      = "States.DataLimitExceeded"
	ErrorNoChoiceMatched        = "States.NoChoiceMatched"
	ErrorIntrinsicFailure       = "States.IntrinsicFailure"
	ErrorResultPathMatchFailure = "States.ResultPathMatchFailure"
)

// Lambda error names. The engine raises ErrorLambdaNotFound (unknown function) and
// ErrorLambdaUnknown (a function error without errorType); the others only happen on AWS and are
// listed for the Retry policies of definitions (AWS recommends retrying the first three).
const (
	ErrorLambdaService         = "Lambda.ServiceException"
	ErrorLambdaAWSLambda       = "Lambda.AWSLambdaException"
	ErrorLambdaSdkClient       = "Lambda.SdkClientException"
	ErrorLambdaTooManyRequests = "Lambda.TooManyRequestsException"
	ErrorLambdaNotFound        = "Lambda.ResourceNotFoundException"
	ErrorLambdaUnknown         = "Lambda.Unknown"
)

// ServiceError is an error of the Step Functions API surface (StartExecution, SendTaskSuccess, ...).
// Code is the AWS error code, so that callers written against the AWS SDK can map errors one to one.
// The exported Err* values are the instances returned (wrapped); compare them with errors.Is.
type ServiceError struct {
	Code    string
	Message string
}

func (e *ServiceError) Error() string { return e.Code + ": " + e.Message }

// Errors of the engine API, named after the Step Functions API errors they stand for.
var (
	ErrExecutionAlreadyExists = &ServiceError{"ExecutionAlreadyExists", "an execution with this name exists and is closed or has a different input"}
	ErrExecutionDoesNotExist  = &ServiceError{"ExecutionDoesNotExist", "no execution with this ARN"}
	ErrInvalidName            = &ServiceError{"InvalidName", "invalid execution name"}
	ErrInvalidExecutionInput  = &ServiceError{"InvalidExecutionInput", "execution input is not valid JSON or exceeds 256 KiB"}
	ErrInvalidToken           = &ServiceError{"InvalidToken", "the task token is not valid"}
	ErrTaskDoesNotExist       = &ServiceError{"TaskDoesNotExist", "no task was issued this token"}
	ErrTaskTimedOut           = &ServiceError{"TaskTimedOut", "the task token has expired or its task has already been closed"}
	ErrInvalidOutput          = &ServiceError{"InvalidOutput", "the task output is not valid JSON or exceeds 256 KiB"}
	ErrValidation             = &ServiceError{"ValidationException", "invalid request"}
	ErrEngineShutdown         = &ServiceError{"ServiceUnavailable", "the state machine engine is shutting down"}
)

// ValidationError lists every problem Parse found in a definition. Each problem starts with a JSON
// pointer to the offending field, e.g. `/States/Charge/Next: no state named "Done"`.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid state machine definition: " + strings.Join(e.Problems, "; ")
}

// stateError is an ASL error raised while running a state: what Retry/Catch match and what an
// execution fails with.
type stateError struct {
	Name  string
	Cause string
}

func (e *stateError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// catchable reports whether Retry and Catch may handle the error. States.Runtime and
// States.DataLimitExceeded always fail the execution, even with States.ALL.
func (e *stateError) catchable() bool {
	return e.Name != ErrorRuntime && e.Name != ErrorDataLimitExceeded
}

// errorMatches implements ErrorEquals matching for one name in the list.
func errorMatches(pattern, name string) bool {
	switch pattern {
	case name:
		return true
	case ErrorAll:
		return true
	case ErrorTaskFailed:
		// "States.TaskFailed ... acts as a wildcard that matches any known error name except for
		// States.Timeout"; a missed heartbeat is a kind of States.Timeout (see the next case).
		return !isTimeout(name)
	case ErrorTimeout:
		// The ASL defines States.Timeout as "ran longer than TimeoutSeconds, or failed to heartbeat
		// for a time longer than HeartbeatSeconds", so it also covers States.HeartbeatTimeout.
		return name == ErrorHeartbeatTimeout
	}
	return false
}

func isTimeout(name string) bool { return name == ErrorTimeout || name == ErrorHeartbeatTimeout }

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if errorMatches(p, name) {
			return true
		}
	}
	return false
}

func runtimeError(format string) *stateError { return &stateError{Name: ErrorRuntime, Cause: format} }
