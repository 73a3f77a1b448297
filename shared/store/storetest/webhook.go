package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/webhookitem"
)

// WebhookStoreUnderTest is an onboarding.WebhookStore with the inspection methods both adapters have, which
// the contract tests use to check what was stored.
type WebhookStoreUnderTest interface {
	onboarding.WebhookStore
	GetEventClaim(ctx context.Context, key string) (webhookitem.EventClaim, error)
	MessageStatus(ctx context.Context, messageID string) (webhookitem.MessageStatus, error)
	PartnerState(ctx context.Context, wabaID string) (webhookitem.Partner, error)
}

// Durations of the webhook contract tests: a worker's lease and the dedupe window.
const (
	lease = 30 * time.Second
	ttl   = 7 * 24 * time.Hour
)

// RunWebhook runs the contract tests of onboarding.WebhookStore against the stores newStore returns (one per
// subtest, empty, so the subtests run in parallel):
//
//	func TestWebhookContract(t *testing.T) {
//		storetest.RunWebhook(t, func(*testing.T) storetest.WebhookStoreUnderTest { return memory.New() })
//	}
func RunWebhook(t *testing.T, newStore func(t *testing.T) WebhookStoreUnderTest) {
	runParallel(t, newStore, []contractCase[WebhookStoreUnderTest]{
		{"ClaimRules", testClaimRules},
		{"ClaimValidates", testClaimValidates},
		{"ConcurrentClaims", testConcurrentClaims},
		{"MessageStatusRules", testMessageStatusRules},
		{"MessageStatusValidates", testMessageStatusValidates},
		{"ConcurrentMessageStatuses", testConcurrentMessageStatuses},
		{"Waits", testWaits},
		{"WaitValidates", testWaitValidates},
		{"ConcurrentTakeWait", testConcurrentTakeWait},
		{"PartnerEvents", testPartnerEvents},
		{"PartnerEventValidates", testPartnerEventValidates},
		{"ConcurrentPartnerEvents", testConcurrentPartnerEvents},
	})
}

// ttlAt is the TTL both adapters store for an item that must live until t: whole seconds, rounded up.
func ttlAt(t time.Time) time.Time { return time.Unix(webhookitem.TTL(t), 0).UTC() }

// claimOp is one call in a claim scenario: ClaimEvent (want is its result) or CompleteEvent (complete).
type claimOp struct {
	at       time.Time
	complete bool
	want     onboarding.ClaimResult
}

func claim(when time.Time, want onboarding.ClaimResult) claimOp { return claimOp{at: when, want: want} }
func complete(when time.Time) claimOp                           { return claimOp{at: when, complete: true} }

