package onboarding

import (
	"strings"
	"testing"
)

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		name    string
		r       *Record
		wantErr string // "" when valid
	}{
		{"nil", nil, "nil record"},
		{"no id", &Record{WABAID: "1"}, "no id"},
		{"no waba_id", &Record{ID: "ob_1"}, "record ob_1 has no waba_id"},
		{"valid", &Record{ID: "ob_1", WABAID: "1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
