package graphsim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

const (
	wabaA  = "200000000000001"
	phoneA = "300000000000001"
	wabaB  = "200000000000002"
	phoneB = "300000000000002"
	tester = graphsim.DefaultTesterNumber
)

func TestExchangeCode(t *testing.T) {
	t.Run("issued code grants exactly its WABA and phone", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.exchange(e.sim.IssueCode(wabaA, phoneA))
		if err != nil {
			t.Fatalf("ExchangeCode: %v", err)
		}
		if got := out.AccessToken.Reveal(); !strings.HasPrefix(got, "EAA") || len(got) < 40 {
			t.Errorf("token does not look like a Meta token (len %d)", len(got))
		}
		if got, want := out.TokenType, "bearer"; got != want {
			t.Errorf("token_type = %q, want %q", got, want)
		}
		list, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: out.AccessToken})
		if err != nil {
			t.Fatalf("ListPhoneNumbers: %v", err)
		}
		if got := len(list.PhoneNumbers); got != 1 || list.PhoneNumbers[0].ID != phoneA {
			t.Errorf("phone numbers = %+v, want exactly %s", list.PhoneNumbers, phoneA)
		}
	})
	t.Run("any other code grants the documents' WABA and phone", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.exchange("AQBhlXsctMxJYbwbrpybxlo9tLPGy-QAmjBJA03jxLos43wx")
		if err != nil {
			t.Fatalf("ExchangeCode: %v", err)
		}
		p, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: graphsim.DefaultPhoneNumberID, AccessToken: out.AccessToken})
		if err != nil {
			t.Fatalf("GetPhoneNumber: %v", err)
		}
		if got, want := p.ID, graphsim.DefaultPhoneNumberID; got != want {
			t.Errorf("phone id = %q, want %q", got, want)
		}
		if _, ok := e.sim.WABAState(graphsim.DefaultWABAID); !ok {
			t.Errorf("WABA %s not created by the grant", graphsim.DefaultWABAID)
		}
	})
	t.Run("WABA-only grant has no phone", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, "")
		list, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: tok})
		if err != nil {
			t.Fatalf("ListPhoneNumbers: %v", err)
		}
		if got := len(list.PhoneNumbers); got != 0 {
			t.Errorf("phone numbers = %d, want 0", got)
		}
	})

	tests := []struct {
		name          string
		setup         func(e *env) string // returns the code to exchange
		appID, secret string
		code, subcode int
		message       string
	}{
		{name: "second use", setup: func(e *env) string {
			c := e.sim.IssueCode(wabaA, phoneA)
			if _, err := e.exchange(c); err != nil {
				panic(err)
			}
			return c
		}, code: 100, subcode: 36009, message: "This authorization code has been used."},
		{name: "older than the code TTL", setup: func(e *env) string {
			c := e.sim.IssueCode(wabaA, phoneA)
			e.clock.Advance(31 * time.Second)
			return c
		}, code: 100, subcode: 36007, message: "This authorization code has expired."},
		{name: "first seen, then too late", setup: func(e *env) string {
			c := "sim:" + wabaA + ":" + phoneA + ":late"
			_, _ = e.client.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret("wrong"), Code: secret(c)})
			e.clock.Advance(31 * time.Second)
			return c
		}, code: 100, subcode: 36007, message: "This authorization code has expired."},
		{name: "expired prefix", setup: func(*env) string { return "expired-code-123" }, code: 100, subcode: 36007},
		{name: "malformed sim code", setup: func(*env) string { return "sim:abc:def:1" }, code: 100, message: "Invalid verification code format."},
		{name: "wrong client_id", setup: func(e *env) string { return e.sim.IssueCode(wabaA, phoneA) }, appID: "111", code: 101},
		{name: "wrong client_secret", setup: func(e *env) string { return e.sim.IssueCode(wabaA, phoneA) }, secret: "nope", code: 1,
			message: "Error validating client secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := tt.setup(e)
			in := &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)}
			if tt.appID != "" {
				in.AppID = tt.appID
			}
			if tt.secret != "" {
				in.AppSecret = secret(tt.secret)
			}
			_, err := e.client.ExchangeCode(ctx, in)
			ge := graphErr(t, err, tt.code, tt.subcode)
			if tt.message != "" && ge.Message != tt.message {
				t.Errorf("message = %q, want %q", ge.Message, tt.message)
			}
			if got, want := ge.Type, "OAuthException"; got != want {
				t.Errorf("type = %q, want %q", got, want)
			}
		})
	}
	t.Run("a refused exchange does not spend the code", func(t *testing.T) {
		e := newEnv(t)
		c := e.sim.IssueCode(wabaA, phoneA)
		_, err := e.client.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret("wrong"), Code: secret(c)})
		graphErr(t, err, 1, 0)
		if _, err := e.exchange(c); err != nil {
			t.Errorf("exchange with the right secret after a refused one: %v", err)
		}
	})
}

