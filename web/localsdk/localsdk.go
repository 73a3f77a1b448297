// Package localsdk is the local runner's stand-in for Meta's JavaScript SDK and Embedded Signup popup, so that
// `make run` is a signup a person can click through with no facebook.com: GET /_local/sdk.js defines
// window.FB (init, login, getLoginStatus, ...), FB.login opens /_local/signup-popup.html, and the popup takes
// a fresh code from POST /_local/codes (issued by the Graph simulator: valid 30 seconds, once). The example
// page (package web) is served with a config.js whose sdkUrl is /_local/sdk.js; the page itself does not
// know it is simulated. After a signup with a phone number, the stand-in adds a panel of its own to the page
// ("Message the new number as the tester") that calls POST /_local/sim/messages, so a person can play the
// customer's tester. None of this is deployed.
package localsdk

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/onboarding"
)

//go:embed sdk.js signup-popup.html signup-popup.js signup-popup.css sim-panel.css
var files embed.FS

// SDKPath is where the stand-in SDK is served: the sdkUrl of the page's local config.
const SDKPath = "/_local/sdk.js"

// staticFiles are the embedded files, served under /_local/.
var staticFiles = []string{"sdk.js", "signup-popup.html", "signup-popup.js", "signup-popup.css", "sim-panel.css"}

// Paths are the ServeMux patterns Handler serves.
var Paths = func() []string {
	p := make([]string, 0, len(staticFiles)+1)
	for _, f := range staticFiles {
		p = append(p, "GET /_local/"+f)
	}
	return append(p, "POST /_local/codes")
}()

// CodeIssuer returns a fresh code granting exactly wabaID and phoneNumberID (empty: a WABA-only grant), as
// the Graph simulator's IssueCode does.
type CodeIssuer func(wabaID, phoneNumberID string) string

// SimCodes issues sim: codes without a simulator at hand, for a Graph simulator in another process (it
// accepts a sim: code it has not issued, counting its 30 seconds from the first exchange).
func SimCodes(wabaID, phoneNumberID string) string {
	return "sim:" + wabaID + ":" + phoneNumberID + ":" + randomHex(8)
}

// CodeRequest is the body of POST /_local/codes.
type CodeRequest struct {
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	// Expired asks for a code the simulator refuses as expired (Meta's 100/36007).
	Expired bool `json:"expired"`
}

// CodeResponse is the answer of POST /_local/codes.
type CodeResponse struct {
	Code string `json:"code"`
}

const maxCodeRequest = 4 << 10

// Handler serves the stand-in's files and POST /_local/codes (register it under Paths).
func Handler(issue CodeIssuer) http.Handler {
	if issue == nil {
		issue = SimCodes
	}
	mux := http.NewServeMux()
	for _, f := range staticFiles {
		mux.HandleFunc("GET /_local/"+f, serveFile(f))
	}
	mux.HandleFunc("POST /_local/codes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			httpapi.WriteError(w, http.StatusUnsupportedMediaType, onboarding.CodeUnsupportedMediaType, "", "send application/json")
			return
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCodeRequest))
		dec.DisallowUnknownFields()
		var req CodeRequest
		if err := dec.Decode(&req); err != nil || dec.Decode(&struct{}{}) != io.EOF {
			httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidJSON, "", `send {"waba_id", "phone_number_id", "expired"}`)
			return
		}
		switch {
		case !onboarding.ValidGraphID(req.WABAID):
			httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidField, "waba_id", "waba_id must be 1 to 20 digits")
			return
		case req.PhoneNumberID != "" && !onboarding.ValidGraphID(req.PhoneNumberID):
			httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidField, "phone_number_id", "phone_number_id must be 1 to 20 digits, or empty for a WABA-only signup")
			return
		}
		code := "expired-" + randomHex(8)
		if !req.Expired {
			code = issue(req.WABAID, req.PhoneNumberID)
		}
		httpapi.WriteJSON(w, http.StatusCreated, CodeResponse{Code: code})
	})
	return mux
}

// csp lets the popup run its own script and style only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

var started = time.Now()

func serveFile(name string) http.HandlerFunc {
	body, err := files.ReadFile(name)
	if err != nil {
		panic(errors.New("localsdk: missing embedded file " + name))
	}
	ctype := "text/javascript; charset=utf-8"
	switch {
	case strings.HasSuffix(name, ".html"):
		ctype = "text/html; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		ctype = "text/css; charset=utf-8"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, started, strings.NewReader(string(body)))
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
