package dynamodb_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
	store "github.com/waes/onboarding/shared/store/dynamodb"
	"github.com/waes/onboarding/shared/store/dynamodb/dynalitetest"
	"github.com/waes/onboarding/shared/store/dynamodb/schema"
	"github.com/waes/onboarding/shared/store/storetest"
)

// allOldAPI makes dynalite answer like DynamoDB to ReturnValuesOnConditionCheckFailure ALL_OLD, which dynalite
// ignores: a write failing its condition returns the item in the exception. (It reads the item after the
// failure, so unlike DynamoDB the two are not atomic; the store must cope with either.)
type allOldAPI struct {
	store.API
	client *ddb.Client
}

func (a *allOldAPI) withOld(ctx context.Context, table *string, k map[string]types.AttributeValue, rv types.ReturnValuesOnConditionCheckFailure, err error) error {
	var ccf *types.ConditionalCheckFailedException
	if rv != types.ReturnValuesOnConditionCheckFailureAllOld || !errors.As(err, &ccf) {
		return err
	}
	out, gerr := a.client.GetItem(ctx, &ddb.GetItemInput{TableName: table, Key: k, ConsistentRead: aws.Bool(true)})
	if gerr != nil {
		return gerr
	}
	ccf.Item = out.Item
	return err
}

func (a *allOldAPI) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	out, err := a.API.PutItem(ctx, in, optFns...)
	k := map[string]types.AttributeValue{schema.AttrPK: in.Item[schema.AttrPK], schema.AttrSK: in.Item[schema.AttrSK]}
	return out, a.withOld(ctx, in.TableName, k, in.ReturnValuesOnConditionCheckFailure, err)
}

func (a *allOldAPI) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	out, err := a.API.UpdateItem(ctx, in, optFns...)
	return out, a.withOld(ctx, in.TableName, in.Key, in.ReturnValuesOnConditionCheckFailure, err)
}

func (a *allOldAPI) DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	out, err := a.API.DeleteItem(ctx, in, optFns...)
	return out, a.withOld(ctx, in.TableName, in.Key, in.ReturnValuesOnConditionCheckFailure, err)
}

func TestWebhookContract(t *testing.T) {
	tests := []struct {
		name string
		wrap func(c *ddb.Client) store.API
	}{
		{"dynalite", func(c *ddb.Client) store.API { return c }},
		{"ALL_OLD on conditional failure", func(c *ddb.Client) store.API { return &allOldAPI{API: c, client: c} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunWebhook(t, func(t *testing.T) storetest.WebhookStoreUnderTest {
				client := dynalitetest.Client(t)
				return store.New(tc.wrap(client), dynalitetest.NewTable(t, client))
			})
		})
	}
}

func BenchmarkWebhook(b *testing.B) {
	b.Run("dynalite", func(b *testing.B) {
		storetest.BenchmarkWebhook(b, func(tb testing.TB) storetest.WebhookStoreUnderTest {
			s, _ := newStore(tb)
			return s
		})
	})
}

func boolAttr(item map[string]types.AttributeValue, name string) (bool, bool) {
	v, ok := item[name].(*types.AttributeValueMemberBOOL)
	if !ok {
		return false, false
	}
	return v.Value, true
}