func testClaimRules(t *testing.T, s WebhookStoreUnderTest) {
	ctx := context.Background()
	expiry := ttlAt(at(ttl)) // t0 has a fraction, so this is up to a second after at(ttl)
	tests := []struct {
		name string
		ops  []claimOp
		want webhookitem.EventClaim
	}{
		{"new key", []claimOp{claim(at(0), onboarding.ClaimNew)},
			webhookitem.EventClaim{Attempts: 1, LeaseUntil: at(lease), ExpiresAt: expiry}},
		{"duplicate while the lease runs", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(lease-1), onboarding.ClaimBusy),
		}, webhookitem.EventClaim{Attempts: 1, LeaseUntil: at(lease), ExpiresAt: expiry}},
		{"claim, complete, claim", []claimOp{
			claim(at(0), onboarding.ClaimNew), complete(at(time.Second)), claim(at(2*time.Second), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, Attempts: 1, LeaseUntil: at(lease), CompletedAt: at(time.Second), ExpiresAt: ttlAt(at(ttl + time.Second))}},
		{"complete is idempotent and keeps the first completion", []claimOp{
			claim(at(0), onboarding.ClaimNew), complete(at(time.Second)), complete(at(time.Minute)), claim(at(2*time.Minute), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, Attempts: 1, LeaseUntil: at(lease), CompletedAt: at(time.Second), ExpiresAt: ttlAt(at(ttl + time.Minute))}},
		{"done stays done after the lease", []claimOp{
			claim(at(0), onboarding.ClaimNew), complete(at(time.Second)), claim(at(time.Hour), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, Attempts: 1, LeaseUntil: at(lease), CompletedAt: at(time.Second), ExpiresAt: ttlAt(at(ttl + time.Second))}},
		{"expired lease is retried", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(lease), onboarding.ClaimRetry),
		}, webhookitem.EventClaim{Attempts: 2, LeaseUntil: at(2 * lease), ExpiresAt: ttlAt(at(ttl + lease))}},
		{"retried lease is busy", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(lease), onboarding.ClaimRetry), claim(at(lease+time.Second), onboarding.ClaimBusy),
		}, webhookitem.EventClaim{Attempts: 2, LeaseUntil: at(2 * lease), ExpiresAt: ttlAt(at(ttl + lease))}},
		{"retried twice", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(lease), onboarding.ClaimRetry), claim(at(3*lease), onboarding.ClaimRetry),
		}, webhookitem.EventClaim{Attempts: 3, LeaseUntil: at(4 * lease), ExpiresAt: ttlAt(at(ttl + 3*lease))}},
		{"the old holder's completion after a retry still counts", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(lease), onboarding.ClaimRetry),
			complete(at(lease + time.Second)), claim(at(lease+2*time.Second), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, Attempts: 2, LeaseUntil: at(2 * lease), CompletedAt: at(lease + time.Second), ExpiresAt: ttlAt(at(ttl + lease + time.Second))}},
		{"completed without a claim", []claimOp{
			complete(at(0)), claim(at(time.Second), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, CompletedAt: at(0), ExpiresAt: expiry}},
		{"done until its TTL", []claimOp{
			claim(at(0), onboarding.ClaimNew), complete(at(0)), claim(expiry.Add(-1), onboarding.ClaimDone),
		}, webhookitem.EventClaim{Done: true, Attempts: 1, LeaseUntil: at(lease), CompletedAt: at(0), ExpiresAt: expiry}},
		{"an expired done item counts as absent", []claimOp{
			claim(at(0), onboarding.ClaimNew), complete(at(0)), claim(expiry, onboarding.ClaimNew),
		}, webhookitem.EventClaim{Attempts: 1, LeaseUntil: expiry.Add(lease), ExpiresAt: ttlAt(expiry.Add(ttl))}},
		{"an expired unfinished item counts as absent", []claimOp{
			claim(at(0), onboarding.ClaimNew), claim(at(ttl+time.Hour), onboarding.ClaimNew),
		}, webhookitem.EventClaim{Attempts: 1, LeaseUntil: at(ttl + time.Hour + lease), ExpiresAt: ttlAt(at(2*ttl + time.Hour))}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("wamid.HBgL%d#delivered", i)
			runClaimOps(t, s, key, tc.ops...)
			want := tc.want
			want.Key = key
			assertClaim(t, s, want)
		})
	}
	t.Run("unknown key", func(t *testing.T) {
		_, err := s.GetEventClaim(ctx, "never-claimed")
		wantIs(t, err, onboarding.ErrNotFound)
	})
}

// runClaimOps makes the calls of ops on key in order and checks each claim's result.
func runClaimOps(t *testing.T, s WebhookStoreUnderTest, key string, ops ...claimOp) {
	t.Helper()
	for j, op := range ops {
		if op.complete {
			if err := s.CompleteEvent(context.Background(), key, op.at, ttl); err != nil {
				t.Fatalf("op %d: CompleteEvent: %v", j, err)
			}
			continue
		}
		got, err := s.ClaimEvent(context.Background(), key, op.at, lease, ttl)
		if err != nil {
			t.Fatalf("op %d: ClaimEvent: %v", j, err)
		}
		if want := op.want; got != want {
			t.Errorf("op %d: ClaimEvent at %s: got %s, want %s", j, op.at.Sub(t0), claimName(got), claimName(want))
		}
	}
}

func assertClaim(t *testing.T, s WebhookStoreUnderTest, want webhookitem.EventClaim) {
	t.Helper()
	got, err := s.GetEventClaim(context.Background(), want.Key)
	if err != nil {
		t.Fatalf("GetEventClaim(%s): %v", want.Key, err)
	}
	assertSame(t, "claim "+want.Key, got, want)
}

