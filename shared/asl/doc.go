// Package asl parses and validates Amazon States Language definitions (JSONPath query language)
// and implements their data flow, so that the workflow definition deployed to AWS Step Functions
// (Standard) runs unchanged in the local runner and in tests (package engine runs it).
//
// Parse accepts only the subset the workflow uses and refuses the rest, at a JSON pointer, instead
// of running it differently. A State's methods are the ASL data flow (Input, Choose,
// WaitDuration, Timeout, Output, Fail, Retrier/RetryDelay, Catch).
package asl
