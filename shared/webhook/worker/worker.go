// Package worker processes what the webhook intake accepted: it stores each event exactly once (insert-first
// dedupe with a processing lease), keeps message statuses monotonic, records partner events per WABA, marks
// offboarded WABAs, publishes partner events, and correlates the test-message round trip with the workflow's
// waits, resuming their task tokens. On AWS it runs behind the webhook queue; locally it runs inline.
//
// Processing is idempotent, so a redelivered event whose earlier processing died halfway is simply processed
// again; an event whose processing completed is skipped.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/webhook"
)

// Defaults of Processor.
const (
	// DefaultDedupeTTL keeps dedupe keys longer than Meta's 7 days of redeliveries.
	DefaultDedupeTTL = 8 * 24 * time.Hour
	// DefaultLease is how long a claim protects an event being processed from concurrent duplicates.
	DefaultLease = time.Minute
	// StatusTTL keeps message statuses for the monotonic check.
	StatusTTL = 30 * 24 * time.Hour
)

// ErrBusy reports that another worker is processing the same event right now; retry later (SQS redelivers).
var ErrBusy = errors.New("the event is being processed by another worker")

// TestMessageFailedError is the error name the status wait fails with when the test reply failed.
const TestMessageFailedError = "TestMessageFailed"

// Message is what travels on the webhook queue: a webhook event, or a request to correlate an onboarding
// (sent by the workflow's wait handler).
type Message struct {
	Event *webhook.Event `json:"event,omitempty"`
	// Correlate is an onboarding id whose waits should be checked against what already arrived.
	Correlate string `json:"correlate,omitempty"`
}

// Processor processes queue messages. Build it with New.
type Processor struct {
	store      onboarding.Store
	webhooks   onboarding.WebhookStore
	workflow   onboarding.Workflow
	publisher  partnerevents.Publisher
	clock      onboarding.Clock
	logger     *slog.Logger
	dedupeTTL  time.Duration
	lease      time.Duration
	isTaskGone func(error) bool
	offboarder Offboarder
}

// Options are the optional settings of New.
type Options struct {
	// Publisher receives the partner events; nil publishes nothing.
	Publisher partnerevents.Publisher
	// Clock is time.Now when nil.
	Clock onboarding.Clock
	// Logger discards when nil.
	Logger *slog.Logger
	// DedupeTTL and Lease default to DefaultDedupeTTL and DefaultLease when zero.
	DedupeTTL time.Duration
	Lease     time.Duration
	// IsTaskGone recognises the Workflow's error for a task token that is no longer waiting (already
	// resumed, timed out, execution ended): nothing is left to resume. Nil treats every error as a failure.
	IsTaskGone func(error) bool
	// Offboarder cleans up an offboarded onboarding (revokes the credit line, deletes its secrets); nil
	// cleans nothing up.
	Offboarder Offboarder
}

// Offboarder cleans up an OFFBOARDED onboarding; stephandlers.Service implements it. It must be idempotent.
type Offboarder interface {
	Offboard(ctx context.Context, onboardingID string) error
}

// New returns the processor over the record store, the webhook store (events, statuses, waits) and the
// workflow whose waits it resumes.
func New(store onboarding.Store, webhooks onboarding.WebhookStore, workflow onboarding.Workflow, opts Options) *Processor {
	return &Processor{
		store: store, webhooks: webhooks, workflow: workflow, publisher: opts.Publisher, clock: opts.Clock,
		logger: logging.OrDiscard(opts.Logger), dedupeTTL: opts.DedupeTTL, lease: opts.Lease, isTaskGone: opts.IsTaskGone,
		offboarder: opts.Offboarder,
	}
}

func (p *Processor) now() time.Time { return p.clock.Now() }

// Handle processes one queue message.
func (p *Processor) Handle(ctx context.Context, m Message) error {
	switch {
	case m.Event != nil:
		return p.Process(ctx, *m.Event)
	case m.Correlate != "":
		if !onboarding.ValidID(m.Correlate) {
			p.logger.WarnContext(ctx, "ignoring a correlation request with an invalid onboarding id")
			return nil
		}
		return p.Correlate(logging.WithOnboardingID(ctx, m.Correlate), m.Correlate)
	}
	p.logger.WarnContext(ctx, "ignoring an empty queue message")
	return nil
}

