package stephandlers

import (
	"context"
	"testing"

	"github.com/waes/onboarding/shared/graph"
)

func TestRegisterPassesTheDataLocalizationRegion(t *testing.T) {
	for _, region := range []string{"", "DE", "IN"} {
		t.Run("region "+region, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			r := f.record(t)
			r.DataLocalizationRegion = region
			if err := f.store.Update(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.RegisterPhone(context.Background(), f.in()); err != nil {
				t.Fatalf("RegisterPhone: %v", err)
			}
			if got := f.sim.SideEffects(graph.CallRegister); got != 1 {
				t.Fatalf("register calls: got %d, want 1", got)
			}
			st, _ := f.sim.PhoneState(phoneID)
			if st.DataLocalizationRegion != region {
				t.Errorf("registered with region %q, want %q", st.DataLocalizationRegion, region)
			}
		})
	}
}
