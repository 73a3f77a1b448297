package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// Distinctive test values, so that a leak is easy to grep for.
const (
	appID       = "236484624622562"
	appSecret   = "app-secret-client-tests-91b2"
	code        = "code-AQBhlX-client-tests-77"
	bizToken    = "EAAbusinessTokenClientTests0123456789"
	systemToken = "EAAsystemTokenClientTests0123456789"
	verifyToken = "verify-token-client-tests-3c"
	pin         = "482913"
	wabaID      = "102290129340398"
	phoneID     = "106540352242922"
	creditLine  = "1972385232742146"
	allocID     = "58501441721238"
)

var allSecrets = []string{appSecret, code, bizToken, systemToken, verifyToken, pin}

func secret(s string) onboarding.Secret { return onboarding.NewSecret(s) }

func noSleep(context.Context, time.Duration) error { return nil }

// respond builds a response as a transport would.
func respond(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

// seen is a request as the fake transport received it.
type seen struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// fakeTransport records requests and answers them with do.
type fakeTransport struct {
	mu   sync.Mutex
	reqs []seen
	do   func(n int, req *http.Request) (*http.Response, error)
}

func (f *fakeTransport) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{req.Method, req.URL.Path, req.URL.Query(), req.Header.Clone(), string(body)})
	n := len(f.reqs)
	f.mu.Unlock()
	return f.do(n, req)
}

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func newClient(t *testing.T, do func(n int, req *http.Request) (*http.Response, error), optFns ...func(*graph.Options)) (*graph.Client, *fakeTransport) {
	t.Helper()
	ft := &fakeTransport{do: do}
	opts := graph.Options{HTTPClient: ft, Retry: graph.RetryPolicy{Sleep: noSleep, Rand: func() float64 { return 0.5 }}}
	c, err := graph.New(opts, optFns...)
	if err != nil {
		t.Fatalf("graph.New: %v", err)
	}
	return c, ft
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		opts    graph.Options
		wantErr bool
	}{
		{"defaults", graph.Options{}, false},
		{"graph.facebook.com", graph.Options{BaseEndpoint: "https://graph.facebook.com"}, false},
		{"trailing slash", graph.Options{BaseEndpoint: "https://graph.facebook.com/"}, false},
		{"loopback http", graph.Options{BaseEndpoint: "http://127.0.0.1:8081"}, false},
		{"localhost", graph.Options{BaseEndpoint: "http://localhost"}, false},
		{"ipv6 loopback https", graph.Options{BaseEndpoint: "https://[::1]:9443"}, false},
		{"version v9.0", graph.Options{APIVersion: "v9.0"}, false},
		{"http to Meta", graph.Options{BaseEndpoint: "http://graph.facebook.com"}, true},
		{"look-alike host", graph.Options{BaseEndpoint: "https://graph.facebook.com.evil.example"}, true},
		{"other host", graph.Options{BaseEndpoint: "https://evil.example"}, true},
		{"explicit port", graph.Options{BaseEndpoint: "https://graph.facebook.com:443"}, true},
		{"path", graph.Options{BaseEndpoint: "https://graph.facebook.com/v21.0"}, true},
		{"credentials", graph.Options{BaseEndpoint: "https://user:pw@graph.facebook.com"}, true},
		{"query", graph.Options{BaseEndpoint: "http://127.0.0.1:8080?access_token=x"}, true},
		{"fragment", graph.Options{BaseEndpoint: "http://127.0.0.1:8080#x"}, true},
		{"private address", graph.Options{BaseEndpoint: "http://10.0.0.1:8080"}, true},
		{"other loopback", graph.Options{BaseEndpoint: "http://127.0.0.2:8080"}, true},
		{"other scheme", graph.Options{BaseEndpoint: "ftp://127.0.0.1"}, true},
		{"bad port", graph.Options{BaseEndpoint: "http://127.0.0.1:http"}, true},
		{"version without v", graph.Options{APIVersion: "21.0"}, true},
		{"version without minor", graph.Options{APIVersion: "v21"}, true},
		{"version with patch", graph.Options{APIVersion: "v21.0.1"}, true},
		{"version injection", graph.Options{APIVersion: "v21.0/../x"}, true},
		{"negative timeout", graph.Options{CallTimeout: -time.Second}, true},
		{"negative attempts", graph.Options{Retry: graph.RetryPolicy{MaxAttempts: -1}}, true},
		{"negative budget", graph.Options{Retry: graph.RetryPolicy{Budget: -1}}, true},
		{"user agent with newline", graph.Options{UserAgent: "a\r\nX-Evil: 1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := graph.New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "evil") {
				t.Errorf("error repeats the rejected value: %v", err)
			}
			if err == nil {
				o := c.Options()
				if o.HTTPClient == nil || o.Logger == nil || o.CallTimeout <= 0 || o.Retry.MaxAttempts <= 0 || o.Retry.Budget <= 0 {
					t.Errorf("defaults not filled: %+v", o)
				}
			}
		})
	}
	t.Run("optFns apply before validation", func(t *testing.T) {
		_, err := graph.New(graph.Options{}, func(o *graph.Options) { o.BaseEndpoint = "https://evil.example" })
		if err == nil {
			t.Errorf("New accepted a base endpoint set by an optFn")
		}
	})
}

