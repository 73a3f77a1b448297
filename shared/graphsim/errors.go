package graphsim

import (
	"fmt"
	"net/http"
	"strings"
)

// errInfo is how Meta words an error code: message, type and, for WhatsApp codes, error_data.details.
type errInfo struct {
	msg, typ, details string
}

// catalog holds Meta's wording for the codes the onboarding meets (Graph and WhatsApp Cloud API docs).
var catalog = map[int]errInfo{
	1:       {"An unknown error has occurred.", "OAuthException", ""},
	2:       {"An unexpected error has occurred. Please retry your request later.", "OAuthException", ""},
	4:       {"(#4) Application request limit reached", "OAuthException", ""},
	10:      {"(#10) Application does not have permission for this action", "OAuthException", ""},
	17:      {"(#17) User request limit reached", "OAuthException", ""},
	100:     {"(#100) Invalid parameter", "OAuthException", ""},
	101:     {"Error validating application. Invalid application ID.", "OAuthException", ""},
	104:     {"An access token is required to request this resource.", "OAuthException", ""},
	190:     {"Invalid OAuth access token - Cannot parse access token", "OAuthException", ""},
	200:     {"(#200) Permissions error", "OAuthException", ""},
	341:     {"(#341) Application limit reached", "OAuthException", ""},
	368:     {"(#368) Temporarily blocked for policies violations", "OAuthException", ""},
	2500:    {"Unknown path components", "OAuthException", ""},
	80007:   {"(#80007) Rate limit issues", "OAuthException", "The WhatsApp Business Account has reached its rate limit."},
	130429:  {"(#130429) Rate limit hit", "OAuthException", "Cloud API message throughput has been reached."},
	131000:  {"(#131000) Something went wrong", "OAuthException", "Message failed to send due to an unknown error."},
	131016:  {"(#131016) Service unavailable", "OAuthException", "A service is temporarily unavailable."},
	131031:  {"(#131031) Account has been locked", "OAuthException", "The WhatsApp Business Account is restricted or disabled for violating a platform policy."},
	131042:  {"(#131042) Business eligibility payment issue", "OAuthException", "There was an error related to the payment method of the WhatsApp Business Account."},
	131047:  {"(#131047) Re-engagement message", "OAuthException", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
	131048:  {"(#131048) Spam rate limit hit", "OAuthException", "Message failed to send because there are restrictions on how many messages can be sent from this phone number."},
	131056:  {"(#131056) (Business Account, Consumer Account) pair rate limit hit", "OAuthException", "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."},
	131057:  {"(#131057) Account in maintenance mode", "OAuthException", "The WhatsApp Business Account is in maintenance mode."},
	133000:  {"(#133000) Incomplete deregistration", "OAuthException", "A previous deregistration attempt failed."},
	133004:  {"(#133004) Server temporarily unavailable", "OAuthException", "The server is temporarily unavailable."},
	133005:  {"(#133005) Two step verification PIN mismatch", "OAuthException", "The two-step verification PIN is incorrect."},
	133006:  {"(#133006) Phone number re-verification needed", "OAuthException", "Phone number needs to be verified before registering."},
	136024:  {"(#136024) Request code error", "OAuthException", "The verification code could not be sent."},
	2593107: {"(#2593107) Synchronization request limit reached", "OAuthException", "Exceeded the maximum number of times to call the synchronization api for this phone number."},
	2593108: {"(#2593108) Synchronization window expired", "OAuthException", "Synchronization request can only be made within 24 hours of onboarding."},
	133008:  {"(#133008) Too many two step verification PIN guesses", "OAuthException", "Too many incorrect two-step verification PIN guesses for this phone number."},
	133009:  {"(#133009) Two step verification PIN guessed too fast", "OAuthException", "The two-step verification PIN was entered too quickly."},
	133010:  {"(#133010) Account not registered", "OAuthException", "The phone number is not registered on the WhatsApp Business Platform."},
	133015:  {"(#133015) Please wait a few minutes before attempting to register this phone number", "OAuthException", "The phone number was recently deleted and the deletion has not completed yet."},
	133016:  {"(#133016) Account register deregister rate limit exceeded", "OAuthException", "Registration or deregistration failed because there were too many attempts for this phone number in a short period of time."},
}

// transientHint lists the codes for which Meta sets is_transient.
var transientHint = map[int]bool{1: true, 2: true, 4: true, 17: true, 341: true, 80007: true, 130429: true,
	131000: true, 131016: true, 133004: true}

// isWhatsAppCode reports codes of the WhatsApp platform: Meta adds error_data to them.
func isWhatsAppCode(code int) bool { return code >= 130000 || code == 80007 }

// metaError is Meta's error object.
type metaError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
	Subcode int    `json:"error_subcode,omitempty"`
	// IsTransient is Meta's own hint; clients classify by code, as the brief says.
	IsTransient bool       `json:"is_transient"`
	UserTitle   string     `json:"error_user_title,omitempty"`
	UserMsg     string     `json:"error_user_msg,omitempty"`
	ErrorData   *errorData `json:"error_data,omitempty"`
	FBTraceID   string     `json:"fbtrace_id"`
}

type errorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// gerr builds a Graph error answer. opts tune it: a message, a subcode, user texts, details, a type.
func (s *Server) gerr(code int, opts ...errOpt) *result {
	info, ok := catalog[code]
	if !ok {
		info = errInfo{msg: fmt.Sprintf("(#%d) Simulated error", code), typ: "OAuthException"}
	}
	e := metaError{Message: info.msg, Type: info.typ, Code: code, FBTraceID: newTraceID(), IsTransient: transientHint[code]}
	details := info.details
	for _, o := range opts {
		o(&e, &details)
	}
	if details != "" || isWhatsAppCode(code) {
		if details == "" {
			details = strings.TrimSpace(e.Message)
		}
		e.ErrorData = &errorData{MessagingProduct: "whatsapp", Details: details}
	}
	// Meta answers most Graph errors with 400, rate limits included; injected faults of codes 1 and 2 use 500.
	return &result{status: http.StatusBadRequest, body: map[string]any{"error": e}, graphCode: code, traceID: e.FBTraceID}
}

type errOpt func(e *metaError, details *string)

func withMessage(m string) errOpt { return func(e *metaError, _ *string) { e.Message = m } }
func withSubcode(c int) errOpt    { return func(e *metaError, _ *string) { e.Subcode = c } }
func withDetails(d string) errOpt { return func(_ *metaError, det *string) { *det = d } }
func withType(t string) errOpt    { return func(e *metaError, _ *string) { e.Type = t } }
func withUser(title, msg string) errOpt {
	return func(e *metaError, _ *string) { e.UserTitle, e.UserMsg = title, msg }
}

// unsupported is Meta's answer for an object that does not exist or that the token may not reach: Meta does
// not tell the two apart, and neither does the simulator.
func (s *Server) unsupported(method, id string) *result {
	return s.gerr(100, withSubcode(33), withType("GraphMethodException"), withMessage(fmt.Sprintf(
		"Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, "+
			"or does not support this operation. Please read the Graph API documentation at "+
			"https://developers.facebook.com/docs/graph-api", strings.ToLower(method), id)))
}

// invalidParam is error 100 with a reason, worded like Meta's "(#100) Param ..." messages.
func (s *Server) invalidParam(reason string, whatsapp bool) *result {
	opts := []errOpt{withMessage("(#100) " + reason)}
	if whatsapp {
		opts = append(opts, withDetails(reason))
	}
	return s.gerr(100, opts...)
}
