// Package stephandlers holds the logic of the onboarding workflow's Lambda handlers: one method per step
// (subscribe_webhooks, share_credit_line, register_phone, send_test_message) and the bookkeeping the workflow
// needs (skip a step, record a failure, complete). Each step reads the record first and is safe to run twice:
// the second run finds the work done and causes no second side effect at Meta.
//
// A step method returns exactly one of the domain's step failure types (onboarding.TransientError,
// ThrottledError, WaitFixedError, PermanentError), unwrapped, so that Lambda reports the Go type name as the
// error name and the state machine's Retry and Catch rules match it.
package stephandlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// GraphAPI is the part of the Graph API client the steps use.
type GraphAPI interface {
	ListSubscribedApps(ctx context.Context, in *graph.ListSubscribedAppsInput, optFns ...func(*graph.Options)) (*graph.ListSubscribedAppsOutput, error)
	SubscribeApp(ctx context.Context, in *graph.SubscribeAppInput, optFns ...func(*graph.Options)) error
	AssignUser(ctx context.Context, in *graph.AssignUserInput, optFns ...func(*graph.Options)) error
	ShareCreditLine(ctx context.Context, in *graph.ShareCreditLineInput, optFns ...func(*graph.Options)) (*graph.ShareCreditLineOutput, error)
	GetAllocationConfig(ctx context.Context, in *graph.GetAllocationConfigInput, optFns ...func(*graph.Options)) (*graph.AllocationConfig, error)
	ListCreditAllocations(ctx context.Context, in *graph.ListCreditAllocationsInput, optFns ...func(*graph.Options)) ([]graph.AllocationConfig, error)
	GetWABA(ctx context.Context, in *graph.GetWABAInput, optFns ...func(*graph.Options)) (*graph.WABA, error)
	GetPhoneNumber(ctx context.Context, in *graph.GetPhoneNumberInput, optFns ...func(*graph.Options)) (*graph.PhoneNumber, error)
	RegisterPhone(ctx context.Context, in *graph.RegisterPhoneInput, optFns ...func(*graph.Options)) error
	SendTextMessage(ctx context.Context, in *graph.SendTextMessageInput, optFns ...func(*graph.Options)) (*graph.SendMessageOutput, error)
	RevokeCreditLine(ctx context.Context, in *graph.RevokeCreditLineInput, optFns ...func(*graph.Options)) error
	SMBAppData(ctx context.Context, in *graph.SMBAppDataInput, optFns ...func(*graph.Options)) (*graph.SMBAppDataOutput, error)
}

// Config is the non-secret stage configuration the steps need (read from the environment in main).
type Config struct {
	// WebhookOverrideURL, when set, is the per-WABA callback override set after subscribing.
	WebhookOverrideURL string
	// TestMessageBody is the reply sent to the tester (at most 4096 characters).
	TestMessageBody string
	// RegisterCallLimit caps the register calls one onboarding makes, below Meta's 10 per number per 72 h,
	// so that automatic retries never exhaust the number's budget.
	RegisterCallLimit int
}

// DefaultTestMessageBody is the reply to the tester's message (Meta's own example text).
const DefaultTestMessageBody = "Message received, loud and clear!"

// RegisterBlockDuration is how long Meta blocks registration after error 133016.
const RegisterBlockDuration = 72 * time.Hour

// Service runs the steps. Build it once per cold start with New and share it.
type Service struct {
	store onboarding.Store
	vault onboarding.Vault
	graph GraphAPI
	// waits and correlator serve AwaitWebhook only.
	waits      Waits
	correlator Correlator
	// publisher receives the onboarding's terminal status changes (RecordOutcome); nil publishes nothing.
	publisher partnerevents.Publisher
	config    Config
	clock     onboarding.Clock
	log       *slog.Logger
}

// Options are the optional settings of New.
type Options struct {
	Config Config
	// Publisher receives the onboarding's terminal status changes (RecordOutcome); nil publishes nothing.
	Publisher partnerevents.Publisher
	// Clock is time.Now when nil.
	Clock onboarding.Clock
	// Logger discards when nil.
	Logger *slog.Logger
}

