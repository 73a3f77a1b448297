package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/waes/onboarding/shared/onboarding"
	store "github.com/waes/onboarding/shared/store/dynamodb"
	"github.com/waes/onboarding/shared/store/dynamodb/dynalitetest"
	"github.com/waes/onboarding/shared/store/dynamodb/schema"
	"github.com/waes/onboarding/shared/store/storetest"
)

func TestMain(m *testing.M) { dynalitetest.Main(m) }

// newStore returns a Store on a fresh dynalite table, and the table's name.
func newStore(tb testing.TB, optFns ...func(*store.Options)) (*store.Store, string) {
	tb.Helper()
	client := dynalitetest.Client(tb)
	table := dynalitetest.NewTable(tb, client)
	return store.New(client, table, optFns...), table
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store {
		s, _ := newStore(t)
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	b.Run("dynalite", func(b *testing.B) {
		storetest.Benchmark(b, func(tb testing.TB) onboarding.Store {
			s, _ := newStore(tb)
			return s
		})
	})
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897930, time.UTC)

// clock is a settable test clock.
type clock struct{ now atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.now.Store(t.UnixNano()) }
func (c *clock) Now() time.Time   { return time.Unix(0, c.now.Load()).UTC() }

func newRecord(waba, phone string) *onboarding.Record {
	ev := onboarding.EventFinish
	if phone == "" {
		ev = onboarding.EventFinishOnlyWABA
	}
	return onboarding.NewRecord(onboarding.NewRecordInput{
		ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: ev, Now: t0,
	})
}

func fail(t *testing.T, r *onboarding.Record) {
	t.Helper()
	if err := r.Fail(onboarding.StepSubscribeWebhooks, onboarding.StepError{Code: onboarding.CodeGraphPermanent, Message: "no"}, t0); err != nil {
		t.Fatal(err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// rawGet reads an item as stored.
func rawGet(t *testing.T, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := dynalitetest.Client(t).GetItem(context.Background(), &ddb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{schema.AttrPK: s(pk), schema.AttrSK: s(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem %s/%s: %v", pk, sk, err)
	}
	return out.Item
}

func rawPut(t *testing.T, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := dynalitetest.Client(t).PutItem(context.Background(), &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

// str returns a string attribute's value ("" if absent or not a string).
func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

func guardKey(waba, phone string) string {
	if phone == "" {
		phone = "-"
	}
	return "ACTIVE#" + waba + "#" + phone
}

func TestSchema(t *testing.T) {
	_, table := newStore(t)
	out, err := dynalitetest.Client(t).DescribeTable(context.Background(), &ddb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ks []types.KeySchemaElement) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return strings.Join(parts, ",")
	}
	if got, want := keys(out.Table.KeySchema), "pk:HASH,sk:RANGE"; got != want {
		t.Errorf("table keys: got %s, want %s", got, want)
	}
	indexes := map[string]types.GlobalSecondaryIndexDescription{}
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		indexes[aws.ToString(ix.IndexName)] = ix
	}
	for _, want := range []struct{ name, keys string }{
		{"gsi1", "gsi1pk:HASH,gsi1sk:RANGE"},
		{"gsi2", "gsi2pk:HASH,gsi2sk:RANGE"},
		{"gsi3", "gsi3pk:HASH,gsi3sk:RANGE"},
	} {
		ix, ok := indexes[want.name]
		if !ok {
			t.Errorf("index %s missing", want.name)
			continue
		}
		if got := keys(ix.KeySchema); got != want.keys {
			t.Errorf("index %s keys: got %s, want %s", want.name, got, want.keys)
		}
		if got, want := ix.Projection.ProjectionType, types.ProjectionTypeAll; got != want {
			t.Errorf("index %s projection: got %s, want %s", aws.ToString(ix.IndexName), got, want)
		}
	}
	if got, want := len(indexes), 3; got != want {
		t.Errorf("index count: got %d, want %d", got, want)
	}
	for _, d := range out.Table.AttributeDefinitions {
		if d.AttributeType != types.ScalarAttributeTypeS {
			t.Errorf("attribute %s: got type %s, want S", aws.ToString(d.AttributeName), d.AttributeType)
		}
	}
	if got, want := store.TableSchema(table).BillingMode, types.BillingModePayPerRequest; got != want {
		t.Errorf("billing mode: got %s, want %s", got, want)
	}
}

func TestItemLayout(t *testing.T) {
	st, table := newStore(t, func(o *store.Options) { o.Clock = newClock(t0.Add(time.Hour)).Now })
	tests := []struct {
		name, waba, phone, customer string
	}{
		{"with phone", "102290129340398", "106540352242922", ""},
		{"finish only WABA", "102290129340399", "", ""},
		{"of an authenticated customer", "102290129340400", "106540352242922", "auth0|customer-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(tc.waba, tc.phone)
			r.CustomerRef = tc.customer
			r.Executions = 1
			started := t0.Add(time.Second)
			r.Progress.RegisterStarted = &started
			if err := st.Create(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			item := rawGet(t, table, "ONB#"+r.ID, "RECORD")
			sortKey := "2025-03-14T15:09:26.535897930Z#" + r.ID
			wantGSI1PK, wantGSI1SK := "PHONE#"+tc.phone, sortKey
			if tc.phone == "" {
				wantGSI1PK, wantGSI1SK = "", ""
			}
			wantGSI3PK, wantGSI3SK := "CUST#"+tc.customer, sortKey
			if tc.customer == "" {
				wantGSI3PK, wantGSI3SK = "", ""
			}
			for _, c := range []struct{ attr, got, want string }{
				{"id", str(item, "id"), r.ID},
				{"waba_id", str(item, "waba_id"), tc.waba},
				{"status", str(item, "status"), "RUNNING"},
				{"version", num(item, "version"), "1"},
				{"executions", num(item, "executions"), "1"},
				{"created_at", str(item, "created_at"), "2025-03-14T15:09:26.535897930Z"},
				{"gsi1pk", str(item, "gsi1pk"), wantGSI1PK},
				{"gsi1sk", str(item, "gsi1sk"), wantGSI1SK},
				{"gsi2pk", str(item, "gsi2pk"), "WABA#" + tc.waba},
				{"gsi2sk", str(item, "gsi2sk"), sortKey},
				{"gsi3pk", str(item, "gsi3pk"), wantGSI3PK},
				{"gsi3sk", str(item, "gsi3sk"), wantGSI3SK},
				{"customer_ref", str(item, "customer_ref"), tc.customer},
			} {
				if c.got != c.want {
					t.Errorf("attribute %s: got %q, want %q", c.attr, c.got, c.want)
				}
			}
			if _, ok := item["steps"].(*types.AttributeValueMemberL); !ok {
				t.Errorf("attribute steps: got %T, want a list", item["steps"])
			}
			progress, ok := item["progress"].(*types.AttributeValueMemberM)
			if !ok {
				t.Fatalf("attribute progress: got %T, want a map", item["progress"])
			}
			if got, want := str(progress.Value, "register_started"), "2025-03-14T15:09:27.535897930Z"; got != want {
				t.Errorf("attribute progress.register_started: got %q, want %q", got, want)
			}
			if _, ok := item[schema.AttrTTL]; ok {
				t.Errorf("record carries %s; records must not expire", schema.AttrTTL)
			}

			guard := rawGet(t, table, guardKey(tc.waba, tc.phone), "GUARD")
			for _, c := range []struct{ attr, got, want string }{
				{"onboarding_id", str(guard, "onboarding_id"), r.ID},
				{"acquired_at", str(guard, "acquired_at"), "2025-03-14T16:09:26.535897930Z"},
				{"record_version", num(guard, "record_version"), "1"},
			} {
				if c.got != c.want {
					t.Errorf("guard attribute %s: got %q, want %q", c.attr, c.got, c.want)
				}
			}
			if str(guard, "lease") == "" {
				t.Error("guard has no lease")
			}
		})
	}
}

// TestPendingGuard covers guards whose holder has not written its record at the version the guard was
// acquired for: a create or a retry between its two writes (fresh guard: it counts as active), or one that
// died halfway (older than GuardStaleAfter: taken over).
func TestPendingGuard(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	tests := []struct {
		name string
		age  time.Duration
		// self makes the guard's holder the id being created.
		self bool
		// failedHolder gives the holder a FAILED record at version 1 and the guard record_version 2: a retry.
		failedHolder bool
		// want: "holder" (refused with ActiveOnboardingError naming the holder), "new" (guard taken over),
		// "conflict" (the id is being created by another call: ErrVersionConflict).
		want string
	}{
		{name: "fresh create of another id", age: 30 * time.Second, want: "holder"},
		{name: "create just under the window", age: time.Minute - time.Nanosecond, want: "holder"},
		{name: "create at the window", age: time.Minute, want: "new"},
		{name: "old create of another id", age: time.Hour, want: "new"},
		{name: "fresh create of the same id", age: 30 * time.Second, self: true, want: "conflict"},
		{name: "old create of the same id", age: time.Hour, self: true, want: "new"},
		{name: "guard from the future (clock skew)", age: -time.Minute, want: "holder"},
		{name: "fresh retry", age: 30 * time.Second, failedHolder: true, want: "holder"},
		{name: "old retry", age: time.Hour, failedHolder: true, want: "new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(24 * time.Hour)
			st, table := newStore(t, func(o *store.Options) { o.Clock = newClock(now).Now })
			r := newRecord(waba, phone)
			holder, version := onboarding.NewID(), "1"
			if tc.self {
				holder = r.ID
			}
			if tc.failedHolder {
				h := newRecord(waba, phone)
				fail(t, h)
				if err := st.Create(context.Background(), h); err != nil { // inactive: takes no guard
					t.Fatal(err)
				}
				holder, version = h.ID, "2"
			}
			rawPut(t, table, map[string]types.AttributeValue{
				"pk": s(guardKey(waba, phone)), "sk": s("GUARD"),
				"onboarding_id": s(holder), "record_version": n(version), "lease": s("pending-lease"),
				"acquired_at": s(now.Add(-tc.age).Format(time.RFC3339Nano)),
			})

			err := st.Create(context.Background(), r)
			switch tc.want {
			case "holder":
				var active *onboarding.ActiveOnboardingError
				if !errors.As(err, &active) || active.ExistingID != holder {
					t.Fatalf("Create: got error %v, want ActiveOnboardingError naming %s", err, holder)
				}
			case "conflict":
				if !errors.Is(err, onboarding.ErrVersionConflict) {
					t.Fatalf("Create: got error %v, want ErrVersionConflict", err)
				}
			case "new":
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if got, want := str(rawGet(t, table, guardKey(waba, phone), "GUARD"), "onboarding_id"), r.ID; got != want {
					t.Errorf("guard holder: got %s, want %s", got, want)
				}
			}
		})
	}
}

// TestConcurrentTakeover: of 20 creators finding the same stale guard, exactly one takes it over.
func TestConcurrentTakeover(t *testing.T) {
	const waba, phone, racers = "102290129340398", "106540352242922", 20
	st, table := newStore(t)
	rawPut(t, table, map[string]types.AttributeValue{
		"pk": s(guardKey(waba, phone)), "sk": s("GUARD"),
		"onboarding_id": s(onboarding.NewID()), "record_version": n("1"), "lease": s("abandoned"),
		"acquired_at": s(t0.Format(time.RFC3339Nano)), // long ago: the holder's create died
	})
	recs := make([]*onboarding.Record, racers)
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = newRecord(waba, phone)
		wg.Go(func() {
			<-start
			errs[i] = st.Create(context.Background(), recs[i])
		})
	}
	close(start)
	wg.Wait()
	var winners []string
	for i, err := range errs {
		if err == nil {
			winners = append(winners, recs[i].ID)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("winners: got %v, want exactly one; errors: %v", winners, errs)
	}
	for i, err := range errs {
		var active *onboarding.ActiveOnboardingError
		if err != nil && (!errors.As(err, &active) || active.ExistingID != winners[0]) {
			t.Errorf("creator %d: got error %v, want ActiveOnboardingError naming %s", i, err, winners[0])
		}
	}
}

// TestGuardItemLifecycle: the guard item exists while the onboarding is active and is deleted when it ends
// (the contract tests cannot tell a deleted guard from a stale one that is taken over).
func TestGuardItemLifecycle(t *testing.T) {
	const phone = "106540352242922"
	st, table := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, r *onboarding.Record)
		held   bool
	}{
		{"awaiting test message", func(t *testing.T, r *onboarding.Record) {
			if err := r.SetStatus(onboarding.StatusAwaitingTestMessage, t0); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"failed", fail, false},
		{"offboarded", func(t *testing.T, r *onboarding.Record) { r.Offboard(t0) }, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(fmt.Sprintf("80000000000%d", i), phone)
			if err := st.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			tc.change(t, r)
			if err := st.Update(ctx, r); err != nil {
				t.Fatal(err)
			}
			guard := rawGet(t, table, guardKey(r.WABAID, phone), "GUARD")
			if got, want := len(guard) > 0, tc.held; got != want {
				t.Errorf("guard item present: got %t, want %t (%v)", got, want, guard)
			}
		})
	}
}

// faultyAPI passes calls to API unless a hook returns an error for them.
type faultyAPI struct {
	store.API
	put    func(in *ddb.PutItemInput) error
	delete func(in *ddb.DeleteItemInput) error
}

func (f *faultyAPI) PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	if f.put != nil {
		if err := f.put(in); err != nil {
			return nil, err
		}
	}
	return f.API.PutItem(ctx, in, optFns...)
}

func (f *faultyAPI) DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	if f.delete != nil {
		if err := f.delete(in); err != nil {
			return nil, err
		}
	}
	return f.API.DeleteItem(ctx, in, optFns...)
}

var errInjected = errors.New("injected fault")

// TestReleaseFailureIsHarmless: an onboarding that ends while its guard cannot be deleted still ends, and
// the guard it leaves (held by an inactive onboarding) is taken over by the next create, or refreshed by a
// retry of the same onboarding.
func TestReleaseFailureIsHarmless(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	faulty := &faultyAPI{API: client, delete: func(*ddb.DeleteItemInput) error { return errInjected }}
	st := store.New(faulty, table)
	ctx := context.Background()

	tests := []struct {
		name string
		// next is what happens after the first onboarding failed and left its guard.
		next func(t *testing.T, first *onboarding.Record) (holder string)
	}{
		{"another onboarding takes it over", func(t *testing.T, first *onboarding.Record) string {
			second := newRecord(first.WABAID, phone)
			if err := st.Create(ctx, second); err != nil {
				t.Fatalf("Create after a failed release: %v", err)
			}
			return second.ID
		}},
		{"a retry refreshes it", func(t *testing.T, first *onboarding.Record) string {
			if _, err := first.Resume(t0); err != nil {
				t.Fatal(err)
			}
			if err := st.Update(ctx, first); err != nil {
				t.Fatalf("retry after a failed release: %v", err)
			}
			if got, want := num(rawGet(t, table, guardKey(first.WABAID, phone), "GUARD"), "record_version"), "3"; got != want {
				t.Errorf("guard record_version after the retry: got %s, want %s", got, want)
			}
			return first.ID
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := newRecord(waba+string(rune('0'+i)), phone)
			if err := st.Create(ctx, first); err != nil {
				t.Fatal(err)
			}
			fail(t, first)
			if err := st.Update(ctx, first); err != nil {
				t.Fatalf("Update to FAILED with a failing guard release: got %v, want nil", err)
			}
			if got, want := str(rawGet(t, table, guardKey(first.WABAID, phone), "GUARD"), "onboarding_id"), first.ID; got != want {
				t.Fatalf("guard holder after the failed release: got %q, want %q", got, want)
			}
			holder := tc.next(t, first)
			if got := str(rawGet(t, table, guardKey(first.WABAID, phone), "GUARD"), "onboarding_id"); got != holder {
				t.Errorf("guard holder: got %s, want %s", got, holder)
			}
			var active *onboarding.ActiveOnboardingError
			if err := st.Create(ctx, newRecord(first.WABAID, phone)); !errors.As(err, &active) || active.ExistingID != holder {
				t.Errorf("third Create: got error %v, want ActiveOnboardingError naming %s", err, holder)
			}
		})
	}
}

// TestReleaseKeepsNewerAcquisition: the release after a write at version v removes only a guard acquired for
// an earlier version; one acquired for a later write (a concurrent retry of the same onboarding) stays.
func TestReleaseKeepsNewerAcquisition(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	st, table := newStore(t)
	ctx := context.Background()
	r := newRecord(waba, phone)
	if err := st.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	// As if a retry of r at a later version had re-acquired the guard between r's write and its release.
	rawPut(t, table, map[string]types.AttributeValue{
		"pk": s(guardKey(waba, phone)), "sk": s("GUARD"),
		"onboarding_id": s(r.ID), "record_version": n("7"), "lease": s("newer"),
		"acquired_at": s(t0.Format(time.RFC3339Nano)),
	})
	fail(t, r)
	if err := st.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, want := str(rawGet(t, table, guardKey(waba, phone), "GUARD"), "lease"), "newer"; got != want {
		t.Errorf("guard lease after the release: got %q, want %q (the newer acquisition)", got, want)
	}
}

// TestCreateRecordWriteFails: when the record write fails for another reason than its condition, Create
// looks at what was stored before deciding about the guard, since the failure may hide a successful write.
func TestCreateRecordWriteFails(t *testing.T) {
	const phone = "106540352242922"
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	tests := []struct {
		name string
		// written makes the record write happen before the error is reported (a lost response).
		written bool
		err     error
	}{
		{"error before the write: guard rolled back", false, errInjected},
		{"error after the write: create succeeded", true, errInjected},
		{"condition failure of a retried write: create succeeded", true, &types.ConditionalCheckFailedException{}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waba := fmt.Sprintf("90000000000%d", i)
			var failing atomic.Bool
			failing.Store(true)
			faulty := &faultyAPI{API: client}
			faulty.put = func(in *ddb.PutItemInput) error {
				if !failing.Load() || str(in.Item, "sk") != "RECORD" {
					return nil
				}
				if tc.written {
					if _, err := client.PutItem(context.Background(), in); err != nil {
						t.Errorf("PutItem: %v", err)
					}
				}
				return tc.err
			}
			st := store.New(faulty, table)
			ctx := context.Background()

			r := newRecord(waba, phone)
			err := st.Create(ctx, r)
			guard := rawGet(t, table, guardKey(waba, phone), "GUARD")
			failing.Store(false)
			if tc.written {
				if err != nil {
					t.Fatalf("Create: got error %v, want nil (the record was stored)", err)
				}
				if got, want := r.Version, int64(1); got != want {
					t.Errorf("Version: got %d, want %d", got, want)
				}
				if got, want := str(guard, "onboarding_id"), r.ID; got != want {
					t.Errorf("guard holder: got %q, want %q", got, want)
				}
				return
			}
			if !errors.Is(err, errInjected) {
				t.Fatalf("Create: got error %v, want the injected fault", err)
			}
			for _, part := range []string{table, "PutItem", r.ID} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not mention %q", err, part)
				}
			}
			if len(guard) != 0 {
				t.Errorf("guard left after a failed create: %v", guard)
			}
			if got, want := r.Version, int64(0); got != want {
				t.Errorf("Version after a failed Create: got %d, want %d", got, want)
			}
			if err := st.Create(ctx, newRecord(waba, phone)); err != nil {
				t.Errorf("Create after the rollback: %v", err)
			}
		})
	}
}

