package onboarding_test

import (
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

func TestWaitKindValid(t *testing.T) {
	for _, tt := range []struct {
		kind onboarding.WaitKind
		want bool
	}{
		{onboarding.WaitInboundMessage, true},
		{onboarding.WaitMessageStatus, true},
		{onboarding.WaitPhoneVerification, true},
		{"", false},
		{"status", false},
		{"INBOUND_MESSAGE", false},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			if got := tt.kind.Valid(); got != tt.want {
				t.Errorf("Valid(%q): got %v, want %v", tt.kind, got, tt.want)
			}
		})
	}
}
