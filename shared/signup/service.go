// Package signup is the application service behind the HTTP API: it finishes the synchronous part of an
// onboarding (exchange the 30-second code, verify the grant, store the token and PIN, create the record,
// start the workflow), reads onboardings, and resumes failed ones.
package signup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// GraphAPI is the part of the Graph API client the signup uses.
type GraphAPI interface {
	ExchangeCode(ctx context.Context, in *graph.ExchangeCodeInput, optFns ...func(*graph.Options)) (*graph.ExchangeCodeOutput, error)
	DebugToken(ctx context.Context, in *graph.DebugTokenInput, optFns ...func(*graph.Options)) (*graph.DebugTokenOutput, error)
	ListPhoneNumbers(ctx context.Context, in *graph.ListPhoneNumbersInput, optFns ...func(*graph.Options)) (*graph.ListPhoneNumbersOutput, error)
}

// Config is the non-secret stage configuration of the signup.
type Config struct {
	// DefaultCurrency invoices the shared credit line when the signup names no currency.
	DefaultCurrency string
	// InboundTimeout bounds the wait for the tester's message; StatusTimeout the wait for the reply's status.
	InboundTimeout time.Duration
	StatusTimeout  time.Duration
	// PhoneVerificationTimeout bounds the wait for the customer's phone verification code.
	PhoneVerificationTimeout time.Duration
	// GraphRetryBudget bounds the in-process retries of the exchange and debug_token (the code lives 30 s and
	// the partner's frontend is waiting).
	GraphRetryBudget time.Duration
}

// Defaults of Config.
const (
	DefaultInboundTimeout = 24 * time.Hour
	DefaultStatusTimeout  = time.Hour
	// DefaultPhoneVerificationTimeout is how long an onboarding waits for the verification code.
	DefaultPhoneVerificationTimeout = 7 * 24 * time.Hour
	DefaultGraphRetryBudget         = 5 * time.Second
)

// Required scopes of the business token.
var requiredScopes = []string{"whatsapp_business_management", "whatsapp_business_messaging"}

// Service implements the signup, status and retry operations. Build it with New.
type Service struct {
	store    onboarding.Store
	vault    onboarding.Vault
	graph    GraphAPI
	workflow onboarding.Workflow
	// publisher receives RUNNING status changes (created, resumed); nil publishes nothing.
	publisher partnerevents.Publisher
	config    Config
	clock     onboarding.Clock
	log       *slog.Logger
	// phoneGraph, waits and isTaskGone serve the phone verification routes.
	phoneGraph PhoneGraphAPI
	waits      WaitStore
	isTaskGone func(error) bool
}

// Options are the optional settings of New.
type Options struct {
	Config Config
	// Publisher receives RUNNING status changes (created, resumed); nil publishes nothing.
	Publisher partnerevents.Publisher
	// Clock is time.Now when nil.
	Clock onboarding.Clock
	// Logger discards when nil.
	Logger *slog.Logger
	// PhoneGraph and Waits serve the phone verification routes (nil: those routes fail with an internal
	// error): the Graph calls request_code, verify_code and the phone number read, and the workflow's
	// pending task tokens.
	PhoneGraph PhoneGraphAPI
	Waits      WaitStore
	// IsTaskGone recognises the Workflow's error for a task token that is no longer waiting.
	IsTaskGone func(error) bool
}

// New returns the signup service over the record store, the vault, the Graph API client and the workflow
// that starts (and resumes) onboardings.
func New(store onboarding.Store, vault onboarding.Vault, graph GraphAPI, workflow onboarding.Workflow, opts Options) *Service {
	return &Service{
		store: store, vault: vault, graph: graph, workflow: workflow,
		publisher: opts.Publisher, config: opts.Config, clock: opts.Clock, log: logging.OrDiscard(opts.Logger),
		phoneGraph: opts.PhoneGraph, waits: opts.Waits, isTaskGone: opts.IsTaskGone,
	}
}

