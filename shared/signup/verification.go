package signup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// PhoneGraphAPI is the part of the Graph API client the phone verification routes use.
type PhoneGraphAPI interface {
	RequestCode(ctx context.Context, in *graph.RequestCodeInput, optFns ...func(*graph.Options)) error
	VerifyCode(ctx context.Context, in *graph.VerifyCodeInput, optFns ...func(*graph.Options)) error
	GetPhoneNumber(ctx context.Context, in *graph.GetPhoneNumberInput, optFns ...func(*graph.Options)) (*graph.PhoneNumber, error)
}

// WaitStore keeps the workflow's pending task tokens (the webhook store).
type WaitStore interface {
	PutWait(ctx context.Context, w onboarding.Wait) error
	TakeWait(ctx context.Context, onboardingID, kind string) (onboarding.Wait, error)
}

// WaitPhoneVerification is the kind of the workflow's wait for the verification code.
const WaitPhoneVerification = "phone_verification"

// Verification code request pacing. Meta documents no quota and no retry-after value for request_code (only
// that attempts are rate-limited and may be blocked for a while), so the pacing is ours: the first resend
// after CodeResendBase, each later one after twice the previous wait, at most CodeResendMax.
const (
	CodeResendBase = time.Minute
	CodeResendMax  = time.Hour
	// waitTTL bounds how long a task token put back after a failed resume is kept.
	waitTTL = 8 * 24 * time.Hour
)

// NotAwaitingError: the onboarding is not waiting for phone verification (409).
type NotAwaitingError struct{ Status onboarding.Status }

func (e *NotAwaitingError) Error() string {
	return "the onboarding is " + string(e.Status) + ", not " + string(onboarding.StatusAwaitingPhoneVerification)
}

// RateLimitedError: a verification code was requested too recently, or Meta refused the request as rate
// limited; RetryAfter says when to ask again (429).
type RateLimitedError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *RateLimitedError) Error() string { return e.Reason }

// CodeRefusedError: Meta refused the verification code (wrong or expired); the wait goes on (400).
type CodeRefusedError struct{ Reason string }

func (e *CodeRefusedError) Error() string { return e.Reason }

// CodeRequest asks for a verification code.
type CodeRequest struct {
	// Method is SMS or VOICE.
	Method string
	// Language is a locale such as en_US.
	Language string
}

// CodeRequested is the answer to a code request: the record and when a resend is allowed.
type CodeRequested struct {
	Record     *onboarding.Record
	RetryAfter time.Duration
}

// ResendWait is how long after the n-th code request (1-based) the next one is allowed.
func ResendWait(n int) time.Duration {
	d := CodeResendBase
	for i := 1; i < n && d < CodeResendMax; i++ {
		d *= 2
	}
	return min(d, CodeResendMax)
}

// awaiting reads the record and checks that it waits for the verification code.
func (s *Service) awaiting(ctx context.Context, id string) (*onboarding.Record, error) {
	rec, err := s.Get(ctx, id) // another customer's record is not found, as for GET
	if err != nil {
		return nil, err
	}
	if rec.Status != onboarding.StatusAwaitingPhoneVerification {
		return rec, &NotAwaitingError{Status: rec.Status}
	}
	return rec, nil
}

// phoneAPI returns the Graph client of the phone verification routes and the business token of rec's WABA.
func (s *Service) phoneAPI(ctx context.Context, rec *onboarding.Record) (PhoneGraphAPI, onboarding.Secret, error) {
	if s.phoneGraph == nil {
		return nil, onboarding.Secret{}, errors.New("signup: no PhoneGraph configured")
	}
	sec, err := s.vault.WABASecret(ctx, rec.WABAID)
	if err != nil {
		return nil, onboarding.Secret{}, &UnavailableError{Reason: "the business token could not be read", Err: err}
	}
	return s.phoneGraph, sec.BusinessToken, nil
}

