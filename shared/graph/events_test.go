package graph_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
)

// eventsDir holds Meta's sample Graph answers (success bodies and error envelopes).
var eventsDir = filepath.Join("..", "..", "events", "graph")

func readEvent(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return string(b)
}

// TestSamplePayloads decodes each of Meta's sample answers through the client.
func TestSamplePayloads(t *testing.T) {
	ctx := context.Background()
	biz, sys := secret(bizToken), secret(systemToken)
	tests := []struct {
		file, status string
		run          func(c *graph.Client) (any, error)
		want         any
	}{
		{"oauth_access_token.json", "200", func(c *graph.Client) (any, error) {
			out, err := c.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
			if err != nil {
				return nil, err
			}
			return out.AccessToken.Reveal() + " " + out.TokenType, nil
		}, "EAAsampleBusinessTokenNOTREAL bearer"},
		{"debug_token.json", "200", func(c *graph.Client) (any, error) {
			d, err := c.DebugToken(ctx, &graph.DebugTokenInput{InputToken: biz, AccessToken: sys})
			if err != nil {
				return nil, err
			}
			return []any{d.IsValid, d.AppID, d.Type, d.HasGranularTarget("whatsapp_business_messaging", wabaID), d.ExpiresAt.IsZero()}, nil
		}, []any{true, appID, "SYSTEM_USER", true, true}},
		{"phone_numbers.json", "200", func(c *graph.Client) (any, error) {
			out, err := c.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: biz})
			if err != nil {
				return nil, err
			}
			return out.PhoneNumbers, nil
		}, []graph.PhoneNumber{{ID: phoneID, DisplayPhoneNumber: "+1 555-025-3483", VerifiedName: "Lucky Shrub", PlatformType: "NOT_APPLICABLE",
			Status: "PENDING", CodeVerificationStatus: "VERIFIED", QualityRating: "UNKNOWN"}}},
		{"phone_number.json", "200", func(c *graph.Client) (any, error) {
			p, err := c.GetPhoneNumber(ctx, &graph.GetPhoneNumberInput{PhoneNumberID: phoneID, AccessToken: biz})
			if err != nil {
				return nil, err
			}
			return p.Registered(), nil
		}, true},
		{"subscribed_apps.json", "200", func(c *graph.Client) (any, error) {
			out, err := c.ListSubscribedApps(ctx, &graph.ListSubscribedAppsInput{WABAID: wabaID, AccessToken: biz})
			if err != nil {
				return nil, err
			}
			return out.Apps[0].AppID + " " + out.Apps[0].OverrideCallbackURI, nil
		}, appID + " https://partner.example/webhooks/102290129340398"},
		{"success.json", "200", func(c *graph.Client) (any, error) {
			return "ok", c.RegisterPhone(ctx, &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: biz})
		}, "ok"},
		{"credit_sharing_and_attach.json", "200", func(c *graph.Client) (any, error) {
			return c.ShareCreditLine(ctx, &graph.ShareCreditLineInput{CreditLineID: creditLine, WABAID: wabaID, Currency: "USD", AccessToken: sys})
		}, &graph.ShareCreditLineOutput{AllocationConfigID: allocID, WABAID: wabaID}},
		{"allocation_config.json", "200", func(c *graph.Client) (any, error) {
			return c.GetAllocationConfig(ctx, &graph.GetAllocationConfigInput{AllocationConfigID: allocID, AccessToken: sys})
		}, &graph.AllocationConfig{ID: allocID, ReceivingCredentialID: "771002300000001"}},
		{"owning_credit_allocation_configs.json", "200", func(c *graph.Client) (any, error) {
			return c.ListCreditAllocations(ctx, &graph.ListCreditAllocationsInput{CreditLineID: creditLine, AccessToken: sys})
		}, []graph.AllocationConfig{{ID: allocID, ReceivingCredentialID: "771002300000001"}}},
		{"waba.json", "200", func(c *graph.Client) (any, error) {
			return c.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaID, AccessToken: sys})
		}, &graph.WABA{ID: wabaID, Name: "Lucky Shrub", Currency: "USD", PrimaryFundingID: "771002300000001"}},
		{"messages.json", "200", func(c *graph.Client) (any, error) {
			return c.SendTextMessage(ctx, &graph.SendTextMessageInput{PhoneNumberID: phoneID, To: "+16505551234", Body: "hi", AccessToken: biz})
		}, &graph.SendMessageOutput{MessageID: "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA", WAID: "16505551234"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readEvent(t, tt.file)
			c, _ := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(200, body), nil })
			got, err := tt.run(c)
			if err != nil {
				t.Fatalf("decoding %s: %v", tt.file, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded %+v, want %+v", got, tt.want)
			}
		})
	}

	errTests := []struct {
		file          string
		status        int
		code, subcode int
		class         graph.Class
		details       bool
	}{
		{"error_code_used.json", 400, 100, 36009, graph.ClassPermanent, false},
		{"error_token_invalid.json", 400, 190, 460, graph.ClassPermanent, false},
		{"error_rate_limit.json", 400, 4, 0, graph.ClassThrottled, false},
		{"error_register_blocked.json", 400, 133016, 0, graph.ClassPermanent, true},
		{"error_reengagement.json", 400, 131047, 0, graph.ClassPermanent, true},
		{"error_unsupported_get.json", 400, 100, 33, graph.ClassPermanent, false},
	}
	for _, tt := range errTests {
		t.Run(tt.file, func(t *testing.T) {
			body := readEvent(t, tt.file)
			c, _ := newClient(t, func(int, *http.Request) (*http.Response, error) { return respond(tt.status, body), nil })
			_, err := c.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaID, AccessToken: biz})
			ge, ok := graph.AsError(err)
			if !ok {
				t.Fatalf("error = %v, want *graph.Error", err)
			}
			if ge.Code != tt.code || ge.Subcode != tt.subcode || ge.Class != tt.class || ge.FBTraceID == "" || ge.Type == "" ||
				(ge.Details != "") != tt.details {
				t.Errorf("decoded %+v, want code %d/%d class %v", ge, tt.code, tt.subcode, tt.class)
			}
		})
	}
}