// New returns the steps' service over the record store, the vault and the Graph API client. waits keeps
// the task tokens of AwaitWebhook, and correlator asks the webhook worker to correlate them; a service that
// never runs AwaitWebhook (every function but await_webhook) may pass a nil correlator.
func New(store onboarding.Store, vault onboarding.Vault, graph GraphAPI, waits Waits, correlator Correlator, opts Options) *Service {
	return &Service{
		store: store, vault: vault, graph: graph, waits: waits, correlator: correlator,
		publisher: opts.Publisher, config: opts.Config, clock: opts.Clock, log: logging.OrDiscard(opts.Logger),
	}
}

// Input is the payload the workflow passes to a step.
type Input struct {
	OnboardingID string `json:"onboarding_id"`
}

// Output is what a step returns to the workflow: small, ids and outcome only.
type Output struct {
	OnboardingID string                `json:"onboarding_id"`
	Step         onboarding.StepName   `json:"step"`
	Status       onboarding.StepStatus `json:"status"`
	Note         string                `json:"note,omitempty"`
	// MessageID is the test reply's id (send_test_message only).
	MessageID string `json:"message_id,omitempty"`
	// WaitSeconds is how long the workflow waits before trying the step again (record_outcome's wait action).
	WaitSeconds int `json:"wait_seconds,omitempty"`
}

func (s *Service) now() time.Time { return s.clock.Now() }

// outcome is what a step body decides: done (SUCCEEDED), skipped with a reason, or still running (the step
// continues in a later state of the workflow, as send_test_message does while it waits for webhooks).
type outcome struct {
	status    onboarding.StepStatus
	note      string
	messageID string
}

func succeeded(note string) outcome { return outcome{status: onboarding.StepSucceeded, note: note} }
func skipped(reason string) outcome { return outcome{status: onboarding.StepSkipped, note: reason} }

// stepRun gives a step body the record and a way to persist progress between its side effects.
type stepRun struct {
	s    *Service
	name onboarding.StepName
	rec  *onboarding.Record
}

// save applies mutate to the freshest record and writes it, re-reading on a concurrent update.
func (r *stepRun) save(ctx context.Context, mutate func(*onboarding.Record) error) error {
	rec, err := r.s.update(ctx, r.rec.ID, mutate)
	if err != nil {
		return err
	}
	r.rec = rec
	return nil
}

// update applies mutate to the freshest record and writes it (onboarding.Mutate). errSkipWrite from mutate
// means nothing to write: the record as read is returned with errSkipWrite.
func (s *Service) update(ctx context.Context, id string, mutate func(*onboarding.Record) error) (*onboarding.Record, error) {
	rec, err := onboarding.Mutate(ctx, s.store, id, mutate)
	switch {
	case errors.Is(err, onboarding.ErrVersionConflict):
		return nil, transient(onboarding.CodeConcurrentUpdate, "the onboarding record kept changing under concurrent updates")
	case errors.Is(err, onboarding.ErrNoChange):
		return rec, errSkipWrite
	}
	return rec, err
}

