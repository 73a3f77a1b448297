package memory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/dynamodb"
	"github.com/waes/onboarding/shared/store/memory"
	"github.com/waes/onboarding/shared/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) onboarding.Store { return memory.New() })
}

func TestWebhookContract(t *testing.T) {
	storetest.RunWebhook(t, func(*testing.T) storetest.WebhookStoreUnderTest { return memory.New() })
}

func BenchmarkStore(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		storetest.Benchmark(b, func(testing.TB) onboarding.Store { return memory.New() })
	})
}

func BenchmarkWebhook(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		storetest.BenchmarkWebhook(b, func(testing.TB) storetest.WebhookStoreUnderTest { return memory.New() })
	})
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897930, time.UTC)

// ops calls every hooked operation once.
var ops = []struct {
	name string
	call func(s *memory.Store) error
}{
	{"Create", func(s *memory.Store) error {
		return s.Create(context.Background(), onboarding.NewRecord(onboarding.NewRecordInput{ID: "id1", WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: t0}))
	}},
	{"Get", func(s *memory.Store) error { _, err := s.Get(context.Background(), "id1"); return err }},
	{"Update", func(s *memory.Store) error {
		r := onboarding.NewRecord(onboarding.NewRecordInput{ID: "id1", WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: t0})
		r.Version = 1
		return s.Update(context.Background(), r)
	}},
	{"FindByPhone", func(s *memory.Store) error { _, err := s.FindByPhone(context.Background(), "2"); return err }},
	{"FindByWABA", func(s *memory.Store) error { _, err := s.FindByWABA(context.Background(), "1", 0); return err }},
	{"ListByCustomer", func(s *memory.Store) error {
		_, _, err := s.ListByCustomer(context.Background(), "customer-1", "", 20, "")
		return err
	}},
	{"ClaimEvent", func(s *memory.Store) error {
		_, err := s.ClaimEvent(context.Background(), "k", t0, time.Minute, time.Hour)
		return err
	}},
	{"CompleteEvent", func(s *memory.Store) error { return s.CompleteEvent(context.Background(), "k", t0, time.Hour) }},
	{"AdvanceMessageStatus", func(s *memory.Store) error {
		_, err := s.AdvanceMessageStatus(context.Background(), "wamid.1", "read", t0, time.Hour)
		return err
	}},
	{"PutWait", func(s *memory.Store) error {
		return s.PutWait(context.Background(), onboarding.Wait{OnboardingID: "id1", Kind: "status", TaskToken: "tok"})
	}},
	{"TakeWait", func(s *memory.Store) error { _, err := s.TakeWait(context.Background(), "id1", "status"); return err }},
	{"RecordPartnerEvent", func(s *memory.Store) error {
		return s.RecordPartnerEvent(context.Background(), "1", "PARTNER_ADDED", t0)
	}},
}

// TestFaults: an injected fault fails the operation, wrapped (a throttling error stays recognisable by
// dynamodb.IsThrottled), before it changes anything; FailNext fails one call only.
func TestFaults(t *testing.T) {
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			tests := []struct {
				name   string
				inject func(s *memory.Store)
			}{
				{"FailNext", func(s *memory.Store) { s.FailNext(op.name, dynamodb.ThrottleError(op.name)) }},
				{"SetFault", func(s *memory.Store) { s.SetFault(dynamodb.Throttle(op.name)) }},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s := memory.New()
					tc.inject(s)
					err := op.call(s)
					var throttled *types.ProvisionedThroughputExceededException
					if !errors.As(err, &throttled) || !dynamodb.IsThrottled(err) {
						t.Fatalf("got error %v, want a wrapped *types.ProvisionedThroughputExceededException", err)
					}
					if errors.Unwrap(err) == nil || !strings.HasPrefix(err.Error(), "memory store: ") {
						t.Errorf("error %q is not wrapped by the store", err)
					}
					if _, err := s.GetEventClaim(context.Background(), "k"); !errors.Is(err, onboarding.ErrNotFound) {
						t.Errorf("a failed %s changed the store", op.name)
					}
					if _, err := s.Get(context.Background(), "id1"); op.name != "Get" && !errors.Is(err, onboarding.ErrNotFound) {
						t.Errorf("a failed %s changed the store: %v", op.name, err)
					}
					s.SetFault(nil)
					// After the fault the operation works again (or fails for its own reasons only).
					if err := op.call(s); dynamodb.IsThrottled(err) {
						t.Errorf("second call: got %v, want no injected fault", err)
					}
				})
			}
		})
	}
	t.Run("FailNext queues", func(t *testing.T) {
		s := memory.New()
		errA, errB := errors.New("a"), errors.New("b")
		s.FailNext("TakeWait", errA)
		s.FailNext("TakeWait", errB)
		for i, want := range []error{errA, errB, onboarding.ErrNotFound} {
			if _, err := s.TakeWait(context.Background(), "id", "kind"); !errors.Is(err, want) {
				t.Errorf("call %d: got error %v, want %v", i, err, want)
			}
		}
	})
	t.Run("a fault hook may call the store", func(t *testing.T) {
		s := memory.New()
		s.SetFault(func(op string) error {
			if op == "ClaimEvent" {
				_, _ = s.GetEventClaim(context.Background(), "k")
			}
			return nil
		})
		if _, err := s.ClaimEvent(context.Background(), "k", t0, time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTakeWaitClock: TakeWait judges expiry by the store's clock.
func TestTakeWaitClock(t *testing.T) {
	s := memory.New()
	s.SetClock(func() time.Time { return t0 })
	ctx := context.Background()
	for _, tc := range []struct {
		expires time.Time
		found   bool
	}{
		{t0.Add(time.Nanosecond), true},
		{t0, false},
	} {
		if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "id", Kind: "k", TaskToken: "tok", ExpiresAt: tc.expires}); err != nil {
			t.Fatal(err)
		}
		_, err := s.TakeWait(ctx, "id", "k")
		if got := err == nil; got != tc.found {
			t.Errorf("wait expiring at %s, clock at %s: found %t (%v), want %t", tc.expires, t0, got, err, tc.found)
		}
	}
}
