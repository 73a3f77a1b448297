package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/signup"
)

// openAPI is the part of docs/openapi.json the test reads.
type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	b, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.json: %v", err)
	}
	return &doc
}

// apiPaths are the paths this package serves; /webhooks is checked by the webhook package.
var apiPaths = []string{"/signup", "/onboardings/{id}", "/onboardings/{id}/retry", "/healthz"}

// TestOpenAPIMatchesHandlers drives the handler through every documented response of every documented
// operation and validates the status and body against the document, and checks that nothing undocumented is
// served.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	doc := loadOpenAPI(t)
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
		{"/onboardings/" + testID, "GET", "", "", svc(nil), 200},
		{"/onboardings/" + onboarding.NewID(), "GET", "", "", svc(nil), 404},
		{"/onboardings/" + testID, "DELETE", "", "", svc(nil), 405},
		{"/onboardings/" + testID + "/retry", "POST", "", "", svc(nil), 202},
		{"/onboardings/" + testID + "/retry", "POST", ctJSON, `{"force":true}`, svc(nil), 400},
		{"/onboardings/" + onboarding.NewID() + "/retry", "POST", "", "", svc(nil), 404},
		{"/onboardings/" + testID + "/retry", "PUT", "", "", svc(nil), 405},
		{"/onboardings/BBBBBBBBBBBBBBBBBBBBBB/retry", "POST", "", "", svc(nil), 409},
		{"/healthz", "GET", "", "", svc(nil), 200},
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
			if err := validate(doc, media.Schema, body, "$"); err != nil {
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

// validate checks v against the subset of JSON Schema the document uses: $ref, type, required, properties,
// additionalProperties false, enum, pattern, maxLength, minItems, maxItems, items.
func validate(doc *openAPI, raw json.RawMessage, v any, path string) error {
	var s struct {
		Ref                  string                     `json:"$ref"`
		Type                 string                     `json:"type"`
		Required             []string                   `json:"required"`
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Enum                 []any                      `json:"enum"`
		Pattern              string                     `json:"pattern"`
		MaxLength            *int                       `json:"maxLength"`
		MinItems             *int                       `json:"minItems"`
		MaxItems             *int                       `json:"maxItems"`
		Items                json.RawMessage            `json:"items"`
		Format               string                     `json:"format"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: bad schema: %v", path, err)
	}
	if s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		sub, ok := doc.Components.Schemas[name]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", path, s.Ref)
		}
		return validate(doc, sub, v, path)
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, v)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: missing required %q", path, r)
			}
		}
		for k, val := range m {
			sub, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && !*s.AdditionalProperties {
					return fmt.Errorf("%s: undocumented property %q", path, k)
				}
				continue
			}
			if err := validate(doc, sub, val, path+"."+k); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an array", path, v)
		}
		if s.MinItems != nil && len(a) < *s.MinItems || s.MaxItems != nil && len(a) > *s.MaxItems {
			return fmt.Errorf("%s: %d items out of bounds", path, len(a))
		}
		for i, e := range a {
			if err := validate(doc, s.Items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: got %T, want a string", path, v)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", path, str, s.Pattern)
		}
		if s.MaxLength != nil && len(str) > *s.MaxLength {
			return fmt.Errorf("%s: longer than %d", path, *s.MaxLength)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return fmt.Errorf("%s: %q is not RFC 3339", path, str)
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: got %v, want an integer", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: got %T, want a boolean", path, v)
		}
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			if e == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", path, v, s.Enum)
		}
	}
	return nil
}
