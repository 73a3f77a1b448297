package graph

import (
	"errors"
	"fmt"
	"strings"
)

// Class is how an error is handled: transient, throttled, wait-fixed or permanent, matching the error
// names the workflow's Retry and Catch use.
type Class int

// Error classes.
const (
	// ClassTransient: retry soon with backoff and jitter.
	ClassTransient Class = iota + 1
	// ClassThrottled: rate limited; retry with a longer backoff.
	ClassThrottled
	// ClassWaitFixed: Meta asks for a fixed wait before the next try.
	ClassWaitFixed
	// ClassPermanent: retrying cannot help.
	ClassPermanent
)

var classNames = [...]string{ClassTransient: "transient", ClassThrottled: "throttled", ClassWaitFixed: "wait_fixed",
	ClassPermanent: "permanent"}

func (c Class) String() string {
	if c < ClassTransient || c > ClassPermanent {
		return "unknown"
	}
	return classNames[c]
}

// Graph error codes with a meaning of their own to the onboarding steps.
const (
	CodeInvalidParameter     = 100    // also "already assigned" and "override on unsubscribed WABA"
	CodeTokenInvalid         = 190    // access token expired or revoked
	CodeReengagementRequired = 131047 // more than 24 hours since the customer last replied
	CodeRegisterPINMismatch  = 133005 // two-step verification PIN mismatch
	CodeRegisterBlocked      = 133016 // too many register/deregister calls: blocked for 72 hours
	CodeRegisterDeleting     = 133015 // number being deleted: wait 5 minutes
	CodeTwoStepTooManyTries  = 133008
	CodeTwoStepTooFast       = 133009
)

var (
	transientCodes = map[int]bool{1: true, 2: true, 131000: true, 131016: true, 131057: true, 133004: true}
	throttledCodes = map[int]bool{4: true, 17: true, 341: true, 80007: true, 130429: true, 131048: true, 131056: true}
	// waitFixedSeconds maps a wait-fixed code to the wait Meta asks for, in seconds.
	waitFixedSeconds = map[int]int{133015: 300, 133008: 300, 133009: 60}
)

// Classify returns the class of a Graph error code. Meta's HTTP status is consulted only when Meta sent no
// code (a 5xx without an error envelope is transient). Unknown codes are permanent: an operator looks at them.
func Classify(code, httpStatus int) Class {
	switch {
	case transientCodes[code]:
		return ClassTransient
	case throttledCodes[code]:
		return ClassThrottled
	case waitFixedSeconds[code] > 0:
		return ClassWaitFixed
	case code == 0 && (httpStatus >= 500 || httpStatus == 429):
		return ClassTransient
	}
	return ClassPermanent
}

// WaitSeconds returns the fixed wait Meta asks for after a wait-fixed error code, or 0.
func WaitSeconds(code int) int { return waitFixedSeconds[code] }

// Error is a failed Graph call: Meta's error envelope, or a transport failure (HTTPStatus 0). Its message
// never contains a URL query, a token, a code, a PIN or a secret.
type Error struct {
	// Call is the operation (CallOAuth, CallRegister, ...).
	Call string
	// HTTPStatus is the response status, 0 when no response arrived.
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
	FBTraceID  string
	Class      Class
	// Timeout is set when the call timed out: Meta may or may not have acted on it.
	Timeout bool
	// Sent is false only when the request certainly never reached the server (for example a refused
	// connection); a non-idempotent call is safe to repeat only then.
	Sent bool
	// UserTitle and UserMessage are Meta's error_user_title and error_user_msg, when present.
	UserTitle   string
	UserMessage string
	// Details is Meta's error_data.details (WhatsApp error codes carry one).
	Details string
	// MalformedResponse is set when Meta answered 2xx but the body could not be read as the expected JSON:
	// Meta most likely acted on the request.
	MalformedResponse bool

	// cause is context.Canceled or context.DeadlineExceeded when the context ended the call, so that
	// errors.Is works; it is never an error whose text could hold a URL.
	cause error
}

// Unwrap returns context.Canceled or context.DeadlineExceeded when the context ended the call, else nil.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	// head is Meta's code (or the HTTP status) before the message.
	var head string
	switch {
	case e.Code != 0:
		head = fmt.Sprintf("code %d", e.Code)
		if e.Subcode != 0 {
			head += fmt.Sprintf(" subcode %d", e.Subcode)
		}
		if e.Type != "" {
			head += " (" + e.Type + ")"
		}
	case e.HTTPStatus != 0:
		head = fmt.Sprintf("HTTP %d", e.HTTPStatus)
	}
	s := "graph " + e.Call + ": " + head
	if head != "" && e.Message != "" {
		s += ": "
	}
	s += e.Message
	if e.FBTraceID != "" {
		s += " fbtrace_id=" + e.FBTraceID
	}
	return s
}

// Ambiguous reports whether Meta may have acted on the request although the call failed (a timeout, a lost
// connection after sending, or a 5xx). A non-idempotent call must be re-checked before it is repeated.
func (e *Error) Ambiguous() bool {
	return e.MalformedResponse || (e.HTTPStatus == 0 && e.Sent) || e.HTTPStatus >= 500
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) { return errors.AsType[*Error](err) }

// IsAlreadyAssigned reports whether err is Meta's answer to assigning a user who already has the WABA
// (error 100 saying "already assigned"): the assignment the caller wanted exists, so callers usually treat
// it as success. AssignUser returns the error unchanged so that the caller decides.
func IsAlreadyAssigned(err error) bool {
	ge, ok := AsError(err)
	if !ok || ge.Code != CodeInvalidParameter {
		return false
	}
	for _, s := range []string{ge.Message, ge.UserTitle, ge.UserMessage, ge.Details} {
		if strings.Contains(strings.ToLower(s), "already assigned") {
			return true
		}
	}
	return false
}

// IsTimeout reports whether err is a Graph call that timed out (Meta may or may not have acted).
func IsTimeout(err error) bool {
	ge, ok := AsError(err)
	return ok && ge.Timeout
}