func TestDebugToken(t *testing.T) {
	e := newEnv(t)
	biz := e.token(t, wabaA, phoneA)
	revoked := e.token(t, wabaB, phoneB)
	e.sim.RevokeToken(revoked.Reveal())
	appToken := secret(appID + "|" + appSecret)

	for _, access := range []struct {
		name string
		tok  onboarding.Secret
	}{{"app token", appToken}, {"system token", secret(systemToken)}} {
		t.Run("business token inspected with the "+access.name, func(t *testing.T) {
			d, err := e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: biz, AccessToken: access.tok})
			if err != nil {
				t.Fatalf("DebugToken: %v", err)
			}
			if !d.IsValid || d.AppID != appID || d.Type != "SYSTEM_USER" || d.UserID == "" || d.Application == "" {
				t.Errorf("debug data = %+v, want a valid SYSTEM_USER token of app %s", d, appID)
			}
			if !d.ExpiresAt.IsZero() {
				t.Errorf("expires_at = %v, want 0 (never)", d.ExpiresAt)
			}
			if got, want := d.DataAccessExpiresAt, e.clock.Now().Add(90*24*time.Hour).Truncate(time.Second); !got.Equal(want) {
				t.Errorf("data_access_expires_at = %v, want %v", got, want)
			}
			for _, s := range []string{"whatsapp_business_management", "whatsapp_business_messaging", "business_management"} {
				if !d.HasScope(s) {
					t.Errorf("scope %s missing from %v", s, d.Scopes)
				}
			}
			for _, s := range []string{"whatsapp_business_management", "whatsapp_business_messaging"} {
				if !d.HasGranularTarget(s, wabaA) {
					t.Errorf("granular scope %s does not target %s: %+v", s, wabaA, d.GranularScopes)
				}
				if d.HasGranularTarget(s, wabaB) {
					t.Errorf("granular scope %s targets a WABA that was not granted", s)
				}
			}
		})
	}
	t.Run("unknown input token is invalid, not an error", func(t *testing.T) {
		d, err := e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: secret("EAAunknown"), AccessToken: appToken})
		if err != nil {
			t.Fatalf("DebugToken: %v", err)
		}
		if d.IsValid || d.ErrorCode != 190 {
			t.Errorf("is_valid = %v, error code = %d; want false, 190", d.IsValid, d.ErrorCode)
		}
	})
	t.Run("revoked input token is invalid", func(t *testing.T) {
		d, err := e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: revoked, AccessToken: appToken})
		if err != nil {
			t.Fatalf("DebugToken: %v", err)
		}
		if d.IsValid || d.ErrorCode != 190 || d.ErrorSubcode != 460 {
			t.Errorf("is_valid = %v, error = %d/%d; want false, 190/460", d.IsValid, d.ErrorCode, d.ErrorSubcode)
		}
	})
	for _, bad := range []struct {
		name string
		tok  onboarding.Secret
	}{{"business token", biz}, {"unknown token", secret("EAAnotatoken")}, {"wrong app secret", secret(appID + "|nope")}} {
		t.Run("access with "+bad.name+" is 190", func(t *testing.T) {
			_, err := e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: biz, AccessToken: bad.tok})
			graphErr(t, err, 190, 0)
		})
	}
}

