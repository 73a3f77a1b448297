// Package onboarding is the domain of the WhatsApp Embedded Signup onboarding: the onboarding record, its
// steps and their state machine, the typed errors the workflow and the API tell apart, and the interfaces of
// the adapters (store, vault, workflow). It imports nothing outside the standard library.
package onboarding

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Status is the state of a whole onboarding.
type Status string

// Onboarding statuses, as the HTTP API reports them.
const (
	StatusRunning             Status = "RUNNING"
	StatusAwaitingTestMessage Status = "AWAITING_TEST_MESSAGE"
	// StatusAwaitingPhoneVerification: the number is not verified yet; the workflow waits for the customer's
	// verification code (POST /onboardings/{id}/phone-verification).
	StatusAwaitingPhoneVerification Status = "AWAITING_PHONE_VERIFICATION"
	StatusCompleted                 Status = "COMPLETED"
	StatusVerified                  Status = "VERIFIED"
	StatusFailed                    Status = "FAILED"
	StatusOffboarded                Status = "OFFBOARDED"
)

// Active reports whether an onboarding in this status is still being worked on by a workflow execution.
// At most one active onboarding may exist per WABA and phone number.
func (s Status) Active() bool {
	return s == StatusRunning || s == StatusAwaitingTestMessage || s == StatusAwaitingPhoneVerification
}

// Terminal reports whether no workflow execution will change an onboarding in this status again
// (a FAILED onboarding may still be resumed by an explicit retry).
func (s Status) Terminal() bool { return !s.Active() }

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusRunning, StatusAwaitingTestMessage, StatusAwaitingPhoneVerification, StatusCompleted, StatusVerified,
		StatusFailed, StatusOffboarded:
		return true
	}
	return false
}

// StepName names one onboarding step. The names are part of the HTTP contract and of the workflow definition.
type StepName string

// The onboarding steps, in order.
const (
	StepExchangeToken     StepName = "exchange_token"
	StepVerifyGrant       StepName = "verify_grant"
	StepSubscribeWebhooks StepName = "subscribe_webhooks"
	StepSyncBusinessApp   StepName = "sync_business_app"
	StepShareCreditLine   StepName = "share_credit_line"
	StepVerifyPhone       StepName = "verify_phone"
	StepRegisterPhone     StepName = "register_phone"
	StepSendTestMessage   StepName = "send_test_message"
)

// StepOrder is the order in which steps run and are reported.
var StepOrder = []StepName{
	StepExchangeToken, StepVerifyGrant, StepSubscribeWebhooks, StepSyncBusinessApp, StepShareCreditLine, StepVerifyPhone,
	StepRegisterPhone, StepSendTestMessage,
}

// Valid reports whether n is one of the defined steps.
func (n StepName) Valid() bool { return slices.Contains(StepOrder, n) }

// StepStatus is the state of one step.
type StepStatus string

// Step statuses.
const (
	StepPending   StepStatus = "PENDING"
	StepRunning   StepStatus = "RUNNING"
	StepSucceeded StepStatus = "SUCCEEDED"
	StepSkipped   StepStatus = "SKIPPED"
	StepFailed    StepStatus = "FAILED"
)

// Done reports whether the step needs no more work.
func (s StepStatus) Done() bool { return s == StepSucceeded || s == StepSkipped }

// Event is the Embedded Signup finish type reported by the popup's session-info message.
type Event string

// The Embedded Signup finish events this service onboards.
const (
	// EventFinish: the customer shared a WABA and a business phone number.
	EventFinish Event = "FINISH"
	// EventFinishOnlyWABA: the customer shared a WABA but no phone number; registration is skipped.
	EventFinishOnlyWABA Event = "FINISH_ONLY_WABA"
	// EventFinishBusinessApp: a WhatsApp Business app number onboarded for coexistence; it is already
	// registered by the app, so registration is skipped.
	EventFinishBusinessApp Event = "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"
	// EventFinishOBOMigration: the customer completed an on-behalf-of migration flow. Meta documents no step
	// that differs from FINISH, so it gets the same steps.
	EventFinishOBOMigration Event = "FINISH_OBO_MIGRATION"
	// EventFinishGrantOnly: the customer completed a grant-only API access flow (app-only install). Meta
	// documents no step that differs from FINISH (its example even carries a phone number id), so it gets
	// the same steps.
	EventFinishGrantOnly Event = "FINISH_GRANT_ONLY_API_ACCESS"
)

