// Package storetest is the contract test suite of onboarding.Store. Every implementation runs it:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) onboarding.Store { return memory.New() })
//	}
//
// newStore is called once per subtest and must return an empty store of its own (for DynamoDB, a fresh
// table), so the subtests run in parallel.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// t0 has a nanosecond fraction with a trailing zero, so a store that drops precision or trims digits shows.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897930, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// Run runs the contract tests against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) onboarding.Store) {
	runParallel(t, newStore, []contractCase[onboarding.Store]{
		{"RoundTrip", testRoundTrip},
		{"EveryFieldPersisted", testEveryField},
		{"CopiesInAndOut", testCopies},
		{"GetUnknown", testGetUnknown},
		{"CreateValidates", testCreateValidates},
		{"CreateExistingID", testCreateExistingID},
		{"Update", testUpdate},
		{"UpdateStaleVersion", testUpdateStale},
		{"UpdateUnknown", testUpdateUnknown},
		{"UpdateKeysImmutable", testUpdateKeysImmutable},
		{"PhoneAssignedOnce", testPhoneAssignedOnce},
		{"Guard", testGuard},
		{"GuardReleasedWhenEnded", testGuardReleased},
		{"RetryReacquiresGuard", testRetryReacquires},
		{"RetryWhileAnotherActive", testRetryWhileAnotherActive},
		{"FindByPhone", testFindByPhone},
		{"FindByWABA", testFindByWABA},
		{"ListByCustomer", testListByCustomer},
		{"ListByCustomerCursor", testListByCustomerCursor},
		{"ListWABAs", testListWABAs},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentRetryAndCreates", testConcurrentRetryAndCreates},
	})
}