// TestUpdateLostResponse: an Update whose write happened but whose response was lost, so that the SDK's
// retry failed the version condition, succeeds (and still releases the guard when the onboarding ends).
func TestUpdateLostResponse(t *testing.T) {
	const waba, phone = "102290129340398", "106540352242922"
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	var lose atomic.Bool
	faulty := &faultyAPI{API: client, put: func(in *ddb.PutItemInput) error {
		if !lose.Load() || str(in.Item, "sk") != "RECORD" {
			return nil
		}
		if _, err := client.PutItem(context.Background(), in); err != nil {
			t.Errorf("PutItem: %v", err)
		}
		return &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}}
	st := store.New(faulty, table)
	ctx := context.Background()
	r := newRecord(waba, phone)
	if err := st.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	fail(t, r)
	lose.Store(true)
	if err := st.Update(ctx, r); err != nil {
		t.Fatalf("Update: got error %v, want nil (the write happened)", err)
	}
	lose.Store(false)
	if got, want := r.Version, int64(2); got != want {
		t.Errorf("Version: got %d, want %d", got, want)
	}
	if guard := rawGet(t, table, guardKey(waba, phone), "GUARD"); len(guard) != 0 {
		t.Errorf("guard after the onboarding failed: got %v, want none", guard)
	}

	// A different concurrent write is still a conflict.
	stale, err := st.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.TestMessageID = "wamid.1"
	if err := st.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	stale.TestMessageID = "wamid.2"
	if err := st.Update(ctx, stale); !errors.Is(err, onboarding.ErrVersionConflict) {
		t.Errorf("Update of a stale copy: got error %v, want ErrVersionConflict", err)
	}
}