// Request is a validated signup request.
type Request struct {
	Code onboarding.Secret
	// WABAID is the session event's waba_id; empty when it had none (the grant then names the WABA).
	WABAID string
	// WABAIDs are the session event's waba_ids of a multi-WABA signup: one onboarding each.
	WABAIDs []string
	// PhoneNumberID is empty when the session event had none (the WABA's numbers then decide).
	PhoneNumberID string
	BusinessID    string
	Event         onboarding.Event
	PIN           onboarding.Secret
	Currency      string
	TestRecipient string
	// CustomerRef is the authenticated caller (the bearer token's subject) when partner authentication is
	// on; the record keeps it, and only that caller sees the record.
	CustomerRef string
	// TestMessage asks for the end-to-end test message (TestRecipient alone asks for it too).
	TestMessage bool
	// DataLocalizationRegion is passed to register (empty: no local storage).
	DataLocalizationRegion string
}

// ExchangeError: Meta refused the code (invalid, expired or already used). The frontend must restart the
// Embedded Signup flow to get a new code.
type ExchangeError struct{ Reason string }

func (e *ExchangeError) Error() string { return e.Reason }

// GrantError: the business token cannot reach what the browser claimed.
type GrantError struct {
	Field  string
	Reason string
}

func (e *GrantError) Error() string { return e.Reason }

// UnavailableError: a dependency of ours (the vault or the store) failed after the code was exchanged or
// while reading the configuration. The code may be spent, so the frontend restarts Embedded Signup.
type UnavailableError struct {
	Reason string
	Err    error
}