func TestRequests(t *testing.T) {
	biz, sys := secret(bizToken), secret(systemToken)
	tests := []struct {
		name     string
		run      func(c *graph.Client) (any, error)
		method   string
		path     string
		query    url.Values
		auth     string
		body     string // JSON, compared structurally; "" means no body
		response string
		want     any
	}{
		{
			name: "ExchangeCode",
			run: func(c *graph.Client) (any, error) {
				return c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
			},
			method: "GET", path: "/v25.0/oauth/access_token",
			query:    url.Values{"client_id": {appID}, "client_secret": {appSecret}, "code": {code}},
			response: `{"access_token":"EAAnewBusinessToken","token_type":"bearer","expires_in":5183944}`,
			want:     &graph.ExchangeCodeOutput{AccessToken: secret("EAAnewBusinessToken"), TokenType: "bearer", ExpiresIn: 5183944},
		},
		{
			name: "DebugToken",
			run: func(c *graph.Client) (any, error) {
				return c.DebugToken(context.Background(), &graph.DebugTokenInput{InputToken: biz, AccessToken: secret(appID + "|" + appSecret)})
			},
			method: "GET", path: "/v25.0/debug_token", query: url.Values{"input_token": {bizToken}},
			auth: "Bearer " + appID + "|" + appSecret,
			response: `{"data":{"app_id":"236484624622562","type":"SYSTEM_USER","application":"Partner","data_access_expires_at":1672092840,
				"expires_at":0,"is_valid":true,"scopes":["whatsapp_business_management","whatsapp_business_messaging","business_management"],
				"granular_scopes":[{"scope":"whatsapp_business_management","target_ids":["102290129340398"]},
				{"scope":"whatsapp_business_messaging","target_ids":["102290129340398"]}],"user_id":"61550000000001"}}`,
			want: &graph.DebugTokenOutput{AppID: appID, Application: "Partner", Type: "SYSTEM_USER", IsValid: true,
				DataAccessExpiresAt: time.Unix(1672092840, 0).UTC(),
				Scopes:              []string{"whatsapp_business_management", "whatsapp_business_messaging", "business_management"},
				GranularScopes: []graph.GranularScope{{Scope: "whatsapp_business_management", TargetIDs: []string{wabaID}},
					{Scope: "whatsapp_business_messaging", TargetIDs: []string{wabaID}}},
				UserID: "61550000000001"},
		},
		{
			name: "ListPhoneNumbers",
			run: func(c *graph.Client) (any, error) {
				return c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: biz})
			},
			method: "GET", path: "/v25.0/" + wabaID + "/phone_numbers", query: url.Values{"fields": {graph.PhoneNumberFields}},
			auth: "Bearer " + bizToken,
			response: `{"data":[{"id":"106540352242922","display_phone_number":"+1 555-078-3881","verified_name":"Lucky Shrub",
				"platform_type":"CLOUD_API","status":"CONNECTED","code_verification_status":"VERIFIED","is_on_biz_app":false,
				"quality_rating":"GREEN"}],"paging":{"cursors":{"before":"QVFI","after":"QVFI"}}}`,
			want: &graph.ListPhoneNumbersOutput{PhoneNumbers: []graph.PhoneNumber{{ID: phoneID, DisplayPhoneNumber: "+1 555-078-3881",
				VerifiedName: "Lucky Shrub", PlatformType: "CLOUD_API", Status: "CONNECTED", CodeVerificationStatus: "VERIFIED",
				QualityRating: "GREEN"}}},
		},
		{
			name: "GetPhoneNumber",
			run: func(c *graph.Client) (any, error) {
				return c.GetPhoneNumber(context.Background(), &graph.GetPhoneNumberInput{PhoneNumberID: phoneID, AccessToken: biz})
			},
			method: "GET", path: "/v25.0/" + phoneID, query: url.Values{"fields": {graph.PhoneNumberFields}}, auth: "Bearer " + bizToken,
			response: `{"id":"106540352242922","platform_type":"NOT_APPLICABLE","status":"PENDING","is_on_biz_app":true}`,
			want:     &graph.PhoneNumber{ID: phoneID, PlatformType: "NOT_APPLICABLE", Status: "PENDING", IsOnBizApp: true},
		},
		{
			name: "SubscribeApp",
			run: func(c *graph.Client) (any, error) {
				return nil, c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: biz})
			},
			method: "POST", path: "/v25.0/" + wabaID + "/subscribed_apps", query: url.Values{}, auth: "Bearer " + bizToken,
			response: `{"success":true}`,
		},
		{
			name: "SubscribeApp with override",
			run: func(c *graph.Client) (any, error) {
				return nil, c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: biz,
					OverrideCallbackURI: "https://partner.example/webhooks", VerifyToken: secret(verifyToken)})
			},
			method: "POST", path: "/v25.0/" + wabaID + "/subscribed_apps", query: url.Values{}, auth: "Bearer " + bizToken,
			body:     `{"override_callback_uri":"https://partner.example/webhooks","verify_token":"` + verifyToken + `"}`,
			response: `{"success":true}`,
		},
		{
			name: "ListSubscribedApps",
			run: func(c *graph.Client) (any, error) {
				return c.ListSubscribedApps(context.Background(), &graph.ListSubscribedAppsInput{WABAID: wabaID, AccessToken: biz})
			},
			method: "GET", path: "/v25.0/" + wabaID + "/subscribed_apps", query: url.Values{}, auth: "Bearer " + bizToken,
			response: `{"data":[{"whatsapp_business_api_data":{"id":"236484624622562","link":"https://www.facebook.com/games/?app_id=236484624622562",
				"name":"Partner"},"override_callback_uri":"https://partner.example/webhooks"}]}`,
			want: &graph.ListSubscribedAppsOutput{Apps: []graph.SubscribedApp{{AppID: appID, Name: "Partner",
				Link: "https://www.facebook.com/games/?app_id=236484624622562", OverrideCallbackURI: "https://partner.example/webhooks"}}},
		},
		{
			name: "AssignUser",
			run: func(c *graph.Client) (any, error) {
				return nil, c.AssignUser(context.Background(), &graph.AssignUserInput{WABAID: wabaID, UserID: "100000000000001", AccessToken: sys})
			},
			method: "POST", path: "/v25.0/" + wabaID + "/assigned_users",
			query: url.Values{"user": {"100000000000001"}, "tasks": {"['MANAGE']"}}, auth: "Bearer " + systemToken,
			response: `{"success":true}`,
		},
		{
			name: "ShareCreditLine",
			run: func(c *graph.Client) (any, error) {
				return c.ShareCreditLine(context.Background(), &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "USD", AccessToken: sys})
			},
			method: "POST", path: "/v25.0/" + creditLine + "/whatsapp_credit_sharing_and_attach",
			query: url.Values{"waba_currency": {"USD"}, "waba_id": {wabaID}}, auth: "Bearer " + systemToken,
			response: `{"allocation_config_id":"58501441721238","waba_id":"102290129340398"}`,
			want:     &graph.ShareCreditLineOutput{AllocationConfigID: allocID, WABAID: wabaID},
		},
		{
			name: "GetAllocationConfig",
			run: func(c *graph.Client) (any, error) {
				return c.GetAllocationConfig(context.Background(), &graph.GetAllocationConfigInput{AllocationConfigID: allocID, AccessToken: sys})
			},
			method: "GET", path: "/v25.0/" + allocID, query: url.Values{"fields": {"id,receiving_credential"}}, auth: "Bearer " + systemToken,
			response: `{"receiving_credential":{"id":"77100230000001"},"id":"58501441721238"}`,
			want:     &graph.AllocationConfig{ID: allocID, ReceivingCredentialID: "77100230000001"},
		},
		{
			name: "ListCreditAllocations",
			run: func(c *graph.Client) (any, error) {
				return c.ListCreditAllocations(context.Background(), &graph.ListCreditAllocationsInput{CreditLineID: creditLine, AccessToken: sys})
			},
			method: "GET", path: "/v25.0/" + creditLine + "/owning_credit_allocation_configs",
			query: url.Values{"fields": {"id,receiving_credential"}}, auth: "Bearer " + systemToken,
			response: `{"data":[{"id":"58501441721238","receiving_credential":{"id":"77100230000001"}},{"id":"2"}]}`,
			want:     []graph.AllocationConfig{{ID: allocID, ReceivingCredentialID: "77100230000001"}, {ID: "2"}},
		},
		{
			name: "ListCreditAllocations for one business",
			run: func(c *graph.Client) (any, error) {
				return c.ListCreditAllocations(context.Background(), &graph.ListCreditAllocationsInput{CreditLineID: creditLine, ReceivingBusinessID: "506914307656634", AccessToken: sys})
			},
			method: "GET", path: "/v25.0/" + creditLine + "/owning_credit_allocation_configs",
			query: url.Values{"fields": {"id,receiving_credential"}, "receiving_business_id": {"506914307656634"}}, auth: "Bearer " + systemToken,
			response: `{"data":[{"id":"58501441721238","receiving_credential":{"id":"77100230000001"}}]}`,
			want:     []graph.AllocationConfig{{ID: allocID, ReceivingCredentialID: "77100230000001"}},
		},
		{
			name: "GetWABA",
			run: func(c *graph.Client) (any, error) {
				return c.GetWABA(context.Background(), &graph.GetWABAInput{WABAID: wabaID, AccessToken: biz})
			},
			method: "GET", path: "/v25.0/" + wabaID, query: url.Values{"fields": {"id,name,currency,primary_funding_id,owner_business_info"}}, auth: "Bearer " + bizToken,
			response: `{"id":"102290129340398","name":"Lucky Shrub","currency":"USD","primary_funding_id":"77100230000001"}`,
			want:     &graph.WABA{ID: wabaID, Name: "Lucky Shrub", Currency: "USD", PrimaryFundingID: "77100230000001"},
		},
		{
			name: "RegisterPhone",
			run: func(c *graph.Client) (any, error) {
				return nil, c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: biz})
			},
			method: "POST", path: "/v25.0/" + phoneID + "/register", query: url.Values{}, auth: "Bearer " + bizToken,
			body:     `{"messaging_product":"whatsapp","pin":"` + pin + `"}`,
			response: `{"success":true}`,
		},
		{
			name: "SendTextMessage",
			run: func(c *graph.Client) (any, error) {
				return c.SendTextMessage(context.Background(), &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234",
					Body: "Message received, loud and clear!", AccessToken: biz})
			},
			method: "POST", path: "/v25.0/" + phoneID + "/messages", query: url.Values{}, auth: "Bearer " + bizToken,
			body: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text",
				"text":{"preview_url":false,"body":"Message received, loud and clear!"}}`,
			response: `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],
				"messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]}`,
			want: &graph.SendMessageOutput{MessageID: "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA", WAID: "16505551234"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(200, tt.response), nil })
			out, err := tt.run(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if ft.count() != 1 {
				t.Fatalf("requests = %d, want 1", ft.count())
			}
			r := ft.reqs[0]
			if r.method != tt.method || r.path != tt.path {
				t.Errorf("request = %s %s, want %s %s", r.method, r.path, tt.method, tt.path)
			}
			if !reflect.DeepEqual(r.query, tt.query) {
				t.Errorf("query = %v, want %v", r.query, tt.query)
			}
			if got := r.header.Get("Authorization"); got != tt.auth {
				t.Errorf("Authorization = %q, want %q", got, tt.auth)
			}
			if r.query.Has("access_token") {
				t.Errorf("token in the URL")
			}
			if got := r.header.Get("User-Agent"); got != graph.DefaultUserAgent {
				t.Errorf("User-Agent = %q", got)
			}
			if tt.body == "" {
				if r.body != "" || r.header.Get("Content-Type") != "" {
					t.Errorf("body = %q (Content-Type %q), want none", r.body, r.header.Get("Content-Type"))
				}
			} else {
				var got, want any
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatalf("body %q is not JSON", r.body)
				}
				_ = json.Unmarshal([]byte(tt.body), &want)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("body = %s, want %s", r.body, tt.body)
				}
				if got := r.header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q", got)
				}
			}
			if tt.want != nil && !reflect.DeepEqual(out, tt.want) {
				t.Errorf("output = %+v, want %+v", out, tt.want)
			}
		})
	}
}