// assertSame compares two values with reflect.DeepEqual after normalizing their times to UTC (stores keep
// the instant, not the location).
func assertSame[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	normalizeTimes(reflect.ValueOf(&got).Elem())
	normalizeTimes(reflect.ValueOf(&want).Elem())
	assertEqual(t, what, got, want)
}

// assertEqual compares two values with reflect.DeepEqual and names each field that differs (or shows both
// values, when the difference is in no field diffValues compares, such as a time's location).
func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	var diffs []string
	diffValues(what, reflect.ValueOf(&got).Elem(), reflect.ValueOf(&want).Elem(), &diffs)
	if len(diffs) == 0 {
		diffs = []string{fmt.Sprintf("%s:\n got %+v\nwant %+v", what, got, want)}
	}
	t.Error(strings.Join(diffs, "\n"))
}

func claimName(r onboarding.ClaimResult) string {
	switch r {
	case onboarding.ClaimNew:
		return "ClaimNew"
	case onboarding.ClaimRetry:
		return "ClaimRetry"
	case onboarding.ClaimDone:
		return "ClaimDone"
	case onboarding.ClaimBusy:
		return "ClaimBusy"
	}
	return fmt.Sprintf("ClaimResult(%d)", int(r))
}

func testClaimValidates(t *testing.T, s WebhookStoreUnderTest) {
	ctx := context.Background()
	tests := []struct {
		name       string
		key        string
		lease, ttl time.Duration
	}{
		{"empty key", "", lease, ttl},
		{"no lease", "k1", 0, ttl},
		{"negative lease", "k2", -lease, ttl},
		{"no ttl", "k3", lease, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.ClaimEvent(ctx, tc.key, at(0), tc.lease, tc.ttl); err == nil {
				t.Errorf("ClaimEvent: got nil error, want one")
			}
			if tc.lease > 0 {
				if err := s.CompleteEvent(ctx, tc.key, at(0), tc.ttl); err == nil {
					t.Errorf("CompleteEvent: got nil error, want one")
				}
			}
			if _, err := s.GetEventClaim(ctx, tc.key); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("GetEventClaim after a refused call: got error %v, want ErrNotFound", err)
			}
		})
	}
}

// raceClaims makes n calls of claim at once and tallies their results.
func raceClaims(t *testing.T, n int, claim func(i int) (onboarding.ClaimResult, error)) map[onboarding.ClaimResult]int {
	t.Helper()
	results := make([]onboarding.ClaimResult, n)
	errs := race(n, func(i int) (err error) {
		results[i], err = claim(i)
		return err
	})
	counts := map[onboarding.ClaimResult]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		counts[results[i]]++
	}
	return counts
}

func testConcurrentClaims(t *testing.T, s WebhookStoreUnderTest) {
	const n = 20
	ctx := context.Background()
	// Claims racing on a key after the calls of before: one gets win, the others ClaimBusy.
	tests := []struct {
		name     string
		before   []claimOp
		at       func(i int) time.Time // of claim i
		win      onboarding.ClaimResult
		attempts int // after the race
	}{
		{"fresh key: one ClaimNew, the others ClaimBusy", nil,
			func(i int) time.Time { return at(time.Duration(i)) }, onboarding.ClaimNew, 1},
		{"expired lease: one ClaimRetry, the others ClaimBusy", []claimOp{claim(at(0), onboarding.ClaimNew)},
			func(int) time.Time { return at(lease + time.Second) }, onboarding.ClaimRetry, 2},
		{"expired item: one ClaimNew, the others ClaimBusy", []claimOp{claim(at(0), onboarding.ClaimNew), complete(at(0))},
			func(int) time.Time { return at(2 * ttl) }, onboarding.ClaimNew, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprint("concurrent-", i)
			runClaimOps(t, s, key, tc.before...)
			got := raceClaims(t, n, func(i int) (onboarding.ClaimResult, error) {
				return s.ClaimEvent(ctx, key, tc.at(i), lease, ttl)
			})
			if want := map[onboarding.ClaimResult]int{tc.win: 1, onboarding.ClaimBusy: n - 1}; !reflect.DeepEqual(got, want) {
				t.Errorf("results: got %v, want %v", got, want)
			}
			if c, err := s.GetEventClaim(ctx, key); err != nil || c.Attempts != tc.attempts {
				t.Errorf("claim after the race: got %+v, %v; want %d attempts", c, err, tc.attempts)
			}
		})
	}
	t.Run("winner completes at once: one ClaimNew, the others ClaimBusy or ClaimDone", func(t *testing.T) {
		const key = "concurrent-complete"
		got := raceClaims(t, n, func(int) (onboarding.ClaimResult, error) {
			r, err := s.ClaimEvent(ctx, key, at(0), lease, ttl)
			if err == nil && r == onboarding.ClaimNew {
				err = s.CompleteEvent(ctx, key, at(0), ttl)
			}
			return r, err
		})
		if got[onboarding.ClaimNew] != 1 || got[onboarding.ClaimBusy]+got[onboarding.ClaimDone] != n-1 {
			t.Errorf("results: got %v, want 1 ClaimNew and %d ClaimBusy or ClaimDone", got, n-1)
		}
		runClaimOps(t, s, key, claim(at(time.Second), onboarding.ClaimDone))
	})
}

