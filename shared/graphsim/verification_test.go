package graphsim_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

const (
	unverified = "300000000003333"
	bizApp     = "300000000002222"
)

func TestWABAWithoutPhone(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, "") // sim:<waba_id>::<nonce>
	list, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.PhoneNumbers) != 0 {
		t.Errorf("phone numbers: got %+v, want none", list.PhoneNumbers)
	}
}

func TestUnverifiedNumber(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, unverified)
	p, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: unverified, AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	if p.CodeVerificationStatus != graph.CodeNotVerified {
		t.Errorf("code_verification_status: got %q, want NOT_VERIFIED", p.CodeVerificationStatus)
	}
	register := func() error {
		return e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: unverified, PIN: secret("123456"), AccessToken: tok})
	}
	verify := func(code string) error {
		return e.client.VerifyCode(ctx, &graph.VerifyCodeInput{PhoneNumberID: unverified, Code: secret(code), AccessToken: tok})
	}
	request := func(method string) error {
		return e.client.RequestCode(ctx, &graph.RequestCodeInput{PhoneNumberID: unverified, Method: method, Language: "en_US", AccessToken: tok})
	}
	t.Run("register is refused with 133006 until verified", func(t *testing.T) {
		graphErr(t, register(), graph.CodePhoneNotVerified, 0)
		if got := e.sim.SideEffects(graph.CallRegister); got != 0 {
			t.Errorf("register side effects: got %d", got)
		}
	})
	t.Run("verify_code before any request_code is refused", func(t *testing.T) {
		graphErr(t, verify(graphsim.VerificationCode), graph.CodeInvalidParameter, 0)
	})
	t.Run("request_code takes SMS, VOICE and IVR", func(t *testing.T) {
		for _, m := range []string{"SMS", "VOICE", "IVR"} {
			if err := request(m); err != nil {
				t.Errorf("%s: %v", m, err)
			}
		}
	})
	t.Run("request_code refuses an unknown method and a missing language, as Meta (100)", func(t *testing.T) {
		for _, q := range []string{"code_method=FAX&language=en_US", "code_method=SMS"} {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/v21.0/"+unverified+"/request_code?"+q, nil)
			req.Header.Set("Authorization", "Bearer "+tok.Reveal())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct {
					Code int `json:"code"`
				} `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if body.Error.Code != 100 {
				t.Errorf("%s: got HTTP %d error %d, want error 100", q, resp.StatusCode, body.Error.Code)
			}
		}
	})
	t.Run("a wrong code is refused and changes nothing", func(t *testing.T) {
		graphErr(t, verify("654321"), graph.CodeInvalidParameter, 0)
		if st, _ := e.sim.PhoneState(unverified); st.CodeVerificationStatus != graphsim.CodeNotVerified {
			t.Errorf("status: got %s", st.CodeVerificationStatus)
		}
	})
	t.Run("an expired code is refused", func(t *testing.T) {
		e.clock.Advance(graphsim.VerificationCodeTTL + time.Second)
		graphErr(t, verify(graphsim.VerificationCode), graph.CodeInvalidParameter, 0)
		if err := request("SMS"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("123456 verifies the number once; register then succeeds", func(t *testing.T) {
		if err := verify(graphsim.VerificationCode); err != nil {
			t.Fatal(err)
		}
		if st, _ := e.sim.PhoneState(unverified); st.CodeVerificationStatus != graphsim.CodeVerified {
			t.Errorf("status: got %s, want VERIFIED", st.CodeVerificationStatus)
		}
		graphErr(t, verify(graphsim.VerificationCode), graph.CodeInvalidParameter, 0) // single-use
		if err := register(); err != nil {
			t.Fatalf("register after verification: %v", err)
		}
	})
}

func TestSMBAppData(t *testing.T) {
	sync := func(e *env, tok onboarding.Secret, phone, typ string) (*graph.SMBAppDataOutput, error) {
		return e.client.SMBAppData(ctx, &graph.SMBAppDataInput{PhoneNumberID: phone, SyncType: typ, AccessToken: tok})
	}
	t.Run("each sync type once, then 2593107", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, bizApp)
		for _, typ := range []string{graph.SyncStateSync, graph.SyncHistory} {
			out, err := sync(e, tok, bizApp, typ)
			if err != nil || out.RequestID == "" {
				t.Fatalf("%s: %v %+v", typ, err, out)
			}
			_, err = sync(e, tok, bizApp, typ)
			graphErr(t, err, graph.CodeSyncAlreadyDone, 0)
		}
		if got := e.sim.SideEffects(graph.CallSMBAppData); got != 2 {
			t.Errorf("side effects: got %d, want 2", got)
		}
	})
	t.Run("after 24 hours: 2593108", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, bizApp)
		e.clock.Advance(graphsim.SyncWindow + time.Minute)
		_, err := sync(e, tok, bizApp, graph.SyncStateSync)
		graphErr(t, err, graph.CodeSyncWindowExpired, 0)
	})
	t.Run("a number not on the Business app is refused", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		_, err := sync(e, tok, phoneA, graph.SyncStateSync)
		graphErr(t, err, graph.CodeInvalidParameter, 0)
	})
}

func TestNewFaultCalls(t *testing.T) {
	for _, c := range []string{"request_code:136024x1", "verify_code:timeoutx1", "smb_app_data:2593107x2", "phone_numbers:1x1"} {
		if _, err := graphsim.ParseFaults(c); err != nil {
			t.Errorf("ParseFaults(%q): %v", c, err)
		}
	}
}