func TestInputValidation(t *testing.T) {
	biz := secret(bizToken)
	bg := context.Background()
	tests := []struct {
		name  string
		run   func(c *graph.Client) error
		field string
	}{
		{"nil input", func(c *graph.Client) error { _, err := c.GetWABA(bg, nil); return err }, "input"},
		{"app id", func(c *graph.Client) error {
			_, err := c.ExchangeCode(bg, &graph.ExchangeCodeInput{AppID: "abc", AppSecret: secret(appSecret), Code: secret(code)})
			return err
		}, "app_id"},
		{"app secret", func(c *graph.Client) error {
			_, err := c.ExchangeCode(bg, &graph.ExchangeCodeInput{AppID: appID, Code: secret(code)})
			return err
		}, "app_secret"},
		{"code", func(c *graph.Client) error {
			_, err := c.ExchangeCode(bg, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret)})
			return err
		}, "code"},
		{"missing token", func(c *graph.Client) error {
			_, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: wabaID})
			return err
		}, "access_token"},
		{"token with a line break", func(c *graph.Client) error {
			_, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret("EAA\r\nX-Evil: 1")})
			return err
		}, "access_token"},
		{"input token", func(c *graph.Client) error {
			_, err := c.DebugToken(bg, &graph.DebugTokenInput{AccessToken: biz})
			return err
		}, "input_token"},
		{"waba id with a path", func(c *graph.Client) error {
			_, err := c.ListPhoneNumbers(bg, &graph.ListPhoneNumbersInput{WABAID: "123/../me", AccessToken: biz})
			return err
		}, "waba_id"},
		{"waba id too long", func(c *graph.Client) error {
			_, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: strings.Repeat("1", 21), AccessToken: biz})
			return err
		}, "waba_id"},
		{"phone id non-ASCII digits", func(c *graph.Client) error {
			_, err := c.GetPhoneNumber(bg, &graph.GetPhoneNumberInput{PhoneNumberID: "١٢٣", AccessToken: biz})
			return err
		}, "phone_number_id"},
		{"subscribe waba", func(c *graph.Client) error {
			return c.SubscribeApp(bg, &graph.SubscribeAppInput{WABAID: "", AccessToken: biz})
		}, "waba_id"},
		{"override not https", func(c *graph.Client) error {
			return c.SubscribeApp(bg, &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: biz, OverrideCallbackURI: "http://partner.example/x", VerifyToken: secret("v")})
		}, "override_callback_uri"},
		{"override with credentials", func(c *graph.Client) error {
			return c.SubscribeApp(bg, &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: biz, OverrideCallbackURI: "https://u:p@partner.example/x", VerifyToken: secret("v")})
		}, "override_callback_uri"},
		{"override without verify token", func(c *graph.Client) error {
			return c.SubscribeApp(bg, &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: biz, OverrideCallbackURI: "https://partner.example/x"})
		}, "verify_token"},
		{"list subscribed apps waba", func(c *graph.Client) error {
			_, err := c.ListSubscribedApps(bg, &graph.ListSubscribedAppsInput{WABAID: "x", AccessToken: biz})
			return err
		}, "waba_id"},
		{"assign user id", func(c *graph.Client) error {
			return c.AssignUser(bg, &graph.AssignUserInput{WABAID: wabaID, UserID: "me", AccessToken: biz})
		}, "user_id"},
		{"assign tasks", func(c *graph.Client) error {
			return c.AssignUser(bg, &graph.AssignUserInput{WABAID: wabaID, UserID: "1", Tasks: []string{"MANAGE']&x=1"}, AccessToken: biz})
		}, "tasks"},
		{"credit line id", func(c *graph.Client) error {
			_, err := c.ShareCreditLine(bg, &graph.ShareCreditLineInput{CreditLineID: "", WABAID: wabaID, Currency: "USD", AccessToken: biz})
			return err
		}, "credit_line_id"},
		{"credit waba", func(c *graph.Client) error {
			_, err := c.ShareCreditLine(bg, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: "-1", Currency: "USD", AccessToken: biz})
			return err
		}, "waba_id"},
		{"currency", func(c *graph.Client) error {
			_, err := c.ShareCreditLine(bg, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "usd", AccessToken: biz})
			return err
		}, "currency"},
		{"allocation id", func(c *graph.Client) error {
			_, err := c.GetAllocationConfig(bg, &graph.GetAllocationConfigInput{AllocationConfigID: "a1", AccessToken: biz})
			return err
		}, "allocation_config_id"},
		{"allocations credit line", func(c *graph.Client) error {
			_, err := c.ListCreditAllocations(bg, &graph.ListCreditAllocationsInput{CreditLineID: "1 2", AccessToken: biz})
			return err
		}, "credit_line_id"},
		{"receiving business id", func(c *graph.Client) error {
			_, err := c.ListCreditAllocations(bg, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, ReceivingBusinessID: "x&y=1", AccessToken: biz})
			return err
		}, "receiving_business_id"},
		{"bsuid recipient", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, Recipient: "not a bsuid", Body: "x", AccessToken: biz})
			return err
		}, "recipient"},
		{"to and recipient", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Recipient: "US.1", Body: "x", AccessToken: biz})
			return err
		}, "recipient"},
		{"register phone id", func(c *graph.Client) error {
			return c.RegisterPhone(bg, &graph.RegisterPhoneInput{PhoneNumberID: "1?x=2", PIN: secret(pin), AccessToken: biz})
		}, "phone_number_id"},
		{"pin", func(c *graph.Client) error {
			return c.RegisterPhone(bg, &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret("12345"), AccessToken: biz})
		}, "pin"},
		{"recipient", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "16505551234", Body: "x", AccessToken: biz})
			return err
		}, "to"},
		{"empty body", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", AccessToken: biz})
			return err
		}, "body"},
		{"body of 4097 characters", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: strings.Repeat("a", 4097), AccessToken: biz})
			return err
		}, "body"},
		{"invalid UTF-8 body", func(c *graph.Client) error {
			_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: "\xff", AccessToken: biz})
			return err
		}, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) {
				t.Error("a request was sent for invalid input")
				return respond(200, `{}`), nil
			})
			err := tt.run(c)
			var ie *graph.InputError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("error = %v, want an InputError for %q", err, tt.field)
			}
			if _, isGraph := graph.AsError(err); isGraph {
				t.Errorf("input error is also a Graph error")
			}
			if ft.count() != 0 {
				t.Errorf("requests = %d, want 0", ft.count())
			}
		})
	}
	t.Run("4096 multi-byte characters are accepted", func(t *testing.T) {
		c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) {
			return respond(200, `{"messages":[{"id":"wamid.x"}]}`), nil
		})
		_, err := c.SendTextMessage(bg, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: strings.Repeat("ü", 4096), AccessToken: biz})
		if err != nil || ft.count() != 1 {
			t.Errorf("error = %v, requests = %d; want success", err, ft.count())
		}
	})
}

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name     string
		resp     *http.Response
		want     graph.Error // Call, HTTPStatus, Code, Subcode, Type, FBTraceID, Class, Sent, MalformedResponse, Details
		contains string
	}{
		{
			name: "rate limit answered as 400",
			resp: respond(400, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"AbC"}}`),
			want: graph.Error{HTTPStatus: 400, Code: 4, Type: "OAuthException", FBTraceID: "AbC", Class: graph.ClassThrottled, Sent: true},
		},
		{
			name: "whatsapp error with details",
			resp: respond(400, `{"error":{"message":"(#133016) Account register deregister rate limit exceeded","type":"OAuthException","code":133016,
				"error_data":{"messaging_product":"whatsapp","details":"Too many attempts"},"error_user_title":"T","error_user_msg":"M","fbtrace_id":"X1"}}`),
			want: graph.Error{HTTPStatus: 400, Code: 133016, Type: "OAuthException", FBTraceID: "X1", Class: graph.ClassPermanent, Sent: true,
				Details: "Too many attempts", UserTitle: "T", UserMessage: "M"},
		},
		{
			name: "code 1 on 500",
			resp: respond(500, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"Z"}}`),
			want: graph.Error{HTTPStatus: 500, Code: 1, Type: "OAuthException", FBTraceID: "Z", Class: graph.ClassTransient, Sent: true},
		},
		{
			name: "subcode",
			resp: respond(400, `{"error":{"message":"This authorization code has been used.","type":"OAuthException","code":100,"error_subcode":36009,"fbtrace_id":"Q"}}`),
			want: graph.Error{HTTPStatus: 400, Code: 100, Subcode: 36009, Type: "OAuthException", FBTraceID: "Q", Class: graph.ClassPermanent, Sent: true},
		},
		{
			name: "wait-fixed",
			resp: respond(400, `{"error":{"message":"(#133015) wait","code":133015,"fbtrace_id":"W"}}`),
			want: graph.Error{HTTPStatus: 400, Code: 133015, FBTraceID: "W", Class: graph.ClassWaitFixed, Sent: true},
		},
		{
			name: "plain 502 page",
			resp: &http.Response{StatusCode: 502, Body: io.NopCloser(strings.NewReader("<html>Bad Gateway</html>"))},
			want: graph.Error{HTTPStatus: 502, Class: graph.ClassTransient, Sent: true}, contains: "without a Graph error envelope",
		},
		{
			name: "non-JSON 403 from a proxy",
			resp: &http.Response{StatusCode: 403, Body: io.NopCloser(strings.NewReader("Forbidden"))},
			want: graph.Error{HTTPStatus: 403, Class: graph.ClassTransient, Sent: true},
		},
		{
			name: "JSON 404 without envelope",
			resp: respond(404, `{"message":"not here"}`),
			want: graph.Error{HTTPStatus: 404, Class: graph.ClassPermanent, Sent: true},
		},
		{
			name: "malformed 200",
			resp: respond(200, `{"success":tru`),
			want: graph.Error{HTTPStatus: 200, Class: graph.ClassTransient, Sent: true, MalformedResponse: true},
		},
		{
			name: "200 without success",
			resp: respond(200, `{"success":false}`),
			want: graph.Error{HTTPStatus: 200, Class: graph.ClassTransient, Sent: true, MalformedResponse: true},
		},
		{
			name: "redirect",
			resp: &http.Response{StatusCode: 302, Header: http.Header{"Location": {"https://evil.example/?access_token=" + bizToken}},
				Body: io.NopCloser(strings.NewReader(""))},
			want: graph.Error{HTTPStatus: 302, Class: graph.ClassPermanent, Sent: true}, contains: "redirect",
		},
		{
			name: "oversized body",
			resp: respond(200, `{"success":true,"pad":"`+strings.Repeat("a", graph.MaxResponseBytes)+`"}`),
			want: graph.Error{HTTPStatus: 200, Class: graph.ClassTransient, Sent: true, MalformedResponse: true}, contains: "larger than",
		},
		{
			name: "secrets in Meta's message are redacted",
			resp: respond(400, `{"error":{"message":"Invalid token `+bizToken+` for https://graph.facebook.com/v25.0/x?access_token=`+bizToken+` and pin `+pin+`","code":190,"fbtrace_id":"T"}}`),
			want: graph.Error{HTTPStatus: 400, Code: 190, FBTraceID: "T", Class: graph.ClassPermanent, Sent: true}, contains: "[redacted]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, func(int, *http.Request) (*http.Response, error) { return tt.resp, nil })
			err := c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
			ge, ok := graph.AsError(err)
			if !ok {
				t.Fatalf("error = %v (%T), want *graph.Error", err, err)
			}
			got := graph.Error{Call: ge.Call, HTTPStatus: ge.HTTPStatus, Code: ge.Code, Subcode: ge.Subcode, Type: ge.Type,
				FBTraceID: ge.FBTraceID, Class: ge.Class, Sent: ge.Sent, MalformedResponse: ge.MalformedResponse,
				Details: ge.Details, UserTitle: ge.UserTitle, UserMessage: ge.UserMessage}
			want := tt.want
			want.Call = graph.CallRegister
			if !reflect.DeepEqual(got, want) {
				t.Errorf("error = %+v\nwant    %+v", got, want)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			assertNoSecrets(t, "error", fmt.Sprintf("%v %+v %#v", err, err, ge))
		})
	}
}