// Process stores and applies one webhook event exactly once.
func (p *Processor) Process(ctx context.Context, ev webhook.Event) error {
	ttl, lease := p.dedupeTTL, p.lease
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	if lease <= 0 {
		lease = DefaultLease
	}
	claim, err := p.webhooks.ClaimEvent(ctx, ev.Key, p.now(), lease, ttl)
	if err != nil {
		return fmt.Errorf("claiming event %s: %w", ev.Key, err)
	}
	switch claim {
	case onboarding.ClaimDone:
		p.logger.DebugContext(ctx, "duplicate webhook event skipped", "event_key", ev.Key)
		return nil
	case onboarding.ClaimBusy:
		return fmt.Errorf("event %s: %w", ev.Key, ErrBusy)
	}
	if err := p.apply(ctx, ev, claim == onboarding.ClaimRetry); err != nil {
		return fmt.Errorf("processing event %s: %w", ev.Key, err)
	}
	if err := p.webhooks.CompleteEvent(ctx, ev.Key, p.now(), ttl); err != nil {
		return fmt.Errorf("completing event %s: %w", ev.Key, err)
	}
	return nil
}

// apply applies an event. retry is set when an earlier processing of the same event started and did not
// complete: effects already made are found done, and the partner event is published again (at least once).
func (p *Processor) apply(ctx context.Context, ev webhook.Event, retry bool) error {
	switch ev.Kind {
	case webhook.KindInboundMessage:
		return p.inbound(ctx, ev)
	case webhook.KindMessageStatus:
		return p.status(ctx, ev, retry)
	case webhook.KindMessagingError:
		return p.publish(ctx, p.messageEvent(partnerevents.TypeMessagingError, ev, ""))
	case webhook.KindAccountUpdate:
		return p.accountUpdate(ctx, ev, retry)
	case webhook.KindOther:
		if webhook.IsBusinessAppField(ev.Field) {
			return p.businessApp(ctx, ev)
		}
	}
	p.logger.InfoContext(ctx, "webhook event of an unknown kind ignored", "field", ev.Field)
	return nil
}

func (p *Processor) publish(ctx context.Context, events ...partnerevents.Event) error {
	if p.publisher == nil {
		return nil
	}
	if err := p.publisher.Publish(ctx, events...); err != nil {
		return fmt.Errorf("publishing partner events: %w", err)
	}
	return nil
}

func (p *Processor) messageEvent(typ string, ev webhook.Event, onboardingID string) partnerevents.Event {
	e := partnerevents.Event{
		ID: ev.Key, Version: partnerevents.Version, Type: typ, Time: ev.Timestamp.UTC(), OnboardingID: onboardingID,
		WABAID: ev.WABAID, PhoneNumberID: ev.PhoneNumberID, Status: ev.Status, MessageID: ev.MessageID,
		From: ev.From, FromUserID: ev.FromUserID, RecipientID: ev.RecipientID, MessageType: ev.MessageType, Text: ev.Text,
		UserID: ev.FromUserID, ParentUserID: ev.ParentUserID, Username: ev.Username,
	}
	if ev.Kind == webhook.KindMessageStatus {
		e.UserID = ev.RecipientUserID
	}
	if e.Time.IsZero() {
		e.Time = p.now()
	}
	for _, er := range ev.Errors {
		e.Errors = append(e.Errors, partnerevents.Error{Code: er.Code, Title: er.Title, Message: er.Message, Details: er.Details})
	}
	return e
}

// onboardingForPhone returns the newest onboarding of a business phone number, or nil.
func (p *Processor) onboardingForPhone(ctx context.Context, phoneNumberID string) (*onboarding.Record, error) {
	if phoneNumberID == "" {
		return nil, nil
	}
	rec, err := p.store.FindByPhone(ctx, phoneNumberID)
	if errors.Is(err, onboarding.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding the onboarding of phone %s: %w", phoneNumberID, err)
	}
	return rec, nil
}