// run is the frame of every step: read the record, return early when the step is done, mark it RUNNING,
// run the body, record the outcome or the error, and return a typed step failure.
//
// joinRunning lets a step continue an attempt that an earlier state of the workflow started (send_test_message
// is started by the wait for the tester's message) instead of counting a new attempt.
func (s *Service) run(ctx context.Context, in Input, name onboarding.StepName, joinRunning bool, body func(context.Context, *stepRun) (outcome, error)) (Output, error) {
	ctx = logging.WithOnboardingID(ctx, in.OnboardingID)
	log := s.log
	if !onboarding.ValidID(in.OnboardingID) {
		return Output{}, permanent(onboarding.CodeInvalidField, "step input has no valid onboarding_id")
	}
	rec, err := s.store.Get(ctx, in.OnboardingID)
	if err != nil {
		return Output{}, s.fail(ctx, in.OnboardingID, name, classify(name, err))
	}
	if st := rec.Step(name); st != nil && st.Status.Done() {
		log.InfoContext(ctx, "step already done", "step", name, "step_status", st.Status)
		return Output{OnboardingID: rec.ID, Step: name, Status: st.Status, Note: st.Note, MessageID: rec.TestMessageID}, nil
	}
	if !rec.Status.Active() {
		return Output{}, permanent(onboarding.CodeNotRetryable, fmt.Sprintf("onboarding is %s; step %s will not run", rec.Status, name))
	}
	run := &stepRun{s: s, name: name, rec: rec}
	if err := run.save(ctx, func(r *onboarding.Record) error {
		// Join only an attempt that has not failed: a retry after a failed attempt is a new attempt.
		if st := r.Step(name); joinRunning && st != nil && st.Status == onboarding.StepRunning && st.Error == nil && r.Status.Active() {
			return nil
		}
		return r.StartStep(name, s.now())
	}); err != nil {
		return Output{}, s.fail(ctx, in.OnboardingID, name, classify(name, err))
	}
	started := time.Now()
	log.InfoContext(ctx, "step started", "step", name, "attempt", run.rec.Step(name).Attempts)

	res, err := body(ctx, run)
	if err != nil {
		f := classify(name, err)
		log.WarnContext(ctx, "step attempt failed", "step", name, "error_name", errorName(f), "error", f.Error(),
			"duration_ms", time.Since(started).Milliseconds())
		return Output{}, s.fail(ctx, rec.ID, name, f)
	}
	if res.status != onboarding.StepRunning {
		if err := run.save(ctx, func(r *onboarding.Record) error {
			if res.status == onboarding.StepSkipped {
				return r.SkipStep(name, res.note, s.now())
			}
			return r.SucceedStep(name, res.note, s.now())
		}); err != nil {
			return Output{}, s.fail(ctx, rec.ID, name, classify(name, err))
		}
	}
	log.InfoContext(ctx, "step finished", "step", name, "step_status", res.status, "note", res.note,
		"duration_ms", time.Since(started).Milliseconds())
	return Output{OnboardingID: rec.ID, Step: name, Status: res.status, Note: res.note, MessageID: res.messageID}, nil
}

// fail records the error of this attempt on the step (it stays RUNNING: the workflow decides whether to retry
// or to record the failure) and returns the typed failure. Recording is best effort: the error itself is what
// the workflow needs, and a later attempt or the failure handler will write the record.
func (s *Service) fail(ctx context.Context, id string, name onboarding.StepName, f onboarding.StepFailure) error {
	d := f.Detail()
	_, err := s.update(ctx, id, func(r *onboarding.Record) error {
		st := r.Step(name)
		if st == nil || st.Status.Done() || !r.Status.Active() {
			return errSkipWrite
		}
		switch d.Code {
		case onboarding.CodeReauthRequired:
			r.ReauthRequired = true
		case onboarding.CodeRegisterBlocked:
			if r.RegisterRetryAfter == nil {
				t := s.now().Add(RegisterBlockDuration)
				r.RegisterRetryAfter = &t
			}
		}
		var wf *onboarding.WaitFixedError
		if errors.As(f, &wf) && wf.WaitSeconds > 0 {
			t := s.now().Add(time.Duration(wf.WaitSeconds) * time.Second)
			st.NextAttemptAt = &t
		}
		return r.NoteStepError(name, d, s.now())
	})
	if err != nil && !errors.Is(err, errSkipWrite) {
		s.log.ErrorContext(ctx, "recording step error failed", "step", name, "error", err.Error())
	}
	return f
}

// errSkipWrite tells update that there is nothing to write.
var errSkipWrite = onboarding.ErrNoChange

// businessToken returns the customer's business token for the record's WABA.
func (s *Service) businessToken(ctx context.Context, rec *onboarding.Record) (onboarding.Secret, error) {
	sec, err := s.vault.WABASecret(ctx, rec.WABAID)
	if errors.Is(err, onboarding.ErrNotFound) || (err == nil && sec.BusinessToken.IsZero()) {
		return onboarding.Secret{}, permanent(onboarding.CodeMissingSecret,
			"no business token is stored for WABA "+rec.WABAID+"; the customer must complete Embedded Signup again")
	}
	if err != nil {
		return onboarding.Secret{}, fmt.Errorf("reading the business token of WABA %s: %w", rec.WABAID, err)
	}
	return sec.BusinessToken, nil
}

func (s *Service) appConfig(ctx context.Context) (onboarding.AppConfig, error) {
	cfg, err := s.vault.AppConfig(ctx)
	if err != nil {
		return onboarding.AppConfig{}, fmt.Errorf("reading the stage configuration: %w", err)
	}
	return cfg, nil
}
