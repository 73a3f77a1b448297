package stephandlers

import (
	"context"
	"fmt"
	"time"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// WaitTTL bounds how long a pending task token is kept: longer than any wait the workflow allows.
const WaitTTL = 8 * 24 * time.Hour

// Waits keeps the task tokens of the workflow's waits until a webhook resumes them.
type Waits interface {
	// PutWait stores (or replaces) the task token the onboarding's workflow waits on for kind.
	PutWait(ctx context.Context, w onboarding.Wait) error
}

// Correlator asks the webhook worker to check whether what a wait needs has already arrived (the tester's
// message can arrive before the workflow starts waiting for it). Only the webhook worker resumes task
// tokens, so the wait handler never calls Step Functions itself.
type Correlator interface {
	RequestCorrelation(ctx context.Context, onboardingID string) error
}

// AwaitInput is the payload of the await_webhook function, invoked by a .waitForTaskToken task state.
type AwaitInput struct {
	OnboardingID string              `json:"onboarding_id"`
	Kind         onboarding.WaitKind `json:"kind"`
	TaskToken    string              `json:"task_token"`
}

// AwaitWebhook records that the workflow waits for a webhook: the tester's inbound message (the onboarding
// becomes AWAITING_TEST_MESSAGE and send_test_message starts) or the status of the test reply. It stores the
// task token and requests a correlation, so an event that arrived earlier resumes the wait at once.
func (s *Service) AwaitWebhook(ctx context.Context, in AwaitInput) (Output, error) {
	ctx = logging.WithOnboardingID(ctx, in.OnboardingID)
	switch {
	case !onboarding.ValidID(in.OnboardingID):
		return Output{}, permanent(onboarding.CodeInvalidField, "await_webhook input has no valid onboarding_id")
	case in.Kind == onboarding.WaitPhoneVerification && in.TaskToken != "":
		return s.awaitPhoneVerification(ctx, in)
	case !in.Kind.Valid():
		return Output{}, permanent(onboarding.CodeInvalidField, fmt.Sprintf("await_webhook: unknown kind %q", in.Kind))
	case in.TaskToken == "":
		return Output{}, permanent(onboarding.CodeInvalidField, "await_webhook input has no task_token")
	}
	_, err := s.update(ctx, in.OnboardingID, func(r *onboarding.Record) error {
		if !r.Status.Active() {
			return permanent(onboarding.CodeNotRetryable, "onboarding is "+string(r.Status)+"; nothing to wait for")
		}
		if in.Kind != onboarding.WaitInboundMessage {
			return errSkipWrite
		}
		st := r.Step(onboarding.StepSendTestMessage)
		if st.Status != onboarding.StepRunning {
			if err := r.StartStep(onboarding.StepSendTestMessage, s.now()); err != nil {
				return err
			}
		}
		if r.Status == onboarding.StatusAwaitingTestMessage {
			return nil
		}
		return r.SetStatus(onboarding.StatusAwaitingTestMessage, s.now())
	})
	if err != nil && err != errSkipWrite {
		return Output{}, classify(onboarding.StepSendTestMessage, err)
	}
	if err := s.waits.PutWait(ctx, onboarding.Wait{
		OnboardingID: in.OnboardingID, Kind: string(in.Kind), TaskToken: in.TaskToken, ExpiresAt: s.now().Add(WaitTTL),
	}); err != nil {
		return Output{}, classify(onboarding.StepSendTestMessage, fmt.Errorf("storing the task token: %w", err))
	}
	if err := s.correlator.RequestCorrelation(ctx, in.OnboardingID); err != nil {
		return Output{}, classify(onboarding.StepSendTestMessage, fmt.Errorf("requesting correlation: %w", err))
	}
	s.log.InfoContext(ctx, "waiting for webhook", "kind", in.Kind)
	return Output{OnboardingID: in.OnboardingID, Step: onboarding.StepSendTestMessage, Status: onboarding.StepRunning}, nil
}

// awaitPhoneVerification stores the task token, then shows the onboarding as AWAITING_PHONE_VERIFICATION:
// in that order, so that the API never sees the status without a token to resume.
func (s *Service) awaitPhoneVerification(ctx context.Context, in AwaitInput) (Output, error) {
	if err := s.waits.PutWait(ctx, onboarding.Wait{
		OnboardingID: in.OnboardingID, Kind: string(in.Kind), TaskToken: in.TaskToken, ExpiresAt: s.now().Add(WaitTTL),
	}); err != nil {
		return Output{}, classify(onboarding.StepVerifyPhone, fmt.Errorf("storing the task token: %w", err))
	}
	_, err := s.update(ctx, in.OnboardingID, func(r *onboarding.Record) error {
		switch {
		case !r.Status.Active():
			return permanent(onboarding.CodeNotRetryable, "onboarding is "+string(r.Status)+"; nothing to wait for")
		case r.Status == onboarding.StatusAwaitingPhoneVerification, r.Progress.PhoneVerified:
			return errSkipWrite
		}
		return r.SetStatus(onboarding.StatusAwaitingPhoneVerification, s.now())
	})
	if err != nil && err != errSkipWrite {
		return Output{}, classify(onboarding.StepVerifyPhone, err)
	}
	s.log.InfoContext(ctx, "waiting for the phone verification code")
	return Output{OnboardingID: in.OnboardingID, Step: onboarding.StepVerifyPhone, Status: onboarding.StepRunning}, nil
}
