package localsdk_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/waes/onboarding/web/localsdk"
)

func TestCodes(t *testing.T) {
	var issued []string
	h := localsdk.Handler(func(waba, phone string) string {
		issued = append(issued, waba+"/"+phone)
		return "sim:" + waba + ":" + phone + ":0123456789abcdef"
	})
	for _, tc := range []struct {
		ctype, body string
		status      int
		want        string
	}{
		{"application/json", `{"waba_id":"1","phone_number_id":"2"}`, 201, `{"code":"sim:1:2:0123456789abcdef"}`},
		{"application/json", `{"waba_id":"1","phone_number_id":""}`, 201, `{"code":"sim:1::0123456789abcdef"}`},
		{"application/json", `{"waba_id":"1","phone_number_id":"2","expired":true}`, 201, `{"code":"expired-`},
		{"application/json", `{"waba_id":"1/../x","phone_number_id":"2"}`, 400, `"field":"waba_id"`},
		{"application/json", `{"waba_id":"1","phone_number_id":"2?x"}`, 400, `"field":"phone_number_id"`},
		{"application/json", `{"waba_id":"1","nope":1}`, 400, "invalid_json"},
		{"application/json", `{"waba_id":"1"} {}`, 400, "invalid_json"},
		{"text/plain", `{"waba_id":"1"}`, 415, "unsupported_media_type"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/_local/codes", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %s", tc.ctype, tc.body, rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: codes must not be cached", tc.body)
		}
	}
	if strings.Join(issued, ",") != "1/2,1/" {
		t.Errorf("issued %v", issued)
	}
}

func TestFiles(t *testing.T) {
	h := localsdk.Handler(nil)
	for _, p := range localsdk.Paths {
		method, path, _ := strings.Cut(p, " ")
		if method != http.MethodGet {
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != 200 || len(b) == 0 || rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d, %d bytes", path, rec.Code, len(b))
		}
	}
	if code := localsdk.SimCodes("1", "2"); !strings.HasPrefix(code, "sim:1:2:") || len(code) != len("sim:1:2:")+16 {
		t.Errorf("SimCodes: %q", code)
	}
}
