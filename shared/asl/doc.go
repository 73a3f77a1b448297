// Package statemachine interprets Amazon States Language definitions (JSONPath query language) so
// that the workflow definition deployed to AWS Step Functions (Standard) runs unchanged in the
// local runner and in tests.
//
// Parse validates a definition strictly: what it accepts, Step Functions accepts too, and it
// rejects the features this interpreter does not implement (Map and Parallel states, JSONata,
// variables, integrations other than Lambda) instead of running them differently. Substitute
// fills ${Name} placeholders first, as CloudFormation's DefinitionSubstitutions do.
//
// New returns an Engine with the Step Functions API: StartExecution (idempotent by name and
// input), DescribeExecution, GetExecutionHistory (events shaped like the AWS API's),
// ListExecutions, StopExecution, SendTaskSuccess/Failure/Heartbeat for .waitForTaskToken tasks,
// Wait and Shutdown. Task states invoke aws-lambda-go handlers in process, through their JSON
// Invoke method, and report function errors with the names Lambda gives them (the Go type name of
// the returned error, e.g. "TransientError"), so Retry and Catch match as they will on AWS.
//
// Time: Options.TimeScale shortens (or stretches) every Wait, retry back-off and timeout while
// the definition keeps its production values; Options.Clock with a FakeClock makes tests run
// waits and retries without sleeping.
//
// Known differences from Step Functions are listed in the README of this package's tests
// (testdata/README.md).
package asl