// errAPI fails every call with err.
type errAPI struct{ err error }

func (e errAPI) GetItem(context.Context, *ddb.GetItemInput, ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	return nil, e.err
}
func (e errAPI) PutItem(context.Context, *ddb.PutItemInput, ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	return nil, e.err
}
func (e errAPI) UpdateItem(context.Context, *ddb.UpdateItemInput, ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	return nil, e.err
}
func (e errAPI) DeleteItem(context.Context, *ddb.DeleteItemInput, ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	return nil, e.err
}
func (e errAPI) Query(context.Context, *ddb.QueryInput, ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	return nil, e.err
}
func (e errAPI) Scan(context.Context, *ddb.ScanInput, ...func(*ddb.Options)) (*ddb.ScanOutput, error) {
	return nil, e.err
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		throttled bool
	}{
		{"provisioned throughput exceeded", &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}, true},
		{"throttling", &types.ThrottlingException{Message: aws.String("slow down")}, true},
		{"request limit exceeded", &types.RequestLimitExceeded{Message: aws.String("slow down")}, true},
		{"generic throttling code", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"internal server error", &types.InternalServerError{Message: aws.String("oops")}, false},
		{"network", errors.New("connection reset"), false},
	}
	ops := []struct {
		name string
		call func(st *store.Store) error
	}{
		{"GetItem", func(st *store.Store) error { _, err := st.Get(context.Background(), "id1"); return err }},
		{"PutItem", func(st *store.Store) error { return st.Create(context.Background(), newRecord("1", "2")) }},
		{"GetItem", func(st *store.Store) error {
			r := newRecord("1", "2")
			r.Version = 1
			return st.Update(context.Background(), r)
		}},
		{"Query gsi1", func(st *store.Store) error { _, err := st.FindByPhone(context.Background(), "2"); return err }},
		{"Query gsi2", func(st *store.Store) error { _, err := st.FindByWABA(context.Background(), "1", 0); return err }},
		{"Scan gsi2", func(st *store.Store) error { _, _, err := st.ListWABAs(context.Background(), 10, ""); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := store.New(errAPI{tc.err}, "onboarding-test")
			for _, op := range ops {
				err := op.call(st)
				if !errors.Is(err, tc.err) {
					t.Fatalf("%s: got error %v, want it to wrap %v", op.name, err, tc.err)
				}
				if got, want := store.IsThrottled(err), tc.throttled; got != want {
					t.Errorf("%s: IsThrottled: got %t, want %t", op.name, got, want)
				}
				for _, part := range []string{"onboarding-test", op.name} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("%s: error %q does not mention %q", op.name, err, part)
					}
				}
			}
		})
	}
	if store.IsThrottled(nil) {
		t.Error("IsThrottled(nil): got true, want false")
	}
	if store.IsThrottled(&types.ConditionalCheckFailedException{}) {
		t.Error("IsThrottled(ConditionalCheckFailedException): got true, want false")
	}
}