// contractCase is one test of a contract suite.
type contractCase[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

// runParallel runs each case as a parallel subtest, on a new store from newStore.
func runParallel[S any](t *testing.T, newStore func(t *testing.T) S, cases []contractCase[S]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// newRecord returns a new RUNNING record with a fresh id, as a signup creates it.
func newRecord(waba, phone string, created time.Time) *onboarding.Record {
	ev := onboarding.EventFinish
	if phone == "" {
		ev = onboarding.EventFinishOnlyWABA
	}
	r := onboarding.NewRecord(onboarding.NewRecordInput{
		ID:            onboarding.NewID(),
		WABAID:        waba,
		PhoneNumberID: phone,
		BusinessID:    "9876543210",
		Event:         ev,
		Currency:      "USD",
		Now:           created,
	})
	r.Executions = 1
	return r
}

// failRecord fails r's subscribe_webhooks step, which moves the onboarding to FAILED.
func failRecord(t *testing.T, r *onboarding.Record, now time.Time) {
	t.Helper()
	must(t, r.StartStep(onboarding.StepSubscribeWebhooks, now))
	must(t, r.Fail(onboarding.StepSubscribeWebhooks, onboarding.StepError{
		Code: onboarding.CodeGraphPermanent, GraphCode: 100, GraphSubcode: 33, Message: "object does not exist", FBTraceID: "AbCdEf",
	}, now))
}

// completeRecord finishes every step and completes r (VERIFIED if verified).
func completeRecord(t *testing.T, r *onboarding.Record, verified bool, now time.Time) {
	t.Helper()
	for _, s := range r.Steps {
		if !s.Status.Done() {
			must(t, r.SucceedStep(s.Name, "", now))
		}
	}
	must(t, r.Complete(verified, now))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, s onboarding.Store, r *onboarding.Record) {
	t.Helper()
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatalf("Create(%s): %v", r.ID, err)
	}
}

func mustUpdate(t *testing.T, s onboarding.Store, r *onboarding.Record) {
	t.Helper()
	if err := s.Update(context.Background(), r); err != nil {
		t.Fatalf("Update(%s): %v", r.ID, err)
	}
}

func mustGet(t *testing.T, s onboarding.Store, id string) *onboarding.Record {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// wantActive checks that err is *onboarding.ActiveOnboardingError naming existing.
func wantActive(t *testing.T, err error, existing string) {
	t.Helper()
	var active *onboarding.ActiveOnboardingError
	if !errors.As(err, &active) {
		t.Fatalf("got error %v, want *onboarding.ActiveOnboardingError naming %s", err, existing)
	}
	if got, want := active.ExistingID, existing; got != want {
		t.Fatalf("ActiveOnboardingError.ExistingID: got %s, want %s", got, want)
	}
}

// wantVersion checks that r has version want.
func wantVersion(t *testing.T, what string, r *onboarding.Record, want int64) {
	t.Helper()
	if r.Version != want {
		t.Errorf("%s: got %d, want %d", what, r.Version, want)
	}
}

// wantInvalid checks that err is an *onboarding.InvalidTransitionError.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var invalid *onboarding.InvalidTransitionError
	if !errors.As(err, &invalid) {
		t.Errorf("%s: got error %v, want *onboarding.InvalidTransitionError", what, err)
	}
}

// wantIs checks that errors.Is(err, target).
func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func ids(recs []*onboarding.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func testRoundTrip(t *testing.T, s onboarding.Store) {
	tests := []struct {
		name  string
		build func(t *testing.T) *onboarding.Record
	}{
		{"new signup", func(t *testing.T) *onboarding.Record {
			r := newRecord("102290129340398", "106540352242922", at(0))
			r.TestRecipient = "+16505551234"
			return r
		}},
		{"finish only WABA", func(t *testing.T) *onboarding.Record {
			r := newRecord("102290129340399", "", at(0))
			r.BusinessID, r.Currency = "", ""
			return r
		}},
		{"awaiting test message, every field set", func(t *testing.T) *onboarding.Record {
			r := newRecord("102290129340400", "106540352242923", at(0))
			r.TestRecipient = "+16505551234"
			r.Executions = 2
			must(t, r.StartStep(onboarding.StepSubscribeWebhooks, at(time.Second)))
			must(t, r.NoteStepError(onboarding.StepSubscribeWebhooks, onboarding.StepError{
				Code: onboarding.CodeGraphTransient, GraphCode: 2, Message: "service unavailable", FBTraceID: "A1b2C3",
			}, at(2*time.Second)))
			must(t, r.SucceedStep(onboarding.StepSubscribeWebhooks, "subscribed with callback override", at(3*time.Second)))
			must(t, r.StartStep(onboarding.StepShareCreditLine, at(4*time.Second)))
			must(t, r.SucceedStep(onboarding.StepShareCreditLine, "", at(5*time.Second)))
			must(t, r.SkipStep(onboarding.StepRegisterPhone, "already registered for Cloud API", at(6*time.Second)))
			must(t, r.StartStep(onboarding.StepSendTestMessage, at(7*time.Second+1)))
			must(t, r.NoteStepError(onboarding.StepSendTestMessage, onboarding.StepError{
				Code: onboarding.CodeOutsideWindow, GraphCode: 131047, GraphSubcode: 2494010, Message: "re-engagement message", FBTraceID: "Zz9",
			}, at(8*time.Second)))
			must(t, r.SetStatus(onboarding.StatusAwaitingTestMessage, at(9*time.Second)))
			t1, t2, t3 := at(4*time.Second+123), at(6*time.Second+456789), at(7*time.Second+999999999)
			r.AllocationConfigID = "58501441721238"
			r.Progress = onboarding.Progress{
				SubscribedApp: true, OverrideSet: true, SystemUserAssigned: true,
				CreditAttachStarted: &t1, RegisterStarted: &t2, InboundMessageID: "wamid.inbound", TestSendStarted: &t3,
			}
			r.TestMessageID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"
			r.TestMessageStatus = "delivered"
			return r
		}},
		{"failed with register blocked and reauth", func(t *testing.T) *onboarding.Record {
			r := newRecord("102290129340401", "106540352242924", at(0))
			must(t, r.SucceedStep(onboarding.StepSubscribeWebhooks, "", at(time.Second)))
			must(t, r.SkipStep(onboarding.StepShareCreditLine, "no credit line configured", at(time.Second)))
			must(t, r.StartStep(onboarding.StepRegisterPhone, at(2*time.Second)))
			must(t, r.Fail(onboarding.StepRegisterPhone, onboarding.StepError{
				Code: onboarding.CodeRegisterBlocked, GraphCode: 133016, Message: "register limit reached", FBTraceID: "Qq",
			}, at(3*time.Second)))
			retry := at(72 * time.Hour)
			r.RegisterRetryAfter = &retry
			r.ReauthRequired = true
			r.Executions = 3
			return r
		}},
		{"offboarded", func(t *testing.T) *onboarding.Record {
			r := newRecord("102290129340402", "106540352242925", at(0))
			completeRecord(t, r, true, at(time.Minute))
			r.Offboard(at(time.Hour))
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.build(t)
			mustCreate(t, s, r)
			wantVersion(t, "Version after Create", r, 1)
			assertEqual(t, "record", mustGet(t, s, r.ID), r)
		})
	}
}

func testCopies(t *testing.T, s onboarding.Store) {
	r := newRecord("102290129340398", "106540352242922", at(0))
	mustCreate(t, s, r)
	want := r.Clone()

	// Changing the caller's record, including what its pointers point to, must not change the stored one.
	r.Status = onboarding.StatusFailed
	r.Steps[0].Attempts = 99
	*r.Steps[0].StartedAt = at(time.Hour)
	assertEqual(t, "record", mustGet(t, s, r.ID), want)

	// Nor may changing a record the store returned.
	got := mustGet(t, s, r.ID)
	got.Steps[1].Status = onboarding.StepFailed
	*got.Steps[1].FinishedAt = at(time.Hour)
	got.Steps = append(got.Steps, onboarding.Step{Name: "extra"})
	assertEqual(t, "record", mustGet(t, s, r.ID), want)
}

func testGetUnknown(t *testing.T, s onboarding.Store) {
	for _, id := range []string{onboarding.NewID(), ""} {
		t.Run(fmt.Sprintf("id=%q", id), func(t *testing.T) {
			r, err := s.Get(context.Background(), id)
			wantIs(t, err, onboarding.ErrNotFound)
			if r != nil {
				t.Errorf("got record %+v with ErrNotFound, want nil", r)
			}
		})
	}
}

func testCreateValidates(t *testing.T, s onboarding.Store) {
	tests := []struct {
		name string
		r    *onboarding.Record
	}{
		{"nil record", nil},
		{"no id", func() *onboarding.Record { r := newRecord("1", "2", at(0)); r.ID = ""; return r }()},
		{"no waba", newRecord("", "2", at(0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Create(context.Background(), tc.r); err == nil {
				t.Fatal("Create: got nil error, want a validation error")
			}
		})
	}
}

func testCreateExistingID(t *testing.T, s onboarding.Store) {
	tests := []struct {
		name string
		// endFirst ends the first onboarding before the duplicate create.
		endFirst bool
		// sameKey gives the duplicate the first one's WABA and phone number.
		sameKey bool
	}{
		{"active, same WABA and phone", false, true},
		{"active, other WABA", false, false},
		{"failed, same WABA and phone", true, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waba, phone := fmt.Sprintf("20000000000%d", i), fmt.Sprintf("30000000000%d", i)
			first := newRecord(waba, phone, at(0))
			mustCreate(t, s, first)
			if tc.endFirst {
				failRecord(t, first, at(time.Minute))
				mustUpdate(t, s, first)
			}
			stored := first.Clone()

			dup := newRecord(waba, phone, at(time.Hour))
			if !tc.sameKey {
				dup = newRecord("40000000000"+fmt.Sprint(i), phone, at(time.Hour))
			}
			dup.ID = first.ID
			err := s.Create(context.Background(), dup)
			wantIs(t, err, onboarding.ErrVersionConflict)
			assertEqual(t, "record", mustGet(t, s, first.ID), stored)

			// The first onboarding keeps its guard while active, and the refused create left none behind.
			other := newRecord(waba, phone, at(2*time.Hour))
			err = s.Create(context.Background(), other)
			if tc.endFirst {
				must(t, err)
			} else {
				wantActive(t, err, first.ID)
			}
			if !tc.sameKey {
				mustCreate(t, s, newRecord(dup.WABAID, phone, at(2*time.Hour)))
			}
		})
	}
}

func testUpdate(t *testing.T, s onboarding.Store) {
	r := newRecord("102290129340398", "106540352242922", at(0))
	mustCreate(t, s, r)

	must(t, r.StartStep(onboarding.StepSubscribeWebhooks, at(time.Second)))
	must(t, r.SucceedStep(onboarding.StepSubscribeWebhooks, "subscribed", at(2*time.Second)))
	must(t, r.StartStep(onboarding.StepShareCreditLine, at(3*time.Second)))
	started := at(3*time.Second + 7)
	r.Progress.SystemUserAssigned, r.Progress.CreditAttachStarted = true, &started
	r.AllocationConfigID = "58501441721238"
	want := r.Clone()
	mustUpdate(t, s, r)
	// Update increments the version and changes nothing else in the caller's record.
	want.Version = 2
	assertEqual(t, "record", r, want)
	assertEqual(t, "record", mustGet(t, s, r.ID), want)

	must(t, r.SucceedStep(onboarding.StepShareCreditLine, "", at(4*time.Second)))
	mustUpdate(t, s, r)
	wantVersion(t, "Version after second Update", r, 3)
	assertEqual(t, "record", mustGet(t, s, r.ID), r)
}

func testUpdateStale(t *testing.T, s onboarding.Store) {
	r := newRecord("102290129340398", "106540352242922", at(0))
	mustCreate(t, s, r)
	a, b := mustGet(t, s, r.ID), mustGet(t, s, r.ID)

	a.TestMessageID = "wamid.a"
	mustUpdate(t, s, a)
	b.TestMessageID = "wamid.b"
	err := s.Update(context.Background(), b)
	wantIs(t, err, onboarding.ErrVersionConflict)
	wantVersion(t, "Version after a failed Update", b, 1)
	assertEqual(t, "record", mustGet(t, s, r.ID), a)
}

func testUpdateUnknown(t *testing.T, s onboarding.Store) {
	r := newRecord("102290129340398", "106540352242922", at(0))
	r.Version = 1
	err := s.Update(context.Background(), r)
	wantIs(t, err, onboarding.ErrNotFound)
	wantVersion(t, "Version after a failed Update", r, 1)
	_, err = s.Get(context.Background(), r.ID)
	wantIs(t, err, onboarding.ErrNotFound)
}

func testUpdateKeysImmutable(t *testing.T, s onboarding.Store) {
	tests := []struct {
		name   string
		change func(r *onboarding.Record)
	}{
		{"waba", func(r *onboarding.Record) { r.WABAID = "999" }},
		{"phone", func(r *onboarding.Record) { r.PhoneNumberID = "999" }},
		{"phone removed", func(r *onboarding.Record) { r.PhoneNumberID = "" }},
		{"customer", func(r *onboarding.Record) { r.CustomerRef = "customer-2" }},
		{"customer removed", func(r *onboarding.Record) { r.CustomerRef = "" }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(fmt.Sprintf("50000000000%d", i), "106540352242922", at(0))
			r.CustomerRef = "customer-1"
			mustCreate(t, s, r)
			want := r.Clone()
			tc.change(r)
			wantInvalid(t, "Update", s.Update(context.Background(), r))
			assertEqual(t, "record", mustGet(t, s, r.ID), want)
		})
	}
}

// testPhoneAssignedOnce: a record without a phone number that is not active (FAILED with
// phone_number_ambiguous) gets one when a retry names it; the phone index and the WABA+phone guard follow the
// new id. An active record, or one that has a number, cannot change it.
func testPhoneAssignedOnce(t *testing.T, s onboarding.Store) {
	ctx := context.Background()
	const waba, phone = "600000000000001", "106540352247777"
	r := newRecord(waba, "", at(0))
	r.Event = onboarding.EventFinish
	r.FailPhoneAmbiguous(2, at(time.Second))
	mustCreate(t, s, r)

	must(t, r.ChoosePhone(phone, at(2*time.Second)))
	mustUpdate(t, s, r)
	got := mustGet(t, s, r.ID)
	if got.PhoneNumberID != phone || got.Status != onboarding.StatusRunning {
		t.Fatalf("after the phone was named: got %q %s", got.PhoneNumberID, got.Status)
	}
	byPhone, err := s.FindByPhone(ctx, phone)
	if err != nil || byPhone.ID != r.ID {
		t.Errorf("FindByPhone(%s): got %v, %v, want the record", phone, byPhone, err)
	}
	// The guard is held for the new WABA+phone pair.
	wantActive(t, s.Create(ctx, newRecord(waba, phone, at(3*time.Second))), r.ID)
	// Set once: changing it again is refused.
	r.PhoneNumberID = "106540352248888"
	wantInvalid(t, "a second change of the phone", s.Update(ctx, r))
	// An active record without a number cannot get one either.
	w := newRecord("600000000000002", "", at(0))
	mustCreate(t, s, w)
	w.PhoneNumberID = phone
	wantInvalid(t, "an active record naming a phone", s.Update(ctx, w))
}

func testGuard(t *testing.T, s onboarding.Store) {
	const waba, phone = "102290129340398", "106540352242922"
	tests := []struct {
		name               string
		firstWABA, first   string // the first onboarding's WABA and phone
		secondWABA, second string // the second one's
		// prepare changes the first onboarding after its create (nil: leave it RUNNING).
		prepare  func(t *testing.T, r *onboarding.Record)
		conflict bool
	}{
		{name: "same WABA and phone", firstWABA: waba, first: phone, secondWABA: waba, second: phone, conflict: true},
		{name: "same WABA, other phone", firstWABA: waba, first: phone, secondWABA: waba, second: "106540352242999"},
		{name: "other WABA, same phone", firstWABA: waba, first: phone, secondWABA: "102290129340999", second: phone},
		{name: "finish only WABA twice", firstWABA: waba, secondWABA: waba, conflict: true},
		{name: "finish only WABA, then with phone", firstWABA: waba, secondWABA: waba, second: phone},
		{name: "with phone, then finish only WABA", firstWABA: waba, first: phone, secondWABA: waba},
		{
			name: "first awaiting test message", firstWABA: waba, first: phone, secondWABA: waba, second: phone, conflict: true,
			prepare: func(t *testing.T, r *onboarding.Record) {
				must(t, r.SetStatus(onboarding.StatusAwaitingTestMessage, at(time.Minute)))
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case on WABAs of its own, so the cases share the store without meeting.
			suffix := fmt.Sprintf("%02d", i)
			first := newRecord(tc.firstWABA+suffix, tc.first, at(0))
			mustCreate(t, s, first)
			if tc.prepare != nil {
				tc.prepare(t, first)
				mustUpdate(t, s, first)
			}
			second := newRecord(tc.secondWABA+suffix, tc.second, at(time.Hour))
			err := s.Create(context.Background(), second)
			if !tc.conflict {
				must(t, err)
				return
			}
			wantActive(t, err, first.ID)
			if _, err := s.Get(context.Background(), second.ID); !errors.Is(err, onboarding.ErrNotFound) {
				t.Errorf("Get of the refused onboarding: got error %v, want ErrNotFound", err)
			}
		})
	}
}

func testGuardReleased(t *testing.T, s onboarding.Store) {
	tests := []struct {
		name string
		end  func(t *testing.T, r *onboarding.Record)
		want onboarding.Status
	}{
		{"failed", func(t *testing.T, r *onboarding.Record) { failRecord(t, r, at(time.Minute)) }, onboarding.StatusFailed},
		{"completed", func(t *testing.T, r *onboarding.Record) { completeRecord(t, r, false, at(time.Minute)) }, onboarding.StatusCompleted},
		{"verified", func(t *testing.T, r *onboarding.Record) { completeRecord(t, r, true, at(time.Minute)) }, onboarding.StatusVerified},
		{"offboarded while running", func(t *testing.T, r *onboarding.Record) { r.Offboard(at(time.Minute)) }, onboarding.StatusOffboarded},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			waba, phone := fmt.Sprintf("60000000000%d", i), "106540352242922"
			first := newRecord(waba, phone, at(0))
			mustCreate(t, s, first)
			tc.end(t, first)
			mustUpdate(t, s, first)
			if got := mustGet(t, s, first.ID).Status; got != tc.want {
				t.Fatalf("stored status: got %s, want %s", got, tc.want)
			}
			second := newRecord(waba, phone, at(time.Hour))
			mustCreate(t, s, second)
			// The new onboarding holds the guard now.
			wantActive(t, s.Create(context.Background(), newRecord(waba, phone, at(2*time.Hour))), second.ID)
		})
	}
}

