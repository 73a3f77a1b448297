package engine

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