// inbound publishes the message and, when it is the tester's message to an onboarding under test, records it
// and resumes the wait for it.
func (p *Processor) inbound(ctx context.Context, ev webhook.Event) error {
	if isIdentityChange(ev) {
		return p.identityChange(ctx, ev)
	}
	rec, err := p.onboardingForPhone(ctx, ev.PhoneNumberID)
	if err != nil {
		return err
	}
	id := ""
	if rec != nil {
		id = rec.ID
		ctx = logging.WithOnboardingID(ctx, id)
	}
	// Resumed whenever the tester's message is processed, also when it was recorded before: an earlier
	// attempt may have recorded it and failed to resume (resuming is idempotent).
	if rec != nil && isTestMessage(rec, ev) {
		rec, err = p.update(ctx, rec.ID, func(r *onboarding.Record) error {
			if r.Progress.InboundMessageID != "" {
				return errNoWrite
			}
			r.Progress.InboundMessageID = ev.MessageID
			r.Progress.TesterWAID, r.Progress.TesterUserID = ev.From, ev.FromUserID
			r.UpdatedAt = p.now()
			return nil
		})
		if err != nil {
			return err
		}
		p.logger.InfoContext(ctx, "tester's message received", "message_id", rec.Progress.InboundMessageID)
		if err := p.resumeReady(ctx, rec); err != nil {
			return err
		}
	}
	if rec == nil {
		p.logger.InfoContext(ctx, "inbound message for a phone with no onboarding", "phone_number_id", ev.PhoneNumberID)
	}
	return p.publish(ctx, p.messageEvent(partnerevents.TypeMessageReceived, ev, id))
}

// isIdentityChange reports whether an inbound message is Meta's notice of a user's new phone number or
// business-scoped user id: a system message, not something the user wrote.
func isIdentityChange(ev webhook.Event) bool {
	return ev.MessageType == "system" && (ev.SystemType == "user_changed_number" || ev.SystemType == "user_changed_user_id")
}

// identityChange publishes user.identity_changed. No record is changed: records keep no user identities
// beyond the test message's sender, and a test reply already sent went to the identity the user had then.
func (p *Processor) identityChange(ctx context.Context, ev webhook.Event) error {
	rec, err := p.onboardingForPhone(ctx, ev.PhoneNumberID)
	if err != nil {
		return err
	}
	e := p.messageEvent(partnerevents.TypeUserIdentityChanged, ev, "")
	if rec != nil {
		e.OnboardingID = rec.ID
	}
	e.IdentityChange, e.PreviousUserID, e.PreviousParentUserID, e.NewWAID = ev.SystemType, ev.PreviousUserID, ev.PreviousParentUserID, ev.NewWAID
	p.logger.InfoContext(ctx, "user identity changed", "identity_change", ev.SystemType)
	return p.publish(ctx, e)
}

// isTestMessage reports whether an inbound message to the business number is the onboarding's test: its text
// contains the test phrase (in any case), or it comes from the test recipient's number. Only an active
// onboarding that asked for the test, and has not seen its test message yet, takes one.
func isTestMessage(rec *onboarding.Record, ev webhook.Event) bool {
	if !rec.WantsTest() || !rec.Status.Active() || ev.MessageID == "" || ev.MessageType == "system" {
		return false
	}
	if rec.Progress.InboundMessageID != "" {
		// Only the recorded message again (a redelivery: resuming is idempotent), never a second one.
		return rec.Progress.InboundMessageID == ev.MessageID
	}
	if rec.TestPhrase != "" && strings.Contains(strings.ToUpper(ev.Text), strings.ToUpper(rec.TestPhrase)) {
		return true
	}
	return rec.TestRecipient != "" && ev.From != "" && strings.TrimPrefix(rec.TestRecipient, "+") == strings.TrimPrefix(ev.From, "+")
}

