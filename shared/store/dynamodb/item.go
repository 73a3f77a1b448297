package dynamodb

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
)

// Key prefixes and fixed sort keys of the item types (see the package documentation).
const (
	recordPKPrefix = "ONB#"
	recordSK       = "RECORD"
	phonePrefix    = "PHONE#"
	wabaPrefix     = "WABA#"
	customerPrefix = "CUST#"
	guardPKPrefix  = "ACTIVE#"
	guardSK        = "GUARD"
	// noPhone stands for the phone number in the guard key of a record without one (FINISH_ONLY_WABA).
	noPhone = "-"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction, always in UTC. The fixed width matters: with
// time.RFC3339Nano trailing zeros are trimmed and "…:05Z" would sort after "…:05.5Z", breaking the
// newest-first order of the GSI sort keys, which start with created_at.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", field, err)
	}
	return t.UTC(), nil
}

func recordPK(id string) string { return recordPKPrefix + id }

// guardPK is the key of the one-active-onboarding guard of a WABA and phone number.
func guardPK(wabaID, phoneNumberID string) string {
	if phoneNumberID == "" {
		phoneNumberID = noPhone
	}
	return guardPKPrefix + wabaID + "#" + phoneNumberID
}

// indexSK orders a WABA's or phone's records by creation time, ties broken by id.
func indexSK(r *onboarding.Record) string { return formatTime(r.CreatedAt) + "#" + r.ID }