func testRetryReacquires(t *testing.T, s onboarding.Store) {
	const waba, phone = "102290129340398", "106540352242922"
	r := newRecord(waba, phone, at(0))
	mustCreate(t, s, r)
	failRecord(t, r, at(time.Minute))
	mustUpdate(t, s, r)

	step, err := r.Resume(at(2 * time.Minute))
	must(t, err)
	if got, want := step, onboarding.StepSubscribeWebhooks; got != want {
		t.Fatalf("Resume: got step %s, want %s", got, want)
	}
	r.Executions++
	mustUpdate(t, s, r)
	wantVersion(t, "Version after retry", r, 3)
	wantActive(t, s.Create(context.Background(), newRecord(waba, phone, at(time.Hour))), r.ID)

	// And a second failure releases it again.
	failRecord(t, r, at(3*time.Minute))
	mustUpdate(t, s, r)
	mustCreate(t, s, newRecord(waba, phone, at(time.Hour)))
}

func testRetryWhileAnotherActive(t *testing.T, s onboarding.Store) {
	const waba, phone = "102290129340398", "106540352242922"
	a := newRecord(waba, phone, at(0))
	mustCreate(t, s, a)
	failRecord(t, a, at(time.Minute))
	mustUpdate(t, s, a)
	b := newRecord(waba, phone, at(time.Hour))
	mustCreate(t, s, b)

	_, err := a.Resume(at(2 * time.Hour))
	must(t, err)
	wantActive(t, s.Update(context.Background(), a), b.ID)
	wantVersion(t, "Version after a refused retry", a, 2)
	stored := mustGet(t, s, a.ID)
	if got, want := stored.Status, onboarding.StatusFailed; got != want {
		t.Errorf("stored status after a refused retry: got %s, want %s", got, want)
	}
	wantVersion(t, "stored version after a refused retry", stored, 2)

	// Once b has ended, the same retry goes through and takes the guard.
	failRecord(t, b, at(3*time.Hour))
	mustUpdate(t, s, b)
	mustUpdate(t, s, a)
	wantActive(t, s.Create(context.Background(), newRecord(waba, phone, at(4*time.Hour))), a.ID)
}

