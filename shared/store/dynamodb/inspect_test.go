package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/waes/onboarding/shared/store/webhookitem"
)

// The inspection methods of storetest.WebhookStoreUnderTest: the contract tests check with them what was
// stored.

// messageItem is the furthest status of a message: pk MSG#<message id>, sk STATUS.
type messageItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Status    string `dynamodbav:"status"`
	Rank      int    `dynamodbav:"rank"`
	UpdatedAt string `dynamodbav:"updated_at"`
	// WriteID is random per write, so that a write whose response was lost recognises itself.
	WriteID   string `dynamodbav:"write_id"`
	ExpiresAt int64  `dynamodbav:"expires_at,omitempty"`
}

// GetEventClaim reads the claim of an event key consistently, as stored (expired or not), or
// onboarding.ErrNotFound. It is for tests, not part of onboarding.WebhookStore.
func (s *Store) GetEventClaim(ctx context.Context, key string) (webhookitem.EventClaim, error) {
	subject := "event " + key
	item, err := s.getItem(ctx, subject, eventKey(key))
	if err != nil {
		return webhookitem.EventClaim{}, err
	}
	var it claimItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return webhookitem.EventClaim{}, s.errorf("GetItem", subject, fmt.Errorf("unmarshal claim: %w", err))
	}
	c := webhookitem.EventClaim{Key: key, Done: it.Done, Attempts: it.Attempts, ExpiresAt: unixTime(it.ExpiresAt)}
	if c.LeaseUntil, err = parseOptionalTime("lease_until", it.LeaseUntil); err != nil {
		return webhookitem.EventClaim{}, s.errorf("GetItem", subject, err)
	}
	if c.CompletedAt, err = parseOptionalTime("completed_at", it.CompletedAt); err != nil {
		return webhookitem.EventClaim{}, s.errorf("GetItem", subject, err)
	}
	return c, nil
}

// MessageStatus reads the status recorded for a message consistently, as stored (expired or not), or
// onboarding.ErrNotFound. It is for tests, not part of onboarding.WebhookStore.
func (s *Store) MessageStatus(ctx context.Context, messageID string) (webhookitem.MessageStatus, error) {
	subject := "message " + messageID
	item, err := s.getItem(ctx, subject, messageKey(messageID))
	if err != nil {
		return webhookitem.MessageStatus{}, err
	}
	var it messageItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return webhookitem.MessageStatus{}, s.errorf("GetItem", subject, fmt.Errorf("unmarshal message status: %w", err))
	}
	m := webhookitem.MessageStatus{MessageID: messageID, Status: it.Status, Rank: it.Rank, ExpiresAt: unixTime(it.ExpiresAt)}
	if m.UpdatedAt, err = parseOptionalTime("updated_at", it.UpdatedAt); err != nil {
		return webhookitem.MessageStatus{}, s.errorf("GetItem", subject, err)
	}
	return m, nil
}

// PartnerState reads what was recorded of a WABA's partner events consistently, or onboarding.ErrNotFound.
// It is for tests, not part of onboarding.WebhookStore.
func (s *Store) PartnerState(ctx context.Context, wabaID string) (webhookitem.Partner, error) {
	subject := "partner " + wabaID
	item, err := s.getItem(ctx, subject, partnerKey(wabaID))
	if err != nil {
		return webhookitem.Partner{}, err
	}
	p := webhookitem.Partner{WABAID: attrS(item, webhookitem.AttrWABAID), LastEvent: attrS(item, webhookitem.AttrLastEvent), EventAt: map[string]time.Time{}}
	if p.LastEventAt, err = parseOptionalTime(webhookitem.AttrLastEventAt, attrS(item, webhookitem.AttrLastEventAt)); err != nil {
		return webhookitem.Partner{}, s.errorf("GetItem", subject, err)
	}
	for name := range item {
		event, ok := webhookitem.EventOfAttr(name)
		if !ok {
			continue
		}
		if p.EventAt[event], err = parseTime(name, attrS(item, name)); err != nil {
			return webhookitem.Partner{}, s.errorf("GetItem", subject, err)
		}
	}
	return p, nil
}

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func parseOptionalTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(field, s)
}