// Events lists the accepted finish events.
var Events = []Event{EventFinish, EventFinishOnlyWABA, EventFinishBusinessApp, EventFinishOBOMigration, EventFinishGrantOnly}

// Valid reports whether e is an accepted finish event.
func (e Event) Valid() bool { return slices.Contains(Events, e) }

// HasPhone reports whether a signup with this event may carry a business phone number.
func (e Event) HasPhone() bool { return e != EventFinishOnlyWABA }

// Coexistence reports whether the event onboards a WhatsApp Business app number: it is registered by the
// app already, and its contacts and history are synchronised once (sync_business_app).
func (e Event) Coexistence() bool { return e == EventFinishBusinessApp }

// Currencies are the currencies a shared credit line can be invoiced in.
var Currencies = []string{"AUD", "EUR", "GBP", "IDR", "INR", "USD"}

// DataLocalizationRegions are the values Meta's register endpoint accepts for data_localization_region
// (local storage of message data at rest): APAC AU, ID, IN, JP, SG, KR; Europe DE, CH, GB; LATAM BR; MEA BH,
// ZA, AE; NORAM CA.
var DataLocalizationRegions = []string{"AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "AE", "CA"}

// ValidDataLocalizationRegion reports whether r is one of DataLocalizationRegions.
func ValidDataLocalizationRegion(r string) bool { return slices.Contains(DataLocalizationRegions, r) }

// ValidCurrency reports whether c is one of Currencies.
func ValidCurrency(c string) bool { return slices.Contains(Currencies, c) }

var (
	graphIDPattern = regexp.MustCompile(`^[0-9]{1,20}$`)
	pinPattern     = regexp.MustCompile(`^[0-9]{6}$`)
	e164Pattern    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{22,64}$`)
)

// ValidGraphID reports whether s is a Graph API object id safe to put in a URL path: 1 to 20 ASCII digits.
func ValidGraphID(s string) bool { return graphIDPattern.MatchString(s) }

// ValidPIN reports whether s is a six-digit two-step verification PIN.
func ValidPIN(s string) bool { return pinPattern.MatchString(s) }

// ValidE164 reports whether s is a phone number in E.164 form (+ and 7 to 15 digits).
func ValidE164(s string) bool { return e164Pattern.MatchString(s) }

// ValidID reports whether s has the form of an onboarding id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// NewID returns a random onboarding id: 128 bits from the CSPRNG, URL-safe base64 without padding (22 chars).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("onboarding: reading random bytes: %v", err)) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewPIN returns a random six-digit PIN from the CSPRNG, uniformly distributed.
func NewPIN() string {
	const limit = 1_000_000
	// Rejection sampling over 24-bit values keeps the distribution uniform.
	for {
		var b [3]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("onboarding: reading random bytes: %v", err))
		}
		v := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if v < (1<<24)/limit*limit {
			return fmt.Sprintf("%06d", v%limit)
		}
	}
}

// StepError is the error recorded on a failed step and shown by the API. It never holds a secret.
type StepError struct {
	// Code is a snake_case error code from codes.go.
	Code string `json:"code"`
	// GraphCode and GraphSubcode are Meta's error.code and error.error_subcode, when Meta answered.
	GraphCode    int `json:"graph_code,omitempty"`
	GraphSubcode int `json:"graph_subcode,omitempty"`
	// Message says what happened and what an operator can do about it.
	Message string `json:"message"`
	// FBTraceID is Meta's trace id, to quote to Meta support.
	FBTraceID string `json:"fbtrace_id,omitempty"`
}

// Step is the state of one onboarding step.
type Step struct {
	Name       StepName   `json:"name"`
	Status     StepStatus `json:"status"`
	Attempts   int        `json:"attempts"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      *StepError `json:"error,omitempty"`
	// Note explains a skip or a notable success (for example "already registered for Cloud API").
	Note string `json:"note,omitempty"`
	// NextAttemptAt is when the workflow tries the step again after Meta asked for a wait (register's 133008,
	// 133009, 133015): the wait Meta's error text names, bounded, or the code's fixed default.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// Record is one onboarding: what the customer granted and how far the steps got.
type Record struct {
	ID            string `json:"id"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`
	BusinessID    string `json:"business_id,omitempty"`
	Event         Event  `json:"event"`
	Status        Status `json:"status"`
	Steps         []Step `json:"steps"`
	// Currency is the invoicing currency for the shared credit line.
	Currency string `json:"currency,omitempty"`
	// TestRecipient is the tester's WhatsApp number (E.164) when the partner asked for an end-to-end test.
	TestRecipient string `json:"test_recipient,omitempty"`
	// CustomerRef is the partner's customer who started the onboarding (the bearer token's subject) when
	// partner authentication is on; other customers cannot see the record. Empty without authentication.
	CustomerRef string `json:"customer_ref,omitempty"`
	// TestMessage says the partner asked for the end-to-end test message round trip (with or without a
	// TestRecipient: without one, the tester proves themselves by sending TestPhrase).
	TestMessage bool `json:"test_message,omitempty"`
	// TestPhrase is the text a tester sends to the business number to be recognised as the tester
	// ("TEST" and 6 random digits). The API shows it while the onboarding is active.
	TestPhrase string `json:"test_phrase,omitempty"`
	// DisplayPhoneNumber is the business number as Meta displays it: where the tester sends the phrase.
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	// DataLocalizationRegion, when set, registers the number with local storage of message data in that
	// region (one of DataLocalizationRegions). Meta allows changing it only by deregistering and registering.
	DataLocalizationRegion string `json:"data_localization_region,omitempty"`
	// AllocationConfigID is the credit line allocation returned by whatsapp_credit_sharing_and_attach.
	AllocationConfigID string `json:"allocation_config_id,omitempty"`
	// ReauthRequired is set when Meta refused the business token (error 190): the customer must go through
	// Embedded Signup again; retrying cannot help.
	ReauthRequired bool `json:"reauth_required,omitempty"`
	// RegisterRetryAfter is when registration may be tried again after Meta blocked it (error 133016).
	RegisterRetryAfter *time.Time `json:"register_retry_after,omitempty"`
	// Progress holds facts steps record between their own side effects so that a re-run skips what was done.
	Progress Progress `json:"-"`
	// TestMessageID is the id (wamid) of the reply sent by send_test_message.
	TestMessageID string `json:"test_message_id,omitempty"`
	// TestMessageStatus is the furthest delivery status seen for the test reply (sent, delivered, read).
	TestMessageStatus string `json:"test_message_status,omitempty"`
	// Executions counts workflow executions started for this onboarding (1 + retries); it names the next one.
	Executions int       `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Version is the optimistic-concurrency version; the store increments it on every successful write.
	Version int64 `json:"-"`
}

// Progress records the side effects a step has already caused, so a re-run (after a Lambda timeout or a
// retry) reads them instead of calling Meta again. It is internal bookkeeping, not part of the API.
type Progress struct {
	SubscribedApp       bool       `json:"subscribed_app,omitempty"`
	OverrideSet         bool       `json:"override_set,omitempty"`
	SystemUserAssigned  bool       `json:"system_user_assigned,omitempty"`
	CreditAttachStarted *time.Time `json:"credit_attach_started,omitempty"`
	RegisterStarted     *time.Time `json:"register_started,omitempty"`
	// RegisterCalls counts register calls made for this onboarding: Meta allows 10 per number per 72 hours.
	RegisterCalls    int        `json:"register_calls,omitempty"`
	InboundMessageID string     `json:"inbound_message_id,omitempty"`
	TestSendStarted  *time.Time `json:"test_send_started,omitempty"`
	// TesterWAID and TesterUserID identify who sent the test message (wa_id, BSUID); the reply goes to the
	// wa_id, or to the BSUID when Meta sent no phone number.
	TesterWAID   string `json:"tester_wa_id,omitempty"`
	TesterUserID string `json:"tester_user_id,omitempty"`
	// TestFailureCode and TestFailureTitle are Meta's error of a failed status of the test reply.
	TestFailureCode  int    `json:"test_failure_code,omitempty"`
	TestFailureTitle string `json:"test_failure_title,omitempty"`
	// CreditRevoked and SecretDeleted record the offboarding's clean-up: the credit line allocation revoked,
	// the WABA's token and PINs deleted from the vault.
	CreditRevoked bool `json:"credit_revoked,omitempty"`
	SecretDeleted bool `json:"secret_deleted,omitempty"`
	// StateSyncStarted and HistorySyncStarted are set before each one-time smb_app_data call; StateSynced and
	// HistorySynced once Meta accepted it (or answered that it was done already). A started call without its
	// answer is checked, never blindly repeated.
	StateSyncStarted   *time.Time `json:"state_sync_started,omitempty"`
	StateSynced        bool       `json:"state_synced,omitempty"`
	HistorySyncStarted *time.Time `json:"history_sync_started,omitempty"`
	HistorySynced      bool       `json:"history_synced,omitempty"`
	// PhoneVerified is set once Meta accepted the verification code (verify_code).
	PhoneVerified bool `json:"phone_verified,omitempty"`
	// CodeRequestedAt is when the last verification code was requested; CodeRequests counts the requests.
	CodeRequestedAt *time.Time `json:"code_requested_at,omitempty"`
	CodeRequests    int        `json:"code_requests,omitempty"`
}

// NewRecordInput is what a validated, verified signup provides to create a record.
type NewRecordInput struct {
	ID            string
	WABAID        string
	PhoneNumberID string
	BusinessID    string
	CustomerRef   string
	Event         Event
	Currency      string
	TestRecipient string
	// TestMessage asks for the test message round trip; TestPhrase is then required (NewTestPhrase).
	TestMessage        bool
	TestPhrase         string
	DisplayPhoneNumber string
	// DataLocalizationRegion is passed to register (empty: no local storage).
	DataLocalizationRegion string
	Now                    time.Time
}

// NewRecord returns a RUNNING record whose exchange_token and verify_grant steps already succeeded (the signup
// request performs them synchronously) and whose workflow steps are PENDING.
func NewRecord(in NewRecordInput) *Record {
	now := in.Now.UTC()
	r := &Record{
		ID:                     in.ID,
		WABAID:                 in.WABAID,
		PhoneNumberID:          in.PhoneNumberID,
		BusinessID:             in.BusinessID,
		CustomerRef:            in.CustomerRef,
		Event:                  in.Event,
		Status:                 StatusRunning,
		Currency:               in.Currency,
		TestRecipient:          in.TestRecipient,
		TestMessage:            in.TestMessage,
		DisplayPhoneNumber:     in.DisplayPhoneNumber,
		TestPhrase:             in.TestPhrase,
		DataLocalizationRegion: in.DataLocalizationRegion,
		CreatedAt:              now,
		UpdatedAt:              now,
	}
	for _, name := range StepOrder {
		st := Step{Name: name, Status: StepPending}
		if name == StepExchangeToken || name == StepVerifyGrant {
			t := now
			st.Status, st.Attempts, st.StartedAt, st.FinishedAt = StepSucceeded, 1, &t, &t
		}
		r.Steps = append(r.Steps, st)
	}
	return r
}

// Clone returns a deep copy of r, so adapters never share mutable state with callers.
func (r *Record) Clone() *Record {
	c := *r
	c.Steps = make([]Step, len(r.Steps))
	for i, s := range r.Steps {
		s.StartedAt = cloneTime(s.StartedAt)
		s.FinishedAt = cloneTime(s.FinishedAt)
		s.NextAttemptAt = cloneTime(s.NextAttemptAt)
		if s.Error != nil {
			e := *s.Error
			s.Error = &e
		}
		c.Steps[i] = s
	}
	c.RegisterRetryAfter = cloneTime(r.RegisterRetryAfter)
	c.Progress.CreditAttachStarted = cloneTime(r.Progress.CreditAttachStarted)
	c.Progress.RegisterStarted = cloneTime(r.Progress.RegisterStarted)
	c.Progress.TestSendStarted = cloneTime(r.Progress.TestSendStarted)
	c.Progress.StateSyncStarted = cloneTime(r.Progress.StateSyncStarted)
	c.Progress.HistorySyncStarted = cloneTime(r.Progress.HistorySyncStarted)
	c.Progress.CodeRequestedAt = cloneTime(r.Progress.CodeRequestedAt)
	return &c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

// Validate reports whether r can be stored: a record needs an id and a waba_id (the store's keys and guard
// are derived from them). It accepts a nil r and reports it.
func (r *Record) Validate() error {
	switch {
	case r == nil:
		return errors.New("nil record")
	case r.ID == "":
		return errors.New("record has no id")
	case r.WABAID == "":
		return fmt.Errorf("record %s has no waba_id", r.ID)
	}
	return nil
}

// PhoneAssignable reports whether an update from old to r may set the phone number id: only a record that
// has none and is not active (an onboarding FAILED with phone_number_ambiguous, resumed by a retry that names
// the number) gets one. Every other change of the id is refused by the stores, since their guard and
// indexes derive from it.
func PhoneAssignable(old, r *Record) bool {
	return old.PhoneNumberID == "" && r.PhoneNumberID != "" && !old.Status.Active()
}

// Step returns the named step, or nil if the record has no such step.
func (r *Record) Step(name StepName) *Step {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// HasTestRecipient reports whether the partner named the tester's number.
func (r *Record) HasTestRecipient() bool { return r.TestRecipient != "" }

// WantsTest reports whether the partner asked for the end-to-end test message (records written before
// TestMessage existed asked for it by naming a TestRecipient).
func (r *Record) WantsTest() bool { return r.TestMessage || r.TestRecipient != "" }

// ForAPI returns the record as the API shows it: a copy whose TestPhrase is kept only while the onboarding is
// active, since it is of use only while the test waits for it.
func (r *Record) ForAPI() *Record {
	c := r.Clone()
	if !c.Status.Active() {
		c.TestPhrase = ""
	}
	return c
}

// NewTestPhrase returns a test phrase: "TEST" and 6 digits from the CSPRNG.
func NewTestPhrase() string { return "TEST" + NewPIN() }

var bsuidPattern = regexp.MustCompile(`^[A-Z]{2}\.[A-Za-z0-9]{1,128}$`)

// ValidBSUID reports whether s has the form of a business-scoped user id: an ISO 3166 alpha-2 country code,
// a period and up to 128 letters and digits (e.g. US.13491208655302741918; parent ids look like US.ENT...).
func ValidBSUID(s string) bool { return bsuidPattern.MatchString(s) }

func (r *Record) mustStep(name StepName) (*Step, error) {
	s := r.Step(name)
	if s == nil {
		return nil, &InvalidTransitionError{Step: name, Reason: "unknown step"}
	}
	return s, nil
}

// StartStep marks a step RUNNING and counts the attempt. Starting a step that is already done is an error the
// caller should have avoided by checking Step(name).Status.Done().
func (r *Record) StartStep(name StepName, now time.Time) error {
	s, err := r.mustStep(name)
	if err != nil {
		return err
	}
	if s.Status.Done() {
		return &InvalidTransitionError{Step: name, Reason: "step already " + string(s.Status)}
	}
	if !r.Status.Active() {
		return &InvalidTransitionError{Step: name, Reason: "onboarding is " + string(r.Status)}
	}
	now = now.UTC()
	if s.Status != StepRunning || s.StartedAt == nil {
		s.StartedAt = &now
	}
	s.Status = StepRunning
	s.Attempts++
	s.FinishedAt = nil
	r.UpdatedAt = now
	return nil
}

// NoteStepError records the error of an attempt that will be retried; the step stays RUNNING.
func (r *Record) NoteStepError(name StepName, e StepError, now time.Time) error {
	s, err := r.mustStep(name)
	if err != nil {
		return err
	}
	s.Error = &e
	r.UpdatedAt = now.UTC()
	return nil
}

// SucceedStep marks a step SUCCEEDED, clearing any error of earlier attempts.
func (r *Record) SucceedStep(name StepName, note string, now time.Time) error {
	return r.finishStep(name, StepSucceeded, note, now)
}

// SkipStep marks a step SKIPPED with the reason.
func (r *Record) SkipStep(name StepName, reason string, now time.Time) error {
	return r.finishStep(name, StepSkipped, reason, now)
}

func (r *Record) finishStep(name StepName, status StepStatus, note string, now time.Time) error {
	s, err := r.mustStep(name)
	if err != nil {
		return err
	}
	if s.Status.Done() {
		if s.Status == status {
			return nil // idempotent
		}
		return &InvalidTransitionError{Step: name, Reason: "step already " + string(s.Status)}
	}
	now = now.UTC()
	if s.StartedAt == nil {
		s.StartedAt = &now
	}
	s.Status, s.FinishedAt, s.Error, s.Note, s.NextAttemptAt = status, &now, nil, note, nil
	r.UpdatedAt = now
	return nil
}

// Fail marks the step FAILED with its error and the whole onboarding FAILED. Failing an onboarding that is
// already FAILED on the same step only updates the error. A finished onboarding cannot fail.
func (r *Record) Fail(name StepName, e StepError, now time.Time) error {
	s, err := r.mustStep(name)
	if err != nil {
		return err
	}
	if r.Status != StatusFailed && !r.Status.Active() {
		return &InvalidTransitionError{Step: name, Reason: "onboarding is " + string(r.Status)}
	}
	if s.Status.Done() {
		return &InvalidTransitionError{Step: name, Reason: "step already " + string(s.Status)}
	}
	now = now.UTC()
	if s.StartedAt == nil {
		s.StartedAt = &now
	}
	s.Status, s.FinishedAt, s.Error = StepFailed, &now, &e
	r.Status = StatusFailed
	r.UpdatedAt = now
	return nil
}

// AbortSignup ends an onboarding whose synchronous signup did not finish after its record was created (the
// business token or the PIN could not be stored): exchange_token is FAILED with e, the onboarding FAILED, and
// ReauthRequired set, because the code is spent and nothing a retry can do brings the credentials back; the
// customer completes Embedded Signup again. Leaving the active status releases the WABA+phone guard.
func (r *Record) AbortSignup(e StepError, now time.Time) error {
	if !r.Status.Active() {
		return &InvalidTransitionError{Step: StepExchangeToken, Reason: "onboarding is " + string(r.Status)}
	}
	s, err := r.mustStep(StepExchangeToken)
	if err != nil {
		return err
	}
	now = now.UTC()
	if s.StartedAt == nil {
		s.StartedAt = &now
	}
	s.Status, s.FinishedAt, s.Error = StepFailed, &now, &e
	r.Status, r.ReauthRequired, r.UpdatedAt = StatusFailed, true, now
	return nil
}

// SetStatus moves the onboarding to an active status (RUNNING, AWAITING_PHONE_VERIFICATION or
// AWAITING_TEST_MESSAGE) while its workflow runs.
func (r *Record) SetStatus(s Status, now time.Time) error {
	if !s.Active() || !r.Status.Active() {
		return &InvalidTransitionError{Reason: fmt.Sprintf("cannot move from %s to %s", r.Status, s)}
	}
	r.Status, r.UpdatedAt = s, now.UTC()
	return nil
}

// Complete ends the onboarding COMPLETED (or VERIFIED when the test message round trip was seen). Every
// workflow step must be done.
func (r *Record) Complete(verified bool, now time.Time) error {
	want := StatusCompleted
	if verified {
		want = StatusVerified
	}
	if r.Status == want {
		return nil // idempotent
	}
	if !r.Status.Active() {
		return &InvalidTransitionError{Reason: fmt.Sprintf("cannot complete an onboarding that is %s", r.Status)}
	}
	for _, s := range r.Steps {
		if !s.Status.Done() {
			return &InvalidTransitionError{Step: s.Name, Reason: "step is " + string(s.Status)}
		}
	}
	r.Status, r.UpdatedAt = want, now.UTC()
	return nil
}

// FailedStep returns the first FAILED step, or "" if none.
func (r *Record) FailedStep() StepName {
	for _, s := range r.Steps {
		if s.Status == StepFailed {
			return s.Name
		}
	}
	return ""
}

// Retryable says whether a FAILED onboarding may be resumed now, and if not, why (as a typed error).
func (r *Record) Retryable(now time.Time) error {
	if r.Status != StatusFailed {
		return &NotRetryableError{Code: CodeNotRetryable, Reason: fmt.Sprintf("onboarding is %s; only FAILED onboardings can be retried", r.Status)}
	}
	if r.ReauthRequired && r.FailedStep() == StepExchangeToken {
		return &NotRetryableError{Code: CodeReauthRequired, Reason: "the signup did not finish storing the customer's credentials; the customer must complete Embedded Signup again"}
	}
	if r.ReauthRequired {
		return &NotRetryableError{Code: CodeReauthRequired, Reason: "the customer's business token was refused by Meta; the customer must complete Embedded Signup again"}
	}
	if r.RegisterRetryAfter != nil && now.Before(*r.RegisterRetryAfter) {
		return &NotRetryableError{Code: CodeRegisterBlocked, Reason: "Meta blocks registration of this number until " + r.RegisterRetryAfter.UTC().Format(time.RFC3339)}
	}
	if r.FailedStep() == "" {
		return &NotRetryableError{Code: CodeNotRetryable, Reason: "no failed step to resume"}
	}
	return nil
}

// Resume moves a FAILED onboarding back to RUNNING, resets its failed step to PENDING (keeping its attempt
// count and last error for the record) and returns the step the workflow must resume from.
func (r *Record) Resume(now time.Time) (StepName, error) {
	if err := r.Retryable(now); err != nil {
		return "", err
	}
	if r.PhoneAmbiguous() {
		return "", &NotRetryableError{Code: CodePhoneNumberAmbiguous, Reason: "the WABA has several phone numbers: name one with {\"phone_number_id\": \"...\"} in the retry's body"}
	}
	name := r.FailedStep()
	s := r.Step(name)
	s.Status, s.FinishedAt = StepPending, nil
	if v := r.Step(StepVerifyPhone); name == StepRegisterPhone && s.Error != nil && s.Error.Code == CodePhoneNotVerified && v != nil {
		// Meta refused /register because the number is not verified: verify it first.
		v.Status, v.FinishedAt, v.Note = StepPending, nil, ""
		r.Progress.PhoneVerified = false
		name = StepVerifyPhone
	}
	r.Status = StatusRunning
	r.RegisterRetryAfter = nil
	r.UpdatedAt = now.UTC()
	return name, nil
}

// FailPhoneAmbiguous marks a new record FAILED on verify_grant: the signup named no phone number and the
// WABA has n of them, so a retry must name one (ChoosePhone).
func (r *Record) FailPhoneAmbiguous(n int, now time.Time) {
	now = now.UTC()
	s := r.Step(StepVerifyGrant)
	s.Status, s.FinishedAt = StepFailed, &now
	s.Error = &StepError{Code: CodePhoneNumberAmbiguous, Message: fmt.Sprintf(
		"the signup named no phone number and WABA %s has %d: POST /onboardings/%s/retry with {\"phone_number_id\": \"...\"} names the one to onboard", r.WABAID, n, r.ID)}
	r.Status, r.UpdatedAt = StatusFailed, now
}

// PhoneAmbiguous reports whether the onboarding waits for a retry that names its phone number.
func (r *Record) PhoneAmbiguous() bool {
	s := r.Step(StepVerifyGrant)
	return r.Status == StatusFailed && s != nil && s.Status == StepFailed && s.Error != nil && s.Error.Code == CodePhoneNumberAmbiguous
}

// ChoosePhone resumes an onboarding FAILED with phone_number_ambiguous with the phone number a retry named
// (already checked to be a number of the WABA): verify_grant succeeds and the workflow starts from its
// first step.
func (r *Record) ChoosePhone(phoneNumberID string, now time.Time) error {
	if !r.PhoneAmbiguous() {
		return &NotRetryableError{Code: CodeNotRetryable, Reason: "phone_number_id may only be given to a retry of an onboarding that failed with phone_number_ambiguous"}
	}
	now = now.UTC()
	s := r.Step(StepVerifyGrant)
	s.Status, s.FinishedAt, s.Error, s.Note = StepSucceeded, &now, nil, "phone number "+phoneNumberID+" named by the retry"
	r.PhoneNumberID, r.Status, r.UpdatedAt = phoneNumberID, StatusRunning, now
	return nil
}

// Offboard marks the onboarding OFFBOARDED (the partner was removed from the WABA). Idempotent.
func (r *Record) Offboard(now time.Time) {
	if r.Status == StatusOffboarded {
		return
	}
	r.Status, r.UpdatedAt = StatusOffboarded, now.UTC()
}

// ExecutionName returns the Step Functions execution name for the n-th execution of this onboarding
// (1-based). Names are deterministic so that a repeated StartExecution is idempotent.
func ExecutionName(id string, n int) string { return fmt.Sprintf("%s-%d", id, n) }
