package graphsim

import (
	"net/http"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/graph"
)

// World rules of phone verification and the coexistence sync.
const (
	// VerificationCode is the only code verify_code accepts (any other is refused).
	VerificationCode = "123456"
	// CodeTTL of a sent verification code: Meta's codes are "time-limited (typically 10 minutes)".
	VerificationCodeTTL = 10 * time.Minute
	// SyncWindow is how long after onboarding a coexistence number may request its syncs.
	SyncWindow = 24 * time.Hour
	// Code verification statuses of a number.
	CodeVerified    = "VERIFIED"
	CodeNotVerified = "NOT_VERIFIED"
	CodeExpired     = "EXPIRED"
)

// requestCode sends (in this world: notes) a verification code. Meta documents code_method SMS, VOICE or
// IVR and a required language, as query parameters; it documents no quota, so the simulator sets none
// (GRAPH_SIM_FAULTS injects Meta's refusals).
func (s *Server) requestCode(q *request, ph *phoneRec) *result {
	m, errRes := s.bodyParams(q, true)
	if errRes != nil {
		return errRes
	}
	method, lang := stringParam(m, q, "code_method"), stringParam(m, q, "language")
	switch {
	case method == "":
		return s.invalidParam("The parameter code_method is required", true)
	case method != "SMS" && method != "VOICE" && method != "IVR":
		return s.invalidParam("Param code_method must be one of {SMS, VOICE, IVR}", true)
	case lang == "":
		return s.invalidParam("The parameter language is required", true)
	case len(lang) > 16 || strings.Trim(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "":
		return s.invalidParam("Param language must be a locale such as en_US", true)
	}
	ph.CodeRequested = q.now
	return success(graph.CallRequestCode)
}

// verifyCode checks the code. Meta documents no Graph error code for a wrong or expired code (its Verify Code
// reference lists only HTTP 422 "Invalid or expired verification code"): the simulator's refusal, error 100
// with that message, is its own choice, and the service does not depend on its number.
func (s *Server) verifyCode(q *request, ph *phoneRec) *result {
	m, errRes := s.bodyParams(q, true)
	if errRes != nil {
		return errRes
	}
	code := stringParam(m, q, "code")
	if code == "" {
		return s.invalidParam("The parameter code is required", true)
	}
	if code != VerificationCode || ph.CodeRequested.IsZero() || q.now.Sub(ph.CodeRequested) > VerificationCodeTTL {
		return s.gerr(graph.CodeInvalidParameter, withMessage("(#100) Invalid or expired verification code"),
			withDetails("The verification code is invalid or has expired. Request a new code and try again."))
	}
	ph.CodeRequested = time.Time{} // single-use
	ph.CodeVerification = CodeVerified
	return &result{status: http.StatusOK, body: map[string]any{"success": true, "id": ph.ID}, effect: graph.CallVerifyCode}
}

// smbAppData accepts each coexistence sync type once per number (2593107 afterwards), within 24 hours of
// onboarding (2593108 after), for WhatsApp Business app numbers only.
func (s *Server) smbAppData(q *request, ph *phoneRec) *result {
	m, errRes := s.bodyParams(q, true)
	if errRes != nil {
		return errRes
	}
	mp, syncType := stringParam(m, q, "messaging_product"), stringParam(m, q, "sync_type")
	switch {
	case mp != "whatsapp":
		return s.invalidParam("Param messaging_product must be whatsapp", true)
	case syncType != graph.SyncStateSync && syncType != graph.SyncHistory:
		return s.invalidParam("Param sync_type must be one of {smb_app_state_sync, history}", true)
	case !ph.BizApp:
		return s.invalidParam("The phone number is not a WhatsApp Business app number", true)
	case ph.Synced[syncType]:
		return s.gerr(graph.CodeSyncAlreadyDone)
	case !ph.Onboarded.IsZero() && q.now.Sub(ph.Onboarded) > SyncWindow:
		return s.gerr(graph.CodeSyncWindowExpired)
	}
	if ph.Synced == nil {
		ph.Synced = map[string]bool{}
	}
	ph.Synced[syncType] = true
	waba, id, display, now := ph.WABA, ph.ID, ph.Display, q.now
	return &result{status: http.StatusOK, effect: graph.CallSMBAppData,
		body:   map[string]any{"messaging_product": "whatsapp", "request_id": "sim-sync-" + randomHex(8)},
		notify: []func(Observer){func(o Observer) { o.BusinessAppSynced(waba, id, display, syncType, now) }}}
}
