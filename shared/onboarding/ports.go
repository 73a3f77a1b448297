package onboarding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Store keeps onboarding records. Implementations: the DynamoDB adapter (shared/store/dynamodb), the
// local runner's on-disk one (shared/store/bolt) and the in-memory one (shared/store/memory); all three pass
// the same contract tests (shared/store/storetest).
type Store interface {
	// Create stores a new record. It fails with *ActiveOnboardingError when another active onboarding exists
	// for the same WABA and phone number. On success r.Version is set.
	Create(ctx context.Context, r *Record) error
	// Get returns the record or ErrNotFound.
	Get(ctx context.Context, id string) (*Record, error)
	// Update writes r if the stored version still equals r.Version (ErrVersionConflict otherwise) and
	// increments r.Version. A change into an active status re-acquires the WABA+phone guard
	// (*ActiveOnboardingError if another onboarding holds it); a change out of one releases it.
	Update(ctx context.Context, r *Record) error
	// FindByPhone returns the most recent record for a business phone number id, or ErrNotFound.
	FindByPhone(ctx context.Context, phoneNumberID string) (*Record, error)
	// FindByWABA returns the records of a WABA, most recent first (at most limit, or all if limit <= 0).
	FindByWABA(ctx context.Context, wabaID string, limit int) ([]*Record, error)
	// ListByCustomer returns a page of the customer's records (CustomerRef), most recently created first,
	// only those in status when it is not empty: at most limit (1 to MaxListLimit), starting after the
	// cursor of the previous page ("" for the first). next is the cursor of the following page, "" on the
	// last one. A cursor the store did not issue for this customer is ErrInvalidCursor. Index reads are
	// eventually consistent: a record created a moment ago may be missing from the first page.
	ListByCustomer(ctx context.Context, customerRef string, status Status, limit int, cursor string) (recs []*Record, next string, err error)
	// ListWABAs returns a page of the ids of the WABAs that have at least one record, in an order of the
	// store's choosing: at most limit (1 to MaxListLimit), starting after the cursor of the previous page
	// ("" for the first). next is the cursor of the following page, "" on the last one. A full listing
	// names every WABA that had a record when it started exactly once (a WABA whose first record is created
	// meanwhile may be missed). A cursor the store did not issue is ErrInvalidCursor. It serves periodic
	// jobs over all customers (the token health check), not requests.
	ListWABAs(ctx context.Context, limit int, cursor string) (wabaIDs []string, next string, err error)
}

// Bounds of ListByCustomer's limit.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// AppConfig is the partner's stage configuration, kept in the stage secret.
type AppConfig struct {
	AppID string
	// AppSecret signs webhooks and authenticates the code exchange.
	AppSecret Secret
	// PreviousAppSecret is accepted for webhook signatures until PreviousAppSecretUntil (secret rotation).
	PreviousAppSecret      Secret
	PreviousAppSecretUntil time.Time
	// SystemToken is the partner's system user token, used for credit sharing.
	SystemToken  Secret
	SystemUserID string
	// CreditLineID is the partner's extended credit line; empty means credit sharing is skipped.
	CreditLineID string
	// WebhookVerifyToken answers Meta's GET /webhooks handshake.
	WebhookVerifyToken Secret
}

// WABASecret is what the vault keeps per customer WABA.
type WABASecret struct {
	BusinessToken Secret
	// TokenExpiresAt is zero when the token does not expire.
	TokenExpiresAt time.Time
	// PINs maps a phone number id to its two-step verification PIN.
	PINs map[string]Secret
}

