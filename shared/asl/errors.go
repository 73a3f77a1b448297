package asl

import (
	"slices"
	"strings"
)

// Error names of the Amazon States Language that the engine raises or matches in Retry and Catch.
const (
	ErrorAll                    = "States.ALL"
	ErrorTaskFailed             = "States.TaskFailed"
	ErrorTimeout                = "States.Timeout"
	ErrorRuntime                = "States.Runtime"
	ErrorDataLimitExceeded      = "States.DataLimitExceeded"
	ErrorNoChoiceMatched        = "States.NoChoiceMatched"
	ErrorIntrinsicFailure       = "States.IntrinsicFailure"
	ErrorResultPathMatchFailure = "States.ResultPathMatchFailure"
)

// Lambda error names the engine raises: for an unknown function, and for a function error
// without errorType.
const (
	ErrorLambdaNotFound = "Lambda.ResourceNotFoundException"
	ErrorLambdaUnknown  = "Lambda.Unknown"
)

// ValidationError lists every problem Parse found in a definition. Each problem starts with a JSON
// pointer to the offending field, e.g. `/States/Charge/Next: no state named "Done"`.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid state machine definition: " + strings.Join(e.Problems, "; ")
}

// Error is an ASL error raised while running a state: what Retry and Catch match and what an
// execution fails with.
type Error struct {
	Name  string
	Cause string
}

func (e *Error) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// Catchable reports whether Retry and Catch may handle the error. States.Runtime and
// States.DataLimitExceeded always fail the execution, even with States.ALL.
func (e *Error) Catchable() bool {
	return e.Name != ErrorRuntime && e.Name != ErrorDataLimitExceeded
}

// matchesAny implements ErrorEquals. States.TaskFailed matches any error but States.Timeout.
func matchesAny(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		return p == name || p == ErrorAll || (p == ErrorTaskFailed && name != ErrorTimeout)
	})
}

// RuntimeError returns a States.Runtime error with the given cause.
func RuntimeError(cause string) *Error { return &Error{Name: ErrorRuntime, Cause: cause} }
