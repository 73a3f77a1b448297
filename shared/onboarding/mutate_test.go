package onboarding_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/memory"
)

func TestMutate(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	rec := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: "1", PhoneNumberID: "2", Event: onboarding.EventFinish, Now: time.Now()})
	if err := store.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Concurrent writers each re-read and re-apply on a conflict: no increment is lost.
	const writers = 5
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := onboarding.Mutate(ctx, store, rec.ID, func(r *onboarding.Record) error { r.Progress.RegisterCalls++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := store.Get(ctx, rec.ID)
	if got.Progress.RegisterCalls != writers {
		t.Errorf("register_calls: got %d, want %d", got.Progress.RegisterCalls, writers)
	}
	// ErrNoChange writes nothing and returns the record as read.
	before := got.Version
	r, err := onboarding.Mutate(ctx, store, rec.ID, func(*onboarding.Record) error { return onboarding.ErrNoChange })
	if !errors.Is(err, onboarding.ErrNoChange) || r == nil || r.Version != before {
		t.Errorf("no change: got %v, %v", r, err)
	}
	// Errors of the mutation and of the store come back.
	boom := errors.New("boom")
	if _, err := onboarding.Mutate(ctx, store, rec.ID, func(*onboarding.Record) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("mutation error: got %v", err)
	}
	if _, err := onboarding.Mutate(ctx, store, onboarding.NewID(), func(*onboarding.Record) error { return nil }); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("unknown id: got %v", err)
	}
	// A store that always conflicts gives up with ErrVersionConflict.
	store.SetFault(func(op string) error {
		if op == "Update" {
			return onboarding.ErrVersionConflict
		}
		return nil
	})
	if _, err := onboarding.Mutate(ctx, store, rec.ID, func(*onboarding.Record) error { return nil }); !errors.Is(err, onboarding.ErrVersionConflict) {
		t.Errorf("endless conflicts: got %v", err)
	}
}
