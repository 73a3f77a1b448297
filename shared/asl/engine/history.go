package engine

import "time"

// EventType is the type of a history event, named as in Step Functions' GetExecutionHistory.
type EventType string

// History event types produced by the engine.
const (
	EventExecutionStarted   EventType = "ExecutionStarted"
	EventExecutionSucceeded EventType = "ExecutionSucceeded"
	EventExecutionFailed    EventType = "ExecutionFailed"
	EventExecutionAborted   EventType = "ExecutionAborted"
	EventExecutionTimedOut  EventType = "ExecutionTimedOut"

	EventTaskStateEntered    EventType = "TaskStateEntered"
	EventTaskStateExited     EventType = "TaskStateExited"
	EventChoiceStateEntered  EventType = "ChoiceStateEntered"
	EventChoiceStateExited   EventType = "ChoiceStateExited"
	EventPassStateEntered    EventType = "PassStateEntered"
	EventPassStateExited     EventType = "PassStateExited"
	EventWaitStateEntered    EventType = "WaitStateEntered"
	EventWaitStateExited     EventType = "WaitStateExited"
	EventSucceedStateEntered EventType = "SucceedStateEntered"
	EventSucceedStateExited  EventType = "SucceedStateExited"
	EventFailStateEntered    EventType = "FailStateEntered"

	EventTaskScheduled EventType = "TaskScheduled"
	EventTaskStarted   EventType = "TaskStarted"
	EventTaskSubmitted EventType = "TaskSubmitted"
	EventTaskSucceeded EventType = "TaskSucceeded"
	EventTaskFailed    EventType = "TaskFailed"
	EventTaskTimedOut  EventType = "TaskTimedOut"
)

// HistoryEvent is one entry of an execution's history, shaped like the Step Functions
// GetExecutionHistory API output: exactly one *EventDetails field is set, matching Type. State
// entered/exited events of every state type use StateEnteredEventDetails/StateExitedEventDetails,
// as on AWS.
type HistoryEvent struct {
	Timestamp       time.Time `json:"timestamp"`
	Type            EventType `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails   *ExecutionStartedEventDetails   `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *ExecutionSucceededEventDetails `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *ErrorEventDetails              `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *ErrorEventDetails              `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *ErrorEventDetails              `json:"executionTimedOutEventDetails,omitempty"`

	StateEnteredEventDetails *StateEnteredEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateExitedEventDetails  `json:"stateExitedEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskScheduledEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskEventDetails          `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskOutputEventDetails    `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskOutputEventDetails    `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskErrorEventDetails     `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskErrorEventDetails     `json:"taskTimedOutEventDetails,omitempty"`
}

// DataDetails says whether the JSON data of an event was truncated (never, here).
type DataDetails struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedEventDetails describes ExecutionStarted.
type ExecutionStartedEventDetails struct {
	Input        string       `json:"input"`
	InputDetails *DataDetails `json:"inputDetails,omitempty"`
	RoleArn      string       `json:"roleArn,omitempty"`
}

// ExecutionSucceededEventDetails describes ExecutionSucceeded.
type ExecutionSucceededEventDetails struct {
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
}

// ErrorEventDetails carries an error name and cause (execution failed, aborted or timed out).
type ErrorEventDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredEventDetails describes every *StateEntered event.
type StateEnteredEventDetails struct {
	Name         string       `json:"name"`
	Input        string       `json:"input"`
	InputDetails *DataDetails `json:"inputDetails,omitempty"`
}

// StateExitedEventDetails describes every *StateExited event.
type StateExitedEventDetails struct {
	Name          string       `json:"name"`
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
}

// TaskScheduledEventDetails describes TaskScheduled. Parameters is the JSON text sent to the
// integration (for lambda:invoke: FunctionName, Payload, ...).
type TaskScheduledEventDetails struct {
	ResourceType       string `json:"resourceType"`
	Resource           string `json:"resource"`
	Region             string `json:"region"`
	Parameters         string `json:"parameters"`
	TimeoutInSeconds   *int64 `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds *int64 `json:"heartbeatInSeconds,omitempty"`
}

// TaskEventDetails describes TaskStarted.
type TaskEventDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
}

// TaskOutputEventDetails describes TaskSubmitted and TaskSucceeded.
type TaskOutputEventDetails struct {
	ResourceType  string       `json:"resourceType"`
	Resource      string       `json:"resource"`
	Output        string       `json:"output"`
	OutputDetails *DataDetails `json:"outputDetails,omitempty"`
}

// TaskErrorEventDetails describes TaskFailed and TaskTimedOut.
type TaskErrorEventDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// ErrorAndCause returns the error and cause of a failure event (execution failed, aborted or
// timed out; task failed or timed out), and false for other events.
func (ev HistoryEvent) ErrorAndCause() (errorName, cause string, ok bool) {
	for _, d := range []*ErrorEventDetails{
		ev.ExecutionFailedEventDetails, ev.ExecutionAbortedEventDetails, ev.ExecutionTimedOutEventDetails,
	} {
		if d != nil {
			return d.Error, d.Cause, true
		}
	}
	for _, d := range []*TaskErrorEventDetails{ev.TaskFailedEventDetails, ev.TaskTimedOutEventDetails} {
		if d != nil {
			return d.Error, d.Cause, true
		}
	}
	return "", "", false
}

var noTruncation = &DataDetails{}

func stateEnteredType(typ string) EventType { return EventType(typ + "StateEntered") }
func stateExitedType(typ string) EventType  { return EventType(typ + "StateExited") }