// statusOp is one AdvanceMessageStatus call and its expected answer.
type statusOp struct {
	status string
	at     time.Time
	want   bool
}

func testMessageStatusRules(t *testing.T, s WebhookStoreUnderTest) {
	ctx := context.Background()
	tests := []struct {
		name string
		ops  []statusOp
		want webhookitem.MessageStatus
	}{
		{"first status", []statusOp{{"sent", at(0), true}},
			webhookitem.MessageStatus{Status: "sent", Rank: 1, UpdatedAt: at(0), ExpiresAt: ttlAt(at(ttl))}},
		{"in order", []statusOp{{"sent", at(0), true}, {"delivered", at(1), true}, {"read", at(2), true}},
			webhookitem.MessageStatus{Status: "read", Rank: 3, UpdatedAt: at(2), ExpiresAt: ttlAt(at(ttl + 2))}},
		{"late delivered after read changes nothing", []statusOp{{"read", at(0), true}, {"delivered", at(time.Second), false}, {"sent", at(2 * time.Second), false}},
			webhookitem.MessageStatus{Status: "read", Rank: 3, UpdatedAt: at(0), ExpiresAt: ttlAt(at(ttl))}},
		{"the same status twice", []statusOp{{"delivered", at(0), true}, {"delivered", at(0), false}, {"delivered", at(time.Second), false}},
			webhookitem.MessageStatus{Status: "delivered", Rank: 2, UpdatedAt: at(0), ExpiresAt: ttlAt(at(ttl))}},
		{"played ranks like read", []statusOp{{"read", at(0), true}, {"played", at(time.Second), false}},
			webhookitem.MessageStatus{Status: "read", Rank: 3, UpdatedAt: at(0), ExpiresAt: ttlAt(at(ttl))}},
		{"failed after read", []statusOp{{"read", at(0), true}, {"failed", at(time.Second), true}, {"read", at(2 * time.Second), false}},
			webhookitem.MessageStatus{Status: "failed", Rank: 4, UpdatedAt: at(time.Second), ExpiresAt: ttlAt(at(ttl + time.Second))}},
		{"an expired status counts as absent", []statusOp{{"read", at(0), true}, {"delivered", ttlAt(at(ttl)), true}},
			webhookitem.MessageStatus{Status: "delivered", Rank: 2, UpdatedAt: ttlAt(at(ttl)), ExpiresAt: ttlAt(ttlAt(at(ttl)).Add(ttl))}},
		{"not expired a nanosecond before its TTL", []statusOp{{"read", at(0), true}, {"delivered", ttlAt(at(ttl)).Add(-1), false}},
			webhookitem.MessageStatus{Status: "read", Rank: 3, UpdatedAt: at(0), ExpiresAt: ttlAt(at(ttl))}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI%d", i)
			for j, op := range tc.ops {
				got, err := s.AdvanceMessageStatus(ctx, id, op.status, op.at, ttl)
				if err != nil {
					t.Fatalf("op %d: AdvanceMessageStatus(%s): %v", j, op.status, err)
				}
				if want := op.want; got != want {
					t.Errorf("op %d: AdvanceMessageStatus(%s): got %t, want %t", j, op.status, got, want)
				}
			}
			got, err := s.MessageStatus(ctx, id)
			if err != nil {
				t.Fatalf("MessageStatus: %v", err)
			}
			want := tc.want
			want.MessageID = id
			assertSame(t, "message status", got, want)
		})
	}
	t.Run("unknown message", func(t *testing.T) {
		_, err := s.MessageStatus(ctx, "wamid.unknown")
		wantIs(t, err, onboarding.ErrNotFound)
	})
}

