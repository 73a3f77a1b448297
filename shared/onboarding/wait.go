package onboarding

// WaitKind is what a .waitForTaskToken state of the workflow waits for: the await_webhook function stores
// the wait's task token under its kind, and the webhook worker resumes it when the webhook arrives. Stores
// keep the kind as its string (Wait.Kind).
type WaitKind string

// Wait kinds.
const (
	// WaitInboundMessage waits for the tester's message to the business number.
	WaitInboundMessage WaitKind = "inbound_message"
	// WaitMessageStatus waits for the status of the test reply.
	WaitMessageStatus WaitKind = "message_status"
	// WaitPhoneVerification waits for the customer's phone verification code: the API's phone-verification
	// route resumes it once Meta accepted the code.
	WaitPhoneVerification WaitKind = "phone_verification"
)

// Valid reports whether k is one of the wait kinds.
func (k WaitKind) Valid() bool {
	return k == WaitInboundMessage || k == WaitMessageStatus || k == WaitPhoneVerification
}
