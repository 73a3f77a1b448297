package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

const (
	waba  = "102290129340398"
	phone = "106540352242922"
)

// harness is one local runner under test, with everything it said recorded for the secret scan.
type harness struct {
	t         *testing.T
	r         *Runner
	logs      *testlog.Buffer
	mu        sync.Mutex
	responses []string
	secrets   []string
}

func start(t *testing.T, env map[string]string) *harness {
	t.Helper()
	return startFaulty(t, env, 0)
}

func (h *harness) do(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.r.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.mu.Lock()
	h.responses = append(h.responses, string(b))
	h.mu.Unlock()
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// signup posts a signup with a fresh sim: code for waba/phone and extra fields; it returns the onboarding id.
func (h *harness) signup(phoneID string, extra string) string {
	h.t.Helper()
	code := fmt.Sprintf("sim:%s:%s:%s", waba, phoneID, onboarding.NewID())
	h.mu.Lock()
	h.secrets = append(h.secrets, code)
	h.mu.Unlock()
	body := fmt.Sprintf(`{"code":%q,"waba_id":%q`, code, waba)
	if phoneID != "" {
		body += fmt.Sprintf(`,"phone_number_id":%q`, phoneID)
	}
	body += extra + "}"
	status, m := h.do("POST", "/signup", body)
	if status != http.StatusAccepted {
		h.t.Fatalf("signup: got %d %v", status, m)
	}
	return m["id"].(string)
}

// await polls the onboarding until its status is terminal (or wanted) and returns the record.
func (h *harness) await(id string, want onboarding.Status) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, rec := h.do("GET", "/onboardings/"+id, "")
		status := onboarding.Status(fmt.Sprint(rec["status"]))
		if status == want || (status.Terminal() && want.Terminal()) {
			if status != want {
				h.t.Fatalf("onboarding %s: got %s, want %s: %v", id, status, want, rec)
			}
			return rec
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("onboarding %s still %s, want %s: %v", id, status, want, rec)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stepsOf(rec map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range rec["steps"].([]any) {
		st := s.(map[string]any)
		out[st["name"].(string)] = st
	}
	return out
}

func checkSteps(t *testing.T, rec map[string]any, want map[string]string) {
	t.Helper()
	got := stepsOf(rec)
	for name, status := range want {
		if got[name]["status"] != status {
			t.Errorf("step %s: got %v (%v), want %s", name, got[name]["status"], got[name], status)
		}
	}
}

// scanForSecrets checks that no secret reached a log line, an API response, a workflow execution's
// input, output or history, or a stored record.
func (h *harness) scanForSecrets() {
	t := h.t
	// Business tokens and PINs the vault holds are secrets too.
	secrets := append([]string(nil), h.secrets...)
	if sec, err := h.r.adapters.vault.WABASecret(context.Background(), waba); err == nil {
		secrets = append(secrets, sec.BusinessToken.Reveal())
		for _, p := range sec.PINs {
			secrets = append(secrets, p.Reveal())
		}
	}
	var corpus strings.Builder
	corpus.WriteString(h.logs.String())
	h.mu.Lock()
	for _, r := range h.responses {
		corpus.WriteString(r)
	}
	h.mu.Unlock()
	for _, ex := range h.r.Engine.ListExecutions("") {
		corpus.WriteString(ex.Input + ex.Output + ex.Cause)
		events, _ := h.r.Engine.GetExecutionHistory(ex.ExecutionARN)
		b, _ := json.Marshal(events)
		corpus.Write(b)
		if recs, err := h.r.adapters.records.FindByWABA(context.Background(), waba, 0); err == nil {
			b, _ := json.Marshal(recs)
			corpus.Write(b)
		}
	}
	text := corpus.String()
	for _, s := range secrets {
		if len(s) < 6 {
			continue
		}
		// A six-digit PIN could collide with an unrelated number; look for it as a JSON string only.
		needle := s
		if onboarding.ValidPIN(s) {
			needle = `"` + s + `"`
		}
		if strings.Contains(text, needle) {
			i := strings.Index(text, needle)
			t.Errorf("a secret leaked: ...%s...", text[max(0, i-120):min(len(text), i+len(needle)+40)])
		}
	}
}

func TestCompletesWithoutATestRecipient(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, "")
	rec := h.await(id, onboarding.StatusCompleted)
	checkSteps(t, rec, map[string]string{
		"exchange_token": "SUCCEEDED", "verify_grant": "SUCCEEDED", "subscribe_webhooks": "SUCCEEDED",
		"share_credit_line": "SUCCEEDED", "register_phone": "SUCCEEDED", "send_test_message": "SKIPPED",
	})
	if rec["allocation_config_id"] == nil {
		t.Errorf("no allocation_config_id")
	}
}

func TestVerifiedEndToEnd(t *testing.T) {
	h := start(t, nil)
	id := h.signup(phone, `,"test_recipient":"+16505551234"`)
	rec := h.await(id, onboarding.StatusVerified)
	checkSteps(t, rec, map[string]string{"send_test_message": "SUCCEEDED", "register_phone": "SUCCEEDED"})
	// The partner events tell the story.
	var types []string
	for _, e := range h.r.Events.Events() {
		types = append(types, e.Type+":"+e.Status)
	}
	joined := strings.Join(types, ",")
	for _, want := range []string{"onboarding.status_changed:RUNNING", "message.received:", "message.status:sent", "onboarding.status_changed:VERIFIED"} {
		if !strings.Contains(joined, want) {
			t.Errorf("partner events %s lack %s", joined, want)
		}
	}
	// The execution history is inspectable.
	status, m := h.do("GET", "/_local/executions/"+id, "")
	if status != 200 || len(m["executions"].([]any)) != 1 {
		t.Errorf("GET /_local/executions: got %d %v", status, m)
	}
}

func TestSkipBranches(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		phone string
		extra string
		want  map[string]string
	}{
		{"no credit line", map[string]string{EnvCreditLineID: ""}, phone, "", map[string]string{"share_credit_line": "SKIPPED", "register_phone": "SUCCEEDED"}},
		{"no phone", nil, "", `,"event":"FINISH_ONLY_WABA"`, map[string]string{"share_credit_line": "SUCCEEDED", "register_phone": "SKIPPED", "send_test_message": "SKIPPED"}},
		{"coexistence", nil, "106540352242222", `,"event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"`, map[string]string{"register_phone": "SKIPPED"}},
		{"already connected", nil, "106540352241111", "", map[string]string{"register_phone": "SKIPPED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, tt.env)
			id := h.signup(tt.phone, tt.extra)
			rec := h.await(id, onboarding.StatusCompleted)
			checkSteps(t, rec, tt.want)
			if tt.phone == "" && h.r.Sim.Calls(graph.CallRegister) != 0 {
				t.Errorf("register was called without a phone")
			}
		})
	}
}

