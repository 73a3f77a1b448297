package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/bolt"
	"github.com/waes/onboarding/shared/store/storetest"
)

// open opens the state directory dir and a store on it; the database is closed when the test ends unless
// the caller closes it first.
func open(t testing.TB, dir string) (*bolt.Store, *localstate.State) {
	t.Helper()
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		t.Fatalf("localstate.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.DB.Close() })
	s, err := bolt.New(st.DB, bolt.Options{})
	if err != nil {
		t.Fatalf("bolt.New: %v", err)
	}
	return s, st
}

func newStore(t testing.TB) *bolt.Store {
	s, _ := open(t, t.TempDir())
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) onboarding.Store { return newStore(t) })
}

func TestWebhookContract(t *testing.T) {
	storetest.RunWebhook(t, func(t *testing.T) storetest.WebhookStoreUnderTest { return newStore(t) })
}

func BenchmarkStore(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		storetest.Benchmark(b, func(tb testing.TB) onboarding.Store { return newStore(tb) })
	})
}

func BenchmarkWebhook(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		storetest.BenchmarkWebhook(b, func(tb testing.TB) storetest.WebhookStoreUnderTest { return newStore(tb) })
	})
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897930, time.UTC)

func newRecord(waba, phone string, created time.Time) *onboarding.Record {
	return onboarding.NewRecord(onboarding.NewRecordInput{
		ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Currency: "USD", Now: created,
	})
}

