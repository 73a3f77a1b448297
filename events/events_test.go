// Package events holds real sample payloads (signup requests, API Gateway HTTP API v2 events, Meta webhooks,
// workflow step inputs) used by tests and local invocations. The tests here prove that each sample decodes
// into the type that consumes it and encodes back without losing anything.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/stephandlers"
)

func readSamples(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no samples in %s (err %v)", dir, err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// roundTrip decodes b strictly into a new T, encodes it again and checks that every value of the sample is
// still there (encoders may add zero-valued fields, as aws-lambda-go does for requestContext.authentication).
func roundTrip[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding into %T: %v", v, err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if path, ok := contains(got, want, "$"); !ok {
		t.Errorf("round trip through %T lost or changed %s:\n got %s\nwant %s", v, path, again, b)
	}
	return v
}

// contains reports whether doc holds every value of want (objects compared key by key, recursively).
func contains(doc, want any, path string) (string, bool) {
	wm, ok := want.(map[string]any)
	if !ok {
		return path, reflect.DeepEqual(doc, want)
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		return path, false
	}
	for k, wv := range wm {
		dv, ok := dm[k]
		if !ok {
			return path + "." + k, false
		}
		if p, ok := contains(dv, wv, path+"."+k); !ok {
			return p, false
		}
	}
	return "", true
}

func TestSignupSamplesAreValidRequests(t *testing.T) {
	for name, b := range readSamples(t, "signup") {
		t.Run(name, func(t *testing.T) {
			req, rerr := httpapi.ParseSignup(b)
			if rerr != nil {
				t.Fatalf("ParseSignup: %s (field %s)", rerr.Message, rerr.Field)
			}
			if !req.Event.Valid() {
				t.Errorf("got event %q", req.Event)
			}
		})
	}
}

func TestAPIGatewaySamplesRoundTrip(t *testing.T) {
	for name, b := range readSamples(t, "apigw") {
		t.Run(name, func(t *testing.T) {
			ev := roundTrip[lambdaevents.APIGatewayV2HTTPRequest](t, b)
			req, err := apigw.Request(context.Background(), ev)
			if err != nil {
				t.Fatalf("apigw.Request: %v", err)
			}
			if got, want := req.Method, ev.RequestContext.HTTP.Method; got != want {
				t.Errorf("method: got %q, want %q", got, want)
			}
			if got, want := req.URL.Path, ev.RawPath; got != want {
				t.Errorf("path: got %q, want %q", got, want)
			}
			body, _ := io.ReadAll(req.Body)
			if ev.IsBase64Encoded && bytes.Contains(body, []byte(ev.Body)) {
				t.Errorf("base64 body was not decoded")
			}
			if ev.Body != "" && len(body) == 0 {
				t.Errorf("body lost")
			}
		})
	}
}

func TestStepSamplesRoundTrip(t *testing.T) {
	samples := readSamples(t, "steps")
	decoders := map[string]func(*testing.T, []byte){
		"step_input.json":               func(t *testing.T, b []byte) { roundTrip[stephandlers.Input](t, b) },
		"execution_input.json":          func(t *testing.T, b []byte) { roundTrip[onboarding.WorkflowInput](t, b) },
		"execution_input_resume.json":   func(t *testing.T, b []byte) { roundTrip[onboarding.WorkflowInput](t, b) },
		"record_outcome_skip.json":      func(t *testing.T, b []byte) { roundTrip[stephandlers.OutcomeInput](t, b) },
		"record_outcome_fail.json":      func(t *testing.T, b []byte) { roundTrip[stephandlers.OutcomeInput](t, b) },
		"record_outcome_complete.json":  func(t *testing.T, b []byte) { roundTrip[stephandlers.OutcomeInput](t, b) },
		"await_webhook.json":            func(t *testing.T, b []byte) { roundTrip[stephandlers.AwaitInput](t, b) },
		"await_phone_verification.json": func(t *testing.T, b []byte) { roundTrip[stephandlers.AwaitInput](t, b) },
		"verify_phone_after_wait.json":  func(t *testing.T, b []byte) { roundTrip[stephandlers.VerifyPhoneInput](t, b) },
	}
	for name, b := range samples {
		t.Run(name, func(t *testing.T) {
			dec, ok := decoders[name]
			if !ok {
				t.Fatalf("no decoder for sample %s: add one", name)
			}
			dec(t, b)
		})
	}
}

// TestPartnerEventSamplesRoundTrip checks the partner event samples (docs/events.md) against the published
// type, and that each token event's id is the one TokenEvent derives from its facts.
func TestPartnerEventSamplesRoundTrip(t *testing.T) {
	for name, b := range readSamples(t, "partner") {
		t.Run(name, func(t *testing.T) {
			ev := roundTrip[partnerevents.Event](t, b)
			if got, want := ev.Version, partnerevents.Version; got != want {
				t.Errorf("version: got %q, want %q", got, want)
			}
			switch ev.Type {
			case partnerevents.TypeTokenInvalid, partnerevents.TypeTokenExpiring:
				f := partnerevents.TokenFacts{
					Type: ev.Type, TokenType: ev.TokenType, OnboardingID: ev.OnboardingID, WABAID: ev.WABAID,
					PhoneNumberID: ev.PhoneNumberID, Reason: ev.Reason, Errors: ev.Errors, At: ev.Time,
				}
				if ev.ExpiresAt != nil {
					f.ExpiresAt = *ev.ExpiresAt
				}
				if ev.DataAccessExpiresAt != nil {
					f.DataAccessExpiresAt = *ev.DataAccessExpiresAt
				}
				if got, want := partnerevents.TokenEvent(f), ev; !reflect.DeepEqual(got, want) {
					t.Errorf("TokenEvent of the sample's facts:\n got %+v\nwant %+v", got, want)
				}
			case partnerevents.TypeOnboardingStatusChanged:
				if got, want := partnerevents.StatusChanged(ev.OnboardingID, ev.WABAID, ev.PhoneNumberID, ev.Status, ev.Time), ev; !reflect.DeepEqual(got, want) {
					t.Errorf("StatusChanged of the sample's facts:\n got %+v\nwant %+v", got, want)
				}
			default:
				t.Errorf("sample of type %q: add a check for it", ev.Type)
			}
		})
	}
}
