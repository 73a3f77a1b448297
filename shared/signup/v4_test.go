package signup

import (
	"context"
	"errors"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

const otherWABA = "102290129340399"

func grantFor(wabas ...string) func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
	return func(*graph.DebugTokenInput) (*graph.DebugTokenOutput, error) {
		g := validGrant()
		for i := range g.GranularScopes {
			g.GranularScopes[i].TargetIDs = wabas
		}
		return g, nil
	}
}

func phonesPerWABA(m map[string][]string) func(*graph.ListPhoneNumbersInput) (*graph.ListPhoneNumbersOutput, error) {
	return func(in *graph.ListPhoneNumbersInput) (*graph.ListPhoneNumbersOutput, error) {
		out := &graph.ListPhoneNumbersOutput{}
		for _, id := range m[in.WABAID] {
			out.PhoneNumbers = append(out.PhoneNumbers, graph.PhoneNumber{ID: id})
		}
		return out, nil
	}
}

func TestSignupResolvesMissingIDs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		req       Request
		grant     []string
		phones    map[string][]string
		wantWABA  string
		wantPhone string
		wantErr   any
		ambiguous bool
	}{
		{name: "waba_id from the grant's one WABA", req: Request{Event: onboarding.EventFinish}, grant: []string{testWABA},
			phones: map[string][]string{testWABA: {testPhone}}, wantWABA: testWABA, wantPhone: testPhone},
		{name: "no waba_id and a grant of two WABAs", req: Request{Event: onboarding.EventFinish}, grant: []string{testWABA, otherWABA},
			wantErr: new(*MissingIDError)},
		{name: "no waba_id and a grant for every WABA", req: Request{Event: onboarding.EventFinish}, grant: nil,
			wantErr: new(*MissingIDError)},
		{name: "the WABA's one phone number", req: Request{WABAID: testWABA, Event: onboarding.EventFinishGrantOnly}, grant: []string{testWABA},
			phones: map[string][]string{testWABA: {testPhone}}, wantWABA: testWABA, wantPhone: testPhone},
		{name: "no phone number on the WABA", req: Request{WABAID: testWABA, Event: onboarding.EventFinishOBOMigration}, grant: []string{testWABA},
			phones: map[string][]string{}, wantWABA: testWABA},
		{name: "several phone numbers", req: Request{WABAID: testWABA, Event: onboarding.EventFinish}, grant: []string{testWABA},
			phones: map[string][]string{testWABA: {testPhone, "106540352247777"}}, wantWABA: testWABA, ambiguous: true},
		{name: "FINISH_ONLY_WABA looks no number up", req: Request{WABAID: testWABA, Event: onboarding.EventFinishOnlyWABA}, grant: []string{testWABA},
			phones: map[string][]string{testWABA: {testPhone}}, wantWABA: testWABA},
		{name: "a claimed waba_id outside the grant", req: Request{WABAID: otherWABA, Event: onboarding.EventFinish}, grant: []string{testWABA},
			wantErr: new(*GrantError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "")
			f.graph.debug, f.graph.phones = grantFor(tt.grant...), phonesPerWABA(tt.phones)
			tt.req.Code = onboarding.NewSecret(testCode)
			recs, err := f.svc.SignupAll(ctx, tt.req)
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("got %v, want %T", err, tt.wantErr)
				}
				if got, _ := f.store.FindByWABA(ctx, testWABA, 0); len(got) != 0 {
					t.Errorf("a refused signup wrote %d records", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := recs[0]
			if rec.WABAID != tt.wantWABA || rec.PhoneNumberID != tt.wantPhone {
				t.Errorf("ids: got %s/%s, want %s/%s", rec.WABAID, rec.PhoneNumberID, tt.wantWABA, tt.wantPhone)
			}
			if tt.ambiguous {
				if !rec.PhoneAmbiguous() || len(f.wf.started) != 0 {
					t.Errorf("got status %s with %d executions, want FAILED phone_number_ambiguous and none", rec.Status, len(f.wf.started))
				}
				return
			}
			if rec.Status != onboarding.StatusRunning || len(f.wf.started) != 1 || f.wf.started[0].Input.PhoneNumberID != tt.wantPhone {
				t.Errorf("got %s, executions %+v", rec.Status, f.wf.started)
			}
		})
	}
}

