// Package engine runs executions of an asl.Definition in process, with the Step Functions API:
// StartExecution (idempotent by name and input), DescribeExecution, GetExecutionHistory (events
// shaped like the AWS API's), ListExecutions, StopExecution, SendTaskSuccess/Failure/Heartbeat
// for .waitForTaskToken tasks, Wait and Shutdown. Task states invoke aws-lambda-go handlers in
// process, through their JSON Invoke method, and report function errors with the names Lambda
// gives them (the Go type name of the returned error, e.g. "TransientError"), so Retry and
// Catch match as they will on AWS.
//
// Each execution keeps what changes while it runs in one serializable Progress value, updated at
// every state transition.
//
// Time: Options.TimeScale shortens (or stretches) every Wait, retry back-off and timeout while
// the definition keeps its production values; Options.Clock with a FakeClock makes tests run
// waits and retries without sleeping.
//
// Known differences from Step Functions are listed in testdata/README.md.
package engine
