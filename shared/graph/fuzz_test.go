package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
)

// FuzzErrorResponse feeds the client arbitrary answers (any status, any body, or a transport error with any
// text) for a call whose secrets are in its query (the code exchange: code and client_secret) and for one
// whose secrets are in its header and body (register: token and PIN). The client must never panic, must
// return nil only for a 2xx it could decode, must classify Meta's error envelope by its code (graph.Classify),
// and no error text, field or log line may hold a secret of the call, even when Meta's answer quotes it.
// Seeds: Meta's envelopes, also ones that echo the secrets; testdata/fuzz/FuzzErrorResponse.
func FuzzErrorResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"fbtrace_id":"AbC"}}`},
		{500, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"is_transient":true,"fbtrace_id":"Z"}}`},
		{400, `{"error":{"message":"(#133016) Account register deregister rate limit exceeded","code":133016,"error_data":{"messaging_product":"whatsapp","details":"Too many attempts"},"error_user_title":"T","error_user_msg":"M","fbtrace_id":"X1"}}`},
		{400, `{"error":{"message":"This authorization code has been used: ` + code + `","type":"OAuthException","code":100,"error_subcode":36009,"fbtrace_id":"Q"}}`},
		{400, `{"error":{"message":"Invalid token ` + bizToken + ` for /v21.0/x?access_token=` + bizToken + ` pin ` + pin + ` secret ` + appSecret + `","code":190,"fbtrace_id":"` + code + `"}}`},
		{400, `{"error":{"message":"x","code":133015,"error_user_msg":"client_secret=` + appSecret + `","type":"` + bizToken + `"}}`},
		{502, `<html>Bad Gateway</html>`},
		{200, `{"access_token":"EAAfuzz","token_type":"bearer"}`},
		{200, `{"success":true}`},
		{200, `{"success":tru`},
		{302, ``},
		{429, `{}`},
		{0, `transport: connection reset by peer ` + code},
	} {
		f.Add(s.status, []byte(s.body), false)
		f.Add(s.status, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, register bool) {
		transportErr := status == 0
		if !transportErr && (status < 100 || status > 599) {
			return
		}
		var logs strings.Builder
		c, err := graph.New(graph.Options{
			HTTPClient: graph.HTTPClientFunc(func(req *http.Request) (*http.Response, error) {
				if transportErr {
					return nil, errors.New(string(body))
				}
				return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(string(body))), Request: req}, nil
			}),
			Logger: logging.New(&logs, slog.LevelDebug),
			Retry:  graph.RetryPolicy{Sleep: noSleep, RetryGraphErrors: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		call, secrets := graph.CallOAuth, []string{appSecret, code}
		if register {
			secrets = []string{bizToken, pin}
			call = graph.CallRegister
			err = c.RegisterPhone(context.Background(), &graph.RegisterPhoneInput{PhoneNumberID: phoneID, PIN: secret(pin), AccessToken: secret(bizToken)})
		} else {
			_, err = c.ExchangeCode(context.Background(), &graph.ExchangeCodeInput{AppID: appID, AppSecret: secret(appSecret), Code: secret(code)})
		}
		if err == nil {
			if transportErr || status < 200 || status > 299 {
				t.Fatalf("status %d: the call succeeded", status)
			}
			return
		}
		ge, ok := graph.AsError(err)
		if !ok {
			t.Fatalf("error %T %v is not a *graph.Error", err, err)
		}
		if ge.Call != call || ge.Class < graph.ClassTransient || ge.Class > graph.ClassPermanent {
			t.Fatalf("call %q class %v", ge.Call, ge.Class)
		}
		if !transportErr {
			// A 2xx without what the call needs is reported as a malformed 200, whatever 2xx it was.
			if (ge.HTTPStatus != status && (status/100 != 2 || ge.HTTPStatus/100 != 2)) || !ge.Sent {
				t.Fatalf("HTTPStatus %d Sent %v, want %d true", ge.HTTPStatus, ge.Sent, status)
			}
			if ge.Code != 0 && ge.Class != graph.Classify(ge.Code, status) {
				t.Fatalf("code %d on HTTP %d classified %v, want %v", ge.Code, status, ge.Class, graph.Classify(ge.Code, status))
			}
		}
		text := fmt.Sprintf("%v|%+v|%#v|%s|%s|%s|%s|%s", err, ge, ge, ge.Message, ge.Details, ge.UserTitle, ge.UserMessage, ge.FBTraceID) + logs.String()
		for _, s := range secrets {
			if containsSecret(text, s) {
				t.Fatalf("a secret of the call leaked: %q in %s", s, text)
			}
		}
	})
}

// containsSecret reports whether text holds s; a PIN counts only as a number of its own, not as six digits
// inside a longer one (a log line's nanosecond timestamp can hold any six digits).
func containsSecret(text, s string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], s)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(s)
		if s != pin || ((start == 0 || !isDigit(text[start-1])) && (end == len(text) || !isDigit(text[end]))) {
			return true
		}
		i = start + 1
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
