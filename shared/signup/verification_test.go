package signup

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// fakePhoneGraph scripts request_code, verify_code and the phone number read.
type fakePhoneGraph struct {
	mu          sync.Mutex
	requests    int
	verifies    int
	requestErr  error
	verifyErr   error
	status      string // code_verification_status the read answers
	lastMethod  string
	lastLang    string
	lastCodeLen int
}

func (g *fakePhoneGraph) RequestCode(_ context.Context, in *graph.RequestCodeInput, _ ...func(*graph.Options)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	g.lastMethod, g.lastLang = in.Method, in.Language
	return g.requestErr
}

func (g *fakePhoneGraph) VerifyCode(_ context.Context, in *graph.VerifyCodeInput, _ ...func(*graph.Options)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.verifies++
	g.lastCodeLen = len(in.Code.Reveal())
	return g.verifyErr
}

func (g *fakePhoneGraph) GetPhoneNumber(_ context.Context, in *graph.GetPhoneNumberInput, _ ...func(*graph.Options)) (*graph.PhoneNumber, error) {
	return &graph.PhoneNumber{ID: in.PhoneNumberID, CodeVerificationStatus: g.status}, nil
}

// resumeWorkflow records SendTaskSuccess calls; fail makes the next ones fail.
type resumeWorkflow struct {
	fakeWorkflow
	mu       sync.Mutex
	resumed  []string
	fail     error
	gone     bool
	failures int
}

var errGone = errors.New("task gone")

func (w *resumeWorkflow) SendTaskSuccess(_ context.Context, token string, _ []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		return errGone
	}
	if w.fail != nil && w.failures > 0 {
		w.failures--
		return w.fail
	}
	w.resumed = append(w.resumed, token)
	return nil
}

type verifyFixture struct {
	*fixture
	pg  *fakePhoneGraph
	rwf *resumeWorkflow
	id  string
}