func (e *UnavailableError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// UpstreamError: Meta did not answer usefully within the request's budget.
type UpstreamError struct{ Reason string }

func (e *UpstreamError) Error() string { return e.Reason }

func (s *Service) now() time.Time { return s.clock.Now() }

// signupRetry makes the exchange and debug_token retry transient and throttled Graph errors in-process,
// within a budget that fits the code's 30-second life. The client never retries an exchange that timed out.
func (s *Service) signupRetry(o *graph.Options) {
	o.Retry.RetryGraphErrors = true
	o.Retry.Budget = positiveOr(s.config.GraphRetryBudget, DefaultGraphRetryBudget)
}

// positiveOr returns d, or def when d is not positive (an unset Config duration).
func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Signup finishes the synchronous part of an onboarding and starts its workflow. It returns the new record
// (RUNNING, or FAILED when the workflow could not be started: POST /onboardings/{id}/retry resumes it). A
// multi-WABA signup starts one onboarding per WABA; Signup returns the first, SignupAll all of them.
func (s *Service) Signup(ctx context.Context, req Request) (*onboarding.Record, error) {
	recs, err := s.SignupAll(ctx, req)
	if err != nil {
		return nil, err
	}
	return recs[0], nil
}

// target is one WABA of a signup, with the phone number resolved for it.
type target struct {
	id, waba, phone string
	// display is the phone number's display_phone_number, as the WABA's numbers list it.
	display string
	// ambiguous counts the WABA's numbers when the signup named none and several exist.
	ambiguous int
}

// SignupAll finishes the synchronous part of a signup: the code is exchanged and the grant checked once,
// then one onboarding per WABA is created and started, in the order of the request's WABAs. Ids the session
// event left out are resolved from the grant: the WABA when the token names exactly one, the phone number
// when the WABA has exactly one (none: the phone steps are skipped; several: the onboarding is created
// FAILED with phone_number_ambiguous, and a retry that names the number resumes it).
func (s *Service) SignupAll(ctx context.Context, req Request) ([]*onboarding.Record, error) {
	log := s.log
	log.InfoContext(ctx, "signup received", "waba_id", req.WABAID, "waba_ids", req.WABAIDs, "phone_number_id", req.PhoneNumberID, "event", req.Event)

	cfg, err := s.vault.AppConfig(ctx)
	if err != nil {
		return nil, &UnavailableError{Reason: "the stage configuration could not be read; the code was not used: try again", Err: err}
	}

	exch, err := s.graph.ExchangeCode(ctx, &graph.ExchangeCodeInput{AppID: cfg.AppID, AppSecret: cfg.AppSecret, Code: req.Code}, s.signupRetry)
	if err != nil {
		return nil, exchangeFailure(err)
	}
	token := exch.AccessToken
	log.InfoContext(ctx, "code exchanged")

	targets, expiresAt, err := s.verifyGrant(ctx, cfg, token, req)
	if err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "grant verified", "onboardings", len(targets))

	currency := req.Currency
	if currency == "" {
		currency = s.config.DefaultCurrency
	}
	recs := make([]*onboarding.Record, 0, len(targets))
	for _, t := range targets {
		rec, err := s.create(ctx, cfg, req, t, token, expiresAt, currency)
		if err != nil {
			if len(recs) == 0 {
				return nil, err
			}
			// The code is spent and earlier WABAs are onboarding: report those that were started.
			log.ErrorContext(ctx, "creating an onboarding of a multi-WABA signup failed", "waba_id", t.waba, "error", err.Error())
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// create creates the record of one target (taking the WABA+phone guard: a running onboarding is a 409 and
// nothing is written), then stores its token and PIN and starts its workflow.
//
// A signup proves control before it learns or changes anything: the code is exchanged and the grant
// checked first, so a 409 names the running onboarding only to a caller who controls the WABA. The record
// is created before the token and PIN are stored, so that of two racing signups only the winner (the one
// whose Create took the guard) writes them. The price of creating first is a record that exists before its
// secrets: if they cannot be stored, the record is ended FAILED (AbortSignup), which releases the guard and
// tells the partner to restart Embedded Signup, since the code is spent.
func (s *Service) create(ctx context.Context, cfg onboarding.AppConfig, req Request, t target, token onboarding.Secret,
	expiresAt time.Time, currency string) (*onboarding.Record, error) {
	id := t.id
	ctx = logging.WithOnboardingID(ctx, id)
	log := s.log
	in := onboarding.NewRecordInput{
		ID: id, WABAID: t.waba, PhoneNumberID: t.phone, BusinessID: req.BusinessID,
		CustomerRef: req.CustomerRef, Event: req.Event, Currency: currency, TestRecipient: req.TestRecipient,
		DisplayPhoneNumber: t.display, DataLocalizationRegion: req.DataLocalizationRegion, Now: s.now(),
	}
	// The test message needs a business number: a signup whose WABA has none runs no test (an ambiguous one
	// keeps the request for the retry that names its number).
	if (req.TestMessage || req.TestRecipient != "") && (t.phone != "" || t.ambiguous > 0) {
		in.TestMessage, in.TestPhrase = true, onboarding.NewTestPhrase()
	}
	rec := onboarding.NewRecord(in)
	rec.Executions = 1
	if t.ambiguous > 0 {
		rec.FailPhoneAmbiguous(t.ambiguous, s.now())
	}
	if err := s.store.Create(ctx, rec); err != nil {
		var active *onboarding.ActiveOnboardingError
		if errors.As(err, &active) {
			log.InfoContext(ctx, "signup refused: an onboarding is running for this WABA and phone", "existing_onboarding_id", active.ExistingID)
			return nil, fmt.Errorf("creating onboarding %s: %w", id, err)
		}
		return nil, &UnavailableError{Reason: "the onboarding could not be saved; restart Embedded Signup", Err: err}
	}
	log.InfoContext(ctx, "onboarding created", "waba_id", t.waba, "phone_number_id", t.phone)

	// This signup holds the WABA+phone guard now: its token and PIN are the ones the workflow will use. An
	// ambiguous record holds no guard (it is not active); its token serves the retry that names the number.
	if err := s.vault.PutBusinessToken(ctx, t.waba, token, expiresAt, id); err != nil {
		return nil, s.abortSignup(ctx, rec.ID, "the business token could not be stored; restart Embedded Signup", err)
	}
	if t.ambiguous > 0 {
		return rec, nil
	}
	if t.phone != "" && !req.Event.Coexistence() {
		if err := s.storePIN(ctx, t.waba, t.phone, req.PIN, id); err != nil {
			return nil, s.abortSignup(ctx, rec.ID, "the two-step verification PIN could not be stored; restart Embedded Signup", err)
		}
	}

	if err := s.start(ctx, rec, cfg, ""); err != nil {
		return s.recordStartFailure(ctx, rec.ID, onboarding.StepSubscribeWebhooks, err)
	}
	s.publishRunning(ctx, rec)
	return rec, nil
}

// abortCleanupTimeout bounds the write that ends an aborted signup's record, which runs even when the
// request's context has ended: a record left RUNNING without a workflow would hold the WABA+phone guard.
const abortCleanupTimeout = 5 * time.Second

// abortSignup ends the record of a signup whose secrets could not be stored (AbortSignup: FAILED, not
// retryable, guard released) and returns the 503 that tells the partner to restart Embedded Signup.
func (s *Service) abortSignup(ctx context.Context, id, reason string, cause error) error {
	log := s.log
	log.ErrorContext(ctx, "signup aborted after the record was created", "error", cause.Error())
	detail := onboarding.StepError{Code: onboarding.CodeDependency, Message: reason}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortCleanupTimeout)
	defer cancel()
	if _, err := onboarding.Mutate(cctx, s.store, id, func(r *onboarding.Record) error { return r.AbortSignup(detail, s.now()) }); err != nil {
		log.ErrorContext(ctx, "ending the aborted signup's record failed: it holds the WABA+phone guard until an operator ends it", "error", err.Error())
		cause = errors.Join(cause, fmt.Errorf("ending onboarding %s: %w", id, err))
	}
	return &UnavailableError{Reason: reason, Err: cause}
}

// publishRunning publishes that the onboarding runs. A failure is logged, not returned: the code is spent
// and the onboarding runs whatever the event bus says, and its terminal status is published by the workflow.
func (s *Service) publishRunning(ctx context.Context, rec *onboarding.Record) {
	if s.publisher == nil {
		return
	}
	ev := partnerevents.StatusChanged(rec.ID, rec.WABAID, rec.PhoneNumberID, string(rec.Status), rec.UpdatedAt)
	ev.ID += fmt.Sprintf(":%d", rec.Executions)
	if err := s.publisher.Publish(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "publishing the status change failed", "error", err.Error())
	}
}

// exchangeFailure maps an exchange error: Meta refusing the code is the client's problem (400); Meta not
// answering is ours (502), and after a timeout the code may be spent.
func exchangeFailure(err error) error {
	ge, ok := graph.AsError(err)
	if !ok {
		return fmt.Errorf("exchanging the code: %w", err)
	}
	switch {
	case ge.Timeout:
		return &UpstreamError{Reason: "Meta did not answer the code exchange in time; the code may be spent: restart Embedded Signup"}
	case strings.Contains(strings.ToLower(ge.Message), "client secret") || strings.Contains(strings.ToLower(ge.Message), "validating application"):
		// Meta answers a wrong app id or secret with code 1 or 101: a configuration error of the stage, not
		// of the customer's code.
		return &UpstreamError{Reason: "Meta refused the app credentials (" + graphDetail(ge) + "): check app_id and app_secret in the stage secret"}
	case ge.Class == graph.ClassPermanent:
		return &ExchangeError{Reason: "Meta refused the code (" + graphDetail(ge) + "): it is invalid, expired or already used; restart Embedded Signup to get a new one"}
	}
	return &UpstreamError{Reason: "Meta could not exchange the code (" + graphDetail(ge) + "); restart Embedded Signup"}
}

func graphDetail(ge *graph.Error) string {
	s := fmt.Sprintf("graph code %d", ge.Code)
	if ge.Code == 0 {
		s = fmt.Sprintf("HTTP %d", ge.HTTPStatus)
	}
	if ge.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", ge.Subcode)
	}
	if ge.FBTraceID != "" {
		s += ", fbtrace_id " + ge.FBTraceID
	}
	return s
}

