package stephandlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// Outcome actions of the record_outcome handler.
const (
	ActionSkip     = "skip"
	ActionFail     = "fail"
	ActionComplete = "complete"
	// ActionWait answers how long to wait before trying the step again (the step's next_attempt_at).
	ActionWait = "wait"
)

// Bounds of the wait action's answer.
const (
	// DefaultStepWait is the wait when the step recorded no next attempt (Meta's 5 minutes of 133015).
	DefaultStepWait = 5 * time.Minute
	// MaxStepWait bounds the wait whatever the record says.
	MaxStepWait = 6 * time.Hour
)

// OutcomeInput is the payload of the workflow's bookkeeping states.
type OutcomeInput struct {
	Action       string              `json:"action"`
	OnboardingID string              `json:"onboarding_id"`
	Step         onboarding.StepName `json:"step,omitempty"`
	// Reason is the skip reason (skip).
	Reason string `json:"reason,omitempty"`
	// Verified completes as VERIFIED rather than COMPLETED (complete).
	Verified bool `json:"verified,omitempty"`
	// Error is what the state machine's Catch caught (fail): {"Error": name, "Cause": cause}.
	Error *CaughtError `json:"error,omitempty"`
}

// CaughtError is the error output of a Step Functions Catch.
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// RecordOutcome is the workflow's bookkeeping handler: it marks a step SKIPPED (the definition's Choice states
// decided), records a caught failure on its step and fails the onboarding, or completes the onboarding.
// Every action is idempotent.
func (s *Service) RecordOutcome(ctx context.Context, in OutcomeInput) (Output, error) {
	ctx = logging.WithOnboardingID(ctx, in.OnboardingID)
	if !onboarding.ValidID(in.OnboardingID) {
		return Output{}, permanent(onboarding.CodeInvalidField, "record_outcome input has no valid onboarding_id")
	}
	if in.Action != ActionComplete && !in.Step.Valid() {
		return Output{}, permanent(onboarding.CodeInvalidField, fmt.Sprintf("record_outcome: unknown step %q", in.Step))
	}
	var out Output
	var mutate func(r *onboarding.Record) error
	switch in.Action {
	case ActionSkip:
		mutate = func(r *onboarding.Record) error {
			out = Output{OnboardingID: r.ID, Step: in.Step, Status: onboarding.StepSkipped, Note: in.Reason}
			if st := r.Step(in.Step); st != nil && st.Status == onboarding.StepSkipped {
				return errSkipWrite
			}
			return r.SkipStep(in.Step, in.Reason, s.now())
		}
	case ActionFail:
		mutate = func(r *onboarding.Record) error {
			out = Output{OnboardingID: r.ID, Step: in.Step, Status: onboarding.StepFailed}
			st := r.Step(in.Step)
			if r.Status == onboarding.StatusFailed && st != nil && st.Status == onboarding.StepFailed {
				return errSkipWrite
			}
			if r.Status == onboarding.StatusOffboarded {
				return errSkipWrite // the partner was removed from the WABA meanwhile: nothing left to fail
			}
			return r.Fail(in.Step, failureDetail(r, in), s.now())
		}
	case ActionComplete:
		mutate = func(r *onboarding.Record) error {
			out = Output{OnboardingID: r.ID, Step: onboarding.StepSendTestMessage}
			if r.Status == onboarding.StatusOffboarded {
				out.Status = r.Step(onboarding.StepSendTestMessage).Status
				return errSkipWrite
			}
			if in.Verified {
				if st := r.Step(onboarding.StepSendTestMessage); st != nil && st.Status == onboarding.StepRunning {
					if err := r.SucceedStep(onboarding.StepSendTestMessage, "test message delivered", s.now()); err != nil {
						return err
					}
				}
			}
			if err := r.Complete(in.Verified, s.now()); err != nil {
				return err
			}
			out.Status = r.Step(onboarding.StepSendTestMessage).Status
			return nil
		}
	case ActionWait:
		rec, err := s.store.Get(ctx, in.OnboardingID)
		if err != nil {
			return Output{}, classify(in.Step, err)
		}
		st := rec.Step(in.Step)
		wait := DefaultStepWait
		if st != nil && st.NextAttemptAt != nil {
			wait = st.NextAttemptAt.Sub(s.now())
		}
		wait = min(max(wait, time.Second), MaxStepWait)
		out := Output{OnboardingID: rec.ID, Step: in.Step, WaitSeconds: int((wait + time.Second - 1) / time.Second)}
		if st != nil {
			out.Status = st.Status
		}
		s.log.InfoContext(ctx, "waiting before the next attempt", "step", in.Step, "wait_seconds", out.WaitSeconds)
		return out, nil
	default:
		return Output{}, permanent(onboarding.CodeInvalidField, fmt.Sprintf("record_outcome: unknown action %q", in.Action))
	}
	rec, err := s.update(ctx, in.OnboardingID, mutate)
	if err != nil && err != errSkipWrite {
		return Output{}, classify(in.Step, err)
	}
	s.log.InfoContext(ctx, "onboarding outcome recorded", "action", in.Action, "step", in.Step, "status", rec.Status)
	// Published on every run, also when the record was already written: a retried state after a failed
	// publish publishes again (at least once; the event id lets consumers dedupe).
	if in.Action != ActionSkip && s.publisher != nil && rec.Status.Terminal() {
		ev := partnerevents.StatusChanged(rec.ID, rec.WABAID, rec.PhoneNumberID, string(rec.Status), rec.UpdatedAt)
		if rec.Status == onboarding.StatusFailed {
			ev.FailedStep = string(rec.FailedStep())
			if st := rec.Step(rec.FailedStep()); st != nil && st.Error != nil {
				ev.ErrorCode = st.Error.Code
			}
		}
		if err := s.publisher.Publish(ctx, ev); err != nil {
			return Output{}, transient(onboarding.CodeDependency, "publishing the status change: "+err.Error())
		}
	}
	return out, nil
}

