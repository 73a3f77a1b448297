package httpapi

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// Fields of the phone verification and retry bodies.
const (
	fieldMethod   = "method"
	fieldLanguage = "language"
	fieldVCode    = "code"
)

// maxSmallBody bounds the bodies of the retry and phone verification routes.
const maxSmallBody = 1024

// codeMethods are the delivery methods the API offers. Meta's request_code also takes IVR; the contract
// keeps to the two the customer chooses between.
var codeMethods = []string{"SMS", "VOICE"}

// rateLimitedResponse is the 429 answer: the error and how many seconds to wait.
type rateLimitedResponse struct {
	Error      ErrorBody `json:"error"`
	RetryAfter int       `json:"retry_after"`
}

// codeRequestedResponse is the 202 answer of POST /onboardings/{id}/phone-verification/code.
type codeRequestedResponse struct {
	ID     string            `json:"id"`
	Status onboarding.Status `json:"status"`
	// RetryAfter is how many seconds until another code may be requested.
	RetryAfter int `json:"retry_after"`
}

func seconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func writeRateLimited(w http.ResponseWriter, e *signup.RateLimitedError) {
	secs := max(seconds(e.RetryAfter), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteJSON(w, http.StatusTooManyRequests, rateLimitedResponse{
		Error: ErrorBody{Code: onboarding.CodeVerificationRateLimited, Message: e.Reason}, RetryAfter: secs})
}

// ParseRetry reads the optional body of POST /onboardings/{id}/retry: none, or a JSON object with an
// optional phone_number_id (decoded as strictly as the signup). The body is read, not its Content-Length
// trusted, so a chunked body is checked too.
func ParseRetry(r *http.Request) (signup.RetryOptions, *requestError) {
	body, rerr := readBody(r, maxSmallBody)
	if rerr != nil || len(body) == 0 {
		return signup.RetryOptions{}, rerr
	}
	// Clients that always send a body often send no Content-Type with it: a declared one must be JSON.
	if r.Header.Get("Content-Type") != "" {
		if rerr := checkJSONContentType(r); rerr != nil {
			return signup.RetryOptions{}, rerr
		}
	}
	m, rerr := decodeStringObject(body, []string{fieldPhoneNumberID})
	if rerr != nil {
		return signup.RetryOptions{}, rerr
	}
	phone, ok := m[fieldPhoneNumberID]
	if ok && !onboarding.ValidGraphID(phone) {
		return signup.RetryOptions{}, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, fieldPhoneNumberID, "phone_number_id must be 1 to 20 ASCII digits")
	}
	return signup.RetryOptions{PhoneNumberID: phone}, nil
}

// ParseCodeRequest validates the body of POST /onboardings/{id}/phone-verification/code.
func ParseCodeRequest(body []byte) (signup.CodeRequest, *requestError) {
	m, rerr := decodeStringObject(body, []string{fieldMethod, fieldLanguage})
	if rerr != nil {
		return signup.CodeRequest{}, rerr
	}
	method, ok := m[fieldMethod]
	if !ok {
		return signup.CodeRequest{}, invalid(http.StatusBadRequest, onboarding.CodeMissingField, fieldMethod, "method is required: SMS or VOICE")
	}
	if !slices.Contains(codeMethods, method) {
		return signup.CodeRequest{}, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, fieldMethod, "method must be SMS or VOICE")
	}
	lang, ok := m[fieldLanguage]
	if !ok {
		lang = "en_US"
	}
	if !validLanguage(lang) {
		return signup.CodeRequest{}, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, fieldLanguage, "language must be a locale such as en_US")
	}
	return signup.CodeRequest{Method: method, Language: lang}, nil
}

// validLanguage accepts ll or ll_CC (2 or 3 lower-case letters, then an optional upper-case country code).
func validLanguage(s string) bool {
	lang, country, hasCountry := strings.Cut(s, "_")
	if len(lang) < 2 || len(lang) > 3 || !allIn(lang, 'a', 'z') {
		return false
	}
	return !hasCountry || (len(country) == 2 && allIn(country, 'A', 'Z'))
}

// allIn reports whether every byte of s lies in lo..hi.
func allIn(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return true
}

// ParseVerificationCode validates the body of POST /onboardings/{id}/phone-verification: a code of exactly
// six ASCII digits.
func ParseVerificationCode(body []byte) (onboarding.Secret, *requestError) {
	m, rerr := decodeStringObject(body, []string{fieldVCode})
	if rerr != nil {
		return onboarding.Secret{}, rerr
	}
	code, ok := m[fieldVCode]
	if !ok {
		return onboarding.Secret{}, invalid(http.StatusBadRequest, onboarding.CodeMissingField, fieldVCode, "code is required: the 6-digit code Meta sent")
	}
	if len(code) != 6 || !allIn(code, '0', '9') {
		return onboarding.Secret{}, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, fieldVCode, "code must be exactly 6 ASCII digits")
	}
	return onboarding.NewSecret(code), nil
}

// smallJSONBody is the parse of a route with a small JSON body: it checks the content type, reads the body
// and hands it to parse.
func smallJSONBody[T any](parse func([]byte) (T, *requestError)) func(*http.Request) (T, *requestError) {
	return func(r *http.Request) (T, *requestError) {
		body, rerr := readJSONBody(r, maxSmallBody)
		if rerr != nil {
			var zero T
			return zero, rerr
		}
		return parse(body)
	}
}

func (a *API) requestCode(ctx context.Context, id string, req signup.CodeRequest) (int, any, error) {
	out, err := a.svc.RequestVerificationCode(ctx, id, req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, codeRequestedResponse{ID: out.Record.ID, Status: out.Record.Status, RetryAfter: seconds(out.RetryAfter)}, nil
}

func (a *API) submitCode(ctx context.Context, id string, code onboarding.Secret) (int, any, error) {
	rec, err := a.svc.SubmitVerificationCode(ctx, id, code)
	return http.StatusAccepted, forAPI(rec), err
}
