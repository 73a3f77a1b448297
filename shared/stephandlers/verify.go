package stephandlers

import (
	"context"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// Notes of verify_phone.
const (
	NoteVerifyNoPhone     = "no phone number to verify"
	NoteVerifyCoexistence = "WhatsApp Business app number (coexistence): verified by the app"
	NoteAlreadyVerified   = "phone number already verified"
	NoteVerifiedByCode    = "verified with the code the customer entered"
	NoteAwaitingCode      = "waiting for the customer's verification code"
)

// VerifyPhoneInput is the payload of the verify_phone function. AfterWait is set when the workflow's wait
// for the customer's code ended by its timeout: the step then succeeds only if the code was accepted
// meanwhile, and fails with phone_verification_timeout otherwise.
type VerifyPhoneInput struct {
	OnboardingID string `json:"onboarding_id"`
	AfterWait    bool   `json:"after_wait,omitempty"`
}

// VerifyPhone checks that the business phone number's ownership is verified before it is registered
// (Meta refuses /register on an unverified number with 133006). A verified number (code_verification_status
// VERIFIED), a coexistence number and no number skip the step; an unverified one leaves it RUNNING, and the
// workflow then waits, with a task token, for the customer's code (POST /onboardings/{id}/phone-verification,
// which calls verify_code and resumes the wait).
func (s *Service) VerifyPhone(ctx context.Context, in VerifyPhoneInput) (Output, error) {
	return s.run(ctx, Input{OnboardingID: in.OnboardingID}, onboarding.StepVerifyPhone, true, func(ctx context.Context, run *stepRun) (outcome, error) {
		return s.verifyPhone(ctx, run, in.AfterWait)
	})
}

func (s *Service) verifyPhone(ctx context.Context, run *stepRun, afterWait bool) (outcome, error) {
	rec := run.rec
	switch {
	case rec.PhoneNumberID == "":
		return skipped(NoteVerifyNoPhone), nil
	case rec.Event.Coexistence():
		return skipped(NoteVerifyCoexistence), nil
	case rec.Progress.PhoneVerified:
		return succeeded(NoteVerifiedByCode), nil
	}
	token, err := s.businessToken(ctx, rec)
	if err != nil {
		return outcome{}, err
	}
	phone, err := s.graph.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: rec.PhoneNumberID, AccessToken: token})
	if err != nil {
		return outcome{}, err
	}
	switch {
	case phone.CodeVerificationStatus == graph.CodeNotVerified || phone.CodeVerificationStatus == graph.CodeExpired:
	case afterWait:
		// Verified outside this service (WhatsApp Manager) while the wait ran.
		return succeeded(NoteAlreadyVerified), nil
	default:
		return skipped(NoteAlreadyVerified), nil
	}
	if afterWait {
		return outcome{}, permanent(onboarding.CodePhoneVerificationTimeout,
			"the customer did not verify the phone number in time: POST /onboardings/"+rec.ID+"/retry waits for the code again")
	}
	return outcome{status: onboarding.StepRunning, note: NoteAwaitingCode}, nil
}
