package runner

// Embedded Signup v4 through the whole local system: unverified numbers verified through the API (and the
// faults of request_code and verify_code), the coexistence sync (every Graph error class at smb_app_data, a
// lost answer), signups without a phone number id (none, one, several on the WABA) and the wait's timeout.

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

const (
	unverifiedPhone  = "106540352243333"
	coexistencePhone = "106540352242222"
)

func (h *harness) post(path, body string) (int, map[string]any) {
	h.t.Helper()
	return h.do("POST", path, body)
}

func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func stepStatus(rec map[string]any, step onboarding.StepName) string {
	s, _ := stepsOf(rec)[string(step)]["status"].(string)
	return s
}

func TestUnverifiedNumberVerifiedThroughTheAPI(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	id := h.signup(unverifiedPhone, "")
	rec := h.await(id, onboarding.StatusAwaitingPhoneVerification)
	if got := stepStatus(rec, onboarding.StepVerifyPhone); got != string(onboarding.StepRunning) {
		t.Errorf("verify_phone while waiting: got %s, want RUNNING", got)
	}
	base := "/onboardings/" + id + "/phone-verification"

	// Refusals write nothing and call nobody.
	for _, tt := range []struct {
		path, body string
		status     int
		code       string
	}{
		{base + "/code", `{"method":"FAX"}`, 400, onboarding.CodeInvalidField},
		{base + "/code", `{"method":"SMS","language":"english"}`, 400, onboarding.CodeInvalidField},
		{base + "/code", `{}`, 400, onboarding.CodeMissingField},
		{base, `{"code":"12345"}`, 400, onboarding.CodeInvalidField},
		{base, `{"code":"１２３４５６"}`, 400, onboarding.CodeInvalidField},
		{base, `{"code":123456}`, 400, onboarding.CodeInvalidField},
		{"/onboardings/" + onboarding.NewID() + "/phone-verification", `{"code":"123456"}`, 404, onboarding.CodeNotFound},
	} {
		if status, m := h.post(tt.path, tt.body); status != tt.status || errorCode(m) != tt.code {
			t.Errorf("POST %s %s: got %d %v, want %d %s", tt.path, tt.body, status, m, tt.status, tt.code)
		}
	}
	if n := h.r.Sim.Calls(graph.CallRequestCode) + h.r.Sim.Calls(graph.CallVerifyCode); n != 0 {
		t.Errorf("Graph calls after refused requests: %d, want 0", n)
	}

	status, m := h.post(base+"/code", `{"method":"SMS","language":"en_US"}`)
	if status != http.StatusAccepted || m["retry_after"] != float64(60) {
		t.Fatalf("request code: got %d %v, want 202 with retry_after 60", status, m)
	}
	status, m = h.post(base+"/code", `{"method":"VOICE"}`)
	if ra, _ := m["retry_after"].(float64); status != http.StatusTooManyRequests || errorCode(m) != onboarding.CodeVerificationRateLimited || ra < 1 || ra > 60 {
		t.Errorf("resend at once: got %d %v, want 429 with retry_after in 1..60", status, m)
	}
	if got := h.r.Sim.Calls(graph.CallRequestCode); got != 1 {
		t.Errorf("request_code calls: got %d, want 1 (the resend was refused before Meta)", got)
	}
	status, m = h.post(base, `{"code":"000000"}`)
	if status != http.StatusBadRequest || errorCode(m) != onboarding.CodeVerificationCodeInvalid {
		t.Errorf("wrong code: got %d %v, want 400 verification_code_invalid", status, m)
	}
	if _, rec := h.do("GET", "/onboardings/"+id, ""); rec["status"] != string(onboarding.StatusAwaitingPhoneVerification) {
		t.Errorf("after a wrong code: got %v, want still AWAITING_PHONE_VERIFICATION", rec["status"])
	}
	if status, m := h.post(base, `{"code":"123456"}`); status != http.StatusAccepted {
		t.Fatalf("right code: got %d %v, want 202", status, m)
	}
	// The same code again: the wait is over (409), and Meta is not asked a second time.
	if status, m := h.post(base, `{"code":"123456"}`); status != http.StatusConflict {
		t.Errorf("the code a second time: got %d %v, want 409", status, m)
	}
	if got := h.r.Sim.Calls(graph.CallVerifyCode); got != 2 {
		t.Errorf("verify_code calls: got %d, want 2 (the wrong code and the right one)", got)
	}
	rec = h.await(id, onboarding.StatusCompleted)
	if got := stepStatus(rec, onboarding.StepVerifyPhone); got != string(onboarding.StepSucceeded) {
		t.Errorf("verify_phone: got %s, want SUCCEEDED", got)
	}
	if got := stepStatus(rec, onboarding.StepRegisterPhone); got != string(onboarding.StepSucceeded) {
		t.Errorf("register_phone: got %s, want SUCCEEDED", got)
	}
	if got := h.r.Sim.SideEffects(graph.CallRegister); got != 1 {
		t.Errorf("register side effects: got %d, want 1", got)
	}
	// Not waiting any more: 409 for both routes.
	for _, p := range []string{base, base + "/code"} {
		body := `{"code":"123456"}`
		if p != base {
			body = `{"method":"SMS"}`
		}
		if status, m := h.post(p, body); status != http.StatusConflict || errorCode(m) != onboarding.CodeNotAwaitingVerification {
			t.Errorf("POST %s after completion: got %d %v, want 409", p, status, m)
		}
	}
}

func TestPhoneVerificationFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults string
		// codeStatus is the answer to the code request, verifyStatus to the right code.
		codeStatus, verifyStatus int
		// verifyCalls are the verify_code calls that took effect at Meta (a lost answer is not repeated).
		verifyEffects int
	}{
		{"request_code throttled (4)", "request_code:4x1", 429, 400, 0},
		{"request_code refused (136024)", "request_code:136024x1", 429, 400, 0},
		{"request_code transient (1)", "request_code:1x1", 502, 400, 0},
		{"verify_code throttled (80007)", "verify_code:80007x1", 202, 429, 0},
		{"verify_code transient, before Meta acted (131000)", "verify_code:131000x1", 202, 502, 0},
		{"verify_code answer lost after Meta acted", "verify_code:timeoutx1", 202, 202, 1},
		{"verify_code token refused (190)", "verify_code:190x1", 202, 502, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, map[string]string{EnvSimFaults: tt.faults}, 300_000_000)
			id := h.signup(unverifiedPhone, "")
			h.await(id, onboarding.StatusAwaitingPhoneVerification)
			base := "/onboardings/" + id + "/phone-verification"
			status, m := h.post(base+"/code", `{"method":"SMS"}`)
			if status != tt.codeStatus {
				t.Fatalf("request code: got %d %v, want %d", status, m, tt.codeStatus)
			}
			if status == http.StatusTooManyRequests {
				if ra, _ := m["retry_after"].(float64); ra < 1 {
					t.Errorf("429 without retry_after: %v", m)
				}
			}
			status, m = h.post(base, `{"code":"123456"}`)
			if status != tt.verifyStatus {
				t.Fatalf("verify: got %d %v, want %d", status, m, tt.verifyStatus)
			}
			if got := h.r.Sim.SideEffects(graph.CallVerifyCode); got != tt.verifyEffects {
				t.Errorf("verify_code side effects: got %d, want %d", got, tt.verifyEffects)
			}
			if status == http.StatusAccepted {
				h.await(id, onboarding.StatusCompleted)
				return
			}
			// The wait goes on and nothing was written: the right code, after a fresh request, completes it.
			if _, rec := h.do("GET", "/onboardings/"+id, ""); rec["status"] != string(onboarding.StatusAwaitingPhoneVerification) {
				t.Fatalf("after the failure: got %v, want AWAITING_PHONE_VERIFICATION", rec["status"])
			}
			if tt.codeStatus != http.StatusAccepted {
				if status, m := h.post(base+"/code", `{"method":"VOICE"}`); status != http.StatusAccepted {
					t.Fatalf("second code request: got %d %v", status, m)
				}
			}
			if status, m := h.post(base, `{"code":"123456"}`); status != http.StatusAccepted {
				t.Fatalf("second verify: got %d %v", status, m)
			}
			h.await(id, onboarding.StatusCompleted)
		})
	}
}

func TestPhoneVerificationTimeoutAndRetry(t *testing.T) {
	t.Parallel()
	h := start(t, map[string]string{EnvPhoneVerificationTimeout: "1"})
	id := h.signup(unverifiedPhone, "")
	rec := h.await(id, onboarding.StatusFailed)
	checkFailedOn(t, rec, onboarding.StepVerifyPhone, onboarding.CodePhoneVerificationTimeout, 0)
	if status, m := h.post("/onboardings/"+id+"/retry", ""); status != http.StatusAccepted {
		t.Fatalf("retry: got %d %v", status, m)
	}
	h.await(id, onboarding.StatusAwaitingPhoneVerification)
	// The retried wait also times out after a second; verify within it.
	if status, m := h.post("/onboardings/"+id+"/phone-verification/code", `{"method":"SMS"}`); status != http.StatusAccepted {
		t.Fatalf("request code: got %d %v", status, m)
	}
	status, m := h.post("/onboardings/"+id+"/phone-verification", `{"code":"123456"}`)
	switch status {
	case http.StatusAccepted:
		h.await(id, onboarding.StatusCompleted)
	case http.StatusConflict:
		// The second wait ended first: the number is verified at Meta now, so a retry completes.
		h.await(id, onboarding.StatusFailed)
	default:
		t.Fatalf("verify: got %d %v", status, m)
	}
}

