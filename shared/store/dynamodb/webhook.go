package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/dynamodb/schema"
	"github.com/waes/onboarding/shared/store/webhookitem"
)

var _ onboarding.WebhookStore = (*Store)(nil)

// Keys of the webhook item types (see the package documentation and docs/data-model.md).
const (
	eventPKPrefix   = "EVT#"
	eventSK         = "EVENT"
	messagePKPrefix = "MSG#"
	messageSK       = "STATUS"
	waitSKPrefix    = "WAIT#" // under the onboarding's partition, ONB#<id>
	partnerSK       = "PARTNER"
)

// claimAttempts bounds ClaimEvent's loop; each further attempt follows a conditional write that lost a race.
const claimAttempts = 4

// claimItem is a dedupe claim: pk EVT#<key>, sk EVENT.
type claimItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	// LeaseUntil (timeLayout) ends the current holder's lease; the takeover of an expired lease is
	// conditioned on the value it read.
	LeaseUntil string `dynamodbav:"lease_until,omitempty"`
	// ClaimID is random per claim: a claim whose response was lost (the SDK's retry then fails the
	// condition on the claim's own write) recognises itself.
	ClaimID     string `dynamodbav:"claim_id,omitempty"`
	Done        bool   `dynamodbav:"done"`
	Attempts    int    `dynamodbav:"attempts"`
	CompletedAt string `dynamodbav:"completed_at,omitempty"`
	ExpiresAt   int64  `dynamodbav:"expires_at,omitempty"`
}

// waitItem is a pending task token: pk ONB#<onboarding id>, sk WAIT#<kind>.
type waitItem struct {
	PK           string `dynamodbav:"pk"`
	SK           string `dynamodbav:"sk"`
	OnboardingID string `dynamodbav:"onboarding_id"`
	Kind         string `dynamodbav:"kind"`
	TaskToken    string `dynamodbav:"task_token"`
	// WaitExpiresAt is Wait.ExpiresAt to the nanosecond (timeLayout); ExpiresAt is the TTL rounded up.
	WaitExpiresAt string `dynamodbav:"wait_expires_at,omitempty"`
	ExpiresAt     int64  `dynamodbav:"expires_at,omitempty"`
}

func eventKey(k string) map[string]types.AttributeValue { return key(eventPKPrefix+k, eventSK) }

func messageKey(id string) map[string]types.AttributeValue {
	return key(messagePKPrefix+id, messageSK)
}

func waitKey(onboardingID, kind string) map[string]types.AttributeValue {
	return key(recordPK(onboardingID), waitSKPrefix+kind)
}