// assertNoSecrets fails if text holds a test secret or a URL query.
func assertNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q: %s", what, s, text)
		}
	}
	for _, s := range []string{"client_secret=", "code=", "access_token=", "input_token="} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains %q: %s", what, s, text)
		}
	}
	if urlQueryInText.MatchString(text) {
		t.Errorf("%s contains a URL query: %s", what, text)
	}
}

// failures are the ways an attempt can fail, for the retry matrix.
var failures = []struct {
	name       string
	do         func(req *http.Request) (*http.Response, error)
	graphRetry bool
	// retried by mode: idempotent, exchange, never-after-sent
	idem, exch, never bool
}{
	{"connection refused", func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	}, false, true, true, true},
	{"reset after send", func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: io.ErrUnexpectedEOF}
	}, true, true, false, false},
	{"attempt timeout", func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done()
		return nil, &url.Error{Op: req.Method, URL: req.URL.String(), Err: req.Context().Err()}
	}, true, true, false, false},
	{"plain 500", func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader("oops"))}, nil
	}, true, true, false, false},
	{"code 2 on 500, graph retries off", func(*http.Request) (*http.Response, error) {
		return respond(500, `{"error":{"message":"x","code":2}}`), nil
	}, false, true, false, false},
	{"code 2 on 500, graph retries on", func(*http.Request) (*http.Response, error) {
		return respond(500, `{"error":{"message":"x","code":2}}`), nil
	}, true, true, true, false},
	{"throttled, graph retries off", func(*http.Request) (*http.Response, error) {
		return respond(400, `{"error":{"message":"x","code":80007}}`), nil
	}, false, false, false, false},
	{"throttled, graph retries on", func(*http.Request) (*http.Response, error) {
		return respond(400, `{"error":{"message":"x","code":80007}}`), nil
	}, true, true, true, false},
	{"permanent, graph retries on", func(*http.Request) (*http.Response, error) {
		return respond(400, `{"error":{"message":"x","code":100}}`), nil
	}, true, false, false, false},
	{"wait-fixed, graph retries on", func(*http.Request) (*http.Response, error) {
		return respond(400, `{"error":{"message":"x","code":133015}}`), nil
	}, true, false, false, false},
	{"malformed 200", func(*http.Request) (*http.Response, error) {
		return respond(200, `{"data":`), nil
	}, true, true, false, false},
}

