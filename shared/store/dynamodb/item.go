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

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return formatTime(*t)
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", field, err)
	}
	return t.UTC(), nil
}

func parseTimePtr(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := parseTime(field, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
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
// times are stored as fixed-width strings (timeLayout).
type recordItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK string `dynamodbav:"gsi2pk"`
	GSI2SK string `dynamodbav:"gsi2sk"`
	GSI3PK string `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK string `dynamodbav:"gsi3sk,omitempty"`

	ID                     string       `dynamodbav:"id"`
	WABAID                 string       `dynamodbav:"waba_id"`
	PhoneNumberID          string       `dynamodbav:"phone_number_id,omitempty"`
	BusinessID             string       `dynamodbav:"business_id,omitempty"`
	Event                  string       `dynamodbav:"event,omitempty"`
	Status                 string       `dynamodbav:"status"`
	Steps                  []stepItem   `dynamodbav:"steps"`
	Currency               string       `dynamodbav:"currency,omitempty"`
	TestRecipient          string       `dynamodbav:"test_recipient,omitempty"`
	CustomerRef            string       `dynamodbav:"customer_ref,omitempty"`
	TestMessage            bool         `dynamodbav:"test_message,omitempty"`
	TestPhrase             string       `dynamodbav:"test_phrase,omitempty"`
	DisplayPhoneNumber     string       `dynamodbav:"display_phone_number,omitempty"`
	DataLocalizationRegion string       `dynamodbav:"data_localization_region,omitempty"`
	AllocationConfigID     string       `dynamodbav:"allocation_config_id,omitempty"`
	ReauthRequired         bool         `dynamodbav:"reauth_required"`
	RegisterRetryAfter     string       `dynamodbav:"register_retry_after,omitempty"`
	Progress               progressItem `dynamodbav:"progress"`
	TestMessageID          string       `dynamodbav:"test_message_id,omitempty"`
	TestMessageStatus      string       `dynamodbav:"test_message_status,omitempty"`
	Executions             int          `dynamodbav:"executions"`
	CreatedAt              string       `dynamodbav:"created_at"`
	UpdatedAt              string       `dynamodbav:"updated_at"`
	Version                int64        `dynamodbav:"version"`
}

type stepItem struct {
	Name       string         `dynamodbav:"name"`
	Status     string         `dynamodbav:"status"`
	Attempts   int            `dynamodbav:"attempts"`
	StartedAt  string         `dynamodbav:"started_at,omitempty"`
	FinishedAt string         `dynamodbav:"finished_at,omitempty"`
	Error      *stepErrorItem `dynamodbav:"error,omitempty"`
	Note       string         `dynamodbav:"note,omitempty"`
	// NextAttempt is when the step is tried again after a wait Meta asked for.
	NextAttempt string `dynamodbav:"next_attempt_at,omitempty"`
}

type stepErrorItem struct {
	Code         string `dynamodbav:"code,omitempty"`
	GraphCode    int    `dynamodbav:"graph_code,omitempty"`
	GraphSubcode int    `dynamodbav:"graph_subcode,omitempty"`
	Message      string `dynamodbav:"message,omitempty"`
	FBTraceID    string `dynamodbav:"fbtrace_id,omitempty"`
}

type progressItem struct {
	SubscribedApp       bool   `dynamodbav:"subscribed_app"`
	OverrideSet         bool   `dynamodbav:"override_set"`
	SystemUserAssigned  bool   `dynamodbav:"system_user_assigned"`
	CreditAttachStarted string `dynamodbav:"credit_attach_started,omitempty"`
	RegisterStarted     string `dynamodbav:"register_started,omitempty"`
	RegisterCalls       int    `dynamodbav:"register_calls"`
	InboundMessageID    string `dynamodbav:"inbound_message_id,omitempty"`
	TestSendStarted     string `dynamodbav:"test_send_started,omitempty"`
	TesterWAID          string `dynamodbav:"tester_wa_id,omitempty"`
	TesterUserID        string `dynamodbav:"tester_user_id,omitempty"`
	TestFailureCode     int    `dynamodbav:"test_failure_code,omitempty"`
	TestFailureTitle    string `dynamodbav:"test_failure_title,omitempty"`
	CreditRevoked       bool   `dynamodbav:"credit_revoked,omitempty"`
	SecretDeleted       bool   `dynamodbav:"secret_deleted,omitempty"`
	StateSyncStarted    string `dynamodbav:"state_sync_started,omitempty"`
	StateSynced         bool   `dynamodbav:"state_synced,omitempty"`
	HistorySyncStarted  string `dynamodbav:"history_sync_started,omitempty"`
	HistorySynced       bool   `dynamodbav:"history_synced,omitempty"`
	PhoneVerified       bool   `dynamodbav:"phone_verified,omitempty"`
	CodeRequestedAt     string `dynamodbav:"code_requested_at,omitempty"`
	CodeRequests        int    `dynamodbav:"code_requests,omitempty"`
}

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
		Event:                  string(r.Event),
		Status:                 string(r.Status),
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
		RegisterRetryAfter:     formatTimePtr(r.RegisterRetryAfter),
		Progress: progressItem{
			SubscribedApp:       r.Progress.SubscribedApp,
			OverrideSet:         r.Progress.OverrideSet,
			SystemUserAssigned:  r.Progress.SystemUserAssigned,
			CreditAttachStarted: formatTimePtr(r.Progress.CreditAttachStarted),
			RegisterStarted:     formatTimePtr(r.Progress.RegisterStarted),
			RegisterCalls:       r.Progress.RegisterCalls,
			InboundMessageID:    r.Progress.InboundMessageID,
			TestSendStarted:     formatTimePtr(r.Progress.TestSendStarted),
			TesterWAID:          r.Progress.TesterWAID,
			TesterUserID:        r.Progress.TesterUserID,
			TestFailureCode:     r.Progress.TestFailureCode,
			TestFailureTitle:    r.Progress.TestFailureTitle,
			CreditRevoked:       r.Progress.CreditRevoked,
			SecretDeleted:       r.Progress.SecretDeleted,
			StateSyncStarted:    formatTimePtr(r.Progress.StateSyncStarted),
			StateSynced:         r.Progress.StateSynced,
			HistorySyncStarted:  formatTimePtr(r.Progress.HistorySyncStarted),
			HistorySynced:       r.Progress.HistorySynced,
			PhoneVerified:       r.Progress.PhoneVerified,
			CodeRequestedAt:     formatTimePtr(r.Progress.CodeRequestedAt),
			CodeRequests:        r.Progress.CodeRequests,
		},
		TestMessageID:     r.TestMessageID,
		TestMessageStatus: r.TestMessageStatus,
		Executions:        r.Executions,
		CreatedAt:         formatTime(r.CreatedAt),
		UpdatedAt:         formatTime(r.UpdatedAt),
		Version:           version,
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
		si := stepItem{
			Name:        string(s.Name),
			Status:      string(s.Status),
			Attempts:    s.Attempts,
			StartedAt:   formatTimePtr(s.StartedAt),
			FinishedAt:  formatTimePtr(s.FinishedAt),
			Note:        s.Note,
			NextAttempt: formatTimePtr(s.NextAttemptAt),
		}
		if s.Error != nil {
			si.Error = &stepErrorItem{
				Code:         s.Error.Code,
				GraphCode:    s.Error.GraphCode,
				GraphSubcode: s.Error.GraphSubcode,
				Message:      s.Error.Message,
				FBTraceID:    s.Error.FBTraceID,
			}
		}
		it.Steps[i] = si
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal onboarding %s: %w", r.ID, err)
	}
	return av, nil
}

// unmarshalRecord decodes a record item (from the table or from an index with projection ALL).
func unmarshalRecord(av map[string]types.AttributeValue) (*onboarding.Record, error) {
	var it recordItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("unmarshal onboarding item: %w", err)
	}
	r := &onboarding.Record{
		ID:                     it.ID,
		WABAID:                 it.WABAID,
		PhoneNumberID:          it.PhoneNumberID,
		BusinessID:             it.BusinessID,
		Event:                  onboarding.Event(it.Event),
		Status:                 onboarding.Status(it.Status),
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
		Progress: onboarding.Progress{
			SubscribedApp:      it.Progress.SubscribedApp,
			OverrideSet:        it.Progress.OverrideSet,
			SystemUserAssigned: it.Progress.SystemUserAssigned,
			RegisterCalls:      it.Progress.RegisterCalls,
			InboundMessageID:   it.Progress.InboundMessageID,
			TesterWAID:         it.Progress.TesterWAID,
			TesterUserID:       it.Progress.TesterUserID,
			TestFailureCode:    it.Progress.TestFailureCode,
			TestFailureTitle:   it.Progress.TestFailureTitle,
			CreditRevoked:      it.Progress.CreditRevoked,
			SecretDeleted:      it.Progress.SecretDeleted,
			StateSynced:        it.Progress.StateSynced,
			HistorySynced:      it.Progress.HistorySynced,
			PhoneVerified:      it.Progress.PhoneVerified,
			CodeRequests:       it.Progress.CodeRequests,
		},
		TestMessageID:     it.TestMessageID,
		TestMessageStatus: it.TestMessageStatus,
		Executions:        it.Executions,
		Version:           it.Version,
	}
	var err error
	fail := func(e error) (*onboarding.Record, error) {
		return nil, fmt.Errorf("unmarshal onboarding %s: %w", it.ID, e)
	}
	if r.CreatedAt, err = parseTime("created_at", it.CreatedAt); err != nil {
		return fail(err)
	}
	if r.UpdatedAt, err = parseTime("updated_at", it.UpdatedAt); err != nil {
		return fail(err)
	}
	if r.RegisterRetryAfter, err = parseTimePtr("register_retry_after", it.RegisterRetryAfter); err != nil {
		return fail(err)
	}
	if r.Progress.CreditAttachStarted, err = parseTimePtr("progress.credit_attach_started", it.Progress.CreditAttachStarted); err != nil {
		return fail(err)
	}
	if r.Progress.RegisterStarted, err = parseTimePtr("progress.register_started", it.Progress.RegisterStarted); err != nil {
		return fail(err)
	}
	if r.Progress.TestSendStarted, err = parseTimePtr("progress.test_send_started", it.Progress.TestSendStarted); err != nil {
		return fail(err)
	}
	if r.Progress.StateSyncStarted, err = parseTimePtr("progress.state_sync_started", it.Progress.StateSyncStarted); err != nil {
		return fail(err)
	}
	if r.Progress.HistorySyncStarted, err = parseTimePtr("progress.history_sync_started", it.Progress.HistorySyncStarted); err != nil {
		return fail(err)
	}
	if r.Progress.CodeRequestedAt, err = parseTimePtr("progress.code_requested_at", it.Progress.CodeRequestedAt); err != nil {
		return fail(err)
	}
	for i, si := range it.Steps {
		s := onboarding.Step{
			Name:     onboarding.StepName(si.Name),
			Status:   onboarding.StepStatus(si.Status),
			Attempts: si.Attempts,
			Note:     si.Note,
		}
		if s.StartedAt, err = parseTimePtr("steps.started_at", si.StartedAt); err != nil {
			return fail(err)
		}
		if s.FinishedAt, err = parseTimePtr("steps.finished_at", si.FinishedAt); err != nil {
			return fail(err)
		}
		if s.NextAttemptAt, err = parseTimePtr("steps.next_attempt_at", si.NextAttempt); err != nil {
			return fail(err)
		}
		if si.Error != nil {
			s.Error = &onboarding.StepError{
				Code:         si.Error.Code,
				GraphCode:    si.Error.GraphCode,
				GraphSubcode: si.Error.GraphSubcode,
				Message:      si.Error.Message,
				FBTraceID:    si.Error.FBTraceID,
			}
		}
		r.Steps[i] = s
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