func partnerKey(wabaID string) map[string]types.AttributeValue {
	return key(wabaPrefix+wabaID, partnerSK)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func boolean(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

// ClaimEvent is the insert-first dedupe claim of an event key. It puts the claim item with a lease until
// now+lease on condition that no live one exists ("attribute_not_exists(pk) OR expires_at <= :now": an
// expired item that DynamoDB's TTL has not yet deleted counts as absent): onboarding.ClaimNew. Otherwise the
// existing item decides, as the failed write returns it (ReturnValuesOnConditionCheckFailure ALL_OLD) or,
// where that is not supported (dynalite), as a consistent read finds it: done is onboarding.ClaimDone; a
// running lease onboarding.ClaimBusy; an expired lease is taken over with an update conditioned on the
// lease_until read and done = false, onboarding.ClaimRetry for the one taker that succeeds and a new look at
// the item for the others (ClaimBusy, or ClaimDone if it was completed meanwhile). A claim still contended
// after a few rounds is ClaimBusy. The item expires at now+ttl.
func (s *Store) ClaimEvent(ctx context.Context, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, error) {
	if err := webhookitem.CheckClaim(key, lease, ttl); err != nil {
		return 0, s.errorf("ClaimEvent", "", err)
	}
	subject := "event " + key
	k := eventKey(key)
	leaseUntil := formatTime(now.Add(lease))
	exp := webhookitem.TTL(now.Add(ttl))
	var old map[string]types.AttributeValue
	for range claimAttempts {
		if old == nil {
			claimID := onboarding.NewID()
			item, err := attributevalue.MarshalMap(claimItem{
				PK: eventPKPrefix + key, SK: eventSK, LeaseUntil: leaseUntil, ClaimID: claimID, Attempts: 1, ExpiresAt: exp,
			})
			if err != nil {
				return 0, s.errorf("ClaimEvent", subject, err)
			}
			_, err = s.api.PutItem(ctx, &ddb.PutItemInput{
				TableName:                           aws.String(s.table),
				Item:                                item,
				ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
				ExpressionAttributeNames:            map[string]string{"#pk": schema.AttrPK, "#exp": schema.AttrTTL},
				ExpressionAttributeValues:           map[string]types.AttributeValue{":now": number(now.Unix())},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			if err == nil {
				return onboarding.ClaimNew, nil
			}
			if old, err = s.conditionFailedItem(ctx, "PutItem", subject, err, k); err != nil {
				return 0, err
			}
			if old == nil {
				continue // deleted since our write: insert again
			}
			if attrS(old, "claim_id") == claimID {
				return onboarding.ClaimNew, nil // our write happened; its response was lost and the retry failed
			}
		}
		var c claimItem
		if err := attributevalue.UnmarshalMap(old, &c); err != nil {
			return 0, s.errorf("ClaimEvent", subject, fmt.Errorf("unmarshal claim: %w", err))
		}
		if webhookitem.Expired(c.ExpiresAt, now) {
			old = nil // changed since our insert failed: insert again
			continue
		}
		if c.Done {
			return onboarding.ClaimDone, nil
		}
		if until, err := parseTime("lease_until", c.LeaseUntil); err == nil && now.Before(until) {
			return onboarding.ClaimBusy, nil
		}
		// The lease ended before the event was completed (or is unreadable, which cannot prove a holder
		// alive): take it over, conditioned on the lease read, so that of concurrent takers exactly one wins.
		claimID := onboarding.NewID()
		cond := "#lease = :old AND #done = :false"
		values := map[string]types.AttributeValue{
			":lease": str(leaseUntil), ":cid": str(claimID), ":exp": number(exp),
			":zero": number(0), ":one": number(1), ":false": boolean(false), ":old": str(c.LeaseUntil),
		}
		if _, ok := old["lease_until"]; !ok {
			cond = "attribute_not_exists(#lease) AND #done = :false"
			delete(values, ":old")
		}
		_, err := s.api.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:           aws.String(s.table),
			Key:                 k,
			UpdateExpression:    aws.String("SET #lease = :lease, #cid = :cid, #exp = :exp, #att = if_not_exists(#att, :zero) + :one"),
			ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: map[string]string{
				"#lease": "lease_until", "#cid": "claim_id", "#exp": schema.AttrTTL, "#att": "attempts", "#done": "done",
			},
			ExpressionAttributeValues:           values,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return onboarding.ClaimRetry, nil
		}
		if old, err = s.conditionFailedItem(ctx, "UpdateItem", subject, err, k); err != nil {
			return 0, err
		}
		if attrS(old, "claim_id") == claimID {
			return onboarding.ClaimRetry, nil
		}
	}
	return onboarding.ClaimBusy, nil
}

// CompleteEvent marks the event key done (keeping the first completed_at) and moves its expiry to now+ttl.
// It is unconditional, so idempotent, and works for a holder whose lease was taken over meanwhile; for a
// key never claimed it creates a done item.
func (s *Store) CompleteEvent(ctx context.Context, key string, now time.Time, ttl time.Duration) error {
	if err := webhookitem.CheckComplete(key, ttl); err != nil {
		return s.errorf("CompleteEvent", "", err)
	}
	_, err := s.api.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      eventKey(key),
		UpdateExpression:         aws.String("SET #done = :true, #exp = :exp, #completed = if_not_exists(#completed, :now)"),
		ExpressionAttributeNames: map[string]string{"#done": "done", "#exp": schema.AttrTTL, "#completed": "completed_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":true": boolean(true), ":exp": number(webhookitem.TTL(now.Add(ttl))), ":now": str(formatTime(now)),
		},
	})
	if err != nil {
		return s.errorf("UpdateItem", "event "+key, err)
	}
	return nil
}

// AdvanceMessageStatus records status for the message with an update conditioned on
// "attribute_not_exists(pk) OR rank < :rank OR expires_at <= :now" and reports whether it was written: a
// status that does not rank above the stored one (a late "delivered" after "read", the same status twice)
// changes nothing and returns false. An unknown status (rank 0) is an error.
func (s *Store) AdvanceMessageStatus(ctx context.Context, messageID, status string, now time.Time, ttl time.Duration) (bool, error) {
	rank, err := webhookitem.CheckStatus(messageID, status, ttl)
	if err != nil {
		return false, s.errorf("AdvanceMessageStatus", "", err)
	}
	k := messageKey(messageID)
	writeID := onboarding.NewID()
	_, err = s.api.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 k,
		UpdateExpression:    aws.String("SET #status = :status, #rank = :rank, #updated = :updated, #wid = :wid, #exp = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #rank < :rank OR #exp <= :now"),
		ExpressionAttributeNames: map[string]string{
			"#pk": schema.AttrPK, "#status": "status", "#rank": "rank", "#updated": "updated_at", "#wid": "write_id", "#exp": schema.AttrTTL,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":status": str(status), ":rank": number(int64(rank)), ":updated": str(formatTime(now)), ":wid": str(writeID),
			":exp": number(webhookitem.TTL(now.Add(ttl))), ":now": number(now.Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil
	}
	old, err := s.conditionFailedItem(ctx, "UpdateItem", "message "+messageID, err, k)
	if err != nil {
		return false, err
	}
	// Our own write, whose response was lost before the SDK retried it, counts as advanced.
	return attrS(old, "write_id") == writeID, nil
}

// PutWait stores the wait, replacing the onboarding's wait of the same kind (a retried execution waits with a
// new task token). Its TTL is w.ExpiresAt rounded up to the second; a zero ExpiresAt never expires.
func (s *Store) PutWait(ctx context.Context, w onboarding.Wait) error {
	if err := webhookitem.CheckWait(w); err != nil {
		return s.errorf("PutWait", "", err)
	}
	it := waitItem{
		PK: recordPK(w.OnboardingID), SK: waitSKPrefix + w.Kind,
		OnboardingID: w.OnboardingID, Kind: w.Kind, TaskToken: w.TaskToken,
	}
	if !w.ExpiresAt.IsZero() {
		it.WaitExpiresAt, it.ExpiresAt = formatTime(w.ExpiresAt), webhookitem.TTL(w.ExpiresAt)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return s.errorf("PutWait", "wait "+w.Kind+" of "+w.OnboardingID, err)
	}
	if _, err := s.api.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return s.errorf("PutItem", "wait "+w.Kind+" of "+w.OnboardingID, err)
	}
	return nil
}

// TakeWait deletes the onboarding's wait of that kind (DeleteItem with ReturnValues ALL_OLD, conditioned on
// attribute_exists(pk)) and returns it: of concurrent callers exactly one gets it. A missing wait, or one
// expired by Options.Clock (then deleted all the same), is onboarding.ErrNotFound.
//
// A delete whose response is lost, and whose retry by the SDK then fails its condition, loses the wait: the
// workflow's wait then ends by its timeout.
func (s *Store) TakeWait(ctx context.Context, onboardingID, kind string) (onboarding.Wait, error) {
	subject := "wait " + kind + " of " + onboardingID
	out, err := s.api.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      waitKey(onboardingID, kind),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.AttrPK},
		ReturnValues:             types.ReturnValueAllOld,
	})
	if isConditionalFailure(err) || (err == nil && len(out.Attributes) == 0) {
		return onboarding.Wait{}, s.errorf("TakeWait", subject, onboarding.ErrNotFound)
	}
	if err != nil {
		return onboarding.Wait{}, s.errorf("DeleteItem", subject, err)
	}
	var it waitItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return onboarding.Wait{}, s.errorf("TakeWait", subject, fmt.Errorf("unmarshal wait: %w", err))
	}
	w := onboarding.Wait{OnboardingID: it.OnboardingID, Kind: it.Kind, TaskToken: it.TaskToken}
	if it.WaitExpiresAt != "" {
		if w.ExpiresAt, err = parseTime("wait_expires_at", it.WaitExpiresAt); err != nil {
			return onboarding.Wait{}, s.errorf("TakeWait", subject, err)
		}
	}
	if webhookitem.WaitExpired(w, s.opts.Clock()) {
		return onboarding.Wait{}, s.errorf("TakeWait", subject, fmt.Errorf("expired at %s: %w", formatTime(w.ExpiresAt), onboarding.ErrNotFound))
	}
	return w, nil
}