// RequestVerificationCode asks Meta to send the verification code of a waiting onboarding's phone number by
// SMS or voice call. A request sooner than the pacing allows, or one Meta refuses as rate limited, is a
// *RateLimitedError; nothing is written on a refusal.
func (s *Service) RequestVerificationCode(ctx context.Context, id string, req CodeRequest) (*CodeRequested, error) {
	ctx = logging.WithOnboardingID(ctx, id)
	rec, err := s.awaiting(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if last := rec.Progress.CodeRequestedAt; last != nil {
		if next := last.Add(ResendWait(rec.Progress.CodeRequests)); now.Before(next) {
			return nil, &RateLimitedError{RetryAfter: next.Sub(now), Reason: "a verification code was requested moments ago; wait before asking for another"}
		}
	}
	g, token, err := s.phoneAPI(ctx, rec)
	if err != nil {
		return nil, err
	}
	err = g.RequestCode(ctx, &graph.RequestCodeInput{PhoneNumberID: rec.PhoneNumberID, Method: req.Method, Language: req.Language, AccessToken: token})
	if ge, ok := graph.AsError(err); ok && (ge.Class == graph.ClassThrottled || ge.Code == graph.CodeRequestCode) {
		return nil, &RateLimitedError{RetryAfter: ResendWait(rec.Progress.CodeRequests + 1),
			Reason: "Meta refused to send another code now (" + graphDetail(ge) + ")"}
	}
	if err != nil {
		return nil, upstream("request_code", err)
	}
	rec, err = onboarding.Mutate(ctx, s.store, id, func(r *onboarding.Record) error {
		t := s.now()
		r.Progress.CodeRequestedAt = &t
		r.Progress.CodeRequests++
		r.UpdatedAt = t
		return nil
	})
	if err != nil {
		return nil, &UnavailableError{Reason: "the code was sent but the request could not be recorded", Err: err}
	}
	s.log.InfoContext(ctx, "verification code requested", "method", req.Method, "requests", rec.Progress.CodeRequests)
	return &CodeRequested{Record: rec, RetryAfter: ResendWait(rec.Progress.CodeRequests)}, nil
}

// SubmitVerificationCode submits the customer's code with verify_code. Accepted, the onboarding's
// verify_phone step succeeds and the workflow's wait is resumed (SendTaskSuccess); refused, the wait goes on
// (*CodeRefusedError) and nothing is written. A code is single-use, so after a lost answer the number's
// code_verification_status is read rather than the code sent again. A repeat after a resume that failed
// resumes without calling Meta.
func (s *Service) SubmitVerificationCode(ctx context.Context, id string, code onboarding.Secret) (*onboarding.Record, error) {
	ctx = logging.WithOnboardingID(ctx, id)
	rec, err := s.awaiting(ctx, id)
	var na *NotAwaitingError
	switch {
	case errors.As(err, &na) && rec.Progress.PhoneVerified && rec.Status.Active():
		return s.resumeVerified(ctx, rec, true) // accepted earlier; a resume that failed left the token
	case err != nil:
		return nil, err
	}
	g, token, err := s.phoneAPI(ctx, rec)
	if err != nil {
		return nil, err
	}
	err = g.VerifyCode(ctx, &graph.VerifyCodeInput{PhoneNumberID: rec.PhoneNumberID, Code: code, AccessToken: token})
	if err != nil {
		if err := s.verifyFailure(ctx, g, rec, token, err); err != nil {
			return nil, err
		}
	}
	rec, err = onboarding.Mutate(ctx, s.store, id, func(r *onboarding.Record) error {
		if r.Progress.PhoneVerified && r.Status != onboarding.StatusAwaitingPhoneVerification {
			return onboarding.ErrNoChange
		}
		r.Progress.PhoneVerified = true
		if st := r.Step(onboarding.StepVerifyPhone); st != nil && !st.Status.Done() {
			if err := r.SucceedStep(onboarding.StepVerifyPhone, "verified with the code the customer entered", s.now()); err != nil {
				return err
			}
		}
		if r.Status == onboarding.StatusAwaitingPhoneVerification {
			return r.SetStatus(onboarding.StatusRunning, s.now())
		}
		return nil
	})
	if err != nil && !errors.Is(err, onboarding.ErrNoChange) {
		return nil, &UnavailableError{Reason: "Meta accepted the code but the onboarding could not be updated; send the code again", Err: err}
	}
	s.log.InfoContext(ctx, "phone number verified")
	return s.resumeVerified(ctx, rec, false)
}

// verifyFailure turns a verify_code error into the answer: nil when the code was accepted after all (a lost
// answer, with the number now VERIFIED), *CodeRefusedError when Meta refused the code.
func (s *Service) verifyFailure(ctx context.Context, g PhoneGraphAPI, rec *onboarding.Record, token onboarding.Secret, err error) error {
	ge, ok := graph.AsError(err)
	if !ok {
		return fmt.Errorf("verify_code: %w", err)
	}
	switch {
	case ge.Class == graph.ClassThrottled:
		return &RateLimitedError{RetryAfter: CodeResendBase, Reason: "Meta refused the code attempt as rate limited (" + graphDetail(ge) + ")"}
	case ge.Class == graph.ClassPermanent && ge.Code != graph.CodeTokenInvalid && !(ge.Code >= 200 && ge.Code <= 299) && ge.Code != 10:
		return &CodeRefusedError{Reason: "Meta refused the verification code (" + graphDetail(ge) + "): check it, or request a new one"}
	case ge.Class == graph.ClassPermanent:
		return upstream("verify_code", err)
	}
	// Transient: the code may have reached Meta and been used. Read the number instead of sending it again.
	phone, rerr := g.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: rec.PhoneNumberID, AccessToken: token})
	if rerr == nil && phone.CodeVerificationStatus == graph.CodeVerified {
		s.log.InfoContext(ctx, "verify_code answer lost; the number reads VERIFIED")
		return nil
	}
	return &UpstreamError{Reason: "Meta did not answer verify_code (" + graphDetail(ge) + "); send the code again, or request a new one if Meta used it"}
}

