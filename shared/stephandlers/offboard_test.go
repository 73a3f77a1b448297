package stephandlers

import (
	"context"
	"errors"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

// offboarded shares the credit line for the fixture's onboarding and marks it OFFBOARDED.
func offboarded(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.ShareCreditLine(ctx, f.in()); err != nil {
		t.Fatalf("ShareCreditLine: %v", err)
	}
	r := f.record(t)
	if r.AllocationConfigID == "" {
		t.Fatal("no allocation recorded")
	}
	r.Offboard(f.now)
	if err := f.store.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r.AllocationConfigID
}

func TestOffboardRevokesAndDeletes(t *testing.T) {
	f := newFixture(t, fixtureOpts{creditLine: creditLine})
	ctx := context.Background()
	alloc := offboarded(t, f)
	for i := range 2 { // a duplicate webhook repeats nothing
		if err := f.svc.Offboard(ctx, f.rec.ID); err != nil {
			t.Fatalf("Offboard #%d: %v", i+1, err)
		}
	}
	if got := f.sim.SideEffects(graph.CallCreditRevoke); got != 1 {
		t.Errorf("revokes: got %d, want 1", got)
	}
	if st, _ := f.sim.WABAState(wabaID); st.PrimaryFundingID != "" {
		t.Errorf("the WABA is still funded by %s after revoking %s", st.PrimaryFundingID, alloc)
	}
	if _, err := f.vault.WABASecret(ctx, wabaID); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("WABA secret after offboarding: got %v, want ErrNotFound", err)
	}
	if p := f.record(t).Progress; !p.CreditRevoked || !p.SecretDeleted {
		t.Errorf("progress: got %+v, want both clean-ups recorded", p)
	}
}

func TestOffboardTransientRevokeFailureIsRetried(t *testing.T) {
	f := newFixture(t, fixtureOpts{creditLine: creditLine})
	ctx := context.Background()
	offboarded(t, f)
	f.sim.InjectFault(graphsim.Fault{Call: graph.CallCreditRevoke, Kind: graphsim.FaultGraphError, Code: 131016, Count: graph.DefaultMaxAttempts})
	if err := f.svc.Offboard(ctx, f.rec.ID); err == nil {
		t.Fatal("Offboard: got nil, want the transient error so the webhook is redelivered")
	}
	if _, err := f.vault.WABASecret(ctx, wabaID); err != nil {
		t.Errorf("the secret was deleted before the credit line was revoked: %v", err)
	}
	if err := f.svc.Offboard(ctx, f.rec.ID); err != nil {
		t.Fatalf("Offboard after the fault: %v", err)
	}
	if got := f.sim.SideEffects(graph.CallCreditRevoke); got != 1 {
		t.Errorf("revokes that took effect: got %d, want 1", got)
	}
}

func TestOffboardPermanentRevokeRefusalIsNotRetried(t *testing.T) {
	f := newFixture(t, fixtureOpts{creditLine: creditLine})
	offboarded(t, f)
	f.sim.InjectFault(graphsim.Fault{Call: graph.CallCreditRevoke, Kind: graphsim.FaultGraphError, Code: 100})
	if err := f.svc.Offboard(context.Background(), f.rec.ID); err != nil {
		t.Fatalf("Offboard: %v (a permanent refusal is logged, not retried)", err)
	}
	if p := f.record(t).Progress; !p.CreditRevoked || !p.SecretDeleted {
		t.Errorf("progress: got %+v, want the clean-up finished", p)
	}
}

func TestOffboardWithoutCreditLineDeletesTheSecret(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ctx := context.Background()
	r := f.record(t)
	r.Offboard(f.now)
	if err := f.store.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Offboard(ctx, f.rec.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.sim.Calls(graph.CallCreditRevoke); got != 0 {
		t.Errorf("revoke calls: got %d, want 0 (nothing was shared)", got)
	}
	if _, err := f.vault.WABASecret(ctx, wabaID); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("WABA secret: got %v, want ErrNotFound", err)
	}
}

func TestOffboardRefusesAnActiveOnboarding(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	if err := f.svc.Offboard(context.Background(), f.rec.ID); err == nil {
		t.Fatal("Offboard of a RUNNING onboarding: got nil, want an error")
	}
	if _, err := f.vault.WABASecret(context.Background(), wabaID); err != nil {
		t.Errorf("the secret of a running onboarding was deleted: %v", err)
	}
}
