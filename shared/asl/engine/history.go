package engine

import "time"

// EventType is the type of a history event, named as in Step Functions' GetExecutionHistory.
// State events are "<Type>StateEntered" and "<Type>StateExited" (TaskStateEntered, ...).
type EventType string

// History event types produced by the engine, besides the state events.
const (
	EventExecutionStarted   EventType = "ExecutionStarted"
	EventExecutionSucceeded EventType = "ExecutionSucceeded"
	EventExecutionFailed    EventType = "ExecutionFailed"
	EventExecutionAborted   EventType = "ExecutionAborted"
	EventExecutionTimedOut  EventType = "ExecutionTimedOut"

	EventTaskScheduled EventType = "TaskScheduled"
	EventTaskStarted   EventType = "TaskStarted"
	EventTaskSubmitted EventType = "TaskSubmitted"
	EventTaskSucceeded EventType = "TaskSucceeded"
	EventTaskFailed    EventType = "TaskFailed"
	EventTaskTimedOut  EventType = "TaskTimedOut"
)

// HistoryEvent is one entry of an execution's history, shaped like the Step Functions
// GetExecutionHistory API output: exactly one *EventDetails field is set, matching Type.
type HistoryEvent struct {
	Timestamp       time.Time `json:"timestamp"`
	Type            EventType `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails   *ExecutionEventDetails `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *ExecutionEventDetails `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *ExecutionEventDetails `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *ExecutionEventDetails `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *ExecutionEventDetails `json:"executionTimedOutEventDetails,omitempty"`

	StateEnteredEventDetails *StateEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateEventDetails `json:"stateExitedEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskEventDetails `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskEventDetails `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskEventDetails `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskEventDetails `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskEventDetails `json:"taskTimedOutEventDetails,omitempty"`
}

// ExecutionEventDetails describes the execution events: the input (started), the output
// (succeeded), or an error and cause (failed, aborted, timed out).
type ExecutionEventDetails struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// StateEventDetails describes every *StateEntered (Input) and *StateExited (Output) event.
type StateEventDetails struct {
	Name   string `json:"name"`
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
}

// TaskEventDetails describes the task events. Parameters (TaskScheduled) is the JSON text sent
// to the integration (FunctionName, Payload); Output is the function's (TaskSubmitted) or the
// task's (TaskSucceeded) result.
type TaskEventDetails struct {
	ResourceType     string `json:"resourceType"`
	Resource         string `json:"resource"`
	Region           string `json:"region,omitempty"`
	Parameters       string `json:"parameters,omitempty"`
	TimeoutInSeconds *int64 `json:"timeoutInSeconds,omitempty"`
	Output           string `json:"output,omitempty"`
	Error            string `json:"error,omitempty"`
	Cause            string `json:"cause,omitempty"`
}

// taskEvent returns a task event of the given type with its details.
func taskEvent(typ EventType, d *TaskEventDetails) HistoryEvent {
	ev := HistoryEvent{Type: typ}
	*map[EventType]**TaskEventDetails{
		EventTaskScheduled: &ev.TaskScheduledEventDetails, EventTaskStarted: &ev.TaskStartedEventDetails,
		EventTaskSubmitted: &ev.TaskSubmittedEventDetails, EventTaskSucceeded: &ev.TaskSucceededEventDetails,
		EventTaskFailed: &ev.TaskFailedEventDetails, EventTaskTimedOut: &ev.TaskTimedOutEventDetails,
	}[typ] = d
	return ev
}

// executionEvent returns an execution event of the given type with its details.
func executionEvent(typ EventType, d *ExecutionEventDetails) HistoryEvent {
	ev := HistoryEvent{Type: typ}
	*map[EventType]**ExecutionEventDetails{
		EventExecutionStarted: &ev.ExecutionStartedEventDetails, EventExecutionSucceeded: &ev.ExecutionSucceededEventDetails,
		EventExecutionFailed: &ev.ExecutionFailedEventDetails, EventExecutionAborted: &ev.ExecutionAbortedEventDetails,
		EventExecutionTimedOut: &ev.ExecutionTimedOutEventDetails,
	}[typ] = d
	return ev
}