// failureDetail builds the error recorded on a failed step. The step's own record of its last attempt is the
// most precise (Meta's code and fbtrace_id); failures outside the step's code (timeouts, Lambda crashes, the
// test-message waits timing out) are described from the caught error.
func failureDetail(r *onboarding.Record, in OutcomeInput) onboarding.StepError {
	name, cause := "", ""
	if in.Error != nil {
		name, cause = in.Error.Error, in.Error.Cause
	}
	st := r.Step(in.Step)
	switch name {
	case onboarding.ErrorNameTransient, onboarding.ErrorNameThrottled, onboarding.ErrorNameWaitFixed, onboarding.ErrorNamePermanent:
		if st != nil && st.Error != nil {
			return *st.Error
		}
	case "States.Timeout", "States.HeartbeatTimeout":
		if in.Step == onboarding.StepSendTestMessage {
			msg := "no test message reached the business number in time: ask the tester to send a WhatsApp message to it, then retry"
			if r.TestPhrase != "" {
				msg = "no test message reached the business number in time: ask the tester to send a WhatsApp message containing the test phrase to it, then retry"
			}
			switch {
			case r.TestMessageID != "" && r.TestMessageStatus == "sent":
				msg = "Meta accepted the test reply " + r.TestMessageID + " (sent) but no delivered or read status arrived in time: check that the tester's phone is online, then retry"
			case r.TestMessageID != "":
				msg = "no delivery status arrived in time for the test reply " + r.TestMessageID + ": check the tester's phone, then retry"
			}
			return onboarding.StepError{Code: onboarding.CodeTestMessageTimeout, Message: msg}
		}
		return onboarding.StepError{Code: onboarding.CodeStepTimeout, Message: "the step did not finish within its timeout; retrying is safe"}
	case "TestMessageFailed":
		return onboarding.StepError{Code: onboarding.CodeTestMessageFailed, GraphCode: r.Progress.TestFailureCode, Message: lambdaMessage(cause)}
	}
	if strings.HasPrefix(name, "Lambda.") || strings.HasPrefix(name, "Runtime.") || strings.HasPrefix(name, "Sandbox.") {
		return onboarding.StepError{Code: onboarding.CodeStepCrashed, Message: fmt.Sprintf("the step's function failed (%s): %s; retrying is safe", name, lambdaMessage(cause))}
	}
	if st != nil && st.Error != nil {
		return *st.Error
	}
	msg := lambdaMessage(cause)
	if msg == "" {
		msg = "the step failed with " + name
	}
	return onboarding.StepError{Code: onboarding.CodeStepCrashed, Message: msg}
}

// lambdaMessage extracts errorMessage from a Lambda error cause ({"errorMessage": ..., "errorType": ...}),
// or returns the cause as it is.
func lambdaMessage(cause string) string {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.ErrorMessage != "" {
		return le.ErrorMessage
	}
	if len(cause) > 512 {
		cause = cause[:512]
	}
	return cause
}
