package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Benchmark measures Create, Get and Update on the stores newStore returns (one per sub-benchmark). Run it
// as b.Run("<adapter>", ...) inside BenchmarkStore so the results read BenchmarkStore/<adapter>/<op>.
func Benchmark(b *testing.B, newStore func(tb testing.TB) onboarding.Store) {
	ctx := context.Background()
	b.Run("Create", func(b *testing.B) {
		s := newStore(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			// A WABA of its own per record: the benchmark measures the guard's acquisition, not its refusal.
			n++
			r := newRecord(fmt.Sprintf("7%014d", n), "106540352242922", at(time.Duration(n)))
			if err := s.Create(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		s := newStore(b)
		r := newRecord("102290129340398", "106540352242922", at(0))
		if err := s.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(ctx, r.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Update", func(b *testing.B) {
		s := newStore(b)
		r := newRecord("102290129340398", "106540352242922", at(0))
		if err := s.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			r.Executions++ // Update increments r.Version, so each write is at the current version
			if err := s.Update(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWebhook measures the webhook worker's store calls on the stores newStore returns (one per
// sub-benchmark). Run it as b.Run("<adapter>", ...) inside BenchmarkWebhook so the results read
// BenchmarkWebhook/<adapter>/<op>.
func BenchmarkWebhook(b *testing.B, newStore func(tb testing.TB) WebhookStoreUnderTest) {
	ctx := context.Background()
	b.Run("ClaimComplete", func(b *testing.B) {
		// The worker's path for a new event: claim it, process it, mark it done.
		s := newStore(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			key := fmt.Sprintf("wamid.bench.%d#delivered", n)
			if r, err := s.ClaimEvent(ctx, key, at(0), lease, ttl); err != nil || r != onboarding.ClaimNew {
				b.Fatalf("ClaimEvent: %v, %v", r, err)
			}
			if err := s.CompleteEvent(ctx, key, at(0), ttl); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ClaimDuplicate", func(b *testing.B) {
		// A duplicate delivery of a processed event.
		s := newStore(b)
		const key = "wamid.bench#delivered"
		if err := s.CompleteEvent(ctx, key, at(0), ttl); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if r, err := s.ClaimEvent(ctx, key, at(0), lease, ttl); err != nil || r != onboarding.ClaimDone {
				b.Fatalf("ClaimEvent: %v, %v", r, err)
			}
		}
	})
	b.Run("AdvanceMessageStatus", func(b *testing.B) {
		// A status that advances (a new message each time).
		s := newStore(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			if ok, err := s.AdvanceMessageStatus(ctx, fmt.Sprintf("wamid.bench.%d", n), "delivered", at(0), ttl); err != nil || !ok {
				b.Fatalf("AdvanceMessageStatus: %t, %v", ok, err)
			}
		}
	})
	b.Run("AdvanceMessageStatusStale", func(b *testing.B) {
		// A late status that changes nothing.
		s := newStore(b)
		const id = "wamid.bench"
		if _, err := s.AdvanceMessageStatus(ctx, id, "read", at(0), ttl); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := s.AdvanceMessageStatus(ctx, id, "delivered", at(0), ttl); err != nil || ok {
				b.Fatalf("AdvanceMessageStatus: %t, %v", ok, err)
			}
		}
	})
	b.Run("PutTakeWait", func(b *testing.B) {
		s := newStore(b)
		w := onboarding.Wait{OnboardingID: onboarding.NewID(), Kind: "status", TaskToken: "token", ExpiresAt: time.Now().Add(time.Hour)}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.PutWait(ctx, w); err != nil {
				b.Fatal(err)
			}
			if _, err := s.TakeWait(ctx, w.OnboardingID, w.Kind); err != nil {
				b.Fatal(err)
			}
		}
	})
}
