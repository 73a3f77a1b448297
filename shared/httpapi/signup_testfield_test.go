package httpapi

import "testing"

func TestParseSignupTestField(t *testing.T) {
	const base = `"code":"c","waba_id":"1","phone_number_id":"2"`
	tests := []struct {
		name      string
		body      string
		wantTest  bool
		wantField string // the field a refusal names; "" accepts
	}{
		{"no test asked", `{` + base + `}`, false, ""},
		{"a recipient asks for it", `{` + base + `,"test_recipient":"+16505551234"}`, true, ""},
		{"test true without a recipient: the phrase", `{` + base + `,"test":true}`, true, ""},
		{"test true with a recipient", `{` + base + `,"test":true,"test_recipient":"+16505551234"}`, true, ""},
		{"test false skips it", `{` + base + `,"test":false}`, false, ""},
		{"test false with a recipient is contradictory", `{` + base + `,"test":false,"test_recipient":"+16505551234"}`, false, "test"},
		{"test as a string", `{` + base + `,"test":"true"}`, false, "test"},
		{"test without a phone", `{"code":"c","waba_id":"1","event":"FINISH_ONLY_WABA","test":true}`, false, "test"},
		{"another field as a boolean", `{` + base + `,"currency":true}`, false, "currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, rerr := ParseSignup([]byte(tt.body))
			switch {
			case tt.wantField == "" && rerr != nil:
				t.Fatalf("ParseSignup: got %q (field %q), want acceptance", rerr.Message, rerr.Field)
			case tt.wantField != "" && rerr == nil:
				t.Fatalf("ParseSignup: accepted, want a refusal naming %q", tt.wantField)
			case tt.wantField != "" && rerr.Field != tt.wantField:
				t.Fatalf("refusal field: got %q, want %q", rerr.Field, tt.wantField)
			case tt.wantField == "" && req.TestMessage != tt.wantTest:
				t.Errorf("TestMessage: got %v, want %v", req.TestMessage, tt.wantTest)
			}
		})
	}
}

func TestParseSignupDataLocalizationRegion(t *testing.T) {
	const base = `"code":"c","waba_id":"1"`
	tests := []struct {
		name      string
		body      string
		want      string
		wantField string
	}{
		{"absent", `{` + base + `,"phone_number_id":"2"}`, "", ""},
		{"Germany", `{` + base + `,"phone_number_id":"2","data_localization_region":"DE"}`, "DE", ""},
		{"every listed value is accepted", `{` + base + `,"phone_number_id":"2","data_localization_region":"CA"}`, "CA", ""},
		{"not on Meta's list", `{` + base + `,"phone_number_id":"2","data_localization_region":"US"}`, "", "data_localization_region"},
		{"lower case", `{` + base + `,"phone_number_id":"2","data_localization_region":"de"}`, "", "data_localization_region"},
		{"region name rather than code", `{` + base + `,"phone_number_id":"2","data_localization_region":"EU"}`, "", "data_localization_region"},
		{"no phone", `{` + base + `,"event":"FINISH_ONLY_WABA","data_localization_region":"DE"}`, "", "data_localization_region"},
		{"coexistence skips register", `{` + base + `,"phone_number_id":"2","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING","data_localization_region":"DE"}`, "", "data_localization_region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, rerr := ParseSignup([]byte(tt.body))
			switch {
			case tt.wantField == "" && rerr != nil:
				t.Fatalf("refused: %s (field %q)", rerr.Message, rerr.Field)
			case tt.wantField != "" && (rerr == nil || rerr.Field != tt.wantField):
				t.Fatalf("got %+v, want a refusal naming %s", rerr, tt.wantField)
			case tt.wantField == "" && req.DataLocalizationRegion != tt.want:
				t.Errorf("region: got %q, want %q", req.DataLocalizationRegion, tt.want)
			}
		})
	}
}
