package stephandlers

import (
	"context"
	"fmt"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// ShareCreditLine shares the partner's extended credit line with the customer WABA: it assigns the partner's
// system user to the WABA (MANAGE; "already assigned" counts as done), then calls
// whatsapp_credit_sharing_and_attach with the system token and keeps the returned allocation_config_id.
//
// A credit line can never be changed once attached, so the attach call is never repeated blindly: before
// every attach the step reads the WABA's primary_funding_id, and if a funding source is attached it finds the
// matching allocation of the partner's credit line (receiving_credential) instead of attaching again. Skipped
// when the stage has no credit line configured.
func (s *Service) ShareCreditLine(ctx context.Context, in Input) (Output, error) {
	return s.run(ctx, in, onboarding.StepShareCreditLine, false, s.shareCreditLine)
}

// NoteNoCreditLine is the skip reason of share_credit_line when the stage has no credit line.
const NoteNoCreditLine = "no credit line configured"

func (s *Service) shareCreditLine(ctx context.Context, run *stepRun) (outcome, error) {
	cfg, err := s.appConfig(ctx)
	if err != nil {
		return outcome{}, err
	}
	if cfg.CreditLineID == "" {
		return skipped(NoteNoCreditLine), nil
	}
	rec := run.rec
	if !onboarding.ValidCurrency(rec.Currency) {
		return outcome{}, permanent(onboarding.CodeInvalidField, fmt.Sprintf("currency %q is not one of %v", rec.Currency, onboarding.Currencies))
	}
	if cfg.SystemToken.IsZero() || cfg.SystemUserID == "" {
		return outcome{}, permanent(onboarding.CodeMissingSecret, "the stage secret has a credit_line_id but no system_token or system_user_id")
	}
	sys := cfg.SystemToken

	if rec.AllocationConfigID != "" {
		// Attached on an earlier run: verify it and finish.
		return s.verifyAllocation(ctx, rec.WABAID, rec.AllocationConfigID, sys)
	}

	if !rec.Progress.SystemUserAssigned {
		err := s.graph.AssignUser(ctx, &graph.AssignUserInput{
			WABAID: rec.WABAID, UserID: cfg.SystemUserID, Tasks: []string{"MANAGE"}, AccessToken: sys,
		})
		if err != nil && !graph.IsAlreadyAssigned(err) {
			return outcome{}, err
		}
		if err := run.save(ctx, func(r *onboarding.Record) error { r.Progress.SystemUserAssigned = true; return nil }); err != nil {
			return outcome{}, err
		}
	}

	// Re-check before attaching: an earlier attempt may have attached and then lost the answer (timeout, 5xx,
	// Lambda killed). The WABA's funding source tells.
	allocID, owner, err := s.findAttachedAllocation(ctx, cfg.CreditLineID, rec, sys)
	if err != nil {
		return outcome{}, err
	}
	if rec.BusinessID == "" && owner != "" {
		// Kept for offboarding: once the WABA is unshared, Meta no longer tells whose it was, and revoking the
		// credit line needs the business.
		if err := run.save(ctx, func(r *onboarding.Record) error { r.BusinessID = owner; return nil }); err != nil {
			return outcome{}, err
		}
	}
	if allocID != "" {
		if err := run.save(ctx, func(r *onboarding.Record) error { r.AllocationConfigID = allocID; return nil }); err != nil {
			return outcome{}, err
		}
		return succeeded("credit line was already attached"), nil
	}

	if err := run.save(ctx, func(r *onboarding.Record) error {
		t := s.now()
		r.Progress.CreditAttachStarted = &t
		return nil
	}); err != nil {
		return outcome{}, err
	}
	out, err := s.graph.ShareCreditLine(ctx, &graph.ShareCreditLineInput{
		CreditLineID: cfg.CreditLineID, WABAID: rec.WABAID, Currency: rec.Currency, AccessToken: sys,
	})
	if err != nil {
		// An ambiguous failure (timeout, 5xx) is transient: the retry re-checks the funding source first.
		return outcome{}, err
	}
	if err := run.save(ctx, func(r *onboarding.Record) error { r.AllocationConfigID = out.AllocationConfigID; return nil }); err != nil {
		return outcome{}, err
	}
	return succeeded(""), nil
}

// findAttachedAllocation returns the allocation of the partner's credit line that funds the WABA ("" when
// the WABA has no funding source, a credit_line_conflict error when it is funded by something else) and the
// WABA's owner business. The allocations are listed for that business only (Meta's receiving_business_id
// filter), so the re-check costs the same however many customers share the credit line; without an owner
// (Meta sent no owner_business_info, and the signup named no business) every allocation is read.
func (s *Service) findAttachedAllocation(ctx context.Context, creditLineID string, rec *onboarding.Record, sys onboarding.Secret) (string, string, error) {
	waba, err := s.graph.GetWABA(ctx, &graph.GetWABAInput{WABAID: rec.WABAID, AccessToken: sys})
	if err != nil {
		return "", "", err
	}
	owner := waba.OwnerBusinessID
	if owner == "" {
		owner = rec.BusinessID
	}
	if waba.PrimaryFundingID == "" {
		return "", owner, nil
	}
	allocs, err := s.graph.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{
		CreditLineID: creditLineID, ReceivingBusinessID: owner, AccessToken: sys,
	})
	if err != nil {
		return "", owner, err
	}
	for _, a := range allocs {
		if a.ReceivingCredentialID == waba.PrimaryFundingID {
			return a.ID, owner, nil
		}
	}
	return "", owner, permanent(onboarding.CodeCreditLineConflict, fmt.Sprintf(
		"WABA %s is already funded by %s, which is not an allocation of credit line %s; a credit line cannot be changed once attached, so nothing was shared",
		rec.WABAID, waba.PrimaryFundingID, creditLineID))
}

// verifyAllocation checks that the allocation's receiving credential is the WABA's funding source.
func (s *Service) verifyAllocation(ctx context.Context, wabaID, allocID string, sys onboarding.Secret) (outcome, error) {
	alloc, err := s.graph.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: allocID, AccessToken: sys})
	if err != nil {
		return outcome{}, err
	}
	waba, err := s.graph.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaID, AccessToken: sys})
	if err != nil {
		return outcome{}, err
	}
	if alloc.ReceivingCredentialID == "" || alloc.ReceivingCredentialID != waba.PrimaryFundingID {
		return outcome{}, permanent(onboarding.CodeCreditLineConflict, fmt.Sprintf(
			"allocation %s has receiving credential %q but WABA %s is funded by %q", allocID, alloc.ReceivingCredentialID, wabaID, waba.PrimaryFundingID))
	}
	return succeeded("credit line attached"), nil
}
