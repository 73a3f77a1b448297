package httpapi

import (
	"strings"
	"testing"
)

// BenchmarkParseSignup measures the validation of a POST /signup body (strict decoding, then every field
// rule): the smallest accepted body, a body with every field and a code of Meta's usual length, and a
// refused one (an unknown field).
func BenchmarkParseSignup(b *testing.B) {
	code := "AQB" + strings.Repeat("x7Kq2mZ9vR4tP1sW8nL3cY6hJ0dF5gB", 10) // Meta's codes run to a few hundred characters
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		{"minimal", `{"code":"` + code + `","waba_id":"102290129340398","phone_number_id":"106540352242922"}`, true},
		{"all_fields", `{"code":"` + code + `","waba_id":"102290129340398","phone_number_id":"106540352242922","business_id":"4561237890123",` +
			`"event":"FINISH","pin":"581063","currency":"EUR","test_recipient":"+16505551234"}`, true},
		{"refused_unknown_field", `{"code":"` + code + `","waba_id":"102290129340398","phone_number_id":"106540352242922","access_token":"x"}`, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				_, rerr := ParseSignup(body)
				if (rerr == nil) != c.ok {
					b.Fatalf("accepted: %v, want %v (%v)", rerr == nil, c.ok, rerr)
				}
			}
		})
	}
}