func TestTokenReach(t *testing.T) {
	e := newEnv(t)
	tokA := e.token(t, wabaA, phoneA)
	_ = e.token(t, wabaB, phoneB)
	sys := secret(systemToken)

	denied := []struct {
		name string
		call func(tok onboarding.Secret) error
	}{
		{"phone_numbers of another WABA", func(tok onboarding.Secret) error {
			_, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaB, AccessToken: tok})
			return err
		}},
		{"another WABA", func(tok onboarding.Secret) error {
			_, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaB, AccessToken: tok})
			return err
		}},
		{"subscribe another WABA", func(tok onboarding.Secret) error {
			return e.client.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: wabaB, AccessToken: tok})
		}},
		{"another phone", func(tok onboarding.Secret) error {
			_, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phoneB, AccessToken: tok})
			return err
		}},
		{"register another phone", func(tok onboarding.Secret) error {
			return e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneB, PIN: secret("123456"), AccessToken: tok})
		}},
		{"message from another phone", func(tok onboarding.Secret) error {
			_, err := e.client.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phoneB, To: tester, Body: "x", AccessToken: tok})
			return err
		}},
		{"unknown object", func(tok onboarding.Secret) error {
			_, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: "999", AccessToken: tok})
			return err
		}},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			ge := graphErr(t, tt.call(tokA), 100, 33)
			if got, want := ge.Type, "GraphMethodException"; got != want {
				t.Errorf("type = %q, want %q", got, want)
			}
			if got, want := ge.Class, graph.ClassPermanent; got != want {
				t.Errorf("class = %v, want %v", got, want)
			}
		})
	}
	t.Run("unknown token is 190", func(t *testing.T) {
		_, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: secret("EAAforged")})
		graphErr(t, err, 190, 0)
	})
	t.Run("revoked token is 190", func(t *testing.T) {
		tok := e.token(t, wabaA, phoneA)
		e.sim.RevokeToken(tok.Reveal())
		_, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: tok})
		graphErr(t, err, 190, 460)
	})
	t.Run("system token reaches every shared WABA and phone", func(t *testing.T) {
		for _, id := range []string{wabaA, wabaB} {
			if _, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: id, AccessToken: sys}); err != nil {
				t.Errorf("GetWABA(%s) with the system token: %v", id, err)
			}
		}
		if _, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phoneB, AccessToken: sys}); err != nil {
			t.Errorf("GetPhoneNumber with the system token: %v", err)
		}
	})
}

func TestPhoneNumbers(t *testing.T) {
	tests := []struct {
		id                 string
		platform, status   string
		bizApp, registered bool
	}{
		{"300000000000005", "NOT_APPLICABLE", "DISCONNECTED", false, false},
		{"300000000001111", "CLOUD_API", "CONNECTED", false, true},
		{"300000000002222", "CLOUD_API", "CONNECTED", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(t, wabaA, tt.id)
			p, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: tt.id, AccessToken: tok})
			if err != nil {
				t.Fatalf("GetPhoneNumber: %v", err)
			}
			if p.PlatformType != tt.platform || p.Status != tt.status || p.IsOnBizApp != tt.bizApp || p.Registered() != tt.registered {
				t.Errorf("phone = %+v, want platform %s, status %s, biz app %v", p, tt.platform, tt.status, tt.bizApp)
			}
			if p.DisplayPhoneNumber == "" || p.VerifiedName == "" || p.CodeVerificationStatus == "" || p.QualityRating == "" {
				t.Errorf("phone lacks display fields: %+v", p)
			}
			list, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: tok})
			if err != nil {
				t.Fatalf("ListPhoneNumbers: %v", err)
			}
			if len(list.PhoneNumbers) != 1 || list.PhoneNumbers[0] != *p {
				t.Errorf("list = %+v, want [%+v]", list.PhoneNumbers, *p)
			}
		})
	}
	t.Run("paging follows next across pages", func(t *testing.T) {
		e := newEnv(t, func(c *graphsim.Config) { c.PageSize = 2 })
		tok := e.token(t, wabaA, phoneA)
		want := []string{phoneA}
		for i := 2; i <= 5; i++ {
			id := fmt.Sprintf("30000000000000%d", i+4)
			e.sim.SetPhone(id, graphsim.PhoneState{WABAID: wabaA, PlatformType: "NOT_APPLICABLE", Status: "DISCONNECTED"})
			want = append(want, id)
		}
		e.sim.Reset()
		list, err := e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: tok})
		if err != nil {
			t.Fatalf("ListPhoneNumbers: %v", err)
		}
		var got []string
		for _, p := range list.PhoneNumbers {
			got = append(got, p.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ids = %v, want %v", got, want)
		}
		if got, want := e.sim.Calls(graph.CallPhoneNumbers), 3; got != want {
			t.Errorf("requests = %d, want %d pages", got, want)
		}
	})
}