func TestRegisterOnAnUnverifiedNumberIsRefusedAsMetaDoes(t *testing.T) {
	t.Parallel()
	sim := graphsim.New(graphsim.Config{})
	tok := sim.IssueToken(waba, unverifiedPhone)
	u, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := graph.New(graph.Options{BaseEndpoint: u})
	if err != nil {
		t.Fatal(err)
	}
	err = c.RegisterPhone(t.Context(), &graph.RegisterPhoneInput{PhoneNumberID: unverifiedPhone, PIN: onboarding.NewSecret("123456"), AccessToken: onboarding.NewSecret(tok)})
	if ge, ok := graph.AsError(err); !ok || ge.Code != graph.CodePhoneNotVerified {
		t.Fatalf("register before verification: got %v, want Graph error 133006", err)
	}
}

func TestSignupWithoutPhoneNumberID(t *testing.T) {
	t.Parallel()
	t.Run("one number on the WABA is used", func(t *testing.T) {
		h := start(t, nil)
		code := fmt.Sprintf("sim:%s:%s:%s", waba, phone, onboarding.NewID())
		h.secrets = append(h.secrets, code)
		status, m := h.post("/signup", fmt.Sprintf(`{"code":%q}`, code))
		if status != http.StatusAccepted {
			t.Fatalf("signup: got %d %v", status, m)
		}
		rec := h.await(m["id"].(string), onboarding.StatusCompleted)
		if rec["phone_number_id"] != phone || rec["waba_id"] != waba {
			t.Errorf("ids: got waba %v phone %v, want %s %s", rec["waba_id"], rec["phone_number_id"], waba, phone)
		}
	})
	t.Run("no number: the phone steps are skipped", func(t *testing.T) {
		h := start(t, nil)
		code := fmt.Sprintf("sim:%s::%s", waba, onboarding.NewID())
		h.secrets = append(h.secrets, code)
		status, m := h.post("/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q}`, code, waba))
		if status != http.StatusAccepted {
			t.Fatalf("signup: got %d %v", status, m)
		}
		rec := h.await(m["id"].(string), onboarding.StatusCompleted)
		for _, s := range []onboarding.StepName{onboarding.StepVerifyPhone, onboarding.StepRegisterPhone, onboarding.StepSendTestMessage} {
			if got := stepStatus(rec, s); got != string(onboarding.StepSkipped) {
				t.Errorf("%s: got %s, want SKIPPED", s, got)
			}
		}
	})
	t.Run("several numbers: FAILED phone_number_ambiguous until a retry names one", func(t *testing.T) {
		h := start(t, nil)
		other := "106540352247777"
		h.r.Sim.SetPhone(phone, graphsim.PhoneState{WABAID: waba})
		h.r.Sim.SetPhone(other, graphsim.PhoneState{WABAID: waba})
		code := fmt.Sprintf("sim:%s::%s", waba, onboarding.NewID())
		h.secrets = append(h.secrets, code)
		status, m := h.post("/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q}`, code, waba))
		if status != http.StatusAccepted || m["status"] != string(onboarding.StatusFailed) {
			t.Fatalf("signup: got %d %v, want 202 FAILED", status, m)
		}
		id := m["id"].(string)
		rec := h.await(id, onboarding.StatusFailed)
		checkFailedOn(t, rec, onboarding.StepVerifyGrant, onboarding.CodePhoneNumberAmbiguous, 0)
		if status, m := h.post("/onboardings/"+id+"/retry", ""); status != http.StatusConflict || errorCode(m) != onboarding.CodePhoneNumberAmbiguous {
			t.Errorf("retry without a number: got %d %v, want 409 phone_number_ambiguous", status, m)
		}
		if status, m := h.post("/onboardings/"+id+"/retry", `{"phone_number_id":"106540352240000"}`); status != http.StatusForbidden {
			t.Errorf("retry naming a foreign number: got %d %v, want 403", status, m)
		}
		if status, m := h.post("/onboardings/"+id+"/retry", fmt.Sprintf(`{"phone_number_id":%q}`, other)); status != http.StatusAccepted {
			t.Fatalf("retry naming a number: got %d %v", status, m)
		}
		rec = h.await(id, onboarding.StatusCompleted)
		if rec["phone_number_id"] != other {
			t.Errorf("phone_number_id: got %v, want %s", rec["phone_number_id"], other)
		}
	})
}

func TestBusinessAppSync(t *testing.T) {
	t.Parallel()
	signupCoex := func(h *harness) string {
		// The session event of a coexistence signup often carries no phone number id.
		code := fmt.Sprintf("sim:%s:%s:%s", waba, coexistencePhone, onboarding.NewID())
		h.secrets = append(h.secrets, code)
		status, m := h.post("/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q,"event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"}`, code, waba))
		if status != http.StatusAccepted {
			h.t.Fatalf("signup: got %d %v", status, m)
		}
		return m["id"].(string)
	}
	for _, c := range graphClasses {
		t.Run("smb_app_data/"+c.what, func(t *testing.T) {
			t.Parallel()
			retryable := c.class == graph.ClassTransient || c.class == graph.ClassThrottled
			count := 1
			if retryable {
				count = faultCount
			}
			h := startFaulty(t, map[string]string{EnvSimFaults: fmt.Sprintf("smb_app_data:%sx%d", c.what, count)}, 0)
			id := signupCoex(h)
			if retryable {
				rec := h.await(id, onboarding.StatusCompleted)
				if got := attemptsOf(rec, onboarding.StepSyncBusinessApp); got < 2 {
					t.Errorf("sync_business_app attempts: got %d, want at least 2", got)
				}
				if got := h.r.Sim.SideEffects(graph.CallSMBAppData); got != 2 {
					t.Errorf("smb_app_data side effects: got %d, want 2 (contacts, history)", got)
				}
				return
			}
			rec := h.await(id, onboarding.StatusFailed)
			checkFailedOn(t, rec, onboarding.StepSyncBusinessApp, c.stepCode, c.code)
			if got := h.r.Sim.SideEffects(graph.CallSMBAppData); got != 0 {
				t.Errorf("smb_app_data side effects: got %d, want 0", got)
			}
		})
	}
	for _, tt := range []struct {
		name, faults string
		want         onboarding.Status
		code         string
		effects      int
	}{
		// The answer to the contacts sync is lost after Meta acted: the step's retry repeats the call only as a
		// check, Meta answers 2593107 (already synced), and the contacts sync counts as done.
		{"lost answer", "smb_app_data:timeoutx1", onboarding.StatusCompleted, "", 2},
		{"already synced (2593107)", "smb_app_data:2593107x1", onboarding.StatusCompleted, "", 1},
		{"outside the 24-hour window (2593108)", "smb_app_data:2593108x1", onboarding.StatusFailed, onboarding.CodeBusinessAppSyncWindow, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startFaulty(t, map[string]string{EnvSimFaults: tt.faults}, 300_000_000)
			id := signupCoex(h)
			rec := h.await(id, tt.want)
			if tt.code != "" {
				checkFailedOn(t, rec, onboarding.StepSyncBusinessApp, tt.code, 2593108)
			}
			if got := h.r.Sim.SideEffects(graph.CallSMBAppData); got != tt.effects {
				t.Errorf("smb_app_data side effects: got %d, want %d", got, tt.effects)
			}
			if tt.want == onboarding.StatusCompleted {
				for _, s := range []onboarding.StepName{onboarding.StepVerifyPhone, onboarding.StepRegisterPhone} {
					if got := stepStatus(rec, s); got != string(onboarding.StepSkipped) {
						t.Errorf("%s: got %s, want SKIPPED", s, got)
					}
				}
				if h.r.Sim.SideEffects(graph.CallRegister) != 0 {
					t.Errorf("a coexistence number was registered")
				}
			}
		})
	}
}

// TestRegisterRefusedAsUnverifiedResumesFromVerifyPhone: a number that reads VERIFIED but that Meta refuses
// to register with 133006 fails register_phone with phone_not_verified; the retry resumes from verify_phone.
func TestRegisterRefusedAsUnverifiedResumesFromVerifyPhone(t *testing.T) {
	t.Parallel()
	h := startFaulty(t, map[string]string{EnvSimFaults: "register:133006x1"}, 0)
	id := h.signup(phone, "")
	rec := h.await(id, onboarding.StatusFailed)
	checkFailedOn(t, rec, onboarding.StepRegisterPhone, onboarding.CodePhoneNotVerified, graph.CodePhoneNotVerified)
	if status, m := h.post("/onboardings/"+id+"/retry", ""); status != http.StatusAccepted {
		t.Fatalf("retry: got %d %v", status, m)
	}
	rec = h.await(id, onboarding.StatusCompleted)
	if a := attemptsOf(rec, onboarding.StepVerifyPhone); a < 2 {
		t.Errorf("verify_phone attempts: got %d, want 2 (it ran again)", a)
	}
}
