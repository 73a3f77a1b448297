package worker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/store/memory"
	"github.com/waes/onboarding/shared/webhook"
)

// fakeOffboarder records clean-ups and marks them done on the record, as stephandlers.Service does.
type fakeOffboarder struct {
	mu       sync.Mutex
	store    *memory.Store
	calls    []string
	failNext error
}

func (o *fakeOffboarder) Offboard(ctx context.Context, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, id)
	if err := o.failNext; err != nil {
		o.failNext = nil
		return err
	}
	_, err := onboarding.Mutate(ctx, o.store, id, func(r *onboarding.Record) error {
		r.Progress.CreditRevoked, r.Progress.SecretDeleted = true, true
		return nil
	})
	return err
}

func TestOffboardingEventsCleanUpOnce(t *testing.T) {
	for _, event := range []string{"PARTNER_REMOVED", "PARTNER_APP_UNINSTALLED"} {
		t.Run(event, func(t *testing.T) {
			store := memory.New()
			off := &fakeOffboarder{store: store}
			sink := &partnerevents.MemorySink{}
			p := New(store, store, &fakeWorkflow{successes: map[string][]byte{}, failures: map[string]string{}}, Options{Publisher: sink, Offboarder: off})
			rec := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Now: time.Now()})
			if err := store.Create(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			ev := webhook.Event{Kind: webhook.KindAccountUpdate, Key: "change:" + event, Field: "account_update", WABAID: waba, AccountEvent: event, Timestamp: time.Now()}

			// The clean-up fails once: the event is not completed, nothing is published yet.
			off.failNext = errors.New("secrets manager throttled")
			if err := p.Process(context.Background(), ev); err == nil {
				t.Fatal("Process: got nil, want the clean-up failure so the queue redelivers")
			}
			if got := len(sink.Events()); got != 0 {
				t.Errorf("published before the clean-up: %d events", got)
			}
			got, _ := store.Get(context.Background(), rec.ID)
			if got.Status != onboarding.StatusOffboarded {
				t.Errorf("status: got %s, want OFFBOARDED (marked before the clean-up)", got.Status)
			}
			// The redelivery (the lease expired) finishes it; a later duplicate delivery repeats nothing.
			later := func() time.Time { return time.Now().Add(2 * DefaultLease) }
			store.SetClock(later)
			p.clock = later
			if err := p.Process(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if err := p.Process(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(off.calls) != 2 {
				t.Errorf("clean-up calls: got %d, want 2 (the failed one and the redelivery)", len(off.calls))
			}
			var types []string
			for _, e := range sink.Events() {
				types = append(types, e.Type+"/"+e.Status+e.AccountEvent)
			}
			if want := []string{"onboarding.status_changed/OFFBOARDED", "account.updated/" + event}; len(types) != 2 || types[0] != want[0] || types[1] != want[1] {
				t.Errorf("published: got %v, want %v", types, want)
			}
		})
	}
}