func TestTransientAndThrottledFaultsStillComplete(t *testing.T) {
	h := start(t, map[string]string{EnvSimFaults: "subscribed_apps:2x3,assigned_users:4x2,credit_sharing:131000x1,register:130429x1,messages:1x1"})
	id := h.signup(phone, `,"test_recipient":"+16505551234"`)
	rec := h.await(id, onboarding.StatusVerified)
	st := stepsOf(rec)
	if st["share_credit_line"]["attempts"].(float64) < 2 || st["register_phone"]["attempts"].(float64) < 2 {
		t.Errorf("retries not visible in attempts: %v", st)
	}
	for _, call := range []string{graph.CallCreditSharing, graph.CallRegister, graph.CallMessages} {
		if got := h.r.Sim.SideEffects(call); got != 1 {
			t.Errorf("side effects of %s: got %d, want 1", call, got)
		}
	}
}

func TestPermanentFailureThenRetry(t *testing.T) {
	h := start(t, map[string]string{EnvSimFaults: "register:100x1"})
	id := h.signup(phone, "")
	rec := h.await(id, onboarding.StatusFailed)
	reg := stepsOf(rec)["register_phone"]
	e := reg["error"].(map[string]any)
	if reg["status"] != "FAILED" || e["graph_code"].(float64) != 100 || e["fbtrace_id"] == "" {
		t.Fatalf("register_phone: got %v, want FAILED with graph code 100 and fbtrace_id", reg)
	}
	if stepsOf(rec)["send_test_message"]["status"] != "PENDING" {
		t.Errorf("later steps ran after the failure")
	}
	status, m := h.do("POST", "/onboardings/"+id+"/retry", "")
	if status != http.StatusAccepted {
		t.Fatalf("retry: got %d %v", status, m)
	}
	rec = h.await(id, onboarding.StatusCompleted)
	checkSteps(t, rec, map[string]string{"register_phone": "SUCCEEDED", "subscribe_webhooks": "SUCCEEDED"})
	if got := h.r.Sim.SideEffects(graph.CallSubscribedApps); got != 1 {
		t.Errorf("subscribed twice: %d (the retry must resume from the failed step)", got)
	}
	// A second retry of a finished onboarding is refused.
	if status, _ := h.do("POST", "/onboardings/"+id+"/retry", ""); status != http.StatusConflict {
		t.Errorf("retry of a COMPLETED onboarding: got %d, want 409", status)
	}
}

