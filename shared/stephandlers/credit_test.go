package stephandlers

import (
	"context"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

// TestCreditRecheckFindsTheAllocationByBusiness: after an attach whose answer was lost, the re-check lists
// the allocations of the WABA's owner business only and finds the one that funds the WABA; the owner is kept
// on the record for offboarding.
func TestCreditRecheckFindsTheAllocationByBusiness(t *testing.T) {
	f := newFixture(t, fixtureOpts{creditLine: creditLine})
	ctx := context.Background()
	// Another customer shares the same credit line: the filtered list must not need it.
	other := "102290129340777"
	f.sim.IssueToken(other, "")
	sys := onboarding.NewSecret(systemToken)
	if err := f.svc.graph.AssignUser(ctx, &graph.AssignUserInput{WABAID: other, UserID: systemUser, AccessToken: sys}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.graph.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: other, Currency: "USD", AccessToken: sys}); err != nil {
		t.Fatal(err)
	}
	// Attach behind the step's back, as an attempt whose answer was lost leaves it.
	if err := f.svc.graph.AssignUser(ctx, &graph.AssignUserInput{WABAID: wabaID, UserID: systemUser, AccessToken: sys}); err != nil {
		t.Fatal(err)
	}
	attached, err := f.svc.graph.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "USD", AccessToken: sys})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.ShareCreditLine(ctx, f.in())
	if err != nil {
		t.Fatalf("ShareCreditLine: %v", err)
	}
	if out.Note != "credit line was already attached" {
		t.Errorf("note: got %q, want the re-check to find the attachment", out.Note)
	}
	r := f.record(t)
	if r.AllocationConfigID != attached.AllocationConfigID {
		t.Errorf("allocation: got %q, want %q", r.AllocationConfigID, attached.AllocationConfigID)
	}
	if got, want := r.BusinessID, graphsim.OwnerBusinessID(wabaID); got != want {
		t.Errorf("business id kept on the record: got %q, want %q", got, want)
	}
	if got := f.sim.SideEffects(graph.CallCreditSharing); got != 2 {
		t.Errorf("attach calls that took effect: got %d, want 2 (no second attach by the step)", got)
	}
}
