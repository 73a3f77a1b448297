package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/openapitest"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// apiPaths are the paths this package serves; /webhooks is checked by the webhook package.
var apiPaths = []string{"/signup", "/onboardings/{id}", "/onboardings/{id}/retry", "/healthz"}

// TestOpenAPIMatchesHandlers drives the handler through every documented response of every documented
// operation and validates the status and body against the document, and checks that nothing undocumented is
// served.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	doc := openapitest.Load(t)
	failed := onboarding.NewRecord(onboarding.NewRecordInput{ID: testID, WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: time.Now()})
	_ = failed.Fail(onboarding.StepRegisterPhone, onboarding.StepError{Code: onboarding.CodeRegisterBlocked, GraphCode: 133016, Message: "blocked", FBTraceID: "AbC"}, time.Now())
	resumed := failed.Clone()
	_, _ = resumed.Resume(time.Now())
	svc := func(signupErr error) fakeOnboardings {
		return fakeOnboardings{
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
	}
	const ctJSON = "application/json"
	scenarios := []scenario{
		{"/signup", "POST", ctJSON, goodSignup, svc(nil), 202},
		{"/signup", "POST", ctJSON, `{"code":"c"}`, svc(nil), 400},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.ExchangeError{Reason: "expired"}), 400},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.GrantError{Field: "waba_id", Reason: "no"}), 403},
		{"/signup", "GET", "", "", svc(nil), 405},
		{"/signup", "POST", ctJSON, goodSignup, svc(&onboarding.ActiveOnboardingError{ExistingID: testID}), 409},
		{"/signup", "POST", ctJSON, `{"code":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, svc(nil), 413},
		{"/signup", "POST", "text/plain", goodSignup, svc(nil), 415},
		{"/signup", "POST", ctJSON, goodSignup, svc(errors.New("boom")), 500},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.UpstreamError{Reason: "timeout"}), 502},
		{"/signup", "POST", ctJSON, goodSignup, svc(&signup.UnavailableError{Reason: "restart Embedded Signup", Err: errors.New("throttled")}), 503},
		{"/onboardings/" + testID, "GET", "", "", svc(nil), 200},
		{"/onboardings/" + testID, "GET", "", "x", svc(nil), 400},
		{"/onboardings/" + onboarding.NewID(), "GET", "", "", svc(nil), 404},
		{"/onboardings/" + testID, "DELETE", "", "", svc(nil), 405},
		{"/onboardings/" + testID + "/retry", "POST", "", "", svc(nil), 202},
		{"/onboardings/" + testID + "/retry", "POST", ctJSON, `{"force":true}`, svc(nil), 400},
		{"/onboardings/" + onboarding.NewID() + "/retry", "POST", "", "", svc(nil), 404},
		{"/onboardings/" + testID + "/retry", "PUT", "", "", svc(nil), 405},
		{"/onboardings/BBBBBBBBBBBBBBBBBBBBBB/retry", "POST", "", "", svc(nil), 409},
		{"/healthz", "GET", "", "", svc(nil), 200},
		{"/healthz", "GET", "", "x", svc(nil), 400},
	}
	covered := map[string]bool{}
	for _, sc := range scenarios {
		name := fmt.Sprintf("%s %s %d", sc.method, sc.path, sc.status)
		t.Run(name, func(t *testing.T) {
			rec := do(New(sc.svc, Options{}), sc.method, sc.path, sc.contentType, sc.body)
			if rec.Code != sc.status {
				t.Fatalf("status: got %d, want %d (%s)", rec.Code, sc.status, rec.Body)
			}
			tmpl := templatePath(sc.path)
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
	for _, p := range []string{"/signup", "/onboardings/" + testID, "/onboardings/" + testID + "/retry", "/healthz"} {
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
	if len(parts) >= 3 && parts[1] == "onboardings" {
		parts[2] = "{id}"
	}
	return strings.Join(parts, "/")
}