// newVerifyFixture creates an onboarding waiting for its code, with its business token and task token stored.
func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	f := newFixture(t, "")
	f.now = time.Now().UTC().Truncate(time.Second) // the stores expire waits by the wall clock
	v := &verifyFixture{fixture: f, pg: &fakePhoneGraph{status: graph.CodeNotVerified}, rwf: &resumeWorkflow{}}
	f.svc = New(f.store, f.vault, f.graph, v.rwf, Options{
		Clock: func() time.Time { return f.now }, PhoneGraph: v.pg, Waits: f.store,
		IsTaskGone: func(err error) bool { return errors.Is(err, errGone) },
	})
	ctx := context.Background()
	rec := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: testWABA, PhoneNumberID: "106540352243333", Event: onboarding.EventFinish, Now: f.now})
	if err := f.store.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := f.vault.PutBusinessToken(ctx, testWABA, onboarding.NewSecret(testToken), time.Time{}, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := onboarding.Mutate(ctx, f.store, rec.ID, func(r *onboarding.Record) error {
		if err := r.StartStep(onboarding.StepVerifyPhone, f.now); err != nil {
			return err
		}
		return r.SetStatus(onboarding.StatusAwaitingPhoneVerification, f.now)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutWait(ctx, onboarding.Wait{OnboardingID: rec.ID, Kind: string(onboarding.WaitPhoneVerification), TaskToken: "TOKEN", ExpiresAt: f.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	v.id = rec.ID
	return v
}

func (v *verifyFixture) record(t *testing.T) *onboarding.Record {
	t.Helper()
	rec, err := v.store.Get(context.Background(), v.id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRequestVerificationCodePacing(t *testing.T) {
	ctx := context.Background()
	v := newVerifyFixture(t)
	out, err := v.svc.RequestVerificationCode(ctx, v.id, CodeRequest{Method: "SMS", Language: "en_US"})
	if err != nil {
		t.Fatal(err)
	}
	if out.RetryAfter != time.Minute || v.pg.lastMethod != "SMS" || v.pg.lastLang != "en_US" {
		t.Errorf("got retry after %v, method %s, language %s", out.RetryAfter, v.pg.lastMethod, v.pg.lastLang)
	}
	before := v.record(t)
	v.now = v.now.Add(20 * time.Second)
	var rl *RateLimitedError
	if _, err := v.svc.RequestVerificationCode(ctx, v.id, CodeRequest{Method: "VOICE", Language: "en_US"}); !errors.As(err, &rl) || rl.RetryAfter != 40*time.Second {
		t.Fatalf("a resend after 20 s: got %v, want a RateLimitedError of 40 s", err)
	}
	if v.pg.requests != 1 || v.record(t).Version != before.Version {
		t.Errorf("a refused resend called Meta (%d requests) or wrote the record", v.pg.requests)
	}
	v.now = v.now.Add(41 * time.Second)
	out, err = v.svc.RequestVerificationCode(ctx, v.id, CodeRequest{Method: "VOICE", Language: "en_US"})
	if err != nil || out.RetryAfter != 2*time.Minute {
		t.Fatalf("the second code: got %+v, %v, want a wait of 2 min next", out, err)
	}
	v.now = v.now.Add(3 * time.Minute)
	v.pg.requestErr = &graph.Error{Call: graph.CallRequestCode, Code: 4, Class: graph.ClassThrottled}
	if _, err := v.svc.RequestVerificationCode(ctx, v.id, CodeRequest{Method: "SMS", Language: "en_US"}); !errors.As(err, &rl) || rl.RetryAfter != 4*time.Minute {
		t.Errorf("Meta throttling: got %v, want a RateLimitedError of the next pacing step (4 min)", err)
	}
	if got := v.record(t).Progress.CodeRequests; got != 2 {
		t.Errorf("code requests recorded: got %d, want 2 (Meta's refusal is not one)", got)
	}
}

func TestSubmitVerificationCode(t *testing.T) {
	ctx := context.Background()
	t.Run("accepted: verify_phone succeeds and the wait is resumed once", func(t *testing.T) {
		v := newVerifyFixture(t)
		rec, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456"))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != onboarding.StatusRunning || rec.Step(onboarding.StepVerifyPhone).Status != onboarding.StepSucceeded || !rec.Progress.PhoneVerified {
			t.Errorf("record: %s, verify_phone %s", rec.Status, rec.Step(onboarding.StepVerifyPhone).Status)
		}
		if len(v.rwf.resumed) != 1 || v.rwf.resumed[0] != "TOKEN" || v.pg.lastCodeLen != 6 {
			t.Errorf("resumed %v", v.rwf.resumed)
		}
		var na *NotAwaitingError
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456")); !errors.As(err, &na) || v.pg.verifies != 1 {
			t.Errorf("a second submit: got %v after %d verify_code calls, want NotAwaitingError and 1", err, v.pg.verifies)
		}
	})
	t.Run("refused: nothing written, the wait goes on", func(t *testing.T) {
		v := newVerifyFixture(t)
		before := v.record(t)
		v.pg.verifyErr = &graph.Error{Call: graph.CallVerifyCode, Code: 100, Class: graph.ClassPermanent, HTTPStatus: 400}
		var cr *CodeRefusedError
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("000000")); !errors.As(err, &cr) {
			t.Fatalf("got %v, want CodeRefusedError", err)
		}
		if v.record(t).Version != before.Version || len(v.rwf.resumed) != 0 {
			t.Errorf("a refused code wrote the record or resumed the wait")
		}
	})
	t.Run("a lost answer is checked by reading the number, not by sending the code again", func(t *testing.T) {
		v := newVerifyFixture(t)
		v.pg.verifyErr = &graph.Error{Call: graph.CallVerifyCode, Class: graph.ClassTransient, Timeout: true, Sent: true}
		v.pg.status = graph.CodeVerified
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456")); err != nil {
			t.Fatal(err)
		}
		if v.pg.verifies != 1 || len(v.rwf.resumed) != 1 {
			t.Errorf("verify_code calls %d, resumes %d, want 1 and 1", v.pg.verifies, len(v.rwf.resumed))
		}
		v2 := newVerifyFixture(t)
		v2.pg.verifyErr = v.pg.verifyErr
		var up *UpstreamError
		if _, err := v2.svc.SubmitVerificationCode(ctx, v2.id, onboarding.NewSecret("123456")); !errors.As(err, &up) {
			t.Errorf("lost answer, number still unverified: got %v, want UpstreamError", err)
		}
		if v2.record(t).Progress.PhoneVerified {
			t.Errorf("recorded as verified")
		}
	})
	t.Run("a failed resume is repeated without a second verify_code", func(t *testing.T) {
		v := newVerifyFixture(t)
		v.rwf.fail, v.rwf.failures = errors.New("throttled"), 1
		var un *UnavailableError
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456")); !errors.As(err, &un) {
			t.Fatalf("got %v, want UnavailableError", err)
		}
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456")); err != nil {
			t.Fatalf("the repeat: %v", err)
		}
		if v.pg.verifies != 1 || len(v.rwf.resumed) != 1 {
			t.Errorf("verify_code calls %d, resumes %d, want 1 and 1", v.pg.verifies, len(v.rwf.resumed))
		}
	})
	t.Run("the wait ended meanwhile: accepted, the workflow's check after the timeout finds it verified", func(t *testing.T) {
		v := newVerifyFixture(t)
		v.rwf.gone = true
		if _, err := v.svc.SubmitVerificationCode(ctx, v.id, onboarding.NewSecret("123456")); err != nil {
			t.Fatal(err)
		}
		if !v.record(t).Progress.PhoneVerified {
			t.Errorf("not recorded as verified")
		}
	})
	t.Run("not waiting and unknown", func(t *testing.T) {
		f := newFixture(t, "")
		rec, err := f.svc.Signup(ctx, finishRequest())
		if err != nil {
			t.Fatal(err)
		}
		var na *NotAwaitingError
		if _, err := f.svc.SubmitVerificationCode(ctx, rec.ID, onboarding.NewSecret("123456")); !errors.As(err, &na) {
			t.Errorf("RUNNING: got %v, want NotAwaitingError", err)
		}
		if _, err := f.svc.RequestVerificationCode(ctx, onboarding.NewID(), CodeRequest{Method: "SMS", Language: "en_US"}); !errors.Is(err, onboarding.ErrNotFound) {
			t.Errorf("unknown id: got %v, want ErrNotFound", err)
		}
	})
}