// retryCalls are the calls of the retry matrix, with their retry mode.
var retryCalls = []struct {
	name string
	mode string // idem, exch, never
	run  func(c *graph.Client) error
}{
	{"ExchangeCode", "exch", func(c *graph.Client) error {
		_, err := c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
		return err
	}},
	{"DebugToken", "idem", func(c *graph.Client) error {
		_, err := c.DebugToken(context.Background(), &graph.DebugTokenInput{InputToken: secret(bizToken), AccessToken: secret(systemToken)})
		return err
	}},
	{"GetPhoneNumber", "idem", func(c *graph.Client) error {
		_, err := c.GetPhoneNumber(context.Background(), &graph.GetPhoneNumberInput{PhoneNumberID: phoneID, AccessToken: secret(bizToken)})
		return err
	}},
	{"ListPhoneNumbers", "idem", func(c *graph.Client) error {
		_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		return err
	}},
	{"SubscribeApp", "never", func(c *graph.Client) error {
		return c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: secret(bizToken)})
	}},
	{"AssignUser", "idem", func(c *graph.Client) error {
		return c.AssignUser(context.Background(), &graph.AssignUserInput{WABAID: wabaID, UserID: "1", AccessToken: secret(systemToken)})
	}},
	{"GetWABA", "idem", func(c *graph.Client) error {
		_, err := c.GetWABA(context.Background(), &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(systemToken)})
		return err
	}},
	{"ShareCreditLine", "never", func(c *graph.Client) error {
		_, err := c.ShareCreditLine(context.Background(), &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "EUR", AccessToken: secret(systemToken)})
		return err
	}},
	{"RegisterPhone", "never", func(c *graph.Client) error {
		return c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
	}},
	{"SendTextMessage", "never", func(c *graph.Client) error {
		_, err := c.SendTextMessage(context.Background(), &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: "hi", AccessToken: secret(bizToken)})
		return err
	}},
}