// TestSimulatorMatchesSamples checks that the simulator's answers carry every field of Meta's samples.
func TestSimulatorMatchesSamples(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	sim, base := simulator(t, graphsim.Config{})
	biz := sim.IssueToken(waba, phone)
	get := func(method, path, token, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	code := sim.IssueCode(waba, phone)
	exchange := get("GET", "/v21.0/oauth/access_token?client_id="+graphsim.DefaultAppID+"&client_secret="+appSecret+"&code="+code, "", "")
	used := get("GET", "/v21.0/oauth/access_token?client_id="+graphsim.DefaultAppID+"&client_secret="+appSecret+"&code="+code, "", "")
	subscribe := get("POST", "/v21.0/"+waba+"/subscribed_apps", biz, "")
	get("POST", "/v21.0/"+waba+"/subscribed_apps", biz, `{"override_callback_uri":"https://partner.example/h","verify_token":"v"}`)
	get("POST", "/v21.0/"+waba+"/assigned_users?user="+graphsim.DefaultSystemUserID+"&tasks=['MANAGE']", systemToken, "")
	share := get("POST", "/v21.0/"+graphsim.DefaultCreditLineID+"/whatsapp_credit_sharing_and_attach?waba_currency=USD&waba_id="+waba, systemToken, "")
	var shared struct {
		AllocationConfigID string `json:"allocation_config_id"`
	}
	_ = json.Unmarshal([]byte(share), &shared)
	msgBody := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505550000","type":"text","text":{"body":"hi"}}`
	get("POST", "/v21.0/"+phone+"/register", biz, `{"messaging_product":"whatsapp","pin":"123456"}`)
	reengage := get("POST", "/v21.0/"+phone+"/messages", biz, msgBody) // registered, but +16505550000 never wrote
	sim.SetPhone(phone, graphsim.PhoneState{PlatformType: "CLOUD_API", Status: "CONNECTED", RegisterCalls: 10, PIN: secret("123456")})
	blocked := get("POST", "/v21.0/"+phone+"/register", biz, `{"messaging_product":"whatsapp","pin":"123456"}`)
	sim.InjectFault(graphsim.Fault{Call: graph.CallPhoneInfo, Kind: graphsim.FaultGraphError, Code: 4, Count: 1})
	rateLimited := get("GET", "/v21.0/"+phone, biz, "")

	answers := map[string]string{
		"oauth_access_token.json":               exchange,
		"error_code_used.json":                  used,
		"success.json":                          subscribe,
		"credit_sharing_and_attach.json":        share,
		"debug_token.json":                      get("GET", "/v21.0/debug_token?input_token="+biz, graphsim.DefaultAppID+"|"+appSecret, ""),
		"phone_numbers.json":                    get("GET", "/v21.0/"+waba+"/phone_numbers?fields="+graph.PhoneNumberFields, biz, ""),
		"phone_number.json":                     get("GET", "/v21.0/"+phone+"?fields="+graph.PhoneNumberFields, biz, ""),
		"subscribed_apps.json":                  get("GET", "/v21.0/"+waba+"/subscribed_apps", biz, ""),
		"allocation_config.json":                get("GET", "/v21.0/"+shared.AllocationConfigID+"?fields=id,receiving_credential", systemToken, ""),
		"owning_credit_allocation_configs.json": get("GET", "/v21.0/"+graphsim.DefaultCreditLineID+"/owning_credit_allocation_configs?fields=id,receiving_credential", systemToken, ""),
		"waba.json":                             get("GET", "/v21.0/"+waba+"?fields=id,name,currency,primary_funding_id", biz, ""),
		"messages.json":                         get("POST", "/v21.0/"+phone+"/messages", biz, strings.Replace(msgBody, "+16505550000", graphsim.DefaultTesterNumber, 1)),
		"error_reengagement.json":               reengage,
		"error_register_blocked.json":           blocked,
		"error_rate_limit.json":                 rateLimited,
		"error_unsupported_get.json":            get("GET", "/v21.0/102290129340399", biz, ""),
		"error_token_invalid.json":              "", // needs a revoked token: below
	}
	sim.RevokeToken(biz)
	answers["error_token_invalid.json"] = get("GET", "/v21.0/"+waba, biz, "")

	files, _ := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if len(files) != len(answers) {
		t.Errorf("samples = %d, compared = %d: add new samples to this test", len(files), len(answers))
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			var sample, got any
			if err := json.Unmarshal([]byte(readEvent(t, name)), &sample); err != nil {
				t.Fatalf("sample: %v", err)
			}
			if err := json.Unmarshal([]byte(answer), &got); err != nil {
				t.Fatalf("simulator answer %q: %v", answer, err)
			}
			var missing []string
			missingKeys("", sample, got, &missing)
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("simulator answer lacks %v\nanswer: %s", missing, answer)
			}
		})
	}
}

// missingKeys lists the object keys of want that got lacks, recursively (arrays: first element).
func missingKeys(prefix string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, prefix+" (not an object)")
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, prefix+"."+k)
				continue
			}
			missingKeys(prefix+"."+k, v, gv, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || (len(w) > 0 && len(g) == 0) {
			*out = append(*out, prefix+"[] (empty or not an array)")
			return
		}
		if len(w) > 0 {
			missingKeys(prefix+"[0]", w[0], g[0], out)
		}
	}
}