func TestSignupMultiWABA(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "")
	f.graph.debug = grantFor(testWABA, otherWABA)
	f.graph.phones = phonesPerWABA(map[string][]string{testWABA: {testPhone}, otherWABA: {"106540352248888"}})
	recs, err := f.svc.SignupAll(ctx, Request{Code: onboarding.NewSecret(testCode), WABAIDs: []string{testWABA, otherWABA}, Event: onboarding.EventFinish})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].WABAID != testWABA || recs[1].WABAID != otherWABA || recs[1].PhoneNumberID != "106540352248888" || recs[0].ID == recs[1].ID {
		t.Fatalf("got %+v", recs)
	}
	if got := f.graph.Calls("oauth"); got != 1 {
		t.Errorf("code exchanges: got %d, want 1", got)
	}
	if len(f.wf.started) != 2 {
		t.Errorf("executions: got %d, want 2", len(f.wf.started))
	}
	for _, w := range []string{testWABA, otherWABA} {
		if sec, err := f.vault.WABASecret(ctx, w); err != nil || sec.BusinessToken.Reveal() != testToken {
			t.Errorf("WABA %s: business token not stored (%v)", w, err)
		}
	}
	t.Run("a WABA outside the grant refuses the whole signup", func(t *testing.T) {
		f := newFixture(t, "")
		f.graph.debug = grantFor(testWABA)
		_, err := f.svc.SignupAll(ctx, Request{Code: onboarding.NewSecret(testCode), WABAIDs: []string{testWABA, otherWABA}, Event: onboarding.EventFinish})
		var ge *GrantError
		if !errors.As(err, &ge) || len(f.wf.started) != 0 {
			t.Errorf("got %v with %d executions, want a GrantError and none", err, len(f.wf.started))
		}
	})
}

func TestRetryNamesThePhoneOfAnAmbiguousOnboarding(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "")
	other := "106540352247777"
	f.graph.debug = grantFor(testWABA)
	f.graph.phones = phonesPerWABA(map[string][]string{testWABA: {testPhone, other}})
	recs, err := f.svc.SignupAll(ctx, Request{Code: onboarding.NewSecret(testCode), WABAID: testWABA, Event: onboarding.EventFinish})
	if err != nil {
		t.Fatal(err)
	}
	id := recs[0].ID
	var nr *onboarding.NotRetryableError
	if _, err := f.svc.Retry(ctx, id); !errors.As(err, &nr) || nr.Code != onboarding.CodePhoneNumberAmbiguous {
		t.Errorf("retry without a number: got %v, want phone_number_ambiguous", err)
	}
	var ge *GrantError
	if _, err := f.svc.RetryWith(ctx, id, RetryOptions{PhoneNumberID: "106540352240000"}); !errors.As(err, &ge) {
		t.Errorf("retry with a foreign number: got %v, want a GrantError", err)
	}
	if got, _ := f.store.Get(ctx, id); got.PhoneNumberID != "" || got.Status != onboarding.StatusFailed {
		t.Errorf("a refused retry changed the record: %+v", got)
	}
	rec, err := f.svc.RetryWith(ctx, id, RetryOptions{PhoneNumberID: other})
	if err != nil {
		t.Fatal(err)
	}
	if rec.PhoneNumberID != other || rec.Status != onboarding.StatusRunning || rec.Step(onboarding.StepVerifyGrant).Status != onboarding.StepSucceeded {
		t.Errorf("after the retry: %+v", rec)
	}
	if len(f.wf.started) != 1 || f.wf.started[0].Input.PhoneNumberID != other || f.wf.started[0].Input.ResumeFrom != "" {
		t.Errorf("executions: %+v", f.wf.started)
	}
	if sec, _ := f.vault.WABASecret(ctx, testWABA); !onboarding.ValidPIN(sec.PINs[other].Reveal()) {
		t.Errorf("no PIN stored for the named number")
	}
	if _, err := f.svc.RetryWith(ctx, id, RetryOptions{PhoneNumberID: other}); err == nil {
		t.Errorf("a second retry of a RUNNING onboarding: got no error")
	}
}

func TestResendWait(t *testing.T) {
	for n, want := range map[int]int{1: 60, 2: 120, 3: 240, 7: 3600, 50: 3600} {
		if got := int(ResendWait(n).Seconds()); got != want {
			t.Errorf("ResendWait(%d): got %ds, want %ds", n, got, want)
		}
	}
}