// Vault keeps secrets: the stage app config and one secret per customer WABA. Implementations: AWS Secrets
// Manager (shared/vault/secretsmanager), the local runner's encrypted on-disk one (shared/vault/bolt) and an
// in-memory one (shared/vault/memory); all three pass the same contract tests (shared/vault/vaulttest).
type Vault interface {
	// AppConfig returns the stage configuration (cached briefly).
	AppConfig(ctx context.Context) (AppConfig, error)
	// WABASecret returns the WABA's secret, or ErrNotFound.
	WABASecret(ctx context.Context, wabaID string) (*WABASecret, error)
	// PutBusinessToken stores the customer's business token for a WABA, keeping its PINs. idempotencyKey
	// makes a repeated call with the same key write no second version.
	PutBusinessToken(ctx context.Context, wabaID string, token Secret, expiresAt time.Time, idempotencyKey string) error
	// EnsurePIN stores candidate as the phone's PIN unless one is stored already, and returns the stored PIN.
	// A PIN is stored before the first register call and reused by every later one.
	EnsurePIN(ctx context.Context, wabaID, phoneNumberID string, candidate Secret, idempotencyKey string) (Secret, error)
	// SetPIN stores pin as the phone's PIN, replacing a stored one: the partner gave it explicitly (the number
	// already has that two-step verification PIN at Meta).
	SetPIN(ctx context.Context, wabaID, phoneNumberID string, pin Secret, idempotencyKey string) error
	// DeleteWABASecret deletes the WABA's secret (business token and PINs) at an offboarding. Deleting a secret
	// that does not exist succeeds: the call is idempotent.
	DeleteWABASecret(ctx context.Context, wabaID string) error
}

// StartInput starts one workflow execution.
type StartInput struct {
	OnboardingID string
	// Name is the execution name (ExecutionName): deterministic, so that repeating a start is idempotent.
	Name string
	// Input is the execution input document (ids and flags only, never secrets).
	Input WorkflowInput
}