// TestWebhookItemLayout pins the keys, attributes and types of the webhook items (docs/data-model.md).
func TestWebhookItemLayout(t *testing.T) {
	st, table := newStore(t)
	ctx := context.Background()
	const wabaID, msgID = "102290129340398", "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"
	onbID := onboarding.NewID()

	if _, err := st.ClaimEvent(ctx, msgID+"#read", t0, 30*time.Second, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	claim := rawGet(t, table, "EVT#"+msgID+"#read", "EVENT")
	for _, c := range []struct{ attr, got, want string }{
		{"lease_until", str(claim, "lease_until"), "2025-03-14T15:09:56.535897930Z"},
		{"attempts", num(claim, "attempts"), "1"},
		{"expires_at", num(claim, "expires_at"), "1742569767"}, // t0 + 7 days, rounded up
	} {
		if c.got != c.want {
			t.Errorf("claim attribute %s: got %q, want %q", c.attr, c.got, c.want)
		}
	}
	if done, ok := boolAttr(claim, "done"); !ok || done {
		t.Errorf("claim attribute done: got %v, want BOOL false", claim["done"])
	}
	if err := st.CompleteEvent(ctx, msgID+"#read", t0.Add(time.Second), 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	claim = rawGet(t, table, "EVT#"+msgID+"#read", "EVENT")
	if done, ok := boolAttr(claim, "done"); !ok || !done {
		t.Errorf("claim attribute done after CompleteEvent: got %v, want BOOL true", claim["done"])
	}
	if got, want := num(claim, "expires_at"), "1742569768"; got != want {
		t.Errorf("claim attribute expires_at after CompleteEvent: got %q, want %q", got, want)
	}

	if _, err := st.AdvanceMessageStatus(ctx, msgID, "delivered", t0, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	msg := rawGet(t, table, "MSG#"+msgID, "STATUS")
	for _, c := range []struct{ attr, got, want string }{
		{"status", str(msg, "status"), "delivered"},
		{"rank", num(msg, "rank"), "2"},
		{"updated_at", str(msg, "updated_at"), "2025-03-14T15:09:26.535897930Z"},
		{"expires_at", num(msg, "expires_at"), "1742569767"},
	} {
		if c.got != c.want {
			t.Errorf("message attribute %s: got %q, want %q", c.attr, c.got, c.want)
		}
	}

	w := onboarding.Wait{OnboardingID: onbID, Kind: "inbound", TaskToken: "token-1", ExpiresAt: t0.Add(time.Hour)}
	if err := st.PutWait(ctx, w); err != nil {
		t.Fatal(err)
	}
	wait := rawGet(t, table, "ONB#"+onbID, "WAIT#inbound")
	for _, c := range []struct{ attr, got, want string }{
		{"onboarding_id", str(wait, "onboarding_id"), onbID},
		{"kind", str(wait, "kind"), "inbound"},
		{"task_token", str(wait, "task_token"), "token-1"},
		{"wait_expires_at", str(wait, "wait_expires_at"), "2025-03-14T16:09:26.535897930Z"},
		{"expires_at", num(wait, "expires_at"), "1741968567"},
	} {
		if c.got != c.want {
			t.Errorf("wait attribute %s: got %q, want %q", c.attr, c.got, c.want)
		}
	}
	for _, gsi := range []string{"gsi1pk", "gsi2pk"} {
		if _, ok := wait[gsi]; ok {
			t.Errorf("wait item carries %s; it must stay out of the record indexes", gsi)
		}
	}

	if err := st.RecordPartnerEvent(ctx, wabaID, "PARTNER_ADDED", t0); err != nil {
		t.Fatal(err)
	}
	partner := rawGet(t, table, "WABA#"+wabaID, "PARTNER")
	for _, c := range []struct{ attr, got, want string }{
		{"waba_id", str(partner, "waba_id"), wabaID},
		{"last_event", str(partner, "last_event"), "PARTNER_ADDED"},
		{"last_event_at", str(partner, "last_event_at"), "2025-03-14T15:09:26.535897930Z"},
		{"partner_added_at", str(partner, "partner_added_at"), "2025-03-14T15:09:26.535897930Z"},
	} {
		if c.got != c.want {
			t.Errorf("partner attribute %s: got %q, want %q", c.attr, c.got, c.want)
		}
	}
	if _, ok := partner[schema.AttrTTL]; ok {
		t.Errorf("partner item carries %s; it must not expire", schema.AttrTTL)
	}
}

// TestALLOldSavesTheRead: where DynamoDB returns the existing item with the conditional failure, the store
// decides from it and reads nothing.
func TestALLOldSavesTheRead(t *testing.T) {
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	var reads atomic.Int64
	counting := ddb.New(client.Options(), withFaults(func(op string) error {
		if op == "GetItem" {
			reads.Add(1)
		}
		return nil
	}))
	st := store.New(&allOldAPI{API: counting, client: client}, table)
	ctx := context.Background()
	if r, err := st.ClaimEvent(ctx, "k", t0, time.Minute, time.Hour); err != nil || r != onboarding.ClaimNew {
		t.Fatalf("first claim: %v, %v", r, err)
	}
	if r, err := st.ClaimEvent(ctx, "k", t0, time.Minute, time.Hour); err != nil || r != onboarding.ClaimBusy {
		t.Fatalf("second claim: got %v, %v; want ClaimBusy", r, err)
	}
	if ok, err := st.AdvanceMessageStatus(ctx, "m", "read", t0, time.Hour); err != nil || !ok {
		t.Fatalf("AdvanceMessageStatus: %v, %v", ok, err)
	}
	if ok, err := st.AdvanceMessageStatus(ctx, "m", "read", t0, time.Hour); err != nil || ok {
		t.Fatalf("AdvanceMessageStatus again: got %v, %v; want false", ok, err)
	}
	if got := reads.Load(); got != 0 {
		t.Errorf("GetItem calls: got %d, want 0", got)
	}
}

// lostResponseAPI performs the writes that match, then reports them failed by their condition, as the SDK's
// retry of a write whose response was lost does.
type lostResponseAPI struct {
	store.API
	lose atomic.Bool
}

func (l *lostResponseAPI) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	out, err := l.API.PutItem(ctx, in, optFns...)
	if err == nil && l.lose.Load() {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	return out, err
}

func (l *lostResponseAPI) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	out, err := l.API.UpdateItem(ctx, in, optFns...)
	if err == nil && l.lose.Load() {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	return out, err
}

// TestWebhookLostResponse: a claim or a status write that happened, but whose response was lost, is
// recognised as the caller's own (ClaimNew, ClaimRetry, true) rather than taken for a duplicate.
func TestWebhookLostResponse(t *testing.T) {
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	api := &lostResponseAPI{API: client}
	st := store.New(api, table)
	ctx := context.Background()
	api.lose.Store(true)
	if r, err := st.ClaimEvent(ctx, "k", t0, time.Minute, time.Hour); err != nil || r != onboarding.ClaimNew {
		t.Errorf("ClaimEvent: got %v, %v; want ClaimNew", r, err)
	}
	if r, err := st.ClaimEvent(ctx, "k", t0.Add(time.Minute), time.Minute, time.Hour); err != nil || r != onboarding.ClaimRetry {
		t.Errorf("ClaimEvent after the lease: got %v, %v; want ClaimRetry", r, err)
	}
	if ok, err := st.AdvanceMessageStatus(ctx, "m", "read", t0, time.Hour); err != nil || !ok {
		t.Errorf("AdvanceMessageStatus: got %v, %v; want true", ok, err)
	}
	api.lose.Store(false)
	if r, err := st.ClaimEvent(ctx, "k", t0.Add(time.Minute), time.Minute, time.Hour); err != nil || r != onboarding.ClaimBusy {
		t.Errorf("a second claimer: got %v, %v; want ClaimBusy", r, err)
	}
	if ok, err := st.AdvanceMessageStatus(ctx, "m", "read", t0, time.Hour); err != nil || ok {
		t.Errorf("the same status again: got %v, %v; want false", ok, err)
	}
	c, err := st.GetEventClaim(ctx, "k")
	if err != nil || c.Attempts != 2 {
		t.Errorf("claim: got %+v, %v; want 2 attempts", c, err)
	}
}

// TestWebhookFaults: throttling injected through withFaults reaches the caller wrapped, recognisable by
// IsThrottled and as the *types.ProvisionedThroughputExceededException it is, naming the table and the
// DynamoDB operation.
func TestWebhookFaults(t *testing.T) {
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	ctx := context.Background()
	seeded := store.New(client, table)
	// A claimed event and a status, so that the claim's and the status's second write fail their condition
	// and go on to read the item.
	if _, err := seeded.ClaimEvent(ctx, "busy", t0, time.Hour, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := seeded.AdvanceMessageStatus(ctx, "read", "read", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, op string
		call     func(st *store.Store) error
	}{
		{"ClaimEvent insert", "PutItem", func(st *store.Store) error {
			_, err := st.ClaimEvent(ctx, "new", t0, time.Minute, time.Hour)
			return err
		}},
		{"ClaimEvent read after a conditional failure", "GetItem", func(st *store.Store) error {
			_, err := st.ClaimEvent(ctx, "busy", t0, time.Minute, time.Hour)
			return err
		}},
		{"ClaimEvent takeover", "UpdateItem", func(st *store.Store) error {
			_, err := st.ClaimEvent(ctx, "busy", t0.Add(2*time.Hour), time.Minute, time.Hour)
			return err
		}},
		{"CompleteEvent", "UpdateItem", func(st *store.Store) error { return st.CompleteEvent(ctx, "new", t0, time.Hour) }},
		{"AdvanceMessageStatus", "UpdateItem", func(st *store.Store) error {
			_, err := st.AdvanceMessageStatus(ctx, "m", "read", t0, time.Hour)
			return err
		}},
		{"AdvanceMessageStatus read after a conditional failure", "GetItem", func(st *store.Store) error {
			_, err := st.AdvanceMessageStatus(ctx, "read", "delivered", t0, time.Hour)
			return err
		}},
		{"PutWait", "PutItem", func(st *store.Store) error {
			return st.PutWait(ctx, onboarding.Wait{OnboardingID: "id", Kind: "k", TaskToken: "tok"})
		}},
		{"TakeWait", "DeleteItem", func(st *store.Store) error { _, err := st.TakeWait(ctx, "id", "k"); return err }},
		{"RecordPartnerEvent", "UpdateItem", func(st *store.Store) error {
			return st.RecordPartnerEvent(ctx, "1", "PARTNER_ADDED", t0)
		}},
		{"GetEventClaim", "GetItem", func(st *store.Store) error { _, err := st.GetEventClaim(ctx, "busy"); return err }},
		{"Create", "PutItem", func(st *store.Store) error { return st.Create(ctx, newRecord("1", "2")) }},
		{"FindByWABA", "Query", func(st *store.Store) error { _, err := st.FindByWABA(ctx, "1", 0); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := store.New(ddb.New(client.Options(), withFaults(store.Throttle(tc.op))), table)
			err := tc.call(st)
			var throttled *types.ProvisionedThroughputExceededException
			if !errors.As(err, &throttled) || !store.IsThrottled(err) {
				t.Fatalf("got error %v, want a wrapped *types.ProvisionedThroughputExceededException", err)
			}
			for _, part := range []string{table, tc.op} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
		})
	}
	t.Run("no fault", func(t *testing.T) {
		for _, fail := range []func(string) error{func(string) error { return nil }, store.Throttle("Query")} {
			api := ddb.New(client.Options(), withFaults(fail))
			if _, err := store.New(api, table).ClaimEvent(ctx, "busy", t0, time.Minute, time.Hour); err != nil {
				t.Errorf("ClaimEvent through withFaults without a fault for it: %v", err)
			}
		}
	})
}

// TestTakeWaitClock: TakeWait judges expiry by Options.Clock, to the nanosecond.
func TestTakeWaitClock(t *testing.T) {
	st, _ := newStore(t, func(o *store.Options) { o.Clock = func() time.Time { return t0 } })
	ctx := context.Background()
	for _, tc := range []struct {
		expires time.Time
		found   bool
	}{
		{t0.Add(time.Nanosecond), true},
		{t0, false},
	} {
		if err := st.PutWait(ctx, onboarding.Wait{OnboardingID: "id", Kind: "k", TaskToken: "tok", ExpiresAt: tc.expires}); err != nil {
			t.Fatal(err)
		}
		_, err := st.TakeWait(ctx, "id", "k")
		if got := err == nil; got != tc.found {
			t.Errorf("wait expiring at %s, clock at %s: found %t (%v), want %t", tc.expires, t0, got, err, tc.found)
		}
	}
}