// resumeVerified resumes the workflow's wait for the code. The token is taken first (of concurrent callers
// one gets it); a resume that fails puts it back so a repeat can resume. repeat says the code was accepted
// by an earlier request: without a token left to resume, the onboarding is not waiting (409).
func (s *Service) resumeVerified(ctx context.Context, rec *onboarding.Record, repeat bool) (*onboarding.Record, error) {
	if s.waits == nil {
		return nil, errors.New("signup: no Waits configured")
	}
	w, err := s.waits.TakeWait(ctx, rec.ID, WaitPhoneVerification)
	if errors.Is(err, onboarding.ErrNotFound) {
		if repeat {
			return nil, &NotAwaitingError{Status: rec.Status}
		}
		return rec, nil // resumed by a concurrent request (which took the token), or the wait ended meanwhile
	}
	if err != nil {
		return nil, &UnavailableError{Reason: "the workflow's wait could not be read; send the code again", Err: err}
	}
	err = s.workflow.SendTaskSuccess(ctx, w.TaskToken, []byte(`{"verified":true}`))
	if err != nil && s.isTaskGone != nil && s.isTaskGone(err) {
		// The wait timed out meanwhile: the workflow's check after the timeout finds the number verified.
		s.log.InfoContext(ctx, "the phone verification wait ended before the resume")
		return rec, nil
	}
	if err != nil {
		if perr := s.waits.PutWait(ctx, onboarding.Wait{OnboardingID: rec.ID, Kind: WaitPhoneVerification, TaskToken: w.TaskToken, ExpiresAt: s.now().Add(waitTTL)}); perr != nil {
			s.log.ErrorContext(ctx, "putting the task token back failed", "error", perr.Error())
		}
		return nil, &UnavailableError{Reason: "the number is verified but the workflow could not be resumed; send the code again", Err: err}
	}
	s.log.InfoContext(ctx, "workflow resumed after phone verification")
	return rec, nil
}