// recordItem is the stored form of an onboarding record. It has its own type, rather than tags on the domain
// type, because the domain hides Progress and Executions from JSON and the store must keep them, and because
// times are stored as fixed-width strings (timeLayout, see itemEncoder).
type recordItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK string `dynamodbav:"gsi2pk"`
	GSI2SK string `dynamodbav:"gsi2sk"`
	GSI3PK string `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK string `dynamodbav:"gsi3sk,omitempty"`

	ID                     string            `dynamodbav:"id"`
	WABAID                 string            `dynamodbav:"waba_id"`
	PhoneNumberID          string            `dynamodbav:"phone_number_id,omitempty"`
	BusinessID             string            `dynamodbav:"business_id,omitempty"`
	Event                  onboarding.Event  `dynamodbav:"event,omitempty"`
	Status                 onboarding.Status `dynamodbav:"status"`
	Steps                  []stepItem        `dynamodbav:"steps"`
	Currency               string            `dynamodbav:"currency,omitempty"`
	TestRecipient          string            `dynamodbav:"test_recipient,omitempty"`
	CustomerRef            string            `dynamodbav:"customer_ref,omitempty"`
	TestMessage            bool              `dynamodbav:"test_message,omitempty"`
	TestPhrase             string            `dynamodbav:"test_phrase,omitempty"`
	DisplayPhoneNumber     string            `dynamodbav:"display_phone_number,omitempty"`
	DataLocalizationRegion string            `dynamodbav:"data_localization_region,omitempty"`
	AllocationConfigID     string            `dynamodbav:"allocation_config_id,omitempty"`
	ReauthRequired         bool              `dynamodbav:"reauth_required"`
	RegisterRetryAfter     *time.Time        `dynamodbav:"register_retry_after,omitempty"`
	Progress               progressItem      `dynamodbav:"progress"`
	TestMessageID          string            `dynamodbav:"test_message_id,omitempty"`
	TestMessageStatus      string            `dynamodbav:"test_message_status,omitempty"`
	Executions             int               `dynamodbav:"executions"`
	CreatedAt              time.Time         `dynamodbav:"created_at"`
	UpdatedAt              time.Time         `dynamodbav:"updated_at"`
	Version                int64             `dynamodbav:"version"`
}

type stepItem struct {
	Name       onboarding.StepName   `dynamodbav:"name"`
	Status     onboarding.StepStatus `dynamodbav:"status"`
	Attempts   int                   `dynamodbav:"attempts"`
	StartedAt  *time.Time            `dynamodbav:"started_at,omitempty"`
	FinishedAt *time.Time            `dynamodbav:"finished_at,omitempty"`
	Error      *stepErrorItem        `dynamodbav:"error,omitempty"`
	Note       string                `dynamodbav:"note,omitempty"`
	// NextAttempt is when the step is tried again after a wait Meta asked for.
	NextAttempt *time.Time `dynamodbav:"next_attempt_at,omitempty"`
}

// stepErrorItem has the fields of onboarding.StepError, in its order, so that the two convert into each other.
type stepErrorItem struct {
	Code         string `dynamodbav:"code,omitempty"`
	GraphCode    int    `dynamodbav:"graph_code,omitempty"`
	GraphSubcode int    `dynamodbav:"graph_subcode,omitempty"`
	Message      string `dynamodbav:"message,omitempty"`
	FBTraceID    string `dynamodbav:"fbtrace_id,omitempty"`
}

// progressItem has the fields of onboarding.Progress, in its order, so that the two convert into each other:
// a field added to the domain fails to compile here until it is given its attribute.
type progressItem struct {
	SubscribedApp       bool       `dynamodbav:"subscribed_app"`
	OverrideSet         bool       `dynamodbav:"override_set"`
	SystemUserAssigned  bool       `dynamodbav:"system_user_assigned"`
	CreditAttachStarted *time.Time `dynamodbav:"credit_attach_started,omitempty"`
	RegisterStarted     *time.Time `dynamodbav:"register_started,omitempty"`
	RegisterCalls       int        `dynamodbav:"register_calls"`
	InboundMessageID    string     `dynamodbav:"inbound_message_id,omitempty"`
	TestSendStarted     *time.Time `dynamodbav:"test_send_started,omitempty"`
	TesterWAID          string     `dynamodbav:"tester_wa_id,omitempty"`
	TesterUserID        string     `dynamodbav:"tester_user_id,omitempty"`
	TestFailureCode     int        `dynamodbav:"test_failure_code,omitempty"`
	TestFailureTitle    string     `dynamodbav:"test_failure_title,omitempty"`
	CreditRevoked       bool       `dynamodbav:"credit_revoked,omitempty"`
	SecretDeleted       bool       `dynamodbav:"secret_deleted,omitempty"`
	StateSyncStarted    *time.Time `dynamodbav:"state_sync_started,omitempty"`
	StateSynced         bool       `dynamodbav:"state_synced,omitempty"`
	HistorySyncStarted  *time.Time `dynamodbav:"history_sync_started,omitempty"`
	HistorySynced       bool       `dynamodbav:"history_synced,omitempty"`
	PhoneVerified       bool       `dynamodbav:"phone_verified,omitempty"`
	CodeRequestedAt     *time.Time `dynamodbav:"code_requested_at,omitempty"`
	CodeRequests        int        `dynamodbav:"code_requests,omitempty"`
}

// itemEncoder and itemDecoder store the times of a record item as timeLayout strings, and read them back in
// UTC.
var (
	itemEncoder = attributevalue.NewEncoder(func(o *attributevalue.EncoderOptions) {
		o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
			return &types.AttributeValueMemberS{Value: formatTime(t)}, nil
		}
	})
	itemDecoder = attributevalue.NewDecoder(func(o *attributevalue.DecoderOptions) {
		o.DecodeTime.S = func(s string) (time.Time, error) {
			t, err := time.Parse(time.RFC3339Nano, s)
			return t.UTC(), err
		}
	})
)

// marshalRecord returns the item of r stored at version.
func marshalRecord(r *onboarding.Record, version int64) (map[string]types.AttributeValue, error) {
	it := recordItem{
		PK:                     recordPK(r.ID),
		SK:                     recordSK,
		GSI2PK:                 wabaPrefix + r.WABAID,
		GSI2SK:                 indexSK(r),
		ID:                     r.ID,
		WABAID:                 r.WABAID,
		PhoneNumberID:          r.PhoneNumberID,
		BusinessID:             r.BusinessID,
		Event:                  r.Event,
		Status:                 r.Status,
		Steps:                  make([]stepItem, len(r.Steps)),
		Currency:               r.Currency,
		TestRecipient:          r.TestRecipient,
		CustomerRef:            r.CustomerRef,
		TestMessage:            r.TestMessage,
		TestPhrase:             r.TestPhrase,
		DisplayPhoneNumber:     r.DisplayPhoneNumber,
		DataLocalizationRegion: r.DataLocalizationRegion,
		AllocationConfigID:     r.AllocationConfigID,
		ReauthRequired:         r.ReauthRequired,
		RegisterRetryAfter:     r.RegisterRetryAfter,
		Progress:               progressItem(r.Progress),
		TestMessageID:          r.TestMessageID,
		TestMessageStatus:      r.TestMessageStatus,
		Executions:             r.Executions,
		CreatedAt:              r.CreatedAt,
		UpdatedAt:              r.UpdatedAt,
		Version:                version,
	}
	// A record without a phone number stays out of GSI1: DynamoDB rejects empty key attributes, and there is
	// nothing to find it by.
	if r.PhoneNumberID != "" {
		it.GSI1PK, it.GSI1SK = phonePrefix+r.PhoneNumberID, indexSK(r)
	}
	// Likewise only records of an authenticated partner customer are in GSI3.
	if r.CustomerRef != "" {
		it.GSI3PK, it.GSI3SK = customerPrefix+r.CustomerRef, indexSK(r)
	}
	for i, s := range r.Steps {
		it.Steps[i] = stepItem{
			Name: s.Name, Status: s.Status, Attempts: s.Attempts, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
			Error: (*stepErrorItem)(s.Error), Note: s.Note, NextAttempt: s.NextAttemptAt,
		}
	}
	av, err := itemEncoder.Encode(it)
	if err != nil {
		return nil, fmt.Errorf("marshal onboarding %s: %w", r.ID, err)
	}
	return av.(*types.AttributeValueMemberM).Value, nil
}

// unmarshalRecord decodes a record item (from the table or from an index with projection ALL).
func unmarshalRecord(av map[string]types.AttributeValue) (*onboarding.Record, error) {
	var it recordItem
	if err := itemDecoder.Decode(&types.AttributeValueMemberM{Value: av}, &it); err != nil {
		return nil, fmt.Errorf("unmarshal onboarding %s: %w", attrS(av, "id"), err)
	}
	r := &onboarding.Record{
		ID:                     it.ID,
		WABAID:                 it.WABAID,
		PhoneNumberID:          it.PhoneNumberID,
		BusinessID:             it.BusinessID,
		Event:                  it.Event,
		Status:                 it.Status,
		Steps:                  make([]onboarding.Step, len(it.Steps)),
		Currency:               it.Currency,
		TestRecipient:          it.TestRecipient,
		CustomerRef:            it.CustomerRef,
		TestMessage:            it.TestMessage,
		TestPhrase:             it.TestPhrase,
		DisplayPhoneNumber:     it.DisplayPhoneNumber,
		DataLocalizationRegion: it.DataLocalizationRegion,
		AllocationConfigID:     it.AllocationConfigID,
		ReauthRequired:         it.ReauthRequired,
		RegisterRetryAfter:     it.RegisterRetryAfter,
		Progress:               onboarding.Progress(it.Progress),
		TestMessageID:          it.TestMessageID,
		TestMessageStatus:      it.TestMessageStatus,
		Executions:             it.Executions,
		CreatedAt:              it.CreatedAt,
		UpdatedAt:              it.UpdatedAt,
		Version:                it.Version,
	}
	for i, si := range it.Steps {
		r.Steps[i] = onboarding.Step{
			Name: si.Name, Status: si.Status, Attempts: si.Attempts, StartedAt: si.StartedAt, FinishedAt: si.FinishedAt,
			Error: (*onboarding.StepError)(si.Error), Note: si.Note, NextAttemptAt: si.NextAttempt,
		}
	}
	return r, nil
}

// guardItem records which onboarding holds the one-active-onboarding guard of a WABA and phone number.
type guardItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	// OnboardingID is the holder.
	OnboardingID string `dynamodbav:"onboarding_id"`
	// AcquiredAt (timeLayout) dates the acquisition, to tell a holder still being created from an abandoned one.
	AcquiredAt string `dynamodbav:"acquired_at"`
	// RecordVersion is the version of the holder's record write that the guard was acquired for: 1 for a
	// create, the new version for a retry. A release by a later write (higher version) may delete the guard;
	// a release racing with a newer re-acquisition may not.
	RecordVersion int64 `dynamodbav:"record_version"`
	// Lease is random per acquisition, so that a takeover or a rollback changes exactly the acquisition it
	// read or made, never a newer one.
	Lease string `dynamodbav:"lease"`
}
