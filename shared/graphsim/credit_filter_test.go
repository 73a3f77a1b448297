package graphsim_test

import (
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
)

// TestAllocationsByReceivingBusiness: owning_credit_allocation_configs?receiving_business_id= lists only the
// allocations shared with that business portfolio, the owner GET /<WABA>?fields=owner_business_info names.
func TestAllocationsByReceivingBusiness(t *testing.T) {
	e := newEnv(t)
	sys := secret(systemToken)
	wabas := []string{"102290129340398", "102290129340399", "102290129340400"}
	allocOf := map[string]string{}
	for _, w := range wabas {
		e.token(t, w, "")
		if err := e.client.AssignUser(ctx, &graph.AssignUserInput{WABAID: w, UserID: systemUserID, AccessToken: sys}); err != nil {
			t.Fatal(err)
		}
		out, err := e.client.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: w, Currency: "USD", AccessToken: sys})
		if err != nil {
			t.Fatal(err)
		}
		allocOf[w] = out.AllocationConfigID
	}
	waba, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabas[1], AccessToken: sys})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := waba.OwnerBusinessID, graphsim.OwnerBusinessID(wabas[1]); got != want {
		t.Fatalf("owner_business_info.id: got %q, want %q", got, want)
	}
	all, err := e.client.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, AccessToken: sys})
	if err != nil || len(all) != 3 {
		t.Fatalf("unfiltered: got %d allocations (%v), want 3", len(all), err)
	}
	one, err := e.client.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, ReceivingBusinessID: waba.OwnerBusinessID, AccessToken: sys})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].ID != allocOf[wabas[1]] || one[0].ReceivingCredentialID != waba.PrimaryFundingID {
		t.Errorf("filtered: got %+v, want only %s funding %s", one, allocOf[wabas[1]], waba.PrimaryFundingID)
	}
	none, err := e.client.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, ReceivingBusinessID: "999", AccessToken: sys})
	if err != nil || len(none) != 0 {
		t.Errorf("another business: got %v, %v; want none", none, err)
	}
}
