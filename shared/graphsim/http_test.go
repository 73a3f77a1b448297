package graphsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
)

// raw sends one request to the simulator and decodes the JSON answer.
func raw(t *testing.T, e *env, method, path, token, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: invalid JSON %q", method, path, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}

// metaErr returns the error object of an answer, failing if there is none.
func metaErr(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer %v has no error envelope", m)
	}
	for _, k := range []string{"message", "type", "code", "fbtrace_id"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error envelope lacks %q: %v", k, e)
		}
	}
	return e
}

func code(e map[string]any) int { f, _ := e["code"].(float64); return int(f) }

func TestEnvelopeShape(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, phoneA).Reveal()
	e.sim.SetPhone(phoneA, graphsim.PhoneState{PlatformType: "CLOUD_API", Status: "CONNECTED"})
	status, m, h := raw(t, e, "POST", "/v21.0/"+phoneA+"/messages", tok, "application/json",
		`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505550000","type":"text","text":{"body":"hi"}}`)
	er := metaErr(t, m)
	if status != 400 || code(er) != 131047 || er["type"] != "OAuthException" || !strings.HasPrefix(er["message"].(string), "(#131047)") {
		t.Errorf("status %d, error %v; want 400 131047 OAuthException", status, er)
	}
	data, _ := er["error_data"].(map[string]any)
	if data["messaging_product"] != "whatsapp" || data["details"] == "" {
		t.Errorf("error_data = %v, want whatsapp details", data)
	}
	if got := h.Get("X-FB-Trace-ID"); got == "" || got != er["fbtrace_id"] {
		t.Errorf("X-FB-Trace-ID = %q, want the envelope's fbtrace_id %v", got, er["fbtrace_id"])
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, phoneA).Reveal()
	tests := []struct {
		name, method, path, token string
		status, code              int
	}{
		{"any version v19.0", "GET", "/v19.0/" + wabaA + "?fields=id,name", tok, 200, 0},
		{"any version v23.0", "GET", "/v23.0/" + phoneA, tok, 200, 0},
		{"token in the query", "GET", "/v21.0/" + wabaA + "?access_token=" + url.QueryEscape(tok), "", 200, 0},
		{"no version", "GET", "/" + wabaA, tok, 400, 2500},
		{"malformed version", "GET", "/v21/" + wabaA, tok, 400, 2500},
		{"unknown edge", "GET", "/v21.0/" + wabaA + "/nothing", tok, 400, 2500},
		{"missing token", "GET", "/v21.0/" + wabaA, "", 400, 104},
		{"wrong method on an edge", "GET", "/v21.0/" + phoneA + "/register", tok, 400, 100},
		{"unknown field", "GET", "/v21.0/" + wabaA + "?fields=id,colour", tok, 400, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m, _ := raw(t, e, tt.method, tt.path, tt.token, "", "")
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, m)
			}
			if tt.code != 0 {
				if got := code(metaErr(t, m)); got != tt.code {
					t.Errorf("code = %d, want %d", got, tt.code)
				}
			}
		})
	}
	t.Run("default and selected fields", func(t *testing.T) {
		_, m, _ := raw(t, e, "GET", "/v21.0/"+wabaA, tok, "", "")
		if m["id"] != wabaA || m["name"] == nil || m["currency"] != nil {
			t.Errorf("default WABA fields = %v, want id and name", m)
		}
		_, m, _ = raw(t, e, "GET", "/v21.0/"+wabaA+"?fields=currency,primary_funding_id", tok, "", "")
		if m["currency"] != "USD" || m["name"] != nil {
			t.Errorf("selected fields = %v, want id and currency", m)
		}
		if _, has := m["primary_funding_id"]; has {
			t.Errorf("primary_funding_id present before any credit line: %v", m)
		}
	})
}

