package stephandlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// Offboard cleans up an OFFBOARDED onboarding (the customer removed the partner, or uninstalled the app):
// it revokes the partner's credit line allocation for the WABA (DELETE /<ALLOCATION_CONFIG_ID>, system
// token; Meta recommends revoking "as soon as" the WABA is unshared, since all its messaging is blocked
// anyway), then deletes the WABA's business token and PINs from the vault. Each part is recorded on the
// record, so a duplicate or redelivered webhook repeats nothing; a transient failure is returned for the
// caller to retry. An allocation Meta refuses to delete (a permanent Graph error: already gone, or no longer
// the partner's to delete) is logged and counted as done, since retrying cannot change Meta's answer.
func (s *Service) Offboard(ctx context.Context, onboardingID string) error {
	ctx = logging.WithOnboardingID(ctx, onboardingID)
	rec, err := s.store.Get(ctx, onboardingID)
	if err != nil {
		return fmt.Errorf("offboarding %s: %w", onboardingID, err)
	}
	if rec.Status != onboarding.StatusOffboarded {
		return fmt.Errorf("offboarding %s: the onboarding is %s, not OFFBOARDED", onboardingID, rec.Status)
	}
	if !rec.Progress.CreditRevoked {
		if err := s.revokeCredit(ctx, rec); err != nil {
			return err
		}
		if _, err := s.update(ctx, rec.ID, func(r *onboarding.Record) error { r.Progress.CreditRevoked = true; return nil }); err != nil {
			return fmt.Errorf("offboarding %s: recording the revoke: %w", rec.ID, err)
		}
	}
	if !rec.Progress.SecretDeleted {
		if err := s.vault.DeleteWABASecret(ctx, rec.WABAID); err != nil {
			return fmt.Errorf("offboarding %s: deleting the WABA secret: %w", rec.ID, err)
		}
		if _, err := s.update(ctx, rec.ID, func(r *onboarding.Record) error { r.Progress.SecretDeleted = true; return nil }); err != nil {
			return fmt.Errorf("offboarding %s: recording the secret deletion: %w", rec.ID, err)
		}
		s.log.InfoContext(ctx, "business token and PINs deleted", "waba_id", rec.WABAID)
	}
	return nil
}

func (s *Service) revokeCredit(ctx context.Context, rec *onboarding.Record) error {
	if rec.AllocationConfigID == "" {
		return nil // never shared (no credit line, or the step did not get that far)
	}
	cfg, err := s.appConfig(ctx)
	if err != nil {
		return fmt.Errorf("offboarding %s: reading the stage configuration: %w", rec.ID, err)
	}
	if cfg.SystemToken.IsZero() {
		s.log.WarnContext(ctx, "credit line not revoked: the stage secret has no system_token", "allocation_config_id", rec.AllocationConfigID)
		return nil
	}
	// A revoke cannot share anything, so Meta's transient and throttled answers are retried in-process too.
	err = s.graph.RevokeCreditLine(ctx, &graph.RevokeCreditLineInput{AllocationConfigID: rec.AllocationConfigID, AccessToken: cfg.SystemToken},
		func(o *graph.Options) { o.Retry.RetryGraphErrors = true })
	var ge *graph.Error
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "credit line revoked", "allocation_config_id", rec.AllocationConfigID)
		return nil
	case errors.As(err, &ge) && (ge.Class == graph.ClassPermanent || ge.Class == graph.ClassWaitFixed):
		s.log.WarnContext(ctx, "Meta refused to revoke the credit line allocation; not retried",
			"allocation_config_id", rec.AllocationConfigID, "graph_code", ge.Code, "fbtrace_id", ge.FBTraceID, "error", ge.Message)
		return nil
	}
	return fmt.Errorf("offboarding %s: revoking allocation %s: %w", rec.ID, rec.AllocationConfigID, err)
}
