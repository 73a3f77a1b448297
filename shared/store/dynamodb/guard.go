package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/dynamodb/schema"
)

// holderState is what the guard's holder looks like to a would-be acquirer.
type holderState int

const (
	// holderActive: the holder's record is active; the guard is in use.
	holderActive holderState = iota
	// holderInactive: the holder's record is no longer active (its release did not happen or has not happened
	// yet); the guard is stale.
	holderInactive
	// holderPending: the holder's record has not yet been written at the version the guard was acquired for
	// (it is missing, for a create, or still at its inactive version, for a retry), and the guard is younger
	// than GuardStaleAfter: the holder is between its guard write and its record write, so it counts as
	// active.
	holderPending
	// holderAbandoned: like holderPending, but the guard is older than GuardStaleAfter: the holder died
	// between its two writes; the guard is stale.
	holderAbandoned
)

// acquire makes r.ID the holder of the guard of r's WABA and phone number, for the record write at version.
// The guard is a single item written only with conditional puts (dynalite, used by the tests, has no
// transactions, and a single conditional item is all the check needs):
//
//  1. put the guard if it does not exist;
//  2. otherwise read it and its holder's record: a holder that is active, or whose activating record write
//     is still pending (see holderPending), wins and the caller gets *onboarding.ActiveOnboardingError; a
//     stale guard is taken over with a put conditioned on the lease that was read, so that of two concurrent
//     takeovers exactly one succeeds;
//  3. any lost race starts again from 1, at most GuardAttempts times.
//
// creating is true for Create, where a guard already held by r.ID means the id is taken (or being created
// by another call) rather than a guard to refresh.
func (s *Store) acquire(ctx context.Context, r *onboarding.Record, version int64, creating bool) (*guardItem, error) {
	pk := guardPK(r.WABAID, r.PhoneNumberID)
	for range s.opts.GuardAttempts {
		now := s.opts.Clock()
		g := &guardItem{
			PK:            pk,
			SK:            guardSK,
			OnboardingID:  r.ID,
			AcquiredAt:    formatTime(now),
			RecordVersion: version,
			Lease:         onboarding.NewID(),
		}
		err := s.putGuard(ctx, g, "attribute_not_exists(#pk)", map[string]string{"#pk": schema.AttrPK}, nil)
		if err == nil {
			return g, nil
		}
		if !isConditionalFailure(err) {
			return nil, s.errorf("PutItem", "guard "+pk, err)
		}
		cur, err := s.getGuard(ctx, pk)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			continue // released since our put: try again
		}
		// A retry of this very record finds its own guard, left by an earlier activation whose release lost a
		// race or failed; it refreshes it (new version and lease) below.
		if cur.OnboardingID != r.ID || creating {
			state, exists, err := s.holderState(ctx, cur, now)
			if err != nil {
				return nil, err
			}
			switch {
			case cur.OnboardingID == r.ID && exists:
				return nil, s.errorf("create", r.ID, fmt.Errorf("record already exists: %w", onboarding.ErrVersionConflict))
			case cur.OnboardingID == r.ID && state == holderPending:
				return nil, s.errorf("create", r.ID, fmt.Errorf("record is being created by another call: %w", onboarding.ErrVersionConflict))
			case state == holderActive || state == holderPending:
				return nil, &onboarding.ActiveOnboardingError{ExistingID: cur.OnboardingID}
			}
		}
		err = s.putGuard(ctx, g, "#lease = :lease", map[string]string{"#lease": "lease"},
			map[string]types.AttributeValue{":lease": &types.AttributeValueMemberS{Value: cur.Lease}})
		if err == nil {
			return g, nil
		}
		if !isConditionalFailure(err) {
			return nil, s.errorf("PutItem", "guard "+pk, err)
		}
		// Someone else changed the guard between our read and our takeover: look again.
	}
	return nil, s.errorf("acquire", "guard "+pk, fmt.Errorf("still contended after %d attempts: %w", s.opts.GuardAttempts, onboarding.ErrVersionConflict))
}

