package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/web"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestHandlerServesThePage(t *testing.T) {
	h := web.Handler(web.Options{})
	for path, ctype := range map[string]string{
		"/": "text/html", "/index.html": "text/html", "/app.js": "text/javascript",
		"/config.js": "text/javascript", "/style.css": "text/css",
	} {
		res, body := get(t, h, http.MethodGet, path)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || body == "" {
			t.Errorf("GET %s: %d %q, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(body))
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self' https://connect.facebook.net;") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	if res, _ := get(t, h, http.MethodGet, "/web.go"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /web.go: %d, want 404", res.StatusCode)
	}
	if res, _ := get(t, h, http.MethodPost, "/"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", res.StatusCode)
	}
}

func TestConfigOverride(t *testing.T) {
	h := web.Handler(web.Options{
		Config:          &web.Config{AppID: "1", ConfigID: "2", GraphAPIVersion: "v21.0", SDKURL: "/_local/sdk.js</script>"},
		ExtraConnectSrc: []string{"https://api.example"},
	})
	res, body := get(t, h, http.MethodGet, "/config.js")
	if !strings.HasPrefix(body, "// Generated") || !strings.Contains(body, `"sdkUrl": "/_local/sdk.js\u003c/script\u003e"`) ||
		!strings.Contains(body, "window.WA_ONBOARDING_CONFIG = Object.freeze({") {
		t.Errorf("config.js override:\n%s", body)
	}
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "connect-src 'self' https://api.example ") {
		t.Errorf("CSP %q", res.Header.Get("Content-Security-Policy"))
	}
}

// The page must run under a strict CSP and hold nothing secret.
func TestPageIsCSPFriendlyAndHoldsNoSecret(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := read("index.html")
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(m, ` src="`) {
			t.Errorf("inline script in index.html: %s", m)
		}
	}
	if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=|style\s*=|javascript:`).FindString(html); m != "" {
		t.Errorf("inline handler or style in index.html: %q", m)
	}
	for _, name := range []string{"app.js", "localsdk/sdk.js", "localsdk/signup-popup.js"} {
		if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('on`).FindString(read(name)); m != "" {
			t.Errorf("%s uses %s", name, m)
		}
	}
	app := read("app.js")
	for _, want := range []string{
		"response_type: 'code'", "override_default_response_type: true",
		"extras: { setup: {} }", "'WA_EMBEDDED_SIGNUP'",
	} {
		if !strings.Contains(app, want) {
			t.Errorf("app.js lacks %s", want)
		}
	}
	cfg := read("config.js")
	keys := regexp.MustCompile(`(?m)^\s+([a-zA-Z]+):`).FindAllStringSubmatch(cfg, -1)
	var names []string
	for _, k := range keys {
		names = append(names, k[1])
	}
	if strings.Join(names, ",") != "appId,configId,apiBaseUrl,graphApiVersion,sdkUrl" {
		t.Errorf("config.js sets %v", names)
	}
	code := regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAllString(cfg, "")
	if m := regexp.MustCompile(`(?i)secret|token|password`).FindString(code); m != "" {
		t.Errorf("config.js sets a %s", m)
	}
	if m := regexp.MustCompile(`(?i)(app_?secret|access_?token|system_?token|client_secret)\s*[:=]`).FindString(app); m != "" {
		t.Errorf("app.js sets %s", m)
	}
}

// Through the local runner: the page at /, its local config and SDK stand-in, and the API's routes unchanged.
func TestRunnerServesPageBesideTheAPI(t *testing.T) {
	r, _ := startRunner(t, nil)
	check := func(method, path, body, wantType string, wantStatus int, wantBody string) {
		t.Helper()
		req, _ := http.NewRequest(method, r.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != wantStatus || !strings.HasPrefix(res.Header.Get("Content-Type"), wantType) || !strings.Contains(string(b), wantBody) {
			t.Errorf("%s %s: %d %s %.200s", method, path, res.StatusCode, res.Header.Get("Content-Type"), b)
		}
	}
	check("GET", "/", "", "text/html", 200, "Connect WhatsApp")
	check("GET", "/config.js", "", "text/javascript", 200, `"sdkUrl": "/_local/sdk.js"`)
	check("GET", "/config.js", "", "text/javascript", 200, `"appId": "`+runner.DefaultAppID+`"`)
	check("GET", "/_local/sdk.js", "", "text/javascript", 200, "window.FB")
	check("GET", "/_local/signup-popup.html", "", "text/html", 200, "Finish (WABA only)")
	check("GET", "/healthz", "", "application/json", 200, `"ok"`)
	check("GET", "/nope", "", "application/json", 404, "not_found")
	check("POST", "/signup", `{}`, "application/json", 400, `"field":"code"`)
	check("POST", "/_local/codes", `{"waba_id":"102290129340398","phone_number_id":"106540352242922"}`, "application/json", 201, `"code":"sim:102290129340398:106540352242922:`)
	check("GET", "/_local/executions", "", "application/json", 200, "executions")
}