func TestSubscribedApps(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, phoneA)
	list := func() []graph.SubscribedApp {
		t.Helper()
		out, err := e.client.ListSubscribedApps(ctx, &graph.ListSubscribedAppsInput{WABAID: wabaA, AccessToken: tok})
		if err != nil {
			t.Fatalf("ListSubscribedApps: %v", err)
		}
		return out.Apps
	}
	override := &graph.SubscribeAppInput{WABAID: wabaA, AccessToken: tok,
		OverrideCallbackURI: "https://partner.example/webhooks/waba", VerifyToken: secret("verify-me")}

	if got := list(); len(got) != 0 {
		t.Fatalf("apps before subscribing = %+v, want none", got)
	}
	ge := graphErr(t, e.client.SubscribeApp(ctx, override), 100, 0)
	if ge.Class != graph.ClassPermanent {
		t.Errorf("override before subscribe: class %v, want permanent", ge.Class)
	}
	if got := e.sim.SideEffects(graph.CallSubscribedApps); got != 0 {
		t.Errorf("side effects after a refused override = %d, want 0", got)
	}
	for i := range 2 { // subscribing is idempotent
		if err := e.client.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: wabaA, AccessToken: tok}); err != nil {
			t.Fatalf("SubscribeApp #%d: %v", i+1, err)
		}
	}
	apps := list()
	if len(apps) != 1 || apps[0].AppID != appID || apps[0].Name == "" || apps[0].Link == "" || apps[0].OverrideCallbackURI != "" {
		t.Errorf("apps = %+v, want our app without override", apps)
	}
	if err := e.client.SubscribeApp(ctx, override); err != nil {
		t.Fatalf("override after subscribe: %v", err)
	}
	if apps := list(); len(apps) != 1 || apps[0].OverrideCallbackURI != override.OverrideCallbackURI {
		t.Errorf("apps = %+v, want override %s", apps, override.OverrideCallbackURI)
	}
	st, _ := e.sim.WABAState(wabaA)
	if !st.Subscribed || st.OverrideCallbackURI != override.OverrideCallbackURI {
		t.Errorf("WABA state = %+v", st)
	}
	if got, want := e.sim.SideEffects(graph.CallSubscribedApps), 3; got != want {
		t.Errorf("side effects = %d, want %d", got, want)
	}
}