func testMessageStatusValidates(t *testing.T, s WebhookStoreUnderTest) {
	ctx := context.Background()
	tests := []struct {
		name, id, status string
		ttl              time.Duration
	}{
		{"unknown status", "wamid.1", "deleted", ttl},
		{"empty status", "wamid.2", "", ttl},
		{"status in another case", "wamid.3", "READ", ttl},
		{"empty message id", "", "read", ttl},
		{"no ttl", "wamid.4", "read", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.AdvanceMessageStatus(ctx, tc.id, tc.status, at(0), tc.ttl)
			if err == nil || ok {
				t.Errorf("AdvanceMessageStatus: got %t, %v; want false and an error", ok, err)
			}
			if errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("AdvanceMessageStatus: got ErrNotFound, want a validation error")
			}
			if _, err := s.MessageStatus(ctx, tc.id); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("MessageStatus after a refused call: got error %v, want ErrNotFound", err)
			}
		})
	}
}

func testConcurrentMessageStatuses(t *testing.T, s WebhookStoreUnderTest) {
	const n, rounds = 20, 5
	ctx := context.Background()
	statuses := []string{"sent", "delivered", "read", "played", "failed"}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	for round := range rounds {
		id := fmt.Sprintf("wamid.concurrent.%d", round)
		picked := make([]string, n)
		maxRank := 0
		for i := range picked {
			// Every round but the last leaves "failed" out, so that the top rank is mostly the one read and
			// played share: two statuses at the same rank must not both advance.
			picked[i] = statuses[rng.IntN(len(statuses)-min(1, rounds-1-round))]
			maxRank = max(maxRank, onboarding.MessageStatusRank(picked[i]))
		}
		advanced := make([]bool, n)
		errs := race(n, func(i int) (err error) {
			advanced[i], err = s.AdvanceMessageStatus(ctx, id, picked[i], at(time.Duration(i)), ttl)
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, call %d: %v", round, i, err)
			}
		}
		got, err := s.MessageStatus(ctx, id)
		if err != nil {
			t.Fatalf("round %d: MessageStatus: %v", round, err)
		}
		if got.Rank != maxRank || onboarding.MessageStatusRank(got.Status) != maxRank {
			t.Errorf("round %d: stored %s (rank %d), want rank %d of %v", round, got.Status, got.Rank, maxRank, picked)
		}
		// The stored status is one of the calls that reported an advance, and of those exactly one has the
		// top rank (a second one would have had to rank above it).
		top := 0
		for i, ok := range advanced {
			if ok && onboarding.MessageStatusRank(picked[i]) == maxRank {
				top++
			}
		}
		if top != 1 {
			t.Errorf("round %d: %d calls at rank %d reported an advance, want 1 (%v, %v)", round, top, maxRank, picked, advanced)
		}
	}
}