func TestRegisterBody(t *testing.T) {
	tests := []struct {
		name, body string
		code       int
	}{
		{"empty", "", 100},
		{"not an object", `["whatsapp"]`, 100},
		{"missing messaging_product", `{"pin":"123456"}`, 100},
		{"wrong messaging_product", `{"messaging_product":"sms","pin":"123456"}`, 100},
		{"five digits", `{"messaging_product":"whatsapp","pin":"12345"}`, 100},
		{"letters", `{"messaging_product":"whatsapp","pin":"12345a"}`, 100},
		{"number instead of string", `{"messaging_product":"whatsapp","pin":123456}`, 100},
		{"valid", `{"messaging_product":"whatsapp","pin":"123456"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(t, wabaA, phoneA).Reveal()
			status, m, _ := raw(t, e, "POST", "/v21.0/"+phoneA+"/register", tok, "application/json", tt.body)
			if tt.code == 0 {
				if status != 200 || m["success"] != true {
					t.Errorf("status %d body %v, want 200 success", status, m)
				}
				return
			}
			er := metaErr(t, m)
			if code(er) != tt.code || er["error_data"] == nil {
				t.Errorf("error = %v, want %d with error_data", er, tt.code)
			}
			if st, _ := e.sim.PhoneState(phoneA); st.RegisterCalls != 0 {
				t.Errorf("a malformed register counted against the budget")
			}
		})
	}
}

func TestMessageBodyLimit(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, wabaA, phoneA).Reveal()
	e.sim.SetPhone(phoneA, graphsim.PhoneState{PlatformType: "CLOUD_API", Status: "CONNECTED"})
	e.sim.OpenWindow(phoneA, tester, e.clock.Now())
	body := func(text string) string {
		b, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "to": tester, "type": "text", "text": map[string]any{"body": text}})
		return string(b)
	}
	tests := []struct {
		name, text string
		status     int
	}{
		{"4096 characters", strings.Repeat("é", 4096), 200},
		{"4097 characters", strings.Repeat("a", 4097), 400},
		{"empty", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m, _ := raw(t, e, "POST", "/v21.0/"+phoneA+"/messages", tok, "application/json", body(tt.text))
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, m)
			}
			if tt.status == 400 && code(metaErr(t, m)) != 100 {
				t.Errorf("code = %d, want 100", code(metaErr(t, m)))
			}
		})
	}
}

func TestParametersLikeMeta(t *testing.T) {
	e := newEnv(t)
	sys := systemToken
	t.Run("assigned_users task list forms", func(t *testing.T) {
		for i, tasks := range []string{"['MANAGE']", `["MANAGE","DEVELOP"]`, "MANAGE"} {
			waba := "20000000000010" + string(rune('0'+i))
			e.sim.IssueToken(waba, "")
			status, m, _ := raw(t, e, "POST", "/v21.0/"+waba+"/assigned_users?user="+systemUserID+"&tasks="+url.QueryEscape(tasks), sys, "", "")
			if status != 200 || m["success"] != true {
				t.Errorf("tasks %s: status %d body %v", tasks, status, m)
			}
		}
		status, m, _ := raw(t, e, "POST", "/v21.0/"+wabaA+"/assigned_users?user="+systemUserID+"&tasks="+url.QueryEscape("['OWN']"), sys, "", "")
		if status != 400 {
			t.Errorf("unknown task: status %d body %v, want 400", status, m)
		}
	})
	t.Run("credit sharing currency", func(t *testing.T) {
		e.sim.IssueToken(wabaA, phoneA)
		status, m, _ := raw(t, e, "POST", "/v21.0/"+creditLine+"/whatsapp_credit_sharing_and_attach?waba_currency=JPY&waba_id="+wabaA, sys, "", "")
		if status != 400 || code(metaErr(t, m)) != 100 {
			t.Errorf("JPY: status %d body %v, want 400/100", status, m)
		}
	})
	t.Run("subscribed_apps override as form parameters", func(t *testing.T) {
		tok := e.sim.IssueToken(wabaB, "")
		if status, m, _ := raw(t, e, "POST", "/v21.0/"+wabaB+"/subscribed_apps", tok, "", ""); status != 200 {
			t.Fatalf("subscribe: %d %v", status, m)
		}
		form := url.Values{"override_callback_uri": {"https://partner.example/hook"}, "verify_token": {"v"}}.Encode()
		if status, m, _ := raw(t, e, "POST", "/v21.0/"+wabaB+"/subscribed_apps", tok, "application/x-www-form-urlencoded", form); status != 200 {
			t.Fatalf("override: %d %v", status, m)
		}
		if st, _ := e.sim.WABAState(wabaB); st.OverrideCallbackURI != "https://partner.example/hook" {
			t.Errorf("override = %q", st.OverrideCallbackURI)
		}
	})
	t.Run("paging next repeats the token, as Meta does", func(t *testing.T) {
		e := newEnv(t, func(c *graphsim.Config) { c.PageSize = 1 })
		tok := e.token(t, wabaA, phoneA).Reveal()
		e.sim.SetPhone("300000000000009", graphsim.PhoneState{WABAID: wabaA})
		_, m, _ := raw(t, e, "GET", "/v21.0/"+wabaA+"/phone_numbers", tok, "", "")
		paging, _ := m["paging"].(map[string]any)
		next, _ := paging["next"].(string)
		if !strings.HasPrefix(next, e.url+"/v21.0/"+wabaA+"/phone_numbers?") || !strings.Contains(next, "access_token=") {
			t.Errorf("next = %q, want a link to the same endpoint carrying the token", next)
		}
	})
}

func TestHTTP500FaultIsNotJSON(t *testing.T) {
	e := newEnv(t)
	e.sim.InjectFault(graphsim.Fault{Call: graph.CallDebugToken, Kind: graphsim.FaultHTTP500, Count: 1})
	status, m, _ := raw(t, e, "GET", "/v21.0/debug_token?input_token=x", appID+"|"+appSecret, "", "")
	if status != 500 || m != nil {
		t.Errorf("status %d, JSON %v; want a plain 500", status, m)
	}
	if got, want := e.sim.Calls(graph.CallDebugToken), 1; got != want {
		t.Errorf("calls = %d, want %d", got, want)
	}
	e.sim.Reset()
	if got := e.sim.Calls(graph.CallDebugToken); got != 0 {
		t.Errorf("calls after Reset = %d, want 0", got)
	}
}

func TestLatencyIsAbandonedWithTheClient(t *testing.T) {
	e := newEnv(t, func(c *graphsim.Config) { c.Latency = time.Hour })
	_, err := e.client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: secret(systemToken)},
		func(o *graph.Options) { o.CallTimeout = 50 * time.Millisecond })
	if !graph.IsTimeout(err) {
		t.Errorf("error = %v, want a timeout", err)
	}
}

func TestStartAndClose(t *testing.T) {
	sim := graphsim.New(graphsim.Config{SystemToken: secret(systemToken)})
	if _, err := sim.Start("0.0.0.0:0"); err == nil {
		t.Errorf("Start on a non-loopback address succeeded")
	}
	base, err := sim.Start("")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL = %q", base)
	}
	if _, err := sim.Start(""); err == nil {
		t.Errorf("second Start succeeded")
	}
	client, err := graph.New(graph.Options{BaseEndpoint: base})
	if err != nil {
		t.Fatal(err)
	}
	sim.IssueToken(wabaA, phoneA)
	if _, err := client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: secret(systemToken)}); err != nil {
		t.Fatalf("GetWABA: %v", err)
	}

	// A stalled answer (timeout fault) is released by Close.
	sim.InjectFault(graphsim.Fault{Call: graph.CallCreditCheck, Kind: graphsim.FaultTimeout, Count: 1})
	done := make(chan error, 1)
	go func() {
		_, err := client.GetWABA(ctx, &graph.GetWABAInput{WABAID: wabaA, AccessToken: secret(systemToken)},
			func(o *graph.Options) { o.CallTimeout = time.Hour; o.Retry.MaxAttempts = 1 })
		done <- err
	}()
	for sim.Calls(graph.CallCreditCheck) < 2 {
		time.Sleep(time.Millisecond) // wait for the request to arrive; no timing is asserted
	}
	sim.Close()
	if err := <-done; err == nil {
		t.Errorf("stalled call succeeded after Close")
	}
}
