package stephandlers

import (
	"context"
	"fmt"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// DefaultRegisterCallLimit leaves Meta's budget of 10 register calls per number per 72 hours some room for a
// human after automatic retries gave up.
const DefaultRegisterCallLimit = 6

// Skip reasons of register_phone, shown in the step's note.
const (
	NoteNoPhone           = "no phone number: the signup finished without one (FINISH_ONLY_WABA, or none on the WABA); the number must still be added, verified and registered"
	NoteCoexistence       = "WhatsApp Business app number (coexistence): registered by the app"
	NoteAlreadyRegistered = "already registered for Cloud API"
)

// RegisterPhone registers the business phone number for Cloud API with its two-step verification PIN. The PIN
// is stored in the vault before the first register call and reused by every later one, because a register
// with a different PIN fails with 133005. The step skips numbers without a phone (FINISH_ONLY_WABA),
// WhatsApp Business app numbers, and numbers already CLOUD_API/CONNECTED; it never calls register again once
// the number is connected, because Meta allows 10 calls per number per 72 hours.
func (s *Service) RegisterPhone(ctx context.Context, in Input) (Output, error) {
	return s.run(ctx, in, onboarding.StepRegisterPhone, false, s.registerPhone)
}

func (s *Service) registerPhone(ctx context.Context, run *stepRun) (outcome, error) {
	rec := run.rec
	switch {
	case rec.PhoneNumberID == "":
		return skipped(NoteNoPhone), nil
	case rec.Event == onboarding.EventFinishBusinessApp:
		return skipped(NoteCoexistence), nil
	case rec.RegisterRetryAfter != nil && s.now().Before(*rec.RegisterRetryAfter):
		return outcome{}, permanent(onboarding.CodeRegisterBlocked,
			"Meta blocks registration of this number until "+rec.RegisterRetryAfter.Format("2006-01-02T15:04:05Z07:00"))
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
	case phone.IsOnBizApp:
		return skipped(NoteCoexistence), nil
	case phone.Registered() && rec.Progress.RegisterStarted != nil:
		return succeeded("registered for Cloud API"), nil // our earlier call went through
	case phone.Registered():
		return skipped(NoteAlreadyRegistered), nil
	}

	limit := s.config.RegisterCallLimit
	if limit <= 0 {
		limit = DefaultRegisterCallLimit
	}
	if rec.Progress.RegisterCalls >= limit {
		return outcome{}, permanent(onboarding.CodeRegisterBlocked, fmt.Sprintf(
			"this onboarding already made %d register calls; Meta allows 10 per number per 72 hours, so no more are made automatically", rec.Progress.RegisterCalls))
	}

	// The PIN is normally stored by the signup; EnsurePIN keeps a stored one and stores a fresh one otherwise.
	pin, err := s.vault.EnsurePIN(ctx, rec.WABAID, rec.PhoneNumberID, onboarding.NewSecret(onboarding.NewPIN()), rec.ID)
	if err != nil {
		return outcome{}, fmt.Errorf("storing the two-step verification PIN: %w", err)
	}
	if err := run.save(ctx, func(r *onboarding.Record) error {
		t := s.now()
		r.Progress.RegisterStarted = &t
		r.Progress.RegisterCalls++
		return nil
	}); err != nil {
		return outcome{}, err
	}
	if err := s.graph.RegisterPhone(ctx, &graph.RegisterPhoneInput{
		PhoneNumberID: rec.PhoneNumberID, PIN: pin, DataLocalizationRegion: rec.DataLocalizationRegion, AccessToken: token,
	}); err != nil {
		return outcome{}, err
	}
	return succeeded("registered for Cloud API"), nil
}
