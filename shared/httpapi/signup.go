package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// Fields of the POST /signup body.
const (
	fieldCode          = "code"
	fieldWABAID        = "waba_id"
	fieldPhoneNumberID = "phone_number_id"
	fieldBusinessID    = "business_id"
	fieldEvent         = "event"
	fieldPIN           = "pin"
	fieldCurrency      = "currency"
	fieldTestRecipient = "test_recipient"
	fieldTest          = "test"
	fieldRegion        = "data_localization_region"
	fieldWABAIDs       = "waba_ids"
)

var signupFields = []string{fieldCode, fieldWABAID, fieldPhoneNumberID, fieldBusinessID, fieldEvent, fieldPIN, fieldCurrency, fieldTestRecipient, fieldTest, fieldRegion}

// maxCodeLength bounds the Embedded Signup code (Meta's codes are a few hundred characters).
const maxCodeLength = 4096

// ParseSignup validates a POST /signup body (already size-checked) and returns the signup request. Each rule
// names the field at fault; empty strings are refused rather than read as absent, so a frontend bug that
// drops a value is caught here and not at Meta.
func ParseSignup(body []byte) (signup.Request, *requestError) {
	m, arrays, rerr := decodeObject(body, signupFields, []string{fieldWABAIDs}, []string{fieldTest})
	if rerr != nil {
		return signup.Request{}, rerr
	}
	bad := func(field, format string, args ...any) (signup.Request, *requestError) {
		return signup.Request{}, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, field, format, args...)
	}
	for k, v := range m {
		if v == "" {
			return bad(k, "%s is empty: omit the field instead", k)
		}
	}

	event := onboarding.EventFinish
	if v, ok := m[fieldEvent]; ok {
		event = onboarding.Event(v)
		if !event.Valid() {
			return bad(fieldEvent, "event must be one of %s", joinEvents())
		}
	}

	code, ok := m[fieldCode]
	if !ok {
		return signup.Request{}, invalid(http.StatusBadRequest, onboarding.CodeMissingField, fieldCode, "code is required: the code Embedded Signup returned to FB.login")
	}
	if len(code) > maxCodeLength || !allIn(code, 0x21, 0x7e) {
		return bad(fieldCode, "code must be the code Embedded Signup returned (printable ASCII, at most %d characters)", maxCodeLength)
	}

	// waba_id may be absent: the grant then names the WABA. waba_ids lists the WABAs of a multi-WABA signup.
	waba, hasWABA := m[fieldWABAID]
	if hasWABA && !onboarding.ValidGraphID(waba) {
		return bad(fieldWABAID, "waba_id must be 1 to 20 ASCII digits")
	}
	wabaIDs, hasWABAIDs := arrays[fieldWABAIDs]
	if hasWABAIDs && len(wabaIDs) == 0 {
		return bad(fieldWABAIDs, "waba_ids is empty: omit the field instead")
	}
	for i, id := range wabaIDs {
		if !onboarding.ValidGraphID(id) {
			return bad(fieldWABAIDs, "waba_ids[%d] must be 1 to 20 ASCII digits", i)
		}
		if slices.Contains(wabaIDs[:i], id) {
			return bad(fieldWABAIDs, "waba_ids lists %s twice", id)
		}
	}

	// phone_number_id may be absent for every event: the WABA's numbers then decide.
	phone, hasPhone := m[fieldPhoneNumberID]
	switch {
	case !event.HasPhone() && hasPhone:
		return bad(fieldPhoneNumberID, "phone_number_id must be absent for event %s", event)
	case hasPhone && !onboarding.ValidGraphID(phone):
		return bad(fieldPhoneNumberID, "phone_number_id must be 1 to 20 ASCII digits")
	}

	business, hasBusiness := m[fieldBusinessID]
	if hasBusiness && !onboarding.ValidGraphID(business) {
		return bad(fieldBusinessID, "business_id must be 1 to 20 ASCII digits")
	}

	pin, hasPIN := m[fieldPIN]
	switch {
	case hasPIN && !onboarding.ValidPIN(pin):
		return bad(fieldPIN, "pin must be exactly 6 ASCII digits")
	case hasPIN && !event.HasPhone():
		return bad(fieldPIN, "pin is only used to register a phone number; event %s has none", event)
	case hasPIN && event.Coexistence():
		return bad(fieldPIN, "pin is not used for WhatsApp Business app (coexistence) numbers, which are not registered again")
	}

	currency, hasCurrency := m[fieldCurrency]
	if hasCurrency && !onboarding.ValidCurrency(currency) {
		return bad(fieldCurrency, "currency must be one of %s", strings.Join(onboarding.Currencies, ", "))
	}

	recipient, hasRecipient := m[fieldTestRecipient]
	switch {
	case hasRecipient && !onboarding.ValidE164(recipient):
		return bad(fieldTestRecipient, "test_recipient must be a phone number in E.164 form, such as +16505551234")
	case hasRecipient && !event.HasPhone():
		return bad(fieldTestRecipient, "test_recipient needs a business phone number; event %s has none", event)
	}

	region, hasRegion := m[fieldRegion]
	switch {
	case hasRegion && !onboarding.ValidDataLocalizationRegion(region):
		return bad(fieldRegion, "data_localization_region must be one of %s", strings.Join(onboarding.DataLocalizationRegions, ", "))
	case hasRegion && !event.HasPhone():
		return bad(fieldRegion, "data_localization_region applies when a phone number is registered; event %s has none", event)
	case hasRegion && event == onboarding.EventFinishBusinessApp:
		return bad(fieldRegion, "data_localization_region is set at registration, which WhatsApp Business app (coexistence) numbers skip")
	}

	// test defaults to true when a test_recipient is named, false otherwise; true without a recipient waits
	// for a message containing the onboarding's test_phrase.
	test, hasTest := m[fieldTest]
	switch {
	case test == "true" && !event.HasPhone():
		return bad(fieldTest, "the test message needs a business phone number; event %s has none", event)
	case test == "false" && hasRecipient:
		return bad(fieldTest, "test is false but test_recipient is given: drop one of them")
	}

	req := signup.Request{
		Code: onboarding.NewSecret(code), WABAID: waba, WABAIDs: wabaIDs, PhoneNumberID: phone, BusinessID: business,
		Event: event, Currency: currency, TestRecipient: recipient, TestMessage: test == "true" || (!hasTest && hasRecipient),
		DataLocalizationRegion: region,
	}
	if hasPIN {
		req.PIN = onboarding.NewSecret(pin)
	}
	return req, nil
}

func joinEvents() string {
	names := make([]string, len(onboarding.Events))
	for i, e := range onboarding.Events {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}
