// Package engine runs executions of an asl.Definition in process, with the Step Functions API
// the project uses: StartExecution (idempotent by name and input), DescribeExecution,
// GetExecutionHistory, ListExecutions, SendTaskSuccess/Failure for .waitForTaskToken
// tasks, Wait and Shutdown. Task states invoke aws-lambda-go handlers in process and report
// function errors with the names Lambda gives them, so Retry and Catch match as on AWS. Each
// execution keeps what changes while it runs in one serializable Progress value; with
// Options.Checkpoint the engine hands it over at each transition and wait, and Restore resumes
// it in another process. Known differences from Step Functions are listed in testdata/README.md.
package engine