func TestRetryMatrix(t *testing.T) {
	for _, call := range retryCalls {
		for _, f := range failures {
			t.Run(call.name+"/"+f.name, func(t *testing.T) {
				c, ft := newClient(t, func(_ int, req *http.Request) (*http.Response, error) { return f.do(req) },
					func(o *graph.Options) {
						o.Retry.RetryGraphErrors = f.graphRetry
						o.CallTimeout = 20 * time.Millisecond
					})
				err := call.run(c)
				if err == nil {
					t.Fatal("call succeeded, want an error")
				}
				retried := map[string]bool{"idem": f.idem, "exch": f.exch, "never": f.never}[call.mode]
				want := 1
				if retried {
					want = graph.DefaultMaxAttempts
				}
				if got := ft.count(); got != want {
					t.Errorf("attempts = %d, want %d (%v)", got, want, err)
				}
				assertNoSecrets(t, "error", err.Error())
			})
		}
	}
}

func TestRetrySucceedsAndKeepsSent(t *testing.T) {
	t.Run("transient then success", func(t *testing.T) {
		c, ft := newClient(t, func(n int, req *http.Request) (*http.Response, error) {
			if n < 3 {
				return respond(503, `{"error":{"message":"x","code":2}}`), nil
			}
			return respond(200, `{"id":"1"}`), nil
		})
		if _, err := c.GetWABA(context.Background(), &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)}); err != nil {
			t.Fatalf("GetWABA: %v", err)
		}
		if got := ft.count(); got != 3 {
			t.Errorf("attempts = %d, want 3", got)
		}
	})
	t.Run("a later unsent attempt does not hide an earlier sent one", func(t *testing.T) {
		c, _ := newClient(t, func(n int, req *http.Request) (*http.Response, error) {
			if n == 1 {
				return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: io.ErrUnexpectedEOF}
			}
			return nil, &url.Error{Op: "Get", URL: req.URL.String(), Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
		})
		err := c.SubscribeApp(context.Background(), &graph.SubscribeAppInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		ge, ok := graph.AsError(err)
		if !ok || !ge.Sent || !ge.Ambiguous() {
			t.Errorf("error = %#v, want Sent (an earlier attempt may have reached Meta)", err)
		}
	})
	t.Run("a register that never left is retried", func(t *testing.T) {
		c, ft := newClient(t, func(n int, req *http.Request) (*http.Response, error) {
			if n == 1 {
				return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: &net.DNSError{Err: "no such host", Name: "graph.facebook.com"}}
			}
			return respond(200, `{"success":true}`), nil
		})
		if err := c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)}); err != nil {
			t.Fatalf("RegisterPhone: %v", err)
		}
		if got := ft.count(); got != 2 {
			t.Errorf("attempts = %d, want 2", got)
		}
	})
}