func TestAssignUserAndCreditLine(t *testing.T) {
	e := newEnv(t)
	biz := e.token(t, wabaA, phoneA)
	sys := secret(systemToken)
	share := func(tok onboarding.Secret, line, waba string) (*graph.ShareCreditLineOutput, error) {
		return e.client.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: line, WABAID: waba, Currency: "EUR", AccessToken: tok})
	}

	_, err := share(sys, creditLine, wabaA)
	graphErr(t, err, 200, 0)
	graphErr(t, e.client.AssignUser(ctx, &graph.AssignUserInput{WABAID: wabaA, UserID: systemUserID, AccessToken: biz}), 200, 0)

	if err := e.client.AssignUser(ctx, &graph.AssignUserInput{WABAID: wabaA, UserID: systemUserID, AccessToken: sys}); err != nil {
		t.Fatalf("AssignUser: %v", err)
	}
	err = e.client.AssignUser(ctx, &graph.AssignUserInput{WABAID: wabaA, UserID: systemUserID, AccessToken: sys})
	graphErr(t, err, 100, 0)
	if !graph.IsAlreadyAssigned(err) {
		t.Errorf("IsAlreadyAssigned(%v) = false, want true", err)
	}
	if got, want := e.sim.SideEffects(graph.CallAssignedUsers), 1; got != want {
		t.Errorf("assignments = %d, want %d", got, want)
	}

	_, err = share(sys, "1234567890", wabaA)
	graphErr(t, err, 100, 33)
	_, err = share(biz, creditLine, wabaA)
	graphErr(t, err, 100, 33)

	out, err := share(sys, creditLine, wabaA)
	if err != nil {
		t.Fatalf("ShareCreditLine: %v", err)
	}
	if out.AllocationConfigID == "" || out.WABAID != wabaA {
		t.Fatalf("share output = %+v", out)
	}
	alloc, err := e.client.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: out.AllocationConfigID, AccessToken: sys})
	if err != nil {
		t.Fatalf("GetAllocationConfig: %v", err)
	}
	w, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: biz})
	if err != nil {
		t.Fatalf("GetWABA: %v", err)
	}
	if alloc.ReceivingCredentialID == "" || alloc.ReceivingCredentialID != w.PrimaryFundingID {
		t.Errorf("receiving credential %q != primary_funding_id %q", alloc.ReceivingCredentialID, w.PrimaryFundingID)
	}
	if got, want := w.Currency, "EUR"; got != want {
		t.Errorf("currency = %q, want %q", got, want)
	}
	allocs, err := e.client.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, AccessToken: sys})
	if err != nil {
		t.Fatalf("ListCreditAllocations: %v", err)
	}
	if len(allocs) != 1 || allocs[0] != *alloc {
		t.Errorf("allocations = %+v, want [%+v]", allocs, *alloc)
	}

	_, err = share(sys, creditLine, wabaA)
	if ge := graphErr(t, err, 100, 0); ge.Class != graph.ClassPermanent {
		t.Errorf("second attach: class %v, want permanent", ge.Class)
	}
	if got, want := e.sim.SideEffects(graph.CallCreditSharing), 1; got != want {
		t.Errorf("attachments = %d, want %d", got, want)
	}
	_, err = e.client.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: out.AllocationConfigID, AccessToken: biz})
	graphErr(t, err, 100, 33)
}

func TestRegister(t *testing.T) {
	register := func(e *env, tok onboarding.Secret, phone, pin string) error {
		return e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phone, PIN: secret(pin), AccessToken: tok})
	}
	t.Run("success registers, opens the tester's window and tells the observer once", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		if err := register(e, tok, phoneA, "123456"); err != nil {
			t.Fatalf("RegisterPhone: %v", err)
		}
		st, _ := e.sim.PhoneState(phoneA)
		if !st.Registered() || st.PIN.Reveal() != "123456" || st.RegisterCalls != 1 {
			t.Errorf("phone state = %+v, want registered with the PIN after 1 call", st)
		}
		evs := e.obs.all()
		if len(evs) != 2 || evs[0].kind != "registered" || evs[1].kind != "inbound" {
			t.Fatalf("observer events = %+v, want registered then inbound", evs)
		}
		in := evs[1]
		if in.waba != wabaA || in.phone != phoneA || in.user != "16505551234" || in.text != graphsim.TesterText ||
			!strings.HasPrefix(in.messageID, "wamid.") || !in.at.Equal(e.clock.Now()) {
			t.Errorf("inbound event = %+v", in)
		}
		if _, err := e.client.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phoneA, To: tester, Body: "hi", AccessToken: tok}); err != nil {
			t.Errorf("reply to the tester inside the window: %v", err)
		}
		if err := register(e, tok, phoneA, "123456"); err != nil {
			t.Errorf("register again with the same PIN: %v", err)
		}
		graphErr(t, register(e, tok, phoneA, "654321"), 133005, 0)
		if got, want := e.obs.count("inbound"), 1; got != want {
			t.Errorf("tester messages = %d, want %d (only newly registered numbers)", got, want)
		}
		if got, want := e.sim.SideEffects(graph.CallRegister), 2; got != want {
			t.Errorf("successful registers = %d, want %d", got, want)
		}
	})
	t.Run("ten calls per 72 hours, then blocked for 72 hours", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		for i := range graphsim.RegisterLimit {
			pin := "111111"
			if i%2 == 1 {
				pin = "222222" // mismatches count too
			}
			_ = register(e, tok, phoneA, pin)
			e.clock.Advance(time.Minute)
		}
		ge := graphErr(t, register(e, tok, phoneA, "111111"), 133016, 0)
		if ge.Class != graph.ClassPermanent || ge.Details == "" {
			t.Errorf("133016: class %v, details %q; want permanent with details", ge.Class, ge.Details)
		}
		st, _ := e.sim.PhoneState(phoneA)
		if got, want := st.BlockedUntil, e.clock.Now().Add(72*time.Hour); !got.Equal(want) {
			t.Errorf("blocked until %v, want %v", got, want)
		}
		e.clock.Advance(71 * time.Hour)
		graphErr(t, register(e, tok, phoneA, "111111"), 133016, 0)
		e.clock.Advance(time.Hour)
		if err := register(e, tok, phoneA, "111111"); err != nil {
			t.Errorf("register after 72 hours: %v", err)
		}
	})
	t.Run("SetPhone with calls already made", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		e.sim.SetPhone(phoneA, graphsim.PhoneState{PlatformType: "NOT_APPLICABLE", Status: "DISCONNECTED", RegisterCalls: 10})
		graphErr(t, register(e, tok, phoneA, "111111"), 133016, 0)
	})
}