func testWaits(t *testing.T, s WebhookStoreUnderTest) {
	ctx := context.Background()
	future := time.Now().Add(time.Hour).In(fillZone)
	// The cases' waits name no onboarding: each case runs on an id of its own.
	wait := func(kind, token string, expires time.Time) onboarding.Wait {
		return onboarding.Wait{Kind: kind, TaskToken: token, ExpiresAt: expires}
	}
	type take struct {
		kind  string
		other bool             // take for another onboarding
		want  *onboarding.Wait // nil: ErrNotFound
	}
	in, st, st2 := wait("inbound", "token-1", future), wait("status", "token-st", future), wait("status", "token-2", future.Add(time.Minute))
	tests := []struct {
		name  string
		puts  []onboarding.Wait
		takes []take
	}{
		{"put, take, take again", []onboarding.Wait{in}, []take{{kind: "inbound", want: &in}, {kind: "inbound"}}},
		{"a retried execution replaces the token", []onboarding.Wait{wait("status", "token-1", future), st2},
			[]take{{kind: "status", want: &st2}, {kind: "status"}}},
		{"kinds are separate", []onboarding.Wait{in, st},
			[]take{{kind: "status", want: &st}, {kind: "status"}, {kind: "inbound", want: &in}}},
		{"onboardings are separate", []onboarding.Wait{in}, []take{{kind: "inbound", other: true}, {kind: "inbound", want: &in}}},
		{"expired", []onboarding.Wait{wait("inbound", "token-1", time.Now().Add(-time.Second))}, []take{{kind: "inbound"}, {kind: "inbound"}}},
		{"without expiry", []onboarding.Wait{wait("inbound", "token-1", time.Time{})},
			[]take{{kind: "inbound", want: new(wait("inbound", "token-1", time.Time{}))}}},
		{"never put", nil, []take{{kind: "inbound"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := onboarding.NewID()
			for _, w := range tc.puts {
				w.OnboardingID = id
				if err := s.PutWait(ctx, w); err != nil {
					t.Fatalf("PutWait(%s): %v", w.Kind, err)
				}
			}
			for i, tk := range tc.takes {
				takeID := id
				if tk.other {
					takeID = id + "x"
				}
				got, err := s.TakeWait(ctx, takeID, tk.kind)
				if tk.want == nil {
					if !errors.Is(err, onboarding.ErrNotFound) {
						t.Errorf("take %d (%s): got %+v, %v; want ErrNotFound", i, tk.kind, got, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("take %d (%s): %v", i, tk.kind, err)
				}
				want := *tk.want
				want.OnboardingID = id
				assertSame(t, fmt.Sprintf("take %d (%s)", i, tk.kind), got, want)
			}
		})
	}
}

func testWaitValidates(t *testing.T, s WebhookStoreUnderTest) {
	const token = "AQCEAAAAKgAAAA-secret-task-token"
	tests := []struct {
		name string
		w    onboarding.Wait
	}{
		{"no onboarding id", onboarding.Wait{Kind: "inbound", TaskToken: token}},
		{"no kind", onboarding.Wait{OnboardingID: onboarding.NewID(), TaskToken: token}},
		{"no task token", onboarding.Wait{OnboardingID: onboarding.NewID(), Kind: "inbound"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutWait(context.Background(), tc.w)
			if err == nil {
				t.Fatal("PutWait: got nil error, want one")
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("PutWait error %q discloses the task token", err)
			}
			if _, err := s.TakeWait(context.Background(), tc.w.OnboardingID, tc.w.Kind); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("TakeWait after a refused PutWait: got error %v, want ErrNotFound", err)
			}
		})
	}
}

func testConcurrentTakeWait(t *testing.T, s WebhookStoreUnderTest) {
	const n = 20
	ctx := context.Background()
	w := onboarding.Wait{OnboardingID: onboarding.NewID(), Kind: "status", TaskToken: "token-1", ExpiresAt: time.Now().Add(time.Hour)}
	must(t, s.PutWait(ctx, w))
	got := make([]onboarding.Wait, n)
	errs := race(n, func(i int) (err error) {
		got[i], err = s.TakeWait(ctx, w.OnboardingID, w.Kind)
		return err
	})
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			assertSame(t, fmt.Sprintf("taker %d", i), got[i], w)
		case !errors.Is(err, onboarding.ErrNotFound):
			t.Errorf("taker %d: got error %v, want ErrNotFound", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("takers that got the wait: got %d, want 1", winners)
	}
}

// partnerOp records one partner event.
type partnerOp struct {
	event string
	at    time.Time
}

func testPartnerEvents(t *testing.T, s WebhookStoreUnderTest) {
	const added, removed = "PARTNER_ADDED", "PARTNER_REMOVED"
	ctx := context.Background()
	t1, t2, t3 := at(time.Second), at(2*time.Second), at(3*time.Second)
	tests := []struct {
		name      string
		ops       []partnerOp
		last      string
		lastAt    time.Time
		eventTime map[string]time.Time
	}{
		{"one event", []partnerOp{{added, t1}}, added, t1, map[string]time.Time{added: t1}},
		{"in order", []partnerOp{{added, t1}, {removed, t2}}, removed, t2, map[string]time.Time{added: t1, removed: t2}},
		{"out of order", []partnerOp{{removed, t2}, {added, t1}}, removed, t2, map[string]time.Time{added: t1, removed: t2}},
		{"re-added later", []partnerOp{{added, t1}, {removed, t2}, {added, t3}}, added, t3, map[string]time.Time{added: t3, removed: t2}},
		{"an older delivery of the same event", []partnerOp{{added, t2}, {added, t1}}, added, t2, map[string]time.Time{added: t2}},
		{"older events of another kind, out of order", []partnerOp{{added, t3}, {removed, t2}, {removed, t1}}, added, t3, map[string]time.Time{added: t3, removed: t2}},
		{"the same delivery twice", []partnerOp{{removed, t2}, {removed, t2}}, removed, t2, map[string]time.Time{removed: t2}},
		{"a tie keeps the first recorded", []partnerOp{{added, t1}, {removed, t1}}, added, t1, map[string]time.Time{added: t1, removed: t1}},
		{"other account_update events", []partnerOp{{added, t1}, {"PARTNER_APP_INSTALLED", t2}}, "PARTNER_APP_INSTALLED", t2,
			map[string]time.Time{added: t1, "PARTNER_APP_INSTALLED": t2}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waba := fmt.Sprintf("10229012934%04d", i)
			for _, op := range tc.ops {
				if err := s.RecordPartnerEvent(ctx, waba, op.event, op.at.In(fillZone)); err != nil {
					t.Fatalf("RecordPartnerEvent(%s, %s): %v", op.event, op.at.Sub(t0), err)
				}
			}
			got, err := s.PartnerState(ctx, waba)
			if err != nil {
				t.Fatalf("PartnerState: %v", err)
			}
			assertSame(t, "partner state", got, webhookitem.Partner{WABAID: waba, LastEvent: tc.last, LastEventAt: tc.lastAt, EventAt: tc.eventTime})
		})
	}
	t.Run("unknown WABA", func(t *testing.T) {
		_, err := s.PartnerState(ctx, "999999999999999")
		wantIs(t, err, onboarding.ErrNotFound)
	})
}

func testPartnerEventValidates(t *testing.T, s WebhookStoreUnderTest) {
	tests := []struct{ name, waba, event string }{
		{"no WABA", "", "PARTNER_ADDED"},
		{"no event", "102290129340398", ""},
		{"lower case", "102290129340398", "partner_added"},
		{"not a name", "102290129340398", "PARTNER ADDED"},
		{"collides with the TTL attribute", "102290129340398", "EXPIRES"},
		{"collides with last_event_at", "102290129340398", "LAST_EVENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.RecordPartnerEvent(context.Background(), tc.waba, tc.event, at(0)); err == nil {
				t.Error("RecordPartnerEvent: got nil error, want one")
			}
			if _, err := s.PartnerState(context.Background(), tc.waba); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("PartnerState after a refused call: got error %v, want ErrNotFound", err)
			}
		})
	}
}

func testConcurrentPartnerEvents(t *testing.T, s WebhookStoreUnderTest) {
	const n, waba = 20, "102290129340398"
	events := []string{"PARTNER_ADDED", "PARTNER_REMOVED"}
	// Distinct times in shuffled order; event i is events[i%2] at at(i seconds).
	order := rand.Perm(n)
	errs := race(n, func(i int) error {
		j := order[i]
		return s.RecordPartnerEvent(context.Background(), waba, events[j%2], at(time.Duration(j)*time.Second))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got, err := s.PartnerState(context.Background(), waba)
	must(t, err)
	want := webhookitem.Partner{
		WABAID: waba, LastEvent: events[(n-1)%2], LastEventAt: at((n - 1) * time.Second),
		EventAt: map[string]time.Time{events[(n-1)%2]: at((n - 1) * time.Second), events[(n-2)%2]: at((n - 2) * time.Second)},
	}
	assertSame(t, "partner state", got, want)
}
