package graph

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"

	"github.com/waes/onboarding/shared/onboarding"
)

// Call names of the phone verification and coexistence sync calls (GRAPH_SIM_FAULTS uses the same names).
const (
	CallRequestCode = "request_code" // POST /<PHONE_NUMBER_ID>/request_code
	CallVerifyCode  = "verify_code"  // POST /<PHONE_NUMBER_ID>/verify_code
	CallSMBAppData  = "smb_app_data" // POST /<PHONE_NUMBER_ID>/smb_app_data
)

// Graph error codes of the coexistence sync (smb_app_data and its history webhook).
const (
	// CodeSyncAlreadyDone: the sync of this type was already requested for the number (once only).
	CodeSyncAlreadyDone = 2593107
	// CodeSyncWindowExpired: the sync must be requested within 24 hours of onboarding.
	CodeSyncWindowExpired = 2593108
	// CodeHistoryDeclined: the business chose not to share its message history (history webhook).
	CodeHistoryDeclined = 2593109
	// CodeRequestCode is Meta's "Request code error" of request_code.
	CodeRequestCode = 136024
	// CodePhoneNotVerified: /register on a number whose ownership is not verified yet.
	CodePhoneNotVerified = 133006
)

// Code verification values of a phone number's code_verification_status.
const (
	CodeVerified    = "VERIFIED"
	CodeNotVerified = "NOT_VERIFIED"
	CodeExpired     = "EXPIRED"
)

// Verification code delivery methods of request_code. Meta's reference also lists IVR.
var CodeMethods = []string{"SMS", "VOICE", "IVR"}

// Sync types of smb_app_data, in the order they must be requested.
const (
	SyncStateSync = "smb_app_state_sync"
	SyncHistory   = "history"
)

var (
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	codePattern     = regexp.MustCompile(`^[0-9]{6}$`)
)

// RequestCodeInput asks Meta to send a verification code to the business phone number.
type RequestCodeInput struct {
	PhoneNumberID string
	// Method is SMS, VOICE or IVR.
	Method string
	// Language is a locale such as en_US.
	Language    string
	AccessToken onboarding.Secret
}

// VerifyCodeInput submits the six-digit verification code the customer received.
type VerifyCodeInput struct {
	PhoneNumberID string
	Code          onboarding.Secret
	AccessToken   onboarding.Secret
}

// SMBAppDataInput requests one coexistence sync of a WhatsApp Business app number.
type SMBAppDataInput struct {
	PhoneNumberID string
	// SyncType is SyncStateSync or SyncHistory.
	SyncType    string
	AccessToken onboarding.Secret
}

// SMBAppDataOutput is Meta's acceptance of a sync request.
type SMBAppDataOutput struct {
	// RequestID identifies the request to Meta support.
	RequestID string `json:"request_id"`
}

// RequestCode asks Meta to send the verification code (POST /<PHONE_NUMBER_ID>/request_code with
// code_method and language as query parameters, as Meta's examples send them). It is not repeated once sent:
// each request sends the customer another SMS or call.
func (c *Client) RequestCode(ctx context.Context, in *RequestCodeInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallRequestCode, in, optFns, func(in *RequestCodeInput) (*operation, error) {
		return &operation{
				method: http.MethodPost, path: joinPath(in.PhoneNumberID, "request_code"), mode: neverAfterSent,
				query: url.Values{"code_method": {in.Method}, "language": {in.Language}},
				token: in.AccessToken,
			}, firstError(
				pathParam(CallRequestCode, "phone_number_id", in.PhoneNumberID),
				check(slices.Contains(CodeMethods, in.Method), CallRequestCode, "code_method", "must be SMS, VOICE or IVR"),
				check(languagePattern.MatchString(in.Language), CallRequestCode, "language", "must be a locale such as en_US"))
	})
}

// VerifyCode submits the verification code (POST /<PHONE_NUMBER_ID>/verify_code {"code": ...}). A code is
// single-use, so the call is never repeated once sent; after a lost answer the caller reads the number's
// code_verification_status instead.
func (c *Client) VerifyCode(ctx context.Context, in *VerifyCodeInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallVerifyCode, in, optFns, func(in *VerifyCodeInput) (*operation, error) {
		return &operation{
				method: http.MethodPost, path: joinPath(in.PhoneNumberID, "verify_code"), mode: neverAfterSent,
				token: in.AccessToken, secrets: secretValues(in.Code),
				jsonBody: struct {
					Code string `json:"code"`
				}{in.Code.Reveal()},
			}, firstError(
				pathParam(CallVerifyCode, "phone_number_id", in.PhoneNumberID),
				check(codePattern.MatchString(in.Code.Reveal()), CallVerifyCode, "code", "must be 6 digits"))
	})
}

// SMBAppData requests a coexistence sync (POST /<PHONE_NUMBER_ID>/smb_app_data). Meta accepts each sync type
// once per number (error 2593107 afterwards) and only within 24 hours of onboarding (2593108), so the call is
// never repeated once sent.
func (c *Client) SMBAppData(ctx context.Context, in *SMBAppDataInput, optFns ...func(*Options)) (*SMBAppDataOutput, error) {
	return call(ctx, c, CallSMBAppData, in, optFns, func(in *SMBAppDataInput) (*operation, error) {
		return &operation{
				method: http.MethodPost, path: joinPath(in.PhoneNumberID, "smb_app_data"), mode: neverAfterSent,
				token: in.AccessToken,
				jsonBody: struct {
					MessagingProduct string `json:"messaging_product"`
					SyncType         string `json:"sync_type"`
				}{"whatsapp", in.SyncType},
			}, firstError(
				pathParam(CallSMBAppData, "phone_number_id", in.PhoneNumberID),
				check(in.SyncType == SyncStateSync || in.SyncType == SyncHistory, CallSMBAppData, "sync_type",
					"must be smb_app_state_sync or history"))
	}, func(r *SMBAppDataOutput) string { return unless(r.RequestID != "", "request_id") })
}