// verifyGrant proves the token is valid, belongs to our app, carries both WhatsApp scopes for every WABA of
// the signup, and reaches the claimed phone number. It resolves the ids the session event left out and
// returns one target per WABA with the token's expiry (zero: never).
func (s *Service) verifyGrant(ctx context.Context, cfg onboarding.AppConfig, token onboarding.Secret, req Request) ([]target, time.Time, error) {
	appToken := onboarding.NewSecret(cfg.AppID + "|" + cfg.AppSecret.Reveal())
	dbg, err := s.graph.DebugToken(ctx, &graph.DebugTokenInput{InputToken: token, AccessToken: appToken}, s.signupRetry)
	if err != nil {
		return nil, time.Time{}, upstream("debug_token", err)
	}
	switch {
	case !dbg.IsValid:
		return nil, time.Time{}, &GrantError{Field: "code", Reason: "Meta reports the exchanged token as invalid"}
	case dbg.AppID != cfg.AppID:
		return nil, time.Time{}, &GrantError{Field: "code", Reason: "the token was issued to another app"}
	}
	// targets[scope] are the WABAs a granular scope is limited to; nil: every WABA the user granted.
	targets := map[string][]string{}
	for _, scope := range requiredScopes {
		i := slices.IndexFunc(dbg.GranularScopes, func(g graph.GranularScope) bool { return g.Scope == scope })
		if i < 0 || !slices.Contains(dbg.Scopes, scope) {
			return nil, time.Time{}, &GrantError{Field: "code", Reason: "the token lacks the " + scope + " permission"}
		}
		targets[scope] = dbg.GranularScopes[i].TargetIDs
	}
	wabas, err := signupWABAs(req, targets[requiredScopes[0]])
	if err != nil {
		return nil, time.Time{}, err
	}
	for _, waba := range wabas {
		for _, scope := range requiredScopes {
			// target_ids limit a granular scope to those objects; absent, it covers every object the user
			// granted, and reachability is proved by reading the WABA's phone numbers below.
			if t := targets[scope]; len(t) > 0 && !slices.Contains(t, waba) {
				return nil, time.Time{}, &GrantError{Field: "waba_id", Reason: "the token's " + scope + " permission does not cover WABA " + waba}
			}
		}
	}
	out := make([]target, 0, len(wabas))
	phoneFound := false
	for _, waba := range wabas {
		phones, err := s.graph.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: waba, AccessToken: token}, s.signupRetry)
		if err != nil {
			if ge, ok := graph.AsError(err); ok && ge.Class == graph.ClassPermanent {
				return nil, time.Time{}, &GrantError{Field: "waba_id", Reason: "the token cannot read WABA " + waba + " (" + graphDetail(ge) + ")"}
			}
			return nil, time.Time{}, upstream("phone_numbers", err)
		}
		t := target{id: onboarding.NewID(), waba: waba}
		index := func(id string) int {
			return slices.IndexFunc(phones.PhoneNumbers, func(p graph.PhoneNumber) bool { return p.ID == id })
		}
		switch n := len(phones.PhoneNumbers); {
		case !req.Event.HasPhone():
			// FINISH_ONLY_WABA: the customer shared no number; the partner adds one later.
		case req.PhoneNumberID != "" && index(req.PhoneNumberID) >= 0:
			t.phone, phoneFound = req.PhoneNumberID, true
		case req.PhoneNumberID != "" && len(wabas) == 1:
			return nil, time.Time{}, &GrantError{Field: "phone_number_id", Reason: "phone number " + req.PhoneNumberID + " is not a number of WABA " + waba}
		case n == 1:
			t.phone = phones.PhoneNumbers[0].ID
		case n > 1:
			t.ambiguous = n
		}
		if i := index(t.phone); t.phone != "" && i >= 0 {
			t.display = phones.PhoneNumbers[i].DisplayPhoneNumber
		}
		out = append(out, t)
	}
	if req.PhoneNumberID != "" && !phoneFound && len(wabas) > 1 {
		return nil, time.Time{}, &GrantError{Field: "phone_number_id", Reason: "phone number " + req.PhoneNumberID + " is not a number of the signup's WABAs"}
	}
	return out, dbg.ExpiresAt, nil
}