// RecordPartnerEvent records an account_update event of a WABA at its time. One update sets last_event,
// last_event_at and the event's own <event>_at, conditioned on "attribute_not_exists(pk) OR last_event_at <
// :at"; if an event at the same or a later time was recorded already, a second update sets only <event>_at,
// conditioned on it being absent or older. Out-of-order deliveries therefore never make an older event the
// last one; of two events at the same time the first recorded stays last. The item does not expire.
func (s *Store) RecordPartnerEvent(ctx context.Context, wabaID, event string, at time.Time) error {
	attr, err := webhookitem.CheckPartner(wabaID, event)
	if err != nil {
		return s.errorf("RecordPartnerEvent", "", err)
	}
	subject := "partner event " + event + " of " + wabaID
	k := partnerKey(wabaID)
	atS := str(formatTime(at))
	_, err = s.api.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 k,
		UpdateExpression:    aws.String("SET #waba = :waba, #last = :event, #lastAt = :at, #eventAt = :at"),
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #lastAt < :at"),
		ExpressionAttributeNames: map[string]string{
			"#pk": schema.AttrPK, "#waba": webhookitem.AttrWABAID, "#last": webhookitem.AttrLastEvent,
			"#lastAt": webhookitem.AttrLastEventAt, "#eventAt": attr,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{":waba": str(wabaID), ":event": str(event), ":at": atS},
	})
	if err == nil {
		return nil
	}
	if !isConditionalFailure(err) {
		return s.errorf("UpdateItem", subject, err)
	}
	// A later (or simultaneous) event is the last one; record this one's own time only.
	_, err = s.api.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          aws.String("SET #eventAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#eventAt) OR #eventAt < :at)"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.AttrPK, "#eventAt": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": atS},
	})
	if err != nil && !isConditionalFailure(err) {
		return s.errorf("UpdateItem", subject, err)
	}
	return nil // a conditional failure: this event's time is recorded already, or a later one
}

// getItem reads an item consistently; a missing one is onboarding.ErrNotFound (wrapped).
func (s *Store) getItem(ctx context.Context, subject string, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, s.errorf("GetItem", subject, err)
	}
	if len(out.Item) == 0 {
		return nil, s.errorf("get", subject, onboarding.ErrNotFound)
	}
	return out.Item, nil
}

// conditionFailedItem returns the item that made a conditional write fail: the one the write returned
// (ReturnValuesOnConditionCheckFailure ALL_OLD, on DynamoDB) or else a consistent read of it (dynalite
// ignores that parameter); nil if there is none. Any other error of the write is returned wrapped.
func (s *Store) conditionFailedItem(ctx context.Context, op, subject string, err error, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, s.errorf(op, subject, err)
	}
	if len(ccf.Item) > 0 {
		return ccf.Item, nil
	}
	item, err := s.getItem(ctx, subject, k)
	if errors.Is(err, onboarding.ErrNotFound) {
		return nil, nil
	}
	return item, err
}

// attrS returns a string attribute's value ("" if absent or not a string).
func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}
