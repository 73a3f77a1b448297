// Package asl parses and validates Amazon States Language definitions (JSONPath query language)
// and implements their data flow, so that the workflow definition deployed to AWS Step Functions
// (Standard) runs unchanged in the local runner and in tests (package engine runs it).
//
// Parse accepts only the subset the project's workflow uses or is expected to grow into, and
// refuses the rest at a JSON pointer naming the field, instead of running it differently.
// Substitute fills ${Name} placeholders first, as CloudFormation's DefinitionSubstitutions do.
//
// A State's methods are the ASL data flow: Input (InputPath, Parameters), Choose, WaitDuration,
// Timeouts, Output (ResultSelector, ResultPath, OutputPath), Fail, Retrier/RetryDelay and Catch.
package asl