// signupWABAs lists the WABAs of a signup: the request's waba_ids (with waba_id first when both are given),
// its waba_id, or, when it names none, the one WABA the grant is limited to.
func signupWABAs(req Request, granted []string) ([]string, error) {
	var wabas []string
	if req.WABAID != "" {
		wabas = append(wabas, req.WABAID)
	}
	for _, w := range req.WABAIDs {
		if !slices.Contains(wabas, w) {
			wabas = append(wabas, w)
		}
	}
	if len(wabas) > 0 {
		return wabas, nil
	}
	if len(granted) == 1 {
		return granted, nil
	}
	reason := "waba_id is required: the grant does not name the WABA"
	if len(granted) > 1 {
		reason = fmt.Sprintf("waba_id is required: the grant names %d WABAs", len(granted))
	}
	return nil, &MissingIDError{Field: "waba_id", Reason: reason}
}

// MissingIDError: the signup names no id and the grant does not settle it.
type MissingIDError struct {
	Field  string
	Reason string
}

func (e *MissingIDError) Error() string { return e.Reason }

func upstream(call string, err error) error {
	if ge, ok := graph.AsError(err); ok {
		return &UpstreamError{Reason: "Meta could not answer " + call + " (" + graphDetail(ge) + ")"}
	}
	return fmt.Errorf("%s: %w", call, err)
}