func TestConflictAndBadRequests(t *testing.T) {
	h := start(t, map[string]string{EnvInboundTimeout: "600"})
	// A test recipient that never writes keeps the first onboarding waiting.
	id := h.signup(phone, `,"test_recipient":"+447700900123"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	code := fmt.Sprintf("sim:%s:%s:%s", waba, phone, onboarding.NewID())
	h.secrets = append(h.secrets, code)
	status, m := h.do("POST", "/signup", fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q}`, code, waba, phone))
	if status != http.StatusConflict || m["id"] != id {
		t.Errorf("second signup: got %d %v, want 409 naming %s", status, m, id)
	}
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"code":"expired-code","waba_id":"` + waba + `","phone_number_id":"106540352249999"}`, 400},
		{`{"code":"sim:1:2:x","waba_id":"` + waba + `","phone_number_id":"106540352249999"}`, 403},
		{`{"code":"c","waba_ids":[]}`, 400},
		{`{"code":"c","phone_number_id":"x"}`, 400},
	} {
		if status, m := h.do("POST", "/signup", tt.body); status != tt.want {
			t.Errorf("%s: got %d %v, want %d", tt.body, status, m, tt.want)
		}
	}
}

func TestConcurrentWebhookDeliveriesAreStoredOnce(t *testing.T) {
	h := start(t, nil)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100","phone_number_id":"` + phone + `"},"statuses":[{"id":"wamid.concurrent","status":"delivered","timestamp":"1749416383","recipient_id":"16505551234"}]},"field":"messages"}]}]}`)
	sig := webhook.Sign(body, h.r.cfg.App.AppSecret)
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range 20 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", h.r.URL+"/webhooks", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("delivery %d: got %d, want 200", i, c)
		}
	}
	claim, err := h.r.Store.GetEventClaim(context.Background(), "status:wamid.concurrent:delivered")
	if err != nil || !claim.Done || claim.Attempts != 1 {
		t.Errorf("claim: got %+v %v, want one completed claim", claim, err)
	}
	n := 0
	for _, e := range h.r.Events.Events() {
		if e.MessageID == "wamid.concurrent" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("partner events for the status: got %d, want 1", n)
	}
	// Unsigned: 401, nothing stored.
	req, _ := http.NewRequest("POST", h.r.URL+"/webhooks", bytes.NewReader([]byte(`{"object":"whatsapp_business_account","entry":[]}`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned delivery: got %d, want 401", resp.StatusCode)
	}
}

func TestShutdownInterruptsWaitingExecutions(t *testing.T) {
	logs := &testlog.Buffer{}
	cfg, err := ConfigFromEnv(func(k string) (string, bool) {
		v, ok := map[string]string{EnvAddr: "127.0.0.1:0", EnvTimeScale: "0.001", EnvInboundTimeout: "600", EnvState: StateMemory}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, logging.New(logs, slog.LevelInfo))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Serve() }()
	h := &harness{t: t, r: r, logs: logs}
	id := h.signup(phone, `,"test_recipient":"+447700900123"`)
	h.await(id, onboarding.StatusAwaitingTestMessage)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "interrupted by the shutdown") || !strings.Contains(logs.String(), id) {
		t.Errorf("the interrupted execution is not logged with its onboarding id")
	}
}

func TestConfigRefusesDevDefaultsAgainstMeta(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"defaults against Meta", map[string]string{EnvGraphBaseURL: "https://graph.facebook.com"}, EnvAppSecret},
		{"dev secret against Meta", map[string]string{EnvGraphBaseURL: "https://graph.facebook.com", EnvAppID: "1", EnvAppSecret: DefaultAppSecret, EnvVerifyToken: "v", EnvCreditLineID: ""}, EnvAppSecret},
		{"bad faults", map[string]string{EnvSimFaults: "register:abc"}, EnvSimFaults},
		{"bad scale", map[string]string{EnvTimeScale: "2"}, EnvTimeScale},
		{"bad currency", map[string]string{EnvDefaultCurrency: "JPY"}, EnvDefaultCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
	ok := map[string]string{EnvGraphBaseURL: "https://graph.facebook.com", EnvAppID: "1", EnvAppSecret: "s3cr3t", EnvVerifyToken: "v", EnvCreditLineID: ""}
	if _, err := ConfigFromEnv(func(k string) (string, bool) { v, o := ok[k]; return v, o }); err != nil {
		t.Errorf("explicit credentials against Meta: %v", err)
	}
	if _, err := ConfigFromEnv(func(k string) (string, bool) { return "", false }); err != nil {
		t.Errorf("all defaults: %v", err)
	}
}