func TestRetryBackoffBudgetAndDeadline(t *testing.T) {
	fail := func(int, *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader(""))}, nil
	}
	get := func(c *graph.Client, ctx context.Context) error {
		_, err := c.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		return err
	}
	t.Run("full jitter delays", func(t *testing.T) {
		var delays []time.Duration
		c, _ := newClient(t, fail, func(o *graph.Options) {
			o.Retry = graph.RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond,
				Rand: func() float64 { return 0.5 },
				Sleep: func(_ context.Context, d time.Duration) error {
					delays = append(delays, d)
					return nil
				}}
		})
		_ = get(c, context.Background())
		want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
		if !reflect.DeepEqual(delays, want) {
			t.Errorf("delays = %v, want %v", delays, want)
		}
	})
	t.Run("no retry when the wait would pass the budget", func(t *testing.T) {
		c, ft := newClient(t, fail, func(o *graph.Options) {
			o.Retry = graph.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour, Budget: 30 * time.Minute,
				Rand: func() float64 { return 0.99 }, Sleep: noSleep}
		})
		_ = get(c, context.Background())
		if got := ft.count(); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
	t.Run("no retry when the wait would pass the context deadline", func(t *testing.T) {
		c, ft := newClient(t, fail, func(o *graph.Options) {
			o.Retry = graph.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour,
				Budget: 10 * time.Hour, Rand: func() float64 { return 0.99 }, Sleep: noSleep}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_ = get(c, ctx)
		if got := ft.count(); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
	t.Run("sleep interrupted by the context ends the call", func(t *testing.T) {
		c, ft := newClient(t, fail, func(o *graph.Options) {
			o.Retry.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
		})
		_ = get(c, context.Background())
		if got := ft.count(); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
}

func TestContextEnds(t *testing.T) {
	t.Run("canceled before the call", func(t *testing.T) {
		c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(200, `{}`), nil })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
		ge, ok := graph.AsError(err)
		if !ok || ge.Sent || !errors.Is(err, context.Canceled) || ft.count() != 0 {
			t.Errorf("error = %#v, requests %d; want an unsent canceled error and no request", err, ft.count())
		}
	})
	t.Run("attempt timeout", func(t *testing.T) {
		c, _ := newClient(t, func(_ int, req *http.Request) (*http.Response, error) {
			<-req.Context().Done()
			return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: req.Context().Err()}
		}, func(o *graph.Options) { o.CallTimeout = 10 * time.Millisecond })
		err := c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
		ge, ok := graph.AsError(err)
		if !ok || !ge.Timeout || !ge.Sent || !ge.Ambiguous() || !errors.Is(err, context.DeadlineExceeded) || !graph.IsTimeout(err) {
			t.Errorf("error = %#v, want an ambiguous timeout", err)
		}
	})
}

func TestPerCallOptions(t *testing.T) {
	ok := func(int, *http.Request) (*http.Response, error) { return respond(200, `{"id":"1"}`), nil }
	c, ft := newClient(t, ok)
	bg := context.Background()
	if _, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)},
		func(o *graph.Options) { o.APIVersion = "v22.0"; o.UserAgent = "step/1" }); err != nil {
		t.Fatalf("GetWABA: %v", err)
	}
	if got, want := ft.reqs[0].path, "/v22.0/"+wabaID; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if got := ft.reqs[0].header.Get("User-Agent"); got != "step/1" {
		t.Errorf("User-Agent = %q", got)
	}
	if _, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)}); err != nil {
		t.Fatal(err)
	}
	if got, want := ft.reqs[1].path, "/v25.0/"+wabaID; got != want {
		t.Errorf("path after the override = %q, want the client's %q", got, want)
	}
	_, err := c.GetWABA(bg, &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)},
		func(o *graph.Options) { o.BaseEndpoint = "https://evil.example" })
	if err == nil || ft.count() != 2 {
		t.Errorf("override to a foreign endpoint: error %v, requests %d; want refused", err, ft.count())
	}
}

