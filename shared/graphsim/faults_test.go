package graphsim_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graphsim"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in      string
		want    []graphsim.Fault
		wantErr string
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "register:133016x1", want: []graphsim.Fault{{Call: "register", Kind: graphsim.FaultGraphError, Code: 133016, Count: 1}}},
		{in: " oauth:2x3 , messages:131047x1 ", want: []graphsim.Fault{
			{Call: "oauth", Kind: graphsim.FaultGraphError, Code: 2, Count: 3},
			{Call: "messages", Kind: graphsim.FaultGraphError, Code: 131047, Count: 1},
		}},
		{in: "credit_sharing:timeoutx1", want: []graphsim.Fault{{Call: "credit_sharing", Kind: graphsim.FaultTimeout, Count: 1}}},
		{in: "subscribed_apps:http500x2", want: []graphsim.Fault{{Call: "subscribed_apps", Kind: graphsim.FaultHTTP500, Count: 2}}},
		{in: "phone_info:4", want: []graphsim.Fault{{Call: "phone_info", Kind: graphsim.FaultGraphError, Code: 4, Count: 1}}},
		{in: "debug_token:190x1,phone_numbers:1x1,assigned_users:100x1,credit_check:2x1", want: []graphsim.Fault{
			{Call: "debug_token", Kind: graphsim.FaultGraphError, Code: 190, Count: 1},
			{Call: "phone_numbers", Kind: graphsim.FaultGraphError, Code: 1, Count: 1},
			{Call: "assigned_users", Kind: graphsim.FaultGraphError, Code: 100, Count: 1},
			{Call: "credit_check", Kind: graphsim.FaultGraphError, Code: 2, Count: 1},
		}},
		{in: "register", wantErr: "want <call>:"},
		{in: "register:", wantErr: "want <call>:"},
		{in: "sms:100x1", wantErr: `unknown call "sms"`},
		{in: "register:abcx1", wantErr: "positive Graph error code"},
		{in: "register:0x1", wantErr: "positive Graph error code"},
		{in: "register:-5x1", wantErr: "positive Graph error code"},
		{in: "register:+5x1", wantErr: "positive Graph error code"},
		{in: "register:100x0", wantErr: "count after x"},
		{in: "register:100x", wantErr: "count after x"},
		{in: "register:100xmany", wantErr: "count after x"},
		{in: "register:100x99999999", wantErr: "count after x"},
		{in: "register:100x1,,messages:1x1", wantErr: "entry 2"},
		{in: "register:100x1,", wantErr: "empty entry"},
		{in: "Register:100x1", wantErr: "unknown call"},
		{in: "subscribed_apps.POST:timeoutx1", want: []graphsim.Fault{{Call: "subscribed_apps", Method: "POST", Kind: graphsim.FaultTimeout, Count: 1}}},
		{in: "subscribed_apps.PUT:1x1", wantErr: "GET or POST"},
		{in: "sms.POST:1x1", wantErr: `unknown call "sms"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := graphsim.ParseFaults(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFaults(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFaults(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseFaults(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFaultStringRoundTrip(t *testing.T) {
	for _, f := range []graphsim.Fault{
		{Call: "register", Kind: graphsim.FaultGraphError, Code: 133016, Count: 1},
		{Call: "messages", Kind: graphsim.FaultTimeout, Count: 2},
		{Call: "oauth", Kind: graphsim.FaultHTTP500, Count: 3},
		{Call: "subscribed_apps", Method: "GET", Kind: graphsim.FaultGraphError, Code: 2, Count: 1},
	} {
		got, err := graphsim.ParseFaults(f.String())
		if err != nil || len(got) != 1 || got[0] != f {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", f.String(), got, err, f)
		}
	}
}

func TestParseLatencyMS(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{" 250 ", 250 * time.Millisecond, false},
		{"60000", time.Minute, false},
		{"60001", 0, true},
		{"-1", 0, true},
		{"1.5", 0, true},
		{"fast", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := graphsim.ParseLatencyMS(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseLatencyMS(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