func testFindByPhone(t *testing.T, s onboarding.Store) {
	const waba, phone, otherPhone = "102290129340398", "106540352242922", "106540352242923"
	// Created in an order other than their creation times: the newest comes second.
	var onPhone []*onboarding.Record
	for _, created := range []time.Duration{0, 2 * time.Hour, time.Hour} {
		r := newRecord(waba, phone, at(created))
		mustCreate(t, s, r)
		failRecord(t, r, at(created+time.Minute))
		mustUpdate(t, s, r)
		onPhone = append(onPhone, r)
	}
	other := newRecord(waba, otherPhone, at(3*time.Hour))
	mustCreate(t, s, other)
	mustCreate(t, s, newRecord(waba, "", at(4*time.Hour)))

	tests := []struct {
		name  string
		phone string
		want  *onboarding.Record // nil: ErrNotFound
	}{
		{"newest of three", phone, onPhone[1]},
		{"only one", otherPhone, other},
		{"unknown phone", "106540352242999", nil},
		{"no phone", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindByPhone(context.Background(), tc.phone)
			if tc.want == nil {
				wantIs(t, err, onboarding.ErrNotFound)
				return
			}
			must(t, err)
			assertEqual(t, "record", got, tc.want)
		})
	}
}

func testFindByWABA(t *testing.T, s onboarding.Store) {
	const waba = "102290129340398"
	// Five records on the WABA, created out of time order; two share a creation time and are then ordered
	// by id, descending (as the "<created_at>#<id>" index key orders them).
	specs := []struct {
		id      string
		phone   string
		created time.Duration
	}{
		{onboarding.NewID(), "106540352242921", time.Hour},
		{onboarding.NewID(), "", 3 * time.Hour},
		{"tie-A" + onboarding.NewID(), "106540352242922", 2 * time.Hour},
		{onboarding.NewID(), "106540352242923", 0},
		{"tie-B" + onboarding.NewID(), "106540352242924", 2 * time.Hour},
	}
	byID := map[string]*onboarding.Record{}
	for _, sp := range specs {
		r := newRecord(waba, sp.phone, at(sp.created))
		r.ID = sp.id
		mustCreate(t, s, r)
		byID[r.ID] = r
	}
	mustCreate(t, s, newRecord("102290129340399", "106540352242921", at(5*time.Hour)))
	newestFirst := []string{specs[1].id, specs[4].id, specs[2].id, specs[0].id, specs[3].id}

	tests := []struct {
		name  string
		waba  string
		limit int
		want  []string
	}{
		{"all", waba, 0, newestFirst},
		{"negative limit means all", waba, -1, newestFirst},
		{"limit", waba, 2, newestFirst[:2]},
		{"limit above count", waba, 10, newestFirst},
		{"unknown WABA", "102290129340111", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.FindByWABA(context.Background(), tc.waba, tc.limit)
			must(t, err)
			if g, w := ids(got), tc.want; !slices.Equal(g, w) {
				t.Fatalf("ids:\n got %v\nwant %v", g, w)
			}
			for _, r := range got {
				assertEqual(t, "record", r, byID[r.ID])
			}
		})
	}
}