// status advances the message's status monotonically, publishes the change, and for the onboarding's test
// reply records it and resumes the wait for it. The correlation runs even when the status did not advance:
// an earlier attempt may have advanced it and died before correlating; it is idempotent.
func (p *Processor) status(ctx context.Context, ev webhook.Event, retry bool) error {
	if onboarding.MessageStatusRank(ev.Status) == 0 {
		p.logger.InfoContext(ctx, "message status of an unknown kind ignored", "status", ev.Status)
		return nil
	}
	advanced, err := p.webhooks.AdvanceMessageStatus(ctx, ev.MessageID, ev.Status, p.now(), StatusTTL)
	if err != nil {
		return fmt.Errorf("recording the status of %s: %w", ev.MessageID, err)
	}
	if !advanced && !retry {
		p.logger.InfoContext(ctx, "late message status ignored", "message_id", ev.MessageID, "status", ev.Status)
	}
	rec, err := p.onboardingForPhone(ctx, ev.PhoneNumberID)
	if err != nil {
		return err
	}
	id := ""
	if rec != nil {
		id = rec.ID
		ctx = logging.WithOnboardingID(ctx, id)
	}
	if rec != nil && rec.TestMessageID != "" && rec.TestMessageID == ev.MessageID {
		rank := onboarding.MessageStatusRank(ev.Status)
		if rank > onboarding.MessageStatusRank(rec.TestMessageStatus) {
			rec, err = p.update(ctx, rec.ID, func(r *onboarding.Record) error {
				if rank <= onboarding.MessageStatusRank(r.TestMessageStatus) {
					return errNoWrite
				}
				r.TestMessageStatus = ev.Status
				if ev.Status == "failed" && len(ev.Errors) > 0 {
					r.Progress.TestFailureCode, r.Progress.TestFailureTitle = ev.Errors[0].Code, ev.Errors[0].Title
					if r.Progress.TestFailureTitle == "" {
						r.Progress.TestFailureTitle = ev.Errors[0].Message
					}
				}
				r.UpdatedAt = p.now()
				return nil
			})
			if err != nil {
				return err
			}
			p.logger.InfoContext(ctx, "test reply status", "message_id", ev.MessageID, "status", ev.Status)
			if err := p.resumeReady(ctx, rec); err != nil {
				return err
			}
		}
	}
	if !advanced && !retry {
		return nil
	}
	return p.publish(ctx, p.messageEvent(partnerevents.TypeMessageStatus, ev, id))
}

// accountUpdate records partner events per WABA; PARTNER_REMOVED and PARTNER_APP_UNINSTALLED offboard the
// WABA's onboardings and, with an Offboarder, clean them up before the events are published. retry is set
// when an earlier processing of the event did not complete: its status changes are published again.
func (p *Processor) accountUpdate(ctx context.Context, ev webhook.Event, retry bool) error {
	at := ev.Timestamp
	if at.IsZero() {
		at = p.now()
	}
	if ev.WABAID == "" || !onboarding.ValidGraphID(ev.WABAID) {
		p.logger.InfoContext(ctx, "account_update without a WABA id", "account_event", ev.AccountEvent)
		return p.publish(ctx, p.accountEvent(ev, "", at))
	}
	if err := p.webhooks.RecordPartnerEvent(ctx, ev.WABAID, ev.AccountEvent, at); err != nil {
		return fmt.Errorf("recording %s for WABA %s: %w", ev.AccountEvent, ev.WABAID, err)
	}
	var events []partnerevents.Event
	if offboards(ev.AccountEvent) {
		recs, err := p.store.FindByWABA(ctx, ev.WABAID, 0)
		if err != nil {
			return fmt.Errorf("finding the onboardings of WABA %s: %w", ev.WABAID, err)
		}
		for _, r := range recs {
			cleaned := r.Progress.CreditRevoked && r.Progress.SecretDeleted
			if r.Status == onboarding.StatusOffboarded && (cleaned || p.offboarder == nil) && !retry {
				continue
			}
			rec, err := p.update(ctx, r.ID, func(x *onboarding.Record) error {
				if x.Status == onboarding.StatusOffboarded {
					return errNoWrite
				}
				x.Offboard(p.now())
				return nil
			})
			if err != nil {
				return err
			}
			octx := logging.WithOnboardingID(ctx, rec.ID)
			p.logger.InfoContext(octx, "onboarding offboarded: the partner was removed from the WABA", "account_event", ev.AccountEvent)
			// Cleaned up before the events go out: a failure here is returned, the queue redelivers, and the
			// redelivery (an unfinished claim) finishes the clean-up and publishes.
			if p.offboarder != nil {
				if err := p.offboarder.Offboard(octx, rec.ID); err != nil {
					return fmt.Errorf("cleaning up offboarded onboarding %s: %w", rec.ID, err)
				}
			}
			events = append(events, partnerevents.StatusChanged(rec.ID, rec.WABAID, rec.PhoneNumberID, string(onboarding.StatusOffboarded), p.now()))
		}
	}
	events = append(events, p.accountEvent(ev, ev.WABAID, at))
	return p.publish(ctx, events...)
}

// offboards reports whether an account_update event ends the partner's access to the WABA: the customer
// unshared it (PARTNER_REMOVED) or removed the app (PARTNER_APP_UNINSTALLED).
func offboards(event string) bool {
	return event == "PARTNER_REMOVED" || event == "PARTNER_APP_UNINSTALLED"
}

