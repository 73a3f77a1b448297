package runner

import (
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

func TestDataLocalizationRegionReachesRegister(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, `,"data_localization_region":"SG"`)
	rec := h.await(id, onboarding.StatusCompleted)
	if got := rec["data_localization_region"]; got != "SG" {
		t.Errorf("record: data_localization_region %v, want SG", got)
	}
	if st, _ := h.r.Sim.PhoneState(phone); st.DataLocalizationRegion != "SG" {
		t.Errorf("the simulator registered the number with %q, want SG", st.DataLocalizationRegion)
	}
}