func TestMessages(t *testing.T) {
	send := func(e *env, tok onboarding.Secret, to string) (*graph.SendMessageOutput, error) {
		return e.client.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phoneA, To: to, Body: "Message received, loud and clear!", AccessToken: tok})
	}
	t.Run("unregistered number is 133010", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		e.sim.OpenWindow(phoneA, tester, e.clock.Now())
		_, err := send(e, tok, tester)
		graphErr(t, err, 133010, 0)
	})
	windows := []struct {
		name   string
		offset time.Duration // inbound message time relative to now; 0 means none
		code   int
	}{
		{"no inbound message", 0, 131047},
		{"inbound 25 hours ago", -25 * time.Hour, 131047},
		{"inbound 1 hour ago", -time.Hour, 0},
	}
	for _, tt := range windows {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(t, wabaA, phoneA)
			e.sim.SetPhone(phoneA, graphsim.PhoneState{PlatformType: "CLOUD_API", Status: "CONNECTED", PIN: secret("123456")})
			user := "+4915112345678"
			if tt.offset != 0 {
				e.sim.OpenWindow(phoneA, user, e.clock.Now().Add(tt.offset))
			}
			out, err := send(e, tok, user)
			if tt.code != 0 {
				ge := graphErr(t, err, tt.code, 0)
				if ge.Details == "" {
					t.Errorf("WhatsApp error without error_data.details: %v", err)
				}
				if got := e.sim.SideEffects(graph.CallMessages); got != 0 {
					t.Errorf("messages sent = %d, want 0", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("SendTextMessage: %v", err)
			}
			if !strings.HasPrefix(out.MessageID, "wamid.") || out.WAID != "4915112345678" {
				t.Errorf("output = %+v", out)
			}
			evs := e.obs.all()
			if len(evs) != 1 || evs[0].kind != "sent" || evs[0].messageID != out.MessageID || evs[0].user != "4915112345678" {
				t.Errorf("observer events = %+v", evs)
			}
			if got, want := e.sim.SideEffects(graph.CallMessages), 1; got != want {
				t.Errorf("messages sent = %d, want %d", got, want)
			}
		})
	}
}