// holderState reads the record of the guard's holder and reports whether it exists.
func (s *Store) holderState(ctx context.Context, g *guardItem, now time.Time) (holderState, bool, error) {
	rec, err := s.getRecord(ctx, g.OnboardingID)
	if err != nil && !errors.Is(err, onboarding.ErrNotFound) {
		return 0, false, err
	}
	exists := err == nil
	if exists && rec.Version >= g.RecordVersion {
		if rec.Status.Active() {
			return holderActive, true, nil
		}
		return holderInactive, true, nil
	}
	at, err := parseTime("acquired_at", g.AcquiredAt)
	if err != nil {
		// An unreadable date cannot prove the holder is alive; treating the guard as abandoned lets the WABA
		// be onboarded again instead of blocking it for good.
		return holderAbandoned, exists, nil
	}
	if now.Sub(at) < s.opts.GuardStaleAfter {
		return holderPending, exists, nil
	}
	return holderAbandoned, exists, nil
}

// release gives up r's guard after a write that moved r out of an active status at version. The delete is
// conditional: it removes the guard only if r holds it for an earlier version, so it cannot remove a guard a
// concurrent retry of r (a newer version) or another onboarding acquired meanwhile.
//
// A failed release is harmless and not reported to the caller, whose record write succeeded: a guard whose
// holder is inactive is stale, and the next acquirer takes it over.
func (s *Store) release(ctx context.Context, r *onboarding.Record, version int64) {
	pk := guardPK(r.WABAID, r.PhoneNumberID)
	s.deleteGuard(ctx, pk, "release", "#oid = :oid AND #rv < :rv",
		map[string]string{"#oid": "onboarding_id", "#rv": "record_version"},
		map[string]types.AttributeValue{
			":oid": &types.AttributeValueMemberS{Value: r.ID},
			":rv":  number(version),
		})
}

// rollback removes the acquisition g after the record write it was for failed. It is conditional on g's
// lease, so a guard taken over meanwhile stays. A failed rollback leaves a guard whose holder has no record;
// it stops counting after GuardStaleAfter.
func (s *Store) rollback(ctx context.Context, g *guardItem) {
	s.deleteGuard(ctx, g.PK, "rollback", "#lease = :lease",
		map[string]string{"#lease": "lease"},
		map[string]types.AttributeValue{":lease": &types.AttributeValueMemberS{Value: g.Lease}})
}

func (s *Store) deleteGuard(ctx context.Context, pk, what, cond string, names map[string]string, values map[string]types.AttributeValue) {
	// The caller's context may be ending (a timed-out request): the cleanup still runs, for a bounded time,
	// because a guard left behind blocks the WABA+phone until it goes stale.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	defer cancel()
	_, err := s.api.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(pk, guardSK),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil && !isConditionalFailure(err) {
		// A conditional failure means the guard is no longer ours: nothing to do. Anything else is logged,
		// not returned: see release and rollback for why a guard left behind is harmless.
		s.opts.Logger.WarnContext(ctx, "onboarding guard not deleted; it will be taken over once stale",
			slog.String("table", s.table), slog.String("guard", pk), slog.String("operation", what),
			slog.Any("error", err))
	}
}

func (s *Store) putGuard(ctx context.Context, g *guardItem, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	item, err := attributevalue.MarshalMap(g)
	if err != nil {
		return fmt.Errorf("marshal guard: %w", err)
	}
	_, err = s.api.PutItem(ctx, &ddb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return err
}

// getGuard reads a guard consistently; nil when there is none.
func (s *Store) getGuard(ctx context.Context, pk string) (*guardItem, error) {
	item, err := s.getItem(ctx, "guard "+pk, key(pk, guardSK))
	if errors.Is(err, onboarding.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g guardItem
	if err := attributevalue.UnmarshalMap(item, &g); err != nil {
		return nil, s.errorf("GetItem", "guard "+pk, fmt.Errorf("unmarshal guard: %w", err))
	}
	return &g, nil
}