// smallScanPages makes every Scan page hold at most two items, so that DynamoDB's own pages end in the middle
// of a WABA's records, as they do on a large table (1 MB pages).
type smallScanPages struct{ store.API }

func (s smallScanPages) Scan(ctx context.Context, in *ddb.ScanInput, optFns ...func(*ddb.Options)) (*ddb.ScanOutput, error) {
	cp := *in
	cp.Limit = aws.Int32(2)
	return s.API.Scan(ctx, &cp, optFns...)
}

// TestListWABAsAcrossScanPages: with Scan pages ending inside a WABA's records, every WABA is still listed
// exactly once, whatever the page limit.
func TestListWABAsAcrossScanPages(t *testing.T) {
	client := dynalitetest.Client(t)
	table := dynalitetest.NewTable(t, client)
	st := store.New(smallScanPages{client}, table)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		waba := fmt.Sprintf("1022901293405%02d", i)
		want = append(want, waba)
		for j := range 1 + i%4 {
			r := newRecord(waba, fmt.Sprintf("1065403522430%d%d", i, j))
			r.CreatedAt = r.CreatedAt.Add(time.Duration(j) * time.Second)
			if err := st.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, limit := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			seen := map[string]int{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("more than 50 pages")
				}
				ids, next, err := st.ListWABAs(ctx, limit, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range ids {
					seen[id]++
				}
				if next == "" {
					break
				}
				cursor = next
			}
			for _, w := range want {
				if seen[w] != 1 {
					t.Errorf("WABA %s listed %d times, want once (all: %v)", w, seen[w], seen)
				}
			}
			if len(seen) != len(want) {
				t.Errorf("listed %v, want %v", seen, want)
			}
		})
	}
}