func TestFaultsThroughClient(t *testing.T) {
	t.Run("graph error before the side effect, then normal", func(t *testing.T) {
		e := newEnv(t, func(c *graphsim.Config) {
			c.Faults = []graphsim.Fault{{Call: graph.CallRegister, Kind: graphsim.FaultGraphError, Code: 133016, Count: 2}}
		})
		tok := e.token(t, wabaA, phoneA)
		for range 2 {
			err := e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("123456"), AccessToken: tok})
			graphErr(t, err, 133016, 0)
		}
		if st, _ := e.sim.PhoneState(phoneA); st.Registered() || st.RegisterCalls != 0 {
			t.Errorf("a faulted register changed the phone: %+v", st)
		}
		if err := e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("123456"), AccessToken: tok}); err != nil {
			t.Errorf("third register: %v", err)
		}
		if got, want := e.sim.Calls(graph.CallRegister), 3; got != want {
			t.Errorf("register calls = %d, want %d", got, want)
		}
	})
	t.Run("codes 1 and 2 answer HTTP 500 with the envelope", func(t *testing.T) {
		e := newEnv(t)
		e.sim.InjectFault(graphsim.Fault{Call: graph.CallOAuth, Kind: graphsim.FaultGraphError, Code: 2, Count: 1})
		_, err := e.exchange(e.sim.IssueCode(wabaA, phoneA))
		ge := graphErr(t, err, 2, 0)
		if ge.HTTPStatus != 500 || ge.Class != graph.ClassTransient {
			t.Errorf("status %d class %v, want 500 transient", ge.HTTPStatus, ge.Class)
		}
	})
	t.Run("throttling code answers 400", func(t *testing.T) {
		e := newEnv(t)
		e.sim.InjectFault(graphsim.Fault{Call: graph.CallPhoneInfo, Kind: graphsim.FaultGraphError, Code: 130429, Count: 1})
		tok := e.token(t, wabaA, phoneA)
		_, err := e.client.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phoneA, AccessToken: tok})
		ge := graphErr(t, err, 130429, 0)
		if ge.HTTPStatus != 400 || ge.Class != graph.ClassThrottled {
			t.Errorf("status %d class %v, want 400 throttled", ge.HTTPStatus, ge.Class)
		}
	})
	t.Run("http500 is a plain 5xx before the side effect", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, "")
		e.sim.InjectFault(graphsim.Fault{Call: graph.CallSubscribedApps, Kind: graphsim.FaultHTTP500, Count: 1})
		err := e.client.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: wabaA, AccessToken: tok})
		ge, ok := graph.AsError(err)
		if !ok || ge.HTTPStatus != 500 || ge.Code != 0 || ge.Class != graph.ClassTransient || !ge.Ambiguous() {
			t.Fatalf("error = %#v, want a plain transient 500", err)
		}
		if st, _ := e.sim.WABAState(wabaA); st.Subscribed {
			t.Errorf("http500 fault subscribed the app")
		}
	})
	t.Run("timeout: the side effect happens, the answer is lost", func(t *testing.T) {
		e := newEnv(t)
		tok := e.token(t, wabaA, phoneA)
		e.sim.InjectFault(graphsim.Fault{Call: graph.CallRegister, Kind: graphsim.FaultTimeout, Count: 1})
		err := e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("123456"), AccessToken: tok},
			func(o *graph.Options) { o.CallTimeout = 200 * time.Millisecond })
		ge, ok := graph.AsError(err)
		if !ok || !ge.Timeout || !ge.Sent || !ge.Ambiguous() || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %#v, want an ambiguous timeout", err)
		}
		if st, _ := e.sim.PhoneState(phoneA); !st.Registered() {
			t.Errorf("the register behind the lost answer did not happen")
		}
		if got, want := e.sim.Calls(graph.CallRegister), 1; got != want {
			t.Errorf("register calls = %d, want %d (never retried once sent)", got, want)
		}
	})
}

func TestObserverMayCallBack(t *testing.T) {
	// The simulator calls the Observer without holding its lock: an observer that reads the simulator (as
	// a webhook sender does) must not deadlock.
	var sim *graphsim.Server
	var mu sync.Mutex
	var seen []graphsim.PhoneState
	e := newEnv(t, func(c *graphsim.Config) {
		c.Observer = graphsim.ObserverFuncs{OnInboundMessage: func(_, phone, _, _, _ string, _ time.Time) {
			st, _ := sim.PhoneState(phone)
			mu.Lock()
			seen = append(seen, st)
			mu.Unlock()
		}}
	})
	sim = e.sim
	tok := e.token(t, wabaA, phoneA)
	if err := e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("123456"), AccessToken: tok}); err != nil {
		t.Fatalf("RegisterPhone: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !seen[0].Registered() {
		t.Errorf("observer saw %+v, want one registered phone", seen)
	}
}