// WorkflowInput is the state machine's execution input. It carries ids and flags only.
type WorkflowInput struct {
	OnboardingID  string `json:"onboarding_id"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	// Event is the Embedded Signup finish event; the definition skips registration for coexistence numbers.
	Event Event `json:"event"`
	// ShareCreditLine says whether a credit line is configured for the stage.
	ShareCreditLine bool `json:"share_credit_line"`
	// ResumeFrom names the step to start from; empty means the first workflow step.
	ResumeFrom StepName `json:"resume_from"`
	// TestMessage says whether to run the end-to-end test message round trip.
	TestMessage bool `json:"test_message"`
	// InboundTimeoutSeconds and StatusTimeoutSeconds bound the two test-message waits.
	InboundTimeoutSeconds int `json:"inbound_timeout_seconds"`
	StatusTimeoutSeconds  int `json:"status_timeout_seconds"`
	// PhoneVerificationTimeoutSeconds bounds the wait for the customer's phone verification code.
	PhoneVerificationTimeoutSeconds int `json:"phone_verification_timeout_seconds"`
}

// Workflow starts and resumes onboarding workflow executions: AWS Step Functions, or the local interpreter.
type Workflow interface {
	// Start starts an execution and returns its id (an execution ARN on AWS).
	Start(ctx context.Context, in StartInput) (string, error)
	// SendTaskSuccess resumes a task waiting on a task token with its output document.
	SendTaskSuccess(ctx context.Context, taskToken string, output []byte) error
	// SendTaskFailure fails a task waiting on a task token.
	SendTaskFailure(ctx context.Context, taskToken, errorName, cause string) error
}

// Clock tells the time; tests replace it.
type Clock func() time.Time

// Now returns the clock's time in UTC; a nil Clock is time.Now.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c().UTC()
}

// Secret holds a token, PIN or app secret. It renders as "[redacted]" in every format, log and JSON encoding,
// so a secret that reaches a log line or a response by mistake is not disclosed. Reveal returns the value for
// the one request that needs it. The value sits behind a pointer so that even fmt's raw printing of a struct
// field it cannot call methods on (an unexported field) shows an address, never the value.
type Secret struct{ v *string }

// NewSecret wraps a secret value.
func NewSecret(v string) Secret {
	if v == "" {
		return Secret{}
	}
	return Secret{v: &v}
}

// Reveal returns the secret value. Call it only where the value goes into the request that needs it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Equal compares two secrets.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

const redacted = "[redacted]"

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps the value out of JSON documents; adapters that must persist it use Reveal explicitly.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText keeps the value out of text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Wait is a pending task token: a workflow execution waiting for a webhook (kind says which).
type Wait struct {
	OnboardingID string
	Kind         string
	TaskToken    string
	ExpiresAt    time.Time
}

// ClaimResult says what ClaimEvent found.
type ClaimResult int

// Claim results.
const (
	// ClaimNew: the event was never seen; the caller holds the lease and processes it.
	ClaimNew ClaimResult = iota + 1
	// ClaimRetry: an earlier claim's lease expired before it completed; the caller holds a new lease.
	ClaimRetry
	// ClaimDone: the event was processed already (a duplicate delivery); nothing to do.
	ClaimDone
	// ClaimBusy: another worker holds the lease now; try again later.
	ClaimBusy
)

// WebhookStore keeps what the webhook worker needs: insert-first dedupe claims, monotonic message statuses,
// pending task tokens and partner events per WABA. Implemented by the store adapters beside Store.
type WebhookStore interface {
	// ClaimEvent is the insert-first dedupe: a conditional insert of the event key with a processing lease.
	// Duplicates arriving concurrently race on the insert, never on a read.
	ClaimEvent(ctx context.Context, key string, now time.Time, lease, ttl time.Duration) (ClaimResult, error)
	// CompleteEvent marks a claimed event processed; later claims answer ClaimDone until ttl.
	CompleteEvent(ctx context.Context, key string, now time.Time, ttl time.Duration) error
	// AdvanceMessageStatus records status for a message only if it ranks above the stored one (a late
	// "delivered" after "read" changes nothing) and reports whether it advanced.
	AdvanceMessageStatus(ctx context.Context, messageID, status string, now time.Time, ttl time.Duration) (bool, error)
	// PutWait stores or replaces the task token of an onboarding's wait.
	PutWait(ctx context.Context, w Wait) error
	// TakeWait removes and returns the onboarding's wait of that kind; of concurrent callers exactly one gets
	// it, the others get ErrNotFound.
	TakeWait(ctx context.Context, onboardingID, kind string) (Wait, error)
	// RecordPartnerEvent records an account_update event (PARTNER_ADDED, PARTNER_REMOVED, ...) for a WABA.
	RecordPartnerEvent(ctx context.Context, wabaID, event string, at time.Time) error
}

// MessageStatusRank orders WhatsApp message statuses for monotonic updates; 0 means unknown.
func MessageStatusRank(status string) int {
	switch status {
	case "sent":
		return 1
	case "delivered":
		return 2
	case "read", "played":
		return 3
	case "failed":
		return 4
	}
	return 0
}

// ErrNoChange tells Mutate that the mutation found nothing to change: the record is returned as read.
var ErrNoChange = errors.New("nothing to change")

// maxMutateAttempts bounds Mutate's re-read-and-reapply loop under concurrent writers.
const maxMutateAttempts = 8

// Mutate reads the record, applies mutate and writes it with the store's optimistic concurrency, reading and
// applying again when another writer got in first. mutate returning ErrNoChange ends it without a write and
// returns the record as read together with ErrNoChange; any other error is returned as it is.
func Mutate(ctx context.Context, store Store, id string, mutate func(*Record) error) (*Record, error) {
	for range maxMutateAttempts {
		rec, err := store.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("reading onboarding %s: %w", id, err)
		}
		if err := mutate(rec); errors.Is(err, ErrNoChange) {
			return rec, ErrNoChange
		} else if err != nil {
			return nil, err
		}
		err = store.Update(ctx, rec)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("writing onboarding %s: %w", id, err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("writing onboarding %s after %d attempts: %w", id, maxMutateAttempts, ErrVersionConflict)
}
