package onboarding

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes: every snake_case code the API or a step record can carry is declared here, in one place.
const (
	// Request errors (HTTP API).
	CodeInvalidJSON          = "invalid_json"
	CodeUnknownField         = "unknown_field"
	CodeMissingField         = "missing_field"
	CodeInvalidField         = "invalid_field"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeNotFound             = "not_found"
	CodeCodeExchangeFailed   = "code_exchange_failed"
	CodeGrantMismatch        = "grant_mismatch"
	CodeOnboardingInProgress = "onboarding_in_progress"
	CodeNotRetryable         = "not_retryable"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeUpstreamUnavailable  = "upstream_unavailable"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal_error"

	// Step errors (records and workflow).
	CodeGraphTransient     = "graph_transient"
	CodeGraphThrottled     = "graph_throttled"
	CodeGraphWaitFixed     = "graph_wait_required"
	CodeGraphPermanent     = "graph_permanent"
	CodeReauthRequired     = "reauth_required"
	CodeRegisterBlocked    = "register_blocked"
	CodePINMismatch        = "pin_mismatch"
	CodeCreditLineConflict = "credit_line_conflict"
	CodeSubscriptionCheck  = "subscription_check_failed"
	CodeOutsideWindow      = "outside_customer_service_window"
	CodeTestMessageTimeout = "test_message_timeout"
	CodeTestMessageFailed  = "test_message_failed"
	CodeStepTimeout        = "step_timeout"
	CodeStepCrashed        = "step_crashed"
	CodeWorkflowStart      = "workflow_start_failed"
	CodeConcurrentUpdate   = "concurrent_update"
	CodeDependency         = "dependency_unavailable"
	CodeMissingSecret      = "missing_secret"

	// Phone numbers and verification.
	CodePhoneNumberAmbiguous     = "phone_number_ambiguous"
	CodeVerificationCodeInvalid  = "verification_code_invalid"
	CodeVerificationRateLimited  = "verification_rate_limited"
	CodeNotAwaitingVerification  = "not_awaiting_phone_verification"
	CodePhoneVerificationTimeout = "phone_verification_timeout"
	CodePhoneNotVerified         = "phone_not_verified"
	CodeBusinessAppSyncWindow    = "business_app_sync_window_expired"
)

// Sentinel errors of the adapters.
var (
	// ErrNotFound: the record, secret or item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrVersionConflict: an optimistic-concurrency write lost to a concurrent writer; re-read and retry.
	ErrVersionConflict = errors.New("version conflict: the record changed since it was read")
	// ErrInvalidCursor: a list cursor that was not issued by the store for this listing.
	ErrInvalidCursor = errors.New("invalid cursor: pass the next_cursor of the previous page unchanged")
)

// ActiveOnboardingError reports that an onboarding for the same WABA and phone number is already running.
type ActiveOnboardingError struct{ ExistingID string }

func (e *ActiveOnboardingError) Error() string {
	return "an onboarding for this WABA and phone number is already running: " + e.ExistingID
}

// InvalidTransitionError reports a record change that the onboarding state machine does not allow.
type InvalidTransitionError struct {
	Step   StepName
	Reason string
}

func (e *InvalidTransitionError) Error() string {
	if e.Step != "" {
		return fmt.Sprintf("invalid transition of step %s: %s", e.Step, e.Reason)
	}
	return "invalid transition: " + e.Reason
}

// NotRetryableError refuses a retry request for an onboarding that cannot be resumed now.
type NotRetryableError struct {
	Code   string
	Reason string
}

func (e *NotRetryableError) Error() string { return e.Reason }

// ValidationError reports that a request field is missing or malformed. Field is empty when no single field is at fault.
type ValidationError struct {
	Code    string
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// The step failure classes. A step handler returns exactly one of these types, unwrapped, so that Lambda
// reports its Go type name as the error name ("TransientError", ...) and the state machine's Retry and Catch
// rules match it. Each carries the StepError recorded on the step.

// TransientError says to retry soon with backoff and jitter (Graph 1, 2, 131000, 131016, 131057, 133004, 5xx,
// network errors, concurrent updates, throttled AWS dependencies).
type TransientError struct{ StepError }

// ThrottledError says Meta rate limited the call; retry with a longer backoff (Graph 4, 17, 341, 80007, 130429, 131048, 131056).
type ThrottledError struct{ StepError }

// WaitFixedError says Meta asks for a fixed wait before the next try (Graph 133015: 5 minutes; 133008, 133009).
type WaitFixedError struct {
	StepError
	// WaitSeconds is how long to wait before trying again.
	WaitSeconds int `json:"wait_seconds"`
}

// PermanentError says retrying cannot help; the step fails with the error recorded.
type PermanentError struct{ StepError }

func (e *TransientError) Error() string     { return e.StepError.String() }
func (e *ThrottledError) Error() string     { return e.StepError.String() }
func (e *WaitFixedError) Error() string     { return e.StepError.String() }
func (e *PermanentError) Error() string     { return e.StepError.String() }
func (e *TransientError) Detail() StepError { return e.StepError }
func (e *ThrottledError) Detail() StepError { return e.StepError }
func (e *WaitFixedError) Detail() StepError { return e.StepError }
func (e *PermanentError) Detail() StepError { return e.StepError }

// Names of the step failure classes as the workflow definition's Retry and Catch rules spell them.
const (
	ErrorNameTransient = "TransientError"
	ErrorNameThrottled = "ThrottledError"
	ErrorNameWaitFixed = "WaitFixedError"
	ErrorNamePermanent = "PermanentError"
)

// String renders the error for logs and Lambda's errorMessage: code, message and Meta's identifiers.
func (e StepError) String() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.GraphCode != 0 {
		fmt.Fprintf(&b, " (graph code %d", e.GraphCode)
		if e.GraphSubcode != 0 {
			fmt.Fprintf(&b, ", subcode %d", e.GraphSubcode)
		}
		if e.FBTraceID != "" {
			fmt.Fprintf(&b, ", fbtrace_id %s", e.FBTraceID)
		}
		b.WriteString(")")
	}
	return b.String()
}

// StepFailure is implemented by the four step failure classes.
type StepFailure interface {
	error
	Detail() StepError
}