func TestConcurrentOnboardings(t *testing.T) {
	e := newEnv(t)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waba, phone := fmt.Sprintf("4000000%08d", i), fmt.Sprintf("5000000%08d", i)
			out, err := e.exchange(e.sim.IssueCode(waba, phone))
			if err != nil {
				errs <- err
				return
			}
			tok := out.AccessToken
			steps := []func() error{
				func() error {
					return e.client.SubscribeApp(ctx, &graph.SubscribeAppInput{WABAID: waba, AccessToken: tok})
				},
				func() error {
					return e.client.AssignUser(ctx, &graph.AssignUserInput{WABAID: waba, UserID: systemUserID, AccessToken: secret(systemToken)})
				},
				func() error {
					_, err := e.client.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: waba, Currency: "USD", AccessToken: secret(systemToken)})
					return err
				},
				func() error {
					return e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phone, PIN: secret("123456"), AccessToken: tok})
				},
				func() error {
					_, err := e.client.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phone, To: tester, Body: "ok", AccessToken: tok})
					return err
				},
			}
			for _, s := range steps {
				if err := s(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, call := range []string{graph.CallSubscribedApps, graph.CallAssignedUsers, graph.CallCreditSharing, graph.CallRegister, graph.CallMessages} {
		if got := e.sim.SideEffects(call); got != n {
			t.Errorf("side effects of %s = %d, want %d", call, got, n)
		}
	}
	allocs, err := e.client.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, AccessToken: secret(systemToken)})
	if err != nil {
		t.Fatalf("ListCreditAllocations: %v", err)
	}
	seen := map[string]bool{}
	for _, a := range allocs {
		seen[a.ID] = true
	}
	if len(allocs) != n || len(seen) != n {
		t.Errorf("allocations = %d (%d distinct), want %d", len(allocs), len(seen), n)
	}
}

func TestSimulatorLogsNoSecrets(t *testing.T) {
	e := newEnv(t)
	code := e.sim.IssueCode(wabaA, phoneA)
	out, err := e.exchange(code)
	if err != nil {
		t.Fatal(err)
	}
	tok := out.AccessToken
	_ = e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("482913"), AccessToken: tok})
	_ = e.client.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneA, PIN: secret("482914"), AccessToken: tok})
	_, _ = e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: tok, AccessToken: secret(appID + "|" + appSecret)})
	_, _ = e.exchange(code)
	logs := e.logs.String()
	if !strings.Contains(logs, "graph sim request") {
		t.Fatalf("no simulator log lines captured")
	}
	for _, s := range []string{code, tok.Reveal(), "482913", "482914", appSecret, systemToken, "client_secret", "?"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q", s)
		}
	}
}

// TestExpiringCode: a code whose nonce starts with "expiring" grants a token that ends
// ExpiringTokenLifetime after the exchange; debug_token shows the end, and after it the token is refused
// as expired (190/463), by debug_token and by every call made with it.
func TestExpiringCode(t *testing.T) {
	e := newEnv(t)
	out, err := e.exchange("sim:" + wabaA + ":" + phoneA + ":expiring-1")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got, want := out.ExpiresIn, int(graphsim.ExpiringTokenLifetime/time.Second); got != want {
		t.Errorf("expires_in: got %d, want %d", got, want)
	}
	appToken := secret(appID + "|" + appSecret)
	ends := e.clock.Now().Add(graphsim.ExpiringTokenLifetime).Truncate(time.Second)
	d, err := e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: out.AccessToken, AccessToken: appToken})
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsValid || !d.ExpiresAt.Equal(ends) {
		t.Errorf("before its end: is_valid %t, expires_at %v; want true, %v", d.IsValid, d.ExpiresAt, ends)
	}
	e.clock.Advance(graphsim.ExpiringTokenLifetime)
	d, err = e.client.DebugToken(ctx, &graph.DebugTokenInput{InputToken: out.AccessToken, AccessToken: appToken})
	if err != nil {
		t.Fatal(err)
	}
	if d.IsValid || d.ErrorCode != 190 || d.ErrorSubcode != 463 {
		t.Errorf("after its end: is_valid %t, error %d/%d; want false, 190/463", d.IsValid, d.ErrorCode, d.ErrorSubcode)
	}
	_, err = e.client.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaA, AccessToken: out.AccessToken})
	graphErr(t, err, 190, 463)
	// Any other nonce grants a token that never ends.
	other, err := e.exchange("sim:" + wabaA + ":" + phoneA + ":not-expiring")
	if err != nil {
		t.Fatal(err)
	}
	if other.ExpiresIn != 0 {
		t.Errorf("expires_in of an ordinary code: got %d, want 0", other.ExpiresIn)
	}
}