func TestPaging(t *testing.T) {
	page := func(next string) string {
		return `{"data":[{"id":"1"}],"paging":{"cursors":{"after":"c"},"next":"` + next + `"}}`
	}
	t.Run("next elsewhere is not followed", func(t *testing.T) {
		c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) {
			return respond(200, page("https://evil.example/v25.0/"+wabaID+"/phone_numbers?after=c&access_token="+bizToken)), nil
		})
		_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		if err == nil || ft.count() != 1 {
			t.Fatalf("error %v, requests %d; want an error after one request", err, ft.count())
		}
		assertNoSecrets(t, "error", err.Error())
	})
	t.Run("pages are capped", func(t *testing.T) {
		c, ft := newClient(t, func(n int, _ *http.Request) (*http.Response, error) {
			return respond(200, page(fmt.Sprintf("https://graph.facebook.com/v25.0/%s/phone_numbers?after=c%d", wabaID, n))), nil
		})
		_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		if err == nil || ft.count() != graph.MaxPages {
			t.Errorf("error %v, requests %d; want an error after %d pages", err, ft.count(), graph.MaxPages)
		}
	})
	t.Run("a repeating cursor stops", func(t *testing.T) {
		c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) {
			return respond(200, page("https://graph.facebook.com/v25.0/"+wabaID+"/phone_numbers?after=same")), nil
		})
		_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
		if err == nil || ft.count() != 2 {
			t.Errorf("error %v, requests %d; want an error after 2 pages", err, ft.count())
		}
	})
}

func TestRedirectFollowedByACustomClient(t *testing.T) {
	c, _ := newClient(t, func(_ int, req *http.Request) (*http.Response, error) {
		other := req.Clone(req.Context())
		other.URL, _ = url.Parse("https://evil.example/landing?access_token=" + bizToken)
		r := respond(200, `{"id":"1"}`)
		r.Request = other
		return r, nil
	})
	_, err := c.GetWABA(context.Background(), &graph.GetWABAInput{WABAID: wabaID, AccessToken: secret(bizToken)})
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("error = %v, want a refused redirect", err)
	}
	assertNoSecrets(t, "error", err.Error())
}

func TestAttemptLogs(t *testing.T) {
	var buf bytes.Buffer
	c, _ := newClient(t, func(n int, req *http.Request) (*http.Response, error) {
		if n < 3 {
			return respond(500, `{"error":{"message":"x","code":2,"fbtrace_id":"TR"}}`), nil
		}
		return respond(200, `{"access_token":"EAAlogTestReturnedToken123456789"}`), nil
	}, func(o *graph.Options) {
		o.Logger = logging.New(&buf, slog.LevelDebug)
		o.Retry.RetryGraphErrors = true
	})
	if _, err := c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)}); err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("log lines = %d, want one per attempt (3):\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %s", i, l)
		}
		if m["msg"] != "graph attempt" || m["call"] != graph.CallOAuth || m["method"] != "GET" ||
			m["path"] != "/v25.0/oauth/access_token" || m["attempt"] != float64(i+1) || m["level"] != "DEBUG" {
			t.Errorf("line %d = %v", i, m)
		}
		if _, ok := m["duration_ms"]; !ok {
			t.Errorf("line %d has no duration", i)
		}
		if i < 2 && (m["status"] != float64(500) || m["graph_code"] != float64(2) || m["fbtrace_id"] != "TR") {
			t.Errorf("line %d lacks status and code: %v", i, m)
		}
	}
	assertNoSecrets(t, "logs", buf.String())
	if strings.Contains(buf.String(), "EAAlogTestReturnedToken") {
		t.Errorf("logs contain the returned token")
	}
}

func TestIsAlreadyAssigned(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"already assigned message", &graph.Error{Code: 100, Message: "(#100) The user is already assigned to this WhatsApp Business Account."}, true},
		{"in user message", &graph.Error{Code: 100, Message: "(#100) Invalid parameter", UserMessage: "User already assigned"}, true},
		{"wrapped", fmt.Errorf("assign: %w", &graph.Error{Code: 100, Message: "already assigned"}), true},
		{"other 100", &graph.Error{Code: 100, Message: "(#100) Invalid parameter"}, false},
		{"other code", &graph.Error{Code: 200, Message: "already assigned"}, false},
		{"not a graph error", errors.New("already assigned"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := graph.IsAlreadyAssigned(tt.err); got != tt.want {
				t.Errorf("IsAlreadyAssigned = %v, want %v", got, tt.want)
			}
		})
	}
}