func (p *Processor) accountEvent(ev webhook.Event, wabaID string, at time.Time) partnerevents.Event {
	return partnerevents.Event{
		ID: ev.Key, Version: partnerevents.Version, Type: partnerevents.TypeAccountUpdate, Time: at.UTC(),
		WABAID: wabaID, AccountEvent: ev.AccountEvent,
	}
}

// Correlate checks an onboarding's waits against what already arrived (the wait handler asks for it right
// after storing a task token, because the tester's message may have come first).
func (p *Processor) Correlate(ctx context.Context, onboardingID string) error {
	rec, err := p.store.Get(ctx, onboardingID)
	if errors.Is(err, onboarding.ErrNotFound) {
		p.logger.WarnContext(ctx, "correlation requested for an unknown onboarding")
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading onboarding %s: %w", onboardingID, err)
	}
	return p.resumeReady(ctx, rec)
}

// resumeReady resumes each wait whose event has arrived: the tester's message for the inbound wait, a
// delivered or read status of the reply for the status wait (a failed status fails it). A wait not stored
// yet is resumed later, by the correlation its wait handler requests.
func (p *Processor) resumeReady(ctx context.Context, rec *onboarding.Record) error {
	if rec.Progress.InboundMessageID != "" {
		out, _ := json.Marshal(map[string]string{"message_id": rec.Progress.InboundMessageID})
		if err := p.resume(ctx, rec.ID, onboarding.WaitInboundMessage, out, ""); err != nil {
			return err
		}
	}
	// Only delivered or read proves the number works end to end: sent means Meta accepted the reply, not that
	// the tester's phone got it. The status wait keeps waiting on sent (its timeout ends it).
	switch rec.TestMessageStatus {
	case "", "sent":
		return nil
	case "failed":
		cause := "the test reply " + rec.TestMessageID + " failed to deliver"
		if rec.Progress.TestFailureCode != 0 {
			cause += fmt.Sprintf(": Meta error %d (%s)", rec.Progress.TestFailureCode, rec.Progress.TestFailureTitle)
		} else {
			cause += ": see the message.status partner event for Meta's error"
		}
		return p.resume(ctx, rec.ID, onboarding.WaitMessageStatus, nil, cause)
	}
	out, _ := json.Marshal(map[string]string{"message_id": rec.TestMessageID, "status": rec.TestMessageStatus})
	return p.resume(ctx, rec.ID, onboarding.WaitMessageStatus, out, "")
}

// resume takes the wait (exactly one worker gets it) and sends its task token success or failure. If Step
// Functions cannot be reached the wait is put back, so a redelivery resumes it.
func (p *Processor) resume(ctx context.Context, onboardingID string, kind onboarding.WaitKind, output []byte, failCause string) error {
	w, err := p.webhooks.TakeWait(ctx, onboardingID, string(kind))
	if errors.Is(err, onboarding.ErrNotFound) {
		return nil // not waiting yet (the wait's correlation request comes later), or already resumed
	}
	if err != nil {
		return fmt.Errorf("taking the %s wait: %w", kind, err)
	}
	if failCause != "" {
		err = p.workflow.SendTaskFailure(ctx, w.TaskToken, TestMessageFailedError, failCause)
	} else {
		err = p.workflow.SendTaskSuccess(ctx, w.TaskToken, output)
	}
	if err != nil && p.isTaskGone != nil && p.isTaskGone(err) {
		p.logger.InfoContext(ctx, "the wait had already ended", "kind", string(kind))
		return nil
	}
	if err != nil {
		if perr := p.webhooks.PutWait(ctx, w); perr != nil {
			return fmt.Errorf("resuming the %s wait: %w (and putting it back failed: %v)", kind, err, perr)
		}
		return fmt.Errorf("resuming the %s wait: %w", kind, err)
	}
	p.logger.InfoContext(ctx, "workflow wait resumed", "kind", string(kind), "failed", failCause != "")
	return nil
}

// errNoWrite tells update that there is nothing to write.
var errNoWrite = onboarding.ErrNoChange

// update applies mutate to the freshest record and writes it (onboarding.Mutate); when mutate says there is
// nothing to write, it returns the record as read.
func (p *Processor) update(ctx context.Context, id string, mutate func(*onboarding.Record) error) (*onboarding.Record, error) {
	rec, err := onboarding.Mutate(ctx, p.store, id, mutate)
	if errors.Is(err, onboarding.ErrNoChange) {
		return rec, nil
	}
	return rec, err
}
