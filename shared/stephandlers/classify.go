package stephandlers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// permanent returns a PermanentError with the code and message.
func permanent(code, message string) *onboarding.PermanentError {
	return &onboarding.PermanentError{StepError: onboarding.StepError{Code: code, Message: message}}
}

// transient returns a TransientError with the code and message.
func transient(code, message string) *onboarding.TransientError {
	return &onboarding.TransientError{StepError: onboarding.StepError{Code: code, Message: message}}
}

// classify turns any error of a step into one of the four typed step failures, keeping Meta's code, subcode
// and fbtrace_id, and writing a message an operator can act on. Errors already typed pass through.
func classify(step onboarding.StepName, err error) onboarding.StepFailure {
	if f, ok := errors.AsType[onboarding.StepFailure](err); ok {
		return f
	}
	if ge, ok := graph.AsError(err); ok {
		return classifyGraph(step, ge)
	}
	var active *onboarding.ActiveOnboardingError
	switch {
	case errors.As(err, &active):
		return permanent(onboarding.CodeOnboardingInProgress, "another onboarding for this WABA and phone number is running: "+active.ExistingID)
	case errors.Is(err, onboarding.ErrNotFound):
		return permanent(onboarding.CodeNotFound, "the onboarding record was not found")
	case errors.Is(err, onboarding.ErrVersionConflict):
		return transient(onboarding.CodeConcurrentUpdate, "the onboarding record changed concurrently")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return transient(onboarding.CodeStepTimeout, "the step ran out of time: "+err.Error())
	}
	var inv *onboarding.InvalidTransitionError
	if errors.As(err, &inv) {
		return permanent(onboarding.CodeNotRetryable, inv.Error())
	}
	// Store, vault and other dependency errors: AWS throttling and outages are worth retrying. Their messages
	// name resources and operations, never secret values.
	return transient(onboarding.CodeDependency, err.Error())
}

// graphPermanent maps the Graph error codes that need a specific action to their step code and the hint
// added to Meta's message.
var graphPermanent = map[int]struct{ code, hint string }{
	graph.CodeTokenInvalid:         {onboarding.CodeReauthRequired, ". The customer's business token expired or was revoked: the customer must complete Embedded Signup again."},
	graph.CodeRegisterBlocked:      {onboarding.CodeRegisterBlocked, ". Meta blocks registration of this number for 72 hours after too many register calls; retry after register_retry_after."},
	graph.CodeRegisterPINMismatch:  {onboarding.CodePINMismatch, ". The number already has a different two-step verification PIN: pass that PIN as `pin` in a new signup, or reset two-step verification in WhatsApp Manager, then retry."},
	graph.CodePhoneNotVerified:     {onboarding.CodePhoneNotVerified, ". The number's ownership is not verified: POST /onboardings/{id}/retry resumes from verify_phone, which waits for the customer's code."},
	graph.CodeReengagementRequired: {onboarding.CodeOutsideWindow, ". The tester must send a message to the business number first (it opens the 24-hour window)."},
}

// classifyGraph maps a Graph API error to its step failure class with an actionable message.
func classifyGraph(step onboarding.StepName, ge *graph.Error) onboarding.StepFailure {
	d := onboarding.StepError{
		GraphCode: ge.Code, GraphSubcode: ge.Subcode, FBTraceID: ge.FBTraceID,
		Message: fmt.Sprintf("Meta answered %s with: %s", ge.Call, graphMessage(ge)),
	}
	if p, ok := graphPermanent[ge.Code]; ok {
		d.Code = p.code
		d.Message += p.hint
		return &onboarding.PermanentError{StepError: d}
	}
	switch ge.Class {
	case graph.ClassTransient:
		d.Code = onboarding.CodeGraphTransient
		return &onboarding.TransientError{StepError: d}
	case graph.ClassThrottled:
		d.Code = onboarding.CodeGraphThrottled
		return &onboarding.ThrottledError{StepError: d}
	case graph.ClassWaitFixed:
		d.Code = onboarding.CodeGraphWaitFixed
		wait, _ := graph.RetryAfter(ge)
		return &onboarding.WaitFixedError{StepError: d, WaitSeconds: int((wait + time.Second - 1) / time.Second)}
	}
	d.Code = onboarding.CodeGraphPermanent
	d.Message += permanentHint(step, ge)
	return &onboarding.PermanentError{StepError: d}
}

func graphMessage(ge *graph.Error) string {
	switch {
	case ge.Code != 0 && ge.Message != "" && strings.HasPrefix(ge.Message, "(#"):
		return ge.Message // Meta's messages usually carry their code already: "(#100) Invalid parameter"
	case ge.Code != 0 && ge.Message != "":
		return fmt.Sprintf("(#%d) %s", ge.Code, ge.Message)
	case ge.Code != 0:
		return fmt.Sprintf("error code %d", ge.Code)
	case ge.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d %s", ge.HTTPStatus, ge.Message)
	}
	return ge.Message
}

// permanentHint adds what an operator should check for a permanent error of a step.
func permanentHint(step onboarding.StepName, ge *graph.Error) string {
	switch {
	case ge.Code >= 200 && ge.Code <= 299, ge.Code == 10:
		return ". The token lacks a permission: check that the app has whatsapp_business_management and whatsapp_business_messaging and that the system user is assigned to the WABA."
	case step == onboarding.StepShareCreditLine:
		return ". Check the credit line id, the currency and that the system user is assigned to the WABA."
	case step == onboarding.StepRegisterPhone:
		return ". Check the phone number in WhatsApp Manager."
	}
	return "."
}

// errorName is the name Lambda reports for an error: its Go type name.
func errorName(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
