package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
)

func TestParseSignupAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
		want func(t *testing.T, got map[string]string)
	}{
		{
			name: "minimal FINISH",
			body: `{"code":"AQBhlXsctMxJ","waba_id":"102290129340398","phone_number_id":"106540352242922"}`,
		},
		{
			name: "every field",
			body: `{"code":"AQB-_x.y~z","waba_id":"1","phone_number_id":"2","business_id":"3","event":"FINISH","pin":"581063","currency":"EUR","test_recipient":"+16505551234"}`,
		},
		{
			name: "FINISH_ONLY_WABA without phone",
			body: `{"code":"c","waba_id":"1","event":"FINISH_ONLY_WABA"}`,
		},
		{
			name: "coexistence",
			body: `{"code":"c","waba_id":"1","phone_number_id":"2","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"}`,
		},
		{
			name: "every v4 finish type, without ids",
			body: `{"code":"c","event":"FINISH_OBO_MIGRATION"}`,
		},
		{
			name: "grant-only API access with a phone",
			body: `{"code":"c","waba_id":"1","phone_number_id":"2","event":"FINISH_GRANT_ONLY_API_ACCESS"}`,
		},
		{
			name: "coexistence without a phone number id",
			body: `{"code":"c","waba_id":"1","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"}`,
		},
		{
			name: "multi-WABA",
			body: `{"code":"c","waba_ids":["1","2"]}`,
		},
		{
			name: "whitespace around the object",
			body: " \n{\"code\":\"c\",\"waba_id\":\"1\",\"phone_number_id\":\"2\"}\n ",
		},
		{
			name: "unicode escapes in strings decode",
			body: `{"code":"\u0041BC","waba_id":"1","phone_number_id":"2"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, rerr := ParseSignup([]byte(tt.body))
			if rerr != nil {
				t.Fatalf("ParseSignup: got error %v (field %q), want none", rerr.Message, rerr.Field)
			}
			if req.Event == "" {
				t.Errorf("got empty event, want a default")
			}
		})
	}
}

func TestParseSignupOptionalIDs(t *testing.T) {
	req, rerr := ParseSignup([]byte(`{"code":"c","waba_id":"9","waba_ids":["1","2"],"event":"FINISH_GRANT_ONLY_API_ACCESS"}`))
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	if got, want := strings.Join(req.WABAIDs, ","), "1,2"; got != want {
		t.Errorf("waba_ids: got %q, want %q", got, want)
	}
	if req.WABAID != "9" || req.PhoneNumberID != "" || req.Event != onboarding.EventFinishGrantOnly {
		t.Errorf("got waba %q, phone %q, event %q", req.WABAID, req.PhoneNumberID, req.Event)
	}
	for _, e := range onboarding.Events {
		if _, rerr := ParseSignup([]byte(`{"code":"c","event":"` + string(e) + `"}`)); rerr != nil {
			t.Errorf("event %s without ids: %s", e, rerr.Message)
		}
	}
}

func TestParseSignupDefaultsAndValues(t *testing.T) {
	req, rerr := ParseSignup([]byte(`{"code":"abc","waba_id":"1","phone_number_id":"2","pin":"123456","test_recipient":"+442071838750"}`))
	if rerr != nil {
		t.Fatal(rerr.Message)
	}
	if got, want := req.Event, onboarding.EventFinish; got != want {
		t.Errorf("event: got %q, want %q", got, want)
	}
	if got, want := req.Code.Reveal(), "abc"; got != want {
		t.Errorf("code: got %q, want %q", got, want)
	}
	if got, want := req.PIN.Reveal(), "123456"; got != want {
		t.Errorf("pin: got %q, want %q", got, want)
	}
	if got, want := req.TestRecipient, "+442071838750"; got != want {
		t.Errorf("test_recipient: got %q, want %q", got, want)
	}
	if req.Currency != "" {
		t.Errorf("currency: got %q, want empty (the stage default applies later)", req.Currency)
	}
}

func TestParseSignupRefuses(t *testing.T) {
	const ok = `"code":"c","waba_id":"1","phone_number_id":"2"`
	tests := []struct {
		name      string
		body      string
		wantCode  string
		wantField string
	}{
		{"empty body", ``, onboarding.CodeInvalidJSON, ""},
		{"whitespace body", "  \n", onboarding.CodeInvalidJSON, ""},
		{"not an object", `["code"]`, onboarding.CodeInvalidJSON, ""},
		{"a string", `"code"`, onboarding.CodeInvalidJSON, ""},
		{"malformed", `{"code":`, onboarding.CodeInvalidJSON, ""},
		{"trailing comma", `{` + ok + `,}`, onboarding.CodeInvalidJSON, ""},
		{"trailing data", `{` + ok + `}{}`, onboarding.CodeInvalidJSON, ""},
		{"trailing garbage", `{` + ok + `} x`, onboarding.CodeInvalidJSON, ""},
		{"invalid UTF-8", "{\"code\":\"\xff\",\"waba_id\":\"1\",\"phone_number_id\":\"2\"}", onboarding.CodeInvalidJSON, ""},
		{"duplicate key", `{` + ok + `,"code":"d"}`, onboarding.CodeInvalidJSON, "code"},
		{"unknown field", `{` + ok + `,"foo":"x"}`, onboarding.CodeUnknownField, "foo"},
		{"key case variant", `{"Code":"c","waba_id":"1","phone_number_id":"2"}`, onboarding.CodeUnknownField, "Code"},
		{"key case variant of waba_id", `{"code":"c","WABA_ID":"1","phone_number_id":"2"}`, onboarding.CodeUnknownField, "WABA_ID"},
		{"number instead of string", `{"code":"c","waba_id":102290129340398,"phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"null value", `{"code":null,"waba_id":"1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "code"},
		{"boolean value", `{` + ok + `,"pin":true}`, onboarding.CodeInvalidField, "pin"},
		{"object value", `{` + ok + `,"event":{"a":"b"}}`, onboarding.CodeInvalidField, "event"},
		{"array value", `{` + ok + `,"currency":["USD"]}`, onboarding.CodeInvalidField, "currency"},
		{"missing code", `{"waba_id":"1","phone_number_id":"2"}`, onboarding.CodeMissingField, "code"},
		{"empty code", `{"code":"","waba_id":"1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "code"},
		{"code with space", `{"code":"a b","waba_id":"1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "code"},
		{"code with control char", `{"code":"a\u0000b","waba_id":"1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "code"},
		{"code too long", `{"code":"` + strings.Repeat("a", 4097) + `","waba_id":"1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "code"},
		{"waba_id with letters", `{"code":"c","waba_id":"12a","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_id path injection", `{"code":"c","waba_id":"1/subscribed_apps","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_id query injection", `{"code":"c","waba_id":"1?fields=x","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_id too long", `{"code":"c","waba_id":"123456789012345678901","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_id non-ASCII digits", `{"code":"c","waba_id":"١٢٣","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_id negative", `{"code":"c","waba_id":"-1","phone_number_id":"2"}`, onboarding.CodeInvalidField, "waba_id"},
		{"waba_ids not an array", `{"code":"c","waba_ids":"1"}`, onboarding.CodeInvalidField, "waba_ids"},
		{"waba_ids empty", `{"code":"c","waba_ids":[]}`, onboarding.CodeInvalidField, "waba_ids"},
		{"waba_ids with a number", `{"code":"c","waba_ids":[1]}`, onboarding.CodeInvalidField, "waba_ids"},
		{"waba_ids with a bad id", `{"code":"c","waba_ids":["1","x"]}`, onboarding.CodeInvalidField, "waba_ids"},
		{"waba_ids twice the same", `{"code":"c","waba_ids":["1","1"]}`, onboarding.CodeInvalidField, "waba_ids"},
		{"waba_ids given twice", `{"code":"c","waba_ids":["1"],"waba_ids":["2"]}`, onboarding.CodeInvalidJSON, "waba_ids"},
		{"unknown event", `{"code":"c","event":"FINISH_SOMETHING"}`, onboarding.CodeInvalidField, "event"},
		{"phone with FINISH_ONLY_WABA", `{"code":"c","waba_id":"1","phone_number_id":"2","event":"FINISH_ONLY_WABA"}`, onboarding.CodeInvalidField, "phone_number_id"},
		{"phone not digits", `{"code":"c","waba_id":"1","phone_number_id":"+1650"}`, onboarding.CodeInvalidField, "phone_number_id"},
		{"empty phone", `{"code":"c","waba_id":"1","phone_number_id":""}`, onboarding.CodeInvalidField, "phone_number_id"},
		{"business_id not digits", `{` + ok + `,"business_id":"x"}`, onboarding.CodeInvalidField, "business_id"},
		{"unknown event", `{` + ok + `,"event":"CANCEL"}`, onboarding.CodeInvalidField, "event"},
		{"event lower case", `{` + ok + `,"event":"finish"}`, onboarding.CodeInvalidField, "event"},
		{"pin five digits", `{` + ok + `,"pin":"12345"}`, onboarding.CodeInvalidField, "pin"},
		{"pin seven digits", `{` + ok + `,"pin":"1234567"}`, onboarding.CodeInvalidField, "pin"},
		{"pin letters", `{` + ok + `,"pin":"12345a"}`, onboarding.CodeInvalidField, "pin"},
		{"pin without phone", `{"code":"c","waba_id":"1","event":"FINISH_ONLY_WABA","pin":"123456"}`, onboarding.CodeInvalidField, "pin"},
		{"pin for coexistence", `{` + ok + `,"event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING","pin":"123456"}`, onboarding.CodeInvalidField, "pin"},
		{"unsupported currency", `{` + ok + `,"currency":"JPY"}`, onboarding.CodeInvalidField, "currency"},
		{"lower-case currency", `{` + ok + `,"currency":"usd"}`, onboarding.CodeInvalidField, "currency"},
		{"recipient without plus", `{` + ok + `,"test_recipient":"16505551234"}`, onboarding.CodeInvalidField, "test_recipient"},
		{"recipient too short", `{` + ok + `,"test_recipient":"+1650"}`, onboarding.CodeInvalidField, "test_recipient"},
		{"recipient with spaces", `{` + ok + `,"test_recipient":"+1 650 555 1234"}`, onboarding.CodeInvalidField, "test_recipient"},
		{"recipient without phone", `{"code":"c","waba_id":"1","event":"FINISH_ONLY_WABA","test_recipient":"+16505551234"}`, onboarding.CodeInvalidField, "test_recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rerr := ParseSignup([]byte(tt.body))
			if rerr == nil {
				t.Fatalf("ParseSignup(%s): got no error, want %s", tt.body, tt.wantCode)
			}
			if got, want := rerr.status, http.StatusBadRequest; got != want {
				t.Errorf("status: got %d, want %d", got, want)
			}
			if got, want := rerr.Code, tt.wantCode; got != want {
				t.Errorf("code: got %q, want %q (message %q)", got, want, rerr.Message)
			}
			if got, want := rerr.Field, tt.wantField; got != want {
				t.Errorf("field: got %q, want %q (message %q)", got, want, rerr.Message)
			}
			if rerr.Message == "" {
				t.Errorf("got an empty message")
			}
		})
	}
}

func TestParseSignupErrorNeverEchoesSecrets(t *testing.T) {
	const code = "AQBsecretcodevalue"
	bodies := []string{
		`{"code":"` + code + `","waba_id":"x","phone_number_id":"2"}`,
		`{"code":"` + code + `","waba_id":"1","phone_number_id":"2","pin":"12345x"}`,
		`{"code":"` + code + `","waba_id":"1","phone_number_id":"2","pin":"123456","event":"FINISH_ONLY_WABA"}`,
		`{"code":"` + code + `","code":"` + code + `"}`,
	}
	for _, b := range bodies {
		_, rerr := ParseSignup([]byte(b))
		if rerr == nil {
			t.Fatalf("ParseSignup(%s): got no error", b)
		}
		for _, secret := range []string{code, "12345x", "123456"} {
			if strings.Contains(rerr.Message, secret) {
				t.Errorf("error message %q contains a secret value %q", rerr.Message, secret)
			}
		}
	}
}

func FuzzParseSignup(f *testing.F) {
	f.Add(`{"code":"c","waba_id":"1","phone_number_id":"2"}`)
	f.Add(`{"code":"c","waba_id":"1","event":"FINISH_ONLY_WABA"}`)
	f.Add(`{"code":"c","waba_id":"1","phone_number_id":"2","pin":"123456","currency":"USD","test_recipient":"+16505551234"}`)
	f.Add(`{"Code":"c"}`)
	f.Add(`{"code":1}`)
	f.Add(`{} {}`)
	f.Add(`{"code":"0"}`)
	f.Add(`{"code":"c","waba_ids":["1","2"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, rerr := ParseSignup([]byte(body))
		if rerr != nil {
			if rerr.Code == "" || rerr.Message == "" {
				t.Fatalf("error without code or message: %+v", rerr)
			}
			return
		}
		// Whatever is accepted must satisfy every rule the Graph paths rely on. waba_id may be absent (the
		// grant names the WABA), but what is given is an id.
		if req.WABAID != "" && !onboarding.ValidGraphID(req.WABAID) {
			t.Fatalf("accepted waba_id %q", req.WABAID)
		}
		for _, id := range req.WABAIDs {
			if !onboarding.ValidGraphID(id) {
				t.Fatalf("accepted waba_ids entry %q", id)
			}
		}
		if req.PhoneNumberID != "" && !onboarding.ValidGraphID(req.PhoneNumberID) {
			t.Fatalf("accepted phone_number_id %q", req.PhoneNumberID)
		}
		if !req.Event.Valid() || req.Code.IsZero() {
			t.Fatalf("accepted event %q or empty code", req.Event)
		}
		if !req.PIN.IsZero() && !onboarding.ValidPIN(req.PIN.Reveal()) {
			t.Fatalf("accepted an invalid pin")
		}
	})
}