// listAll pages through the customer's records with limit and returns their ids in order.
func listAll(t *testing.T, s onboarding.Store, customer string, status onboarding.Status, limit int) []string {
	t.Helper()
	recs := pageAll(t, fmt.Sprintf("ListByCustomer(%q, limit %d)", customer, limit), limit, func(cursor string) ([]*onboarding.Record, string, error) {
		return s.ListByCustomer(context.Background(), customer, status, limit, cursor)
	})
	for _, r := range recs {
		if r.CustomerRef != customer {
			t.Fatalf("record %s of customer %q listed for %q", r.ID, r.CustomerRef, customer)
		}
	}
	return ids(recs)
}

// pageAll calls page with each next cursor, from "", until it returns none, and returns the pages' items in
// order. It checks that no page holds more than limit items and that only the last one holds fewer.
func pageAll[T any](t *testing.T, what string, limit int, page func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%s: more than 100 pages: is the cursor advancing?", what)
		}
		got, next, err := page(cursor)
		if err != nil {
			t.Fatalf("%s, cursor %q: %v", what, cursor, err)
		}
		if len(got) > limit {
			t.Fatalf("%s: page %d: got %d items, want at most %d", what, pages, len(got), limit)
		}
		if next != "" && len(got) != limit {
			t.Fatalf("%s: page %d: got %d items and a next cursor: only the last page may be short", what, pages, len(got))
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func testListByCustomer(t *testing.T, s onboarding.Store) {
	const customer = "auth0|customer-1"
	// Six records of the customer across WABAs and statuses, created out of time order, two sharing a
	// creation time (then ordered by id, descending); others of another customer and of none.
	specs := []struct {
		id      string
		waba    string
		created time.Duration
		status  onboarding.Status
	}{
		{onboarding.NewID(), "102290129340501", time.Hour, onboarding.StatusRunning},
		{onboarding.NewID(), "102290129340502", 3 * time.Hour, onboarding.StatusFailed},
		{"tie-A" + onboarding.NewID(), "102290129340503", 2 * time.Hour, onboarding.StatusRunning},
		{onboarding.NewID(), "102290129340504", 0, onboarding.StatusCompleted},
		{"tie-B" + onboarding.NewID(), "102290129340505", 2 * time.Hour, onboarding.StatusFailed},
		{onboarding.NewID(), "102290129340506", 4 * time.Hour, onboarding.StatusRunning},
	}
	byID := map[string]*onboarding.Record{}
	for _, sp := range specs {
		r := newRecord(sp.waba, "106540352242922", at(sp.created))
		r.ID, r.CustomerRef = sp.id, customer
		switch sp.status {
		case onboarding.StatusFailed:
			failRecord(t, r, at(sp.created+time.Minute))
		case onboarding.StatusCompleted:
			completeRecord(t, r, false, at(sp.created+time.Minute))
		}
		mustCreate(t, s, r)
		byID[r.ID] = r
	}
	other := newRecord("102290129340507", "106540352242922", at(5*time.Hour))
	other.CustomerRef = "auth0|customer-2"
	mustCreate(t, s, other)
	mustCreate(t, s, newRecord("102290129340508", "106540352242922", at(6*time.Hour)))

	newestFirst := []string{specs[5].id, specs[1].id, specs[4].id, specs[2].id, specs[0].id, specs[3].id}
	failed := []string{specs[1].id, specs[4].id}
	running := []string{specs[5].id, specs[2].id, specs[0].id}
	tests := []struct {
		name     string
		customer string
		status   onboarding.Status
		limit    int
		want     []string
	}{
		{"one page", customer, "", onboarding.MaxListLimit, newestFirst},
		{"pages of one", customer, "", 1, newestFirst},
		{"pages of two", customer, "", 2, newestFirst},
		{"pages of four", customer, "", 4, newestFirst},
		{"exactly one full page", customer, "", 6, newestFirst},
		{"failed", customer, onboarding.StatusFailed, 20, failed},
		{"failed in pages of one", customer, onboarding.StatusFailed, 1, failed},
		{"running in pages of two", customer, onboarding.StatusRunning, 2, running},
		{"no verified", customer, onboarding.StatusVerified, 20, nil},
		{"another customer", "auth0|customer-2", "", 20, []string{other.ID}},
		{"unknown customer", "auth0|nobody", "", 20, nil},
		{"no customer lists nothing", "", "", 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := listAll(t, s, tc.customer, tc.status, tc.limit)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ids:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
	recs, _, err := s.ListByCustomer(context.Background(), customer, "", onboarding.MaxListLimit, "")
	must(t, err)
	for _, r := range recs {
		assertEqual(t, "record", r, byID[r.ID])
	}
}

func testListByCustomerCursor(t *testing.T, s onboarding.Store) {
	const customer = "customer-1"
	for i := range 3 {
		r := newRecord(fmt.Sprintf("10229012934060%d", i), "106540352242922", at(time.Duration(i)*time.Hour))
		r.CustomerRef = customer
		mustCreate(t, s, r)
	}
	_, next, err := s.ListByCustomer(context.Background(), customer, "", 1, "")
	must(t, err)
	if next == "" {
		t.Fatal("no next cursor after the first of three records")
	}
	for _, tc := range []struct{ name, cursor string }{
		{"not base64", "!!!"},
		{"base64 of garbage", "Z2FyYmFnZQ"},
		{"truncated", next[:len(next)/2]},
		{"changed", next + "A"},
		{"too long", strings.Repeat("A", 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _, err := s.ListByCustomer(context.Background(), customer, "", 1, tc.cursor)
			wantIs(t, err, onboarding.ErrInvalidCursor)
			if len(recs) != 0 {
				t.Errorf("got %d records with an invalid cursor, want none", len(recs))
			}
		})
	}
	for _, limit := range []int{0, -1, onboarding.MaxListLimit + 1} {
		if _, _, err := s.ListByCustomer(context.Background(), customer, "", limit, ""); err == nil {
			t.Errorf("limit %d: got no error", limit)
		}
	}
	// A cursor continues the listing of whoever presents it: in another customer's listing it is only a
	// position, and leads to none of this customer's records.
	recs, _, err := s.ListByCustomer(context.Background(), "customer-2", "", 10, next)
	must(t, err)
	if len(recs) != 0 {
		t.Errorf("customer-2 with customer-1's cursor: got %v, want none", ids(recs))
	}
}

// race starts n goroutines that call fn(i) at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// onlyWinner returns the index of the one call of a race that succeeded, failing t unless exactly one did.
func onlyWinner(t *testing.T, what string, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("two %s succeeded: %d and %d", what, winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no %s succeeded; errors: %v", what, errs)
	}
	return winner
}

func testConcurrentCreates(t *testing.T, s onboarding.Store) {
	const n = 20
	recs := make([]*onboarding.Record, n)
	for i := range recs {
		recs[i] = newRecord("102290129340398", "106540352242922", at(time.Duration(i)))
	}
	errs := race(n, func(i int) error { return s.Create(context.Background(), recs[i]) })
	winner := onlyWinner(t, "creates", errs)
	for i, err := range errs {
		if i == winner {
			continue
		}
		wantActive(t, err, recs[winner].ID)
		if _, err := s.Get(context.Background(), recs[i].ID); !errors.Is(err, onboarding.ErrNotFound) {
			t.Errorf("Get of refused onboarding %d: got error %v, want ErrNotFound", i, err)
		}
	}
	assertEqual(t, "record", mustGet(t, s, recs[winner].ID), recs[winner])
}

func testConcurrentUpdates(t *testing.T, s onboarding.Store) {
	const n = 20
	r := newRecord("102290129340398", "106540352242922", at(0))
	mustCreate(t, s, r)
	copies := make([]*onboarding.Record, n)
	for i := range copies {
		copies[i] = mustGet(t, s, r.ID)
		copies[i].TestMessageID = fmt.Sprintf("wamid.%d", i)
	}
	errs := race(n, func(i int) error { return s.Update(context.Background(), copies[i]) })

	winner := onlyWinner(t, "updates at version 1", errs)
	for i, err := range errs {
		if i != winner && !errors.Is(err, onboarding.ErrVersionConflict) {
			t.Errorf("update %d: got error %v, want ErrVersionConflict", i, err)
		}
	}
	got := mustGet(t, s, r.ID)
	wantVersion(t, "stored version", got, 2)
	assertEqual(t, "record", got, copies[winner])
}

// testConcurrentRetryAndCreates races the retry of a FAILED onboarding against new onboardings for the same
// WABA and phone number: exactly one of them ends up active.
func testConcurrentRetryAndCreates(t *testing.T, s onboarding.Store) {
	const n = 20
	failed := newRecord("102290129340398", "106540352242922", at(0))
	mustCreate(t, s, failed)
	failRecord(t, failed, at(time.Minute))
	mustUpdate(t, s, failed)
	_, err := failed.Resume(at(time.Hour))
	must(t, err)
	// Racer 0 is the retry; the others create.
	recs := make([]*onboarding.Record, n)
	recs[0] = failed
	for i := 1; i < n; i++ {
		recs[i] = newRecord(failed.WABAID, failed.PhoneNumberID, at(time.Hour+time.Duration(i)))
	}
	errs := race(n, func(i int) error {
		if i == 0 {
			return s.Update(context.Background(), recs[0])
		}
		return s.Create(context.Background(), recs[i])
	})
	winner := onlyWinner(t, "racers", errs)
	for i, err := range errs {
		if i != winner {
			wantActive(t, err, recs[winner].ID)
		}
	}
	recsOfWABA, err := s.FindByWABA(context.Background(), failed.WABAID, 0)
	must(t, err)
	var active []string
	for _, r := range recsOfWABA {
		if r.Status.Active() {
			active = append(active, r.ID)
		}
	}
	if got, want := active, []string{recs[winner].ID}; !slices.Equal(got, want) {
		t.Errorf("active onboardings: got %v, want %v", got, want)
	}
}