// TestReopen: everything written before Close is read back by a new process's store: records with their
// version and hidden fields, the indexes, the guard, and the webhook items.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, st := open(t, dir)

	first := newRecord("111", "222", t0)
	first.Executions = 3
	first.Progress.SubscribedApp = true
	first.Progress.RegisterCalls = 2
	if err := s.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	first.Status = onboarding.StatusFailed
	if err := s.Update(ctx, first); err != nil {
		t.Fatal(err)
	}
	active := newRecord("111", "222", t0.Add(time.Hour))
	if err := s.Create(ctx, active); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimEvent(ctx, "evt-1", t0, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteEvent(ctx, "evt-1", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceMessageStatus(ctx, "wamid.1", "delivered", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: active.ID, Kind: "inbound", TaskToken: "task-token-1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPartnerEvent(ctx, "111", "PARTNER_ADDED", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	s, _ = open(t, dir)
	got, err := s.Get(ctx, first.ID)
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got.Version != 2 || got.Executions != 3 || !got.Progress.SubscribedApp || got.Progress.RegisterCalls != 2 || got.Status != onboarding.StatusFailed {
		t.Errorf("record after reopen: got version %d, executions %d, progress %+v, status %s; want 2, 3, subscribed with 2 register calls, FAILED",
			got.Version, got.Executions, got.Progress, got.Status)
	}
	recs, err := s.FindByWABA(ctx, "111", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != active.ID || recs[1].ID != first.ID {
		t.Errorf("FindByWABA after reopen: got %d records, want the active one then the failed one", len(recs))
	}
	if byPhone, err := s.FindByPhone(ctx, "222"); err != nil || byPhone.ID != active.ID {
		t.Errorf("FindByPhone after reopen: got %v, %v; want %s", byPhone, err, active.ID)
	}
	var activeErr *onboarding.ActiveOnboardingError
	if err := s.Create(ctx, newRecord("111", "222", t0.Add(2*time.Hour))); !errors.As(err, &activeErr) || activeErr.ExistingID != active.ID {
		t.Errorf("Create while the guard is held (after reopen): got %v, want ActiveOnboardingError naming %s", err, active.ID)
	}
	if res, err := s.ClaimEvent(ctx, "evt-1", t0.Add(time.Second), time.Minute, time.Hour); err != nil || res != onboarding.ClaimDone {
		t.Errorf("ClaimEvent of a completed event after reopen: got %v, %v; want ClaimDone", res, err)
	}
	if adv, err := s.AdvanceMessageStatus(ctx, "wamid.1", "sent", t0.Add(time.Second), time.Hour); err != nil || adv {
		t.Errorf("AdvanceMessageStatus backwards after reopen: got %t, %v; want false", adv, err)
	}
	if w, err := s.TakeWait(ctx, active.ID, "inbound"); err != nil || w.TaskToken != "task-token-1" {
		t.Errorf("TakeWait after reopen: got %+v, %v; want the stored wait", w, err)
	}
	if p, err := s.PartnerState(ctx, "111"); err != nil || p.LastEvent != "PARTNER_ADDED" || !p.LastEventAt.Equal(t0) {
		t.Errorf("PartnerState after reopen: got %+v, %v", p, err)
	}
}

// TestConcurrentWriters: record updates (through onboarding.Mutate) and webhook writes from many goroutines
// at once lose nothing, and every record ends at the version its writes add up to.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const records, writers, updates = 4, 8, 5
	ids := make([]string, records)
	for i := range ids {
		r := newRecord(fmt.Sprint(1000+i), fmt.Sprint(2000+i), t0)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
	}
	var wg sync.WaitGroup
	errs := make(chan error, records*writers*updates*2)
	for w := range writers {
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for u := range updates {
					_, err := onboarding.Mutate(ctx, s, id, func(r *onboarding.Record) error {
						r.Progress.RegisterCalls++
						return nil
					})
					if err != nil && !errors.Is(err, onboarding.ErrVersionConflict) {
						errs <- err
					}
					if _, err := s.AdvanceMessageStatus(ctx, fmt.Sprintf("wamid.%d.%d", w, u), "sent", t0, time.Hour); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	for _, id := range ids {
		r, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// Mutate gives up after a bounded number of conflicts, so not every increment need land, but each
		// one that did is one version: nothing was overwritten by a stale writer.
		if got, want := r.Version, int64(1+r.Progress.RegisterCalls); got != want {
			t.Errorf("record %s: version %d after %d successful increments, want %d", id, got, r.Progress.RegisterCalls, want)
		}
		if r.Progress.RegisterCalls == 0 {
			t.Errorf("record %s: no increment landed", id)
		}
	}
	for w := range writers {
		for u := range updates {
			if _, err := s.MessageStatus(ctx, fmt.Sprintf("wamid.%d.%d", w, u)); err != nil {
				t.Errorf("message status %d.%d: %v", w, u, err)
			}
		}
	}
}

// TestLocked: a second open of a held directory fails with a message that says what to do.
func TestLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := localstate.Open(dir, localstate.Options{LockTimeout: 100 * time.Millisecond})
	var locked *localstate.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, localstate.ErrLocked) {
		t.Fatalf("second Open: got %v, want *localstate.LockedError", err)
	}
	if got := err.Error(); got == "" || !strings.Contains(got, "another make run") || !strings.Contains(got, dir) {
		t.Errorf("lock error %q: want it to name the directory and say another make run is using it", got)
	}
}

func TestListActive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	running := newRecord("1", "2", t0)
	ended := newRecord("1", "3", t0)
	for _, r := range []*onboarding.Record{running, ended} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ended.Status = onboarding.StatusFailed
	if err := s.Update(ctx, ended); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListActive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != running.ID {
		t.Errorf("ListActive: got %d records, want only the running one", len(got))
	}
}

// TestSweep: expired claims, statuses and waits go; live ones and partner events stay.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 5 {
		if _, err := s.ClaimEvent(ctx, fmt.Sprint("old-", i), t0, time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AdvanceMessageStatus(ctx, fmt.Sprint("wamid.old", i), "sent", t0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClaimEvent(ctx, "live", t0, time.Minute, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceMessageStatus(ctx, "wamid.live", "read", t0, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "a", Kind: "inbound", TaskToken: "t", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "b", Kind: "inbound", TaskToken: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPartnerEvent(ctx, "1", "PARTNER_ADDED", t0); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, 11; got != want {
		t.Errorf("swept %d items, want %d", got, want)
	}
	if _, err := s.GetEventClaim(ctx, "old-3"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("expired claim after the sweep: %v, want ErrNotFound", err)
	}
	if _, err := s.GetEventClaim(ctx, "live"); err != nil {
		t.Errorf("live claim after the sweep: %v", err)
	}
	if _, err := s.MessageStatus(ctx, "wamid.live"); err != nil {
		t.Errorf("live status after the sweep: %v", err)
	}
	if _, err := s.PartnerState(ctx, "1"); err != nil {
		t.Errorf("partner state after the sweep: %v", err)
	}
	if _, err := s.TakeWait(ctx, "b", "inbound"); err != nil {
		t.Errorf("a wait without expiry after the sweep: %v", err)
	}
	if n, err := s.Sweep(ctx, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("second sweep: got %d, %v; want nothing to delete", n, err)
	}

	// An item whose expiry moved later is kept by a sweep between its old and new expiry.
	if _, err := s.ClaimEvent(ctx, "moved", t0, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteEvent(ctx, "moved", t0.Add(30*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceMessageStatus(ctx, "wamid.moved", "sent", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceMessageStatus(ctx, "wamid.moved", "read", t0.Add(30*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "c", Kind: "k", TaskToken: "t", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "c", Kind: "k", TaskToken: "t", ExpiresAt: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx, t0.Add(70*time.Minute)); err != nil || n != 0 {
		t.Errorf("sweep between the old and the new expiries: got %d, %v; want nothing deleted", n, err)
	}
	if n, err := s.Sweep(ctx, t0.Add(3*time.Hour)); err != nil || n != 3 {
		t.Errorf("sweep after the new expiries: got %d, %v; want the claim, the status and the wait", n, err)
	}
	// A taken wait leaves no index entry behind.
	if err := s.PutWait(ctx, onboarding.Wait{OnboardingID: "d", Kind: "k", TaskToken: "t", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// (By the store's clock, now, the wait has expired: TakeWait removes it all the same.)
	if _, err := s.TakeWait(ctx, "d", "k"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("TakeWait of an expired wait: got %v, want ErrNotFound", err)
	}
	if got, want := bolt.ExpiryEntriesForTest(s), 2; got != want {
		t.Errorf("expiry index entries: got %d, want %d (the live claim and status; a wait without expiry has none)", got, want)
	}
}
