package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/openapitest"
	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// apiPaths are the paths this package serves; /webhooks is checked by the webhook package.
var apiPaths = []string{"/signup", "/onboardings", "/onboardings/{id}", "/onboardings/{id}/retry",
	"/onboardings/{id}/phone-verification/code", "/onboardings/{id}/phone-verification", "/healthz"}

// tokenAuth accepts "Bearer good" as customer-1 and refuses anything else, as a verifier would.
type tokenAuth struct{}

func (tokenAuth) Authenticate(r *http.Request) (auth.Caller, error) {
	if r.Header.Get("Authorization") == "Bearer good" {
		return auth.Caller{Subject: "customer-1"}, nil
	}
	return auth.Caller{}, &auth.Error{Reason: "no valid bearer token", InvalidToken: r.Header.Get("Authorization") != ""}
}

// TestOpenAPIMatchesHandlers drives the handler through every documented response of every documented
// operation and validates the status and body against the document, and checks that nothing undocumented is
// served.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	doc := openapitest.Load(t)
	failed := onboarding.NewRecord(onboarding.NewRecordInput{ID: testID, WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: time.Now()})
	_ = failed.Fail(onboarding.StepRegisterPhone, onboarding.StepError{Code: onboarding.CodeRegisterBlocked, GraphCode: 133016, Message: "blocked", FBTraceID: "AbC"}, time.Now())
	resumed := failed.Clone()
	_, _ = resumed.Resume(time.Now())
	waiting := failed.Clone()
	waiting.Status = onboarding.StatusAwaitingPhoneVerification
	const (
		idNotWaiting = "CCCCCCCCCCCCCCCCCCCCCC"
		idLimited    = "DDDDDDDDDDDDDDDDDDDDDD"
		idUpstream   = "EEEEEEEEEEEEEEEEEEEEEE"
		idUnavail    = "FFFFFFFFFFFFFFFFFFFFFF"
		idRefused    = "GGGGGGGGGGGGGGGGGGGGGG"
	)
	verifyErr := func(id string) error {
		switch id {
		case testID:
			return nil
		case idNotWaiting:
			return &signup.NotAwaitingError{Status: onboarding.StatusRunning}
		case idLimited:
			return &signup.RateLimitedError{RetryAfter: 90 * time.Second, Reason: "too soon"}
		case idUpstream:
			return &signup.UpstreamError{Reason: "Meta did not answer"}
		case idUnavail:
			return &signup.UnavailableError{Reason: "store down", Err: errors.New("throttled")}
		case idRefused:
			return &signup.CodeRefusedError{Reason: "wrong code"}
		}
		return onboarding.ErrNotFound
	}
	svc := func(signupErr error) fakeOnboardings {
		return fakeOnboardings{
			requestCode: func(id string, _ signup.CodeRequest) (*signup.CodeRequested, error) {
				if err := verifyErr(id); err != nil {
					return nil, err
				}
				return &signup.CodeRequested{Record: waiting, RetryAfter: time.Minute}, nil
			},
			submitCode: func(id string, _ onboarding.Secret) (*onboarding.Record, error) {
				if err := verifyErr(id); err != nil {
					return nil, err
				}
				return resumed, nil
			},
			retryWith: func(id string, opts signup.RetryOptions) (*onboarding.Record, error) {
				if opts.PhoneNumberID == "999" {
					return nil, &signup.GrantError{Field: "phone_number_id", Reason: "not a number of the WABA"}
				}
				switch id {
				case testID:
					return resumed, nil
				case "BBBBBBBBBBBBBBBBBBBBBB":
					return nil, &onboarding.NotRetryableError{Code: onboarding.CodeReauthRequired, Reason: "sign up again"}
				}
				return nil, onboarding.ErrNotFound
			},
			signup: func(signup.Request) (*onboarding.Record, error) {
				if signupErr != nil {
					return nil, signupErr
				}
				return sampleRecord(), nil
			},
			get: func(id string) (*onboarding.Record, error) {
				if id == testID {
					return failed, nil
				}
				return nil, onboarding.ErrNotFound
			},
			list: func(customer string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
				if cursor == "bad" {
					return nil, "", onboarding.ErrInvalidCursor
				}
				r := sampleRecord()
				r.CustomerRef = customer
				return []*onboarding.Record{r}, onboarding.ListCursor(r.CreatedAt, r.ID), nil
			},
			retry: func(id string) (*onboarding.Record, error) {
				switch id {
				case testID:
					return resumed, nil
				case "BBBBBBBBBBBBBBBBBBBBBB":
					return nil, &onboarding.NotRetryableError{Code: onboarding.CodeReauthRequired, Reason: "sign up again"}
				}
				return nil, onboarding.ErrNotFound
			},
		}
	}
	type scenario struct {
		path, method, contentType, body string
		svc                             fakeOnboardings
		status                          int
		// token is sent as a bearer token to an API with partner authentication ("-": without a token);
		// empty means partner authentication is off.
		token string
	}
	const ctJSON = "application/json"
	scenarios := []scenario{
		{"/signup", "POST", ctJSON, goodSignup, svc(nil), 202, ""},
		{"/signup", "POST", ctJSON, `{"code":"c","waba_ids":[]}`, svc(nil), 400, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.ExchangeError{Reason: "expired"}), 400, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.GrantError{Field: "waba_id", Reason: "no"}), 403, ""},
		{"/signup", "GET", "", "", svc(nil), 405, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(&onboarding.ActiveOnboardingError{ExistingID: testID}), 409, ""},
		{"/signup", "POST", ctJSON, `{"code":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, svc(nil), 413, ""},
		{"/signup", "POST", "text/plain", goodSignup, svc(nil), 415, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(errors.New("boom")), 500, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.UpstreamError{Reason: "timeout"}), 502, ""},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.UnavailableError{Reason: "restart Embedded Signup", Err: errors.New("throttled")}), 503, ""},
		{"/onboardings/" + testID, "GET", "", "", svc(nil), 200, ""},
		{"/onboardings/" + testID, "GET", "", "x", svc(nil), 400, ""},
		{"/onboardings/" + onboarding.NewID(), "GET", "", "", svc(nil), 404, ""},
		{"/onboardings/" + testID, "DELETE", "", "", svc(nil), 405, ""},
		{"/onboardings/" + testID + "/retry", "POST", "", "", svc(nil), 202, ""},
		{"/onboardings/" + testID + "/retry", "POST", ctJSON, `{"force":true}`, svc(nil), 400, ""},
		{"/onboardings/" + onboarding.NewID() + "/retry", "POST", "", "", svc(nil), 404, ""},
		{"/onboardings/" + testID + "/retry", "PUT", "", "", svc(nil), 405, ""},
		{"/onboardings/BBBBBBBBBBBBBBBBBBBBBB/retry", "POST", "", "", svc(nil), 409, ""},
		{"/healthz", "GET", "", "", svc(nil), 200, ""},
		{"/healthz", "GET", "", "x", svc(nil), 400, ""},
		{"/healthz", "GET", "", "", svc(nil), 200, "-"},
		{"/signup", "POST", ctJSON, goodSignup, svc(nil), 202, "good"},
		{"/signup", "POST", ctJSON, goodSignup, svc(nil), 401, "-"},
		{"/signup", "POST", ctJSON, goodSignup, svc(nil), 401, "forged"},
		{"/onboardings", "GET", "", "", svc(nil), 200, "good"},
		{"/onboardings?status=FAILED&limit=5&cursor=abc", "GET", "", "", svc(nil), 200, "good"},
		{"/onboardings?limit=500", "GET", "", "", svc(nil), 400, "good"},
		{"/onboardings?cursor=bad", "GET", "", "", svc(nil), 400, "good"},
		{"/onboardings", "GET", "", "", svc(nil), 401, "-"},
		{"/onboardings", "GET", "", "", svc(nil), 404, ""},
		{"/onboardings", "POST", "", "", svc(nil), 405, "good"},
		{"/onboardings/" + testID, "GET", "", "", svc(nil), 401, "-"},
		{"/onboardings/" + testID + "/retry", "POST", "", "", svc(nil), 401, "forged"},
		{"/onboardings/" + testID + "/retry", "POST", ctJSON, `{"phone_number_id":"999"}`, svc(nil), 403, ""},
		{"/onboardings/" + testID + "/retry", "POST", ctJSON, `{"phone_number_id":"106540352242922"}`, svc(nil), 202, ""},
	}
	for _, route := range []struct{ path, good, bad string }{
		{"/phone-verification/code", `{"method":"SMS","language":"en_US"}`, `{"method":"FAX"}`},
		{"/phone-verification", `{"code":"123456"}`, `{"code":"12345a"}`},
	} {
		scenarios = append(scenarios,
			scenario{"/onboardings/" + testID + route.path, "POST", ctJSON, route.good, svc(nil), 202, ""},
			scenario{"/onboardings/" + testID + route.path, "POST", ctJSON, route.bad, svc(nil), 400, ""},
			scenario{"/onboardings/" + onboarding.NewID() + route.path, "POST", ctJSON, route.good, svc(nil), 404, ""},
			scenario{"/onboardings/" + testID + route.path, "GET", "", "", svc(nil), 405, ""},
			scenario{"/onboardings/" + idNotWaiting + route.path, "POST", ctJSON, route.good, svc(nil), 409, ""},
			scenario{"/onboardings/" + testID + route.path, "POST", "text/plain", route.good, svc(nil), 415, ""},
			scenario{"/onboardings/" + idLimited + route.path, "POST", ctJSON, route.good, svc(nil), 429, ""},
			scenario{"/onboardings/" + idUpstream + route.path, "POST", ctJSON, route.good, svc(nil), 502, ""},
			scenario{"/onboardings/" + idUnavail + route.path, "POST", ctJSON, route.good, svc(nil), 503, ""},
		)
	}
	scenarios = append(scenarios, scenario{"/onboardings/" + idRefused + "/phone-verification", "POST", ctJSON, `{"code":"654321"}`, svc(nil), 400, ""})
	for _, p := range []string{"/phone-verification/code", "/phone-verification"} {
		scenarios = append(scenarios, scenario{"/onboardings/" + testID + p, "POST", ctJSON, `{}`, svc(nil), 401, "-"})
	}
	covered := map[string]bool{}
	for _, sc := range scenarios {
		name := fmt.Sprintf("%s %s %d", sc.method, sc.path, sc.status)
		t.Run(name, func(t *testing.T) {
			opts := Options{}
			if sc.token != "" {
				opts.Auth = tokenAuth{}
			}
			req := httptest.NewRequest(sc.method, sc.path, strings.NewReader(sc.body))
			if sc.contentType != "" {
				req.Header.Set("Content-Type", sc.contentType)
			}
			if sc.token != "" && sc.token != "-" {
				req.Header.Set("Authorization", "Bearer "+sc.token)
			}
			rec := httptest.NewRecorder()
			New(sc.svc, opts).ServeHTTP(rec, req)
			if rec.Code != sc.status {
				t.Fatalf("status: got %d, want %d (%s)", rec.Code, sc.status, rec.Body)
			}
			tmpl := templatePath(strings.SplitN(sc.path, "?", 2)[0])
			ops := doc.Paths[tmpl]
			// 405 answers belong to the path, documented on the operations that exist.
			method := strings.ToLower(sc.method)
			op, ok := ops[method]
			if !ok && rec.Code == 405 {
				for _, o := range ops {
					op, ok = o, true
				}
			}
			if !ok {
				t.Fatalf("%s %s is not documented", sc.method, tmpl)
			}
			resp, ok := op.Responses[strconv.Itoa(rec.Code)]
			if !ok {
				t.Fatalf("status %d of %s %s is not documented", rec.Code, sc.method, tmpl)
			}
			covered[method+" "+tmpl+" "+strconv.Itoa(rec.Code)] = true
			if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
			media, ok := resp.Content["application/json"]
			if !ok {
				return
			}
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if err := openapitest.Validate(doc, media.Schema, body, "$"); err != nil {
				t.Errorf("body %s does not match the documented schema: %v", rec.Body, err)
			}
		})
	}
	// Every documented response of the API's operations is exercised above.
	var missing []string
	for _, p := range apiPaths {
		for m, op := range doc.Paths[p] {
			for status := range op.Responses {
				if !covered[m+" "+p+" "+status] && !(status == "405" && coveredAny(covered, p, "405")) {
					missing = append(missing, m+" "+p+" "+status)
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented responses never produced by a scenario: %v", missing)
	}
	// Every path the API serves is documented.
	for _, p := range []string{"/signup", "/onboardings", "/onboardings/" + testID, "/onboardings/" + testID + "/retry",
		"/onboardings/" + testID + "/phone-verification/code", "/onboardings/" + testID + "/phone-verification", "/healthz"} {
		if _, ok := doc.Paths[templatePath(p)]; !ok {
			t.Errorf("served path %s is not documented", p)
		}
	}
}

func coveredAny(covered map[string]bool, path, status string) bool {
	for k := range covered {
		if strings.HasSuffix(k, " "+path+" "+status) {
			return true
		}
	}
	return false
}

// templatePath maps a concrete path to its OpenAPI template.
func templatePath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) >= 3 && parts[1] == "onboardings" { // also /onboardings/{id}/phone-verification[/code]
		parts[2] = "{id}"
	}
	return strings.Join(parts, "/")
}
