package asl

import "testing"

func TestErrorMatching(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"Custom.X", "Custom.X", true},
		{"Custom.X", "Custom.Y", false},
		{ErrorAll, "Custom.X", true},
		{ErrorAll, ErrorTimeout, true},
		{ErrorTaskFailed, "TransientError", true},
		{ErrorTaskFailed, ErrorLambdaNotFound, true},
		{ErrorTaskFailed, ErrorTimeout, false},
		{ErrorTimeout, ErrorTimeout, true},
		{ErrorTimeout, "TransientError", false},
	}
	for _, tt := range tests {
		if got := matchesAny([]string{tt.pattern}, tt.name); got != tt.want {
			t.Errorf("matchesAny([%q], %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
	for _, name := range []string{ErrorRuntime, ErrorDataLimitExceeded} {
		if (&Error{Name: name}).Catchable() {
			t.Errorf("%s must not be catchable", name)
		}
	}
}