// storePIN stores the PIN before any register call can happen: the partner's PIN replaces a stored one
// (the partner knows the number's two-step verification PIN, for example after a pin_mismatch failure);
// without one, a stored PIN is kept (Meta may know it from an earlier registration) and otherwise a random
// one is generated.
func (s *Service) storePIN(ctx context.Context, wabaID, phoneNumberID string, pin onboarding.Secret, id string) error {
	if !pin.IsZero() {
		if err := s.vault.SetPIN(ctx, wabaID, phoneNumberID, pin, id); err != nil {
			return fmt.Errorf("storing the two-step verification PIN: %w", err)
		}
		s.log.InfoContext(ctx, "two-step verification PIN stored", "pin_source", "partner")
		return nil
	}
	if _, err := s.vault.EnsurePIN(ctx, wabaID, phoneNumberID, onboarding.NewSecret(onboarding.NewPIN()), id); err != nil {
		return fmt.Errorf("storing the two-step verification PIN: %w", err)
	}
	s.log.InfoContext(ctx, "two-step verification PIN ready", "pin_source", "generated or kept")
	return nil
}

// start starts the n-th workflow execution of the record.
func (s *Service) start(ctx context.Context, rec *onboarding.Record, cfg onboarding.AppConfig, resumeFrom onboarding.StepName) error {
	inbound := positiveOr(s.config.InboundTimeout, DefaultInboundTimeout)
	status := positiveOr(s.config.StatusTimeout, DefaultStatusTimeout)
	verify := positiveOr(s.config.PhoneVerificationTimeout, DefaultPhoneVerificationTimeout)
	name := onboarding.ExecutionName(rec.ID, rec.Executions)
	arn, err := s.workflow.Start(ctx, onboarding.StartInput{
		OnboardingID: rec.ID,
		Name:         name,
		Input: onboarding.WorkflowInput{
			OnboardingID: rec.ID, WABAID: rec.WABAID, PhoneNumberID: rec.PhoneNumberID, Event: rec.Event,
			ShareCreditLine: cfg.CreditLineID != "", ResumeFrom: resumeFrom, TestMessage: rec.WantsTest() && rec.PhoneNumberID != "",
			InboundTimeoutSeconds: int(inbound / time.Second), StatusTimeoutSeconds: int(status / time.Second),
			PhoneVerificationTimeoutSeconds: int(verify / time.Second),
		},
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "workflow started", "execution", arn, "resume_from", resumeFrom)
	return nil
}

// recordStartFailure marks the onboarding FAILED on the step the workflow should have started from, so that
// a retry resumes it, and returns the record.
func (s *Service) recordStartFailure(ctx context.Context, id string, step onboarding.StepName, startErr error) (*onboarding.Record, error) {
	s.log.ErrorContext(ctx, "starting the workflow failed", "error", startErr.Error())
	detail := onboarding.StepError{
		Code:    onboarding.CodeWorkflowStart,
		Message: "the workflow could not be started: " + startErr.Error() + "; POST /onboardings/" + id + "/retry resumes it",
	}
	rec, err := onboarding.Mutate(ctx, s.store, id, func(r *onboarding.Record) error { return r.Fail(step, detail, s.now()) })
	if err != nil {
		return nil, fmt.Errorf("recording the failed workflow start: %w", err)
	}
	return rec, nil
}

// Get returns an onboarding record. With partner authentication (a caller in ctx, auth.FromContext),
// another customer's record is onboarding.ErrNotFound, as if it did not exist.
func (s *Service) Get(ctx context.Context, id string) (*onboarding.Record, error) {
	rec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(ctx, rec) {
		return nil, fmt.Errorf("onboarding %s belongs to another customer: %w", id, onboarding.ErrNotFound)
	}
	return rec, nil
}

// visible reports whether the caller ctx carries may see rec: its own records only. Without a caller
// (partner authentication off, where the HTTP API lets no request through without one when it is on) the
// onboarding id is the capability and every record is visible.
func visible(ctx context.Context, rec *onboarding.Record) bool {
	c, ok := auth.FromContext(ctx)
	return !ok || rec.CustomerRef == c.Subject
}

// List returns a page of the customer's onboardings, newest first, only those in status when it is set
// (Store.ListByCustomer). An empty customerRef lists nothing: records without one have no owner to list
// them.
func (s *Service) List(ctx context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
	if customerRef == "" {
		return []*onboarding.Record{}, "", nil
	}
	return s.store.ListByCustomer(ctx, customerRef, status, limit, cursor)
}

// Retry resumes a FAILED onboarding from its failed step with a new workflow execution.
func (s *Service) Retry(ctx context.Context, id string) (*onboarding.Record, error) {
	return s.RetryWith(ctx, id, RetryOptions{})
}

// RetryOptions are the optional inputs of a retry.
type RetryOptions struct {
	// PhoneNumberID names the phone number of an onboarding that failed with phone_number_ambiguous.
	PhoneNumberID string
}

// RetryWith resumes a FAILED onboarding like Retry; with opts.PhoneNumberID it resumes one that failed with
// phone_number_ambiguous on that number, after checking with the business token that the WABA holds it.
func (s *Service) RetryWith(ctx context.Context, id string, opts RetryOptions) (*onboarding.Record, error) {
	ctx = logging.WithOnboardingID(ctx, id)
	rec, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var from onboarding.StepName
	if opts.PhoneNumberID != "" {
		if err := s.choosePhone(ctx, rec, opts.PhoneNumberID); err != nil {
			return nil, err
		}
	} else if from, err = rec.Resume(s.now()); err != nil {
		return nil, err
	}
	rec.Executions++
	if err := s.store.Update(ctx, rec); err != nil {
		if errors.Is(err, onboarding.ErrVersionConflict) {
			return nil, &onboarding.NotRetryableError{Code: onboarding.CodeNotRetryable, Reason: "the onboarding changed while the retry was being recorded (another retry?); read it again"}
		}
		return nil, err
	}
	cfg, err := s.vault.AppConfig(ctx)
	if err != nil {
		return s.recordStartFailure(ctx, id, from, fmt.Errorf("reading the stage configuration: %w", err))
	}
	if err := s.start(ctx, rec, cfg, from); err != nil {
		return s.recordStartFailure(ctx, id, from, err)
	}
	s.log.InfoContext(ctx, "onboarding resumed", "resume_from", from, "execution_number", rec.Executions)
	s.publishRunning(ctx, rec)
	return rec, nil
}

// choosePhone checks that the WABA holds the phone number a retry named, stores its PIN and marks the record
// to start over with it. Nothing is written when the check fails.
func (s *Service) choosePhone(ctx context.Context, rec *onboarding.Record, phoneNumberID string) error {
	if !rec.PhoneAmbiguous() {
		return rec.ChoosePhone(phoneNumberID, s.now()) // the refusal, typed
	}
	sec, err := s.vault.WABASecret(ctx, rec.WABAID)
	if err != nil {
		return &UnavailableError{Reason: "the business token could not be read", Err: err}
	}
	phones, err := s.graph.ListPhoneNumbers(ctx, &graph.ListPhoneNumbersInput{WABAID: rec.WABAID, AccessToken: sec.BusinessToken}, s.signupRetry)
	if err != nil {
		return upstream("phone_numbers", err)
	}
	i := slices.IndexFunc(phones.PhoneNumbers, func(p graph.PhoneNumber) bool { return p.ID == phoneNumberID })
	if i < 0 {
		return &GrantError{Field: "phone_number_id", Reason: "phone number " + phoneNumberID + " is not a number of WABA " + rec.WABAID}
	}
	rec.DisplayPhoneNumber = phones.PhoneNumbers[i].DisplayPhoneNumber
	if !rec.Event.Coexistence() {
		if err := s.storePIN(ctx, rec.WABAID, phoneNumberID, onboarding.Secret{}, rec.ID); err != nil {
			return &UnavailableError{Reason: "the two-step verification PIN could not be stored", Err: err}
		}
	}
	return rec.ChoosePhone(phoneNumberID, s.now())
}
