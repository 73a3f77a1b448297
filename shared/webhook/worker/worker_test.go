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

const (
	waba    = "102290129340398"
	phone   = "106540352242922"
	tester  = "+16505551234"
	replyID = "wamid.reply"
)

var errTaskGone = errors.New("task gone")

// fakeWorkflow records resumed task tokens.
type fakeWorkflow struct {
	mu        sync.Mutex
	successes map[string][]byte
	failures  map[string]string
	failNext  error
}

func (w *fakeWorkflow) Start(context.Context, onboarding.StartInput) (string, error) { return "", nil }

func (w *fakeWorkflow) SendTaskSuccess(_ context.Context, token string, out []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failNext != nil {
		err := w.failNext
		w.failNext = nil
		return err
	}
	if _, done := w.successes[token]; done {
		return errTaskGone
	}
	w.successes[token] = out
	return nil
}

func (w *fakeWorkflow) SendTaskFailure(_ context.Context, token, name, cause string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures[token] = name + ": " + cause
	return nil
}

type fixture struct {
	store *memory.Store
	wf    *fakeWorkflow
	sink  *partnerevents.MemorySink
	p     *Processor
	rec   *onboarding.Record
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), wf: &fakeWorkflow{successes: map[string][]byte{}, failures: map[string]string{}}, sink: &partnerevents.MemorySink{}}
	f.p = New(f.store, f.store, f.wf, Options{Publisher: f.sink, IsTaskGone: func(err error) bool { return errors.Is(err, errTaskGone) }})
	f.rec = onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, TestRecipient: tester, Now: time.Now()})
	if err := f.store.Create(context.Background(), f.rec); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) wait(t *testing.T, kind onboarding.WaitKind, token string) {
	t.Helper()
	if err := f.store.PutWait(context.Background(), onboarding.Wait{OnboardingID: f.rec.ID, Kind: string(kind), TaskToken: token, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) record(t *testing.T) *onboarding.Record {
	t.Helper()
	r, err := f.store.Get(context.Background(), f.rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func inboundFromTester() webhook.Event {
	return webhook.Event{Kind: webhook.KindInboundMessage, Key: "message:wamid.in1", Field: "messages", WABAID: waba, PhoneNumberID: phone,
		MessageID: "wamid.in1", From: "16505551234", MessageType: "text", Text: "hi", Timestamp: time.Unix(1749416383, 0)}
}

func status(id, s string) webhook.Event {
	return webhook.Event{Kind: webhook.KindMessageStatus, Key: "status:" + id + ":" + s, Field: "messages", WABAID: waba, PhoneNumberID: phone, MessageID: id, Status: s, RecipientID: "16505551234"}
}

func TestConcurrentDuplicatesAreStoredOnce(t *testing.T) {
	f := newFixture(t)
	in := Inline{P: f.p}
	ev := inboundFromTester()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = in.Accept(context.Background(), []webhook.Event{ev})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	claim, err := f.store.GetEventClaim(context.Background(), ev.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !claim.Done || claim.Attempts != 1 {
		t.Errorf("claim: got %+v, want done after one attempt", claim)
	}
	if got, want := len(f.sink.Events()), 1; got != want {
		t.Errorf("partner events: got %d, want %d", got, want)
	}
	if got := f.record(t).Progress.InboundMessageID; got != ev.MessageID {
		t.Errorf("inbound recorded: got %q, want %q", got, ev.MessageID)
	}
}

func TestStatusesAreMonotonic(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, s := range []string{"sent", "read", "delivered"} {
		if err := f.p.Process(ctx, status("wamid.other", s)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.store.MessageStatus(ctx, "wamid.other")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "read" {
		t.Errorf("status: got %q, want read (a late delivered changes nothing)", got.Status)
	}
	var published []string
	for _, e := range f.sink.Events() {
		published = append(published, e.Status)
	}
	if len(published) != 2 || published[0] != "sent" || published[1] != "read" {
		t.Errorf("published statuses: got %v, want [sent read]", published)
	}
}

func TestTestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		waitFirst  bool
		replyState string
	}{
		{"inbound after the wait", true, "delivered"},
		{"inbound before the wait", false, "read"},
		{"reply failed", true, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			if tt.waitFirst {
				f.wait(t, onboarding.WaitInboundMessage, "tok-in")
			}
			if err := f.p.Process(ctx, inboundFromTester()); err != nil {
				t.Fatal(err)
			}
			if !tt.waitFirst {
				if len(f.wf.successes) != 0 {
					t.Fatalf("resumed before any wait was stored")
				}
				f.wait(t, onboarding.WaitInboundMessage, "tok-in")
				if err := f.p.Handle(ctx, Message{Correlate: f.rec.ID}); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := f.wf.successes["tok-in"]; !ok {
				t.Fatalf("the inbound wait was not resumed")
			}
			// The reply goes out; its status resumes the second wait.
			r := f.record(t)
			r.TestMessageID = replyID
			if err := f.store.Update(ctx, r); err != nil {
				t.Fatal(err)
			}
			f.wait(t, onboarding.WaitMessageStatus, "tok-status")
			if err := f.p.Process(ctx, status(replyID, tt.replyState)); err != nil {
				t.Fatal(err)
			}
			_, ok := f.wf.successes["tok-status"]
			failure, failed := f.wf.failures["tok-status"]
			if tt.replyState == "failed" {
				if !failed || ok {
					t.Fatalf("got success %v failure %q, want a %s failure", ok, failure, TestMessageFailedError)
				}
			} else if !ok {
				t.Fatalf("the status wait was not resumed")
			}
			if got := f.record(t).TestMessageStatus; got != tt.replyState {
				t.Errorf("test_message_status: got %q, want %q", got, tt.replyState)
			}
			// A duplicate delivery resumes nothing twice.
			if err := f.p.Process(ctx, inboundFromTester()); err != nil {
				t.Fatal(err)
			}
			if got := len(f.wf.successes) + len(f.wf.failures); got != 2 {
				t.Errorf("resumptions: got %d, want 2", got)
			}
		})
	}
}

func TestMessagesFromOthersDoNotResume(t *testing.T) {
	f := newFixture(t)
	f.wait(t, onboarding.WaitInboundMessage, "tok-in")
	ev := inboundFromTester()
	ev.From, ev.Key, ev.MessageID = "447700900000", "message:wamid.other", "wamid.other"
	if err := f.p.Process(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(f.wf.successes) != 0 {
		t.Errorf("a stranger's message resumed the wait")
	}
	if got := len(f.sink.Events()); got != 1 {
		t.Errorf("partner events: got %d, want 1 (every inbound message is published)", got)
	}
}

func TestResumeFailurePutsTheWaitBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.wait(t, onboarding.WaitInboundMessage, "tok-in")
	f.wf.failNext = errors.New("states: throttled")
	if err := f.p.Process(ctx, inboundFromTester()); err == nil {
		t.Fatal("got no error, want the failure reported so the queue redelivers")
	}
	// The redelivery (lease expired) resumes it.
	f.p.lease = time.Nanosecond
	f.store.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
	f.p.clock = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := f.p.Process(ctx, inboundFromTester()); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.wf.successes["tok-in"]; !ok {
		t.Fatalf("the wait was not resumed on redelivery")
	}
}

func TestStorageFailureIsReported(t *testing.T) {
	f := newFixture(t)
	f.store.FailNext("ClaimEvent", errors.New("throttled"))
	err := Inline{P: f.p}.Accept(context.Background(), []webhook.Event{inboundFromTester()})
	if err == nil {
		t.Fatal("got no error, want the storage failure reported (the intake answers 5xx)")
	}
	if len(f.sink.Events()) != 0 {
		t.Errorf("an event was published although it was not stored")
	}
	if err := (Inline{P: f.p}).Accept(context.Background(), []webhook.Event{inboundFromTester()}); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if got := len(f.sink.Events()); got != 1 {
		t.Errorf("partner events after redelivery: got %d, want 1", got)
	}
}

func TestPartnerRemovedOffboards(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, e := range []string{"PARTNER_ADDED", "PARTNER_REMOVED"} {
		ev := webhook.Event{Kind: webhook.KindAccountUpdate, Key: "change:" + e, Field: "account_update", WABAID: waba, AccountEvent: e, Timestamp: at}
		if err := f.p.Process(ctx, ev); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Minute)
	}
	if got := f.record(t).Status; got != onboarding.StatusOffboarded {
		t.Errorf("status: got %s, want OFFBOARDED", got)
	}
	ps, err := f.store.PartnerState(ctx, waba)
	if err != nil {
		t.Fatal(err)
	}
	if ps.LastEvent != "PARTNER_REMOVED" || ps.EventAt["PARTNER_ADDED"].IsZero() {
		t.Errorf("partner state: got %+v", ps)
	}
	var types []string
	for _, e := range f.sink.Events() {
		types = append(types, e.Type+"/"+e.Status+e.AccountEvent)
	}
	want := []string{"account.updated/PARTNER_ADDED", "onboarding.status_changed/OFFBOARDED", "account.updated/PARTNER_REMOVED"}
	if len(types) != len(want) {
		t.Fatalf("partner events: got %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("partner event %d: got %s, want %s", i, types[i], want[i])
		}
	}
	// A new signup for the WABA is possible again: the guard was released.
	again := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Now: time.Now()})
	if err := f.store.Create(ctx, again); err != nil {
		t.Errorf("create after offboarding: %v", err)
	}
}

// phraseFixture is an onboarding that asked for the test without naming a recipient: the test phrase is
// what identifies the tester.
func phraseFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), wf: &fakeWorkflow{successes: map[string][]byte{}, failures: map[string]string{}}, sink: &partnerevents.MemorySink{}}
	f.p = New(f.store, f.store, f.wf, Options{Publisher: f.sink, IsTaskGone: func(err error) bool { return errors.Is(err, errTaskGone) }})
	f.rec = onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish,
		TestMessage: true, TestPhrase: "TEST482913", Now: time.Now()})
	if err := f.store.Create(context.Background(), f.rec); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTestPhraseMatching(t *testing.T) {
	const bsuid = "US.13491208655302741918"
	tests := []struct {
		name       string
		from, user string
		text       string
		wantMatch  bool
	}{
		{"phrase from a phone user", "447700900000", "", "hello TEST482913", true},
		{"phrase in lower case", "447700900000", "", "test482913 please", true},
		{"phrase from a BSUID-only user", "", bsuid, "TEST482913", true},
		{"other text", "447700900000", "", "hello", false},
		{"another phrase", "447700900000", "", "TEST482914", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := phraseFixture(t)
			f.wait(t, onboarding.WaitInboundMessage, "tok-in")
			ev := inboundFromTester()
			ev.From, ev.FromUserID, ev.Text = tt.from, tt.user, tt.text
			if err := f.p.Process(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			_, resumed := f.wf.successes["tok-in"]
			if resumed != tt.wantMatch {
				t.Fatalf("resumed: got %v, want %v", resumed, tt.wantMatch)
			}
			r := f.record(t)
			if !tt.wantMatch {
				if r.Progress.InboundMessageID != "" {
					t.Errorf("a non-test message was recorded: %+v", r.Progress)
				}
				return
			}
			if got, want := r.Progress.TesterWAID, tt.from; got != want {
				t.Errorf("tester wa_id: got %q, want %q", got, want)
			}
			if got, want := r.Progress.TesterUserID, tt.user; got != want {
				t.Errorf("tester user id: got %q, want %q", got, want)
			}
			// A second message with the phrase (another user) does not replace the tester.
			second := inboundFromTester()
			second.Key, second.MessageID, second.From, second.Text = "message:wamid.in2", "wamid.in2", "15550001111", "TEST482913"
			if err := f.p.Process(context.Background(), second); err != nil {
				t.Fatal(err)
			}
			if got := f.record(t).Progress.InboundMessageID; got != "wamid.in1" {
				t.Errorf("inbound message id: got %q, want the first test message", got)
			}
		})
	}
}

func TestNoTestAskedIgnoresThePhraseAndTheNumber(t *testing.T) {
	f := &fixture{store: memory.New(), wf: &fakeWorkflow{successes: map[string][]byte{}, failures: map[string]string{}}, sink: &partnerevents.MemorySink{}}
	f.p = New(f.store, f.store, f.wf, Options{Publisher: f.sink})
	f.rec = onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Now: time.Now()})
	if err := f.store.Create(context.Background(), f.rec); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Process(context.Background(), inboundFromTester()); err != nil {
		t.Fatal(err)
	}
	if got := f.record(t).Progress.InboundMessageID; got != "" {
		t.Errorf("inbound message recorded for an onboarding without a test: %q", got)
	}
}

func TestOnlyDeliveryProvesTheNumber(t *testing.T) {
	tests := []struct {
		name        string
		statuses    []webhook.Event
		wantSuccess bool
		wantFailure string
	}{
		{"sent only keeps waiting", []webhook.Event{status(replyID, "sent")}, false, ""},
		{"sent then delivered", []webhook.Event{status(replyID, "sent"), status(replyID, "delivered")}, true, ""},
		{"read alone", []webhook.Event{status(replyID, "read")}, true, ""},
		{"failed with Meta's error", []webhook.Event{func() webhook.Event {
			ev := status(replyID, "failed")
			ev.Errors = []webhook.EventError{{Code: 131026, Title: "Message undeliverable"}}
			return ev
		}()}, false, "TestMessageFailed: the test reply wamid.reply failed to deliver: Meta error 131026 (Message undeliverable)"},
		{"status addressed to a BSUID", []webhook.Event{func() webhook.Event {
			ev := status(replyID, "delivered")
			ev.RecipientID, ev.RecipientUserID = "", "US.13491208655302741918"
			return ev
		}()}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			r := f.record(t)
			r.TestMessageID = replyID
			if err := f.store.Update(ctx, r); err != nil {
				t.Fatal(err)
			}
			f.wait(t, onboarding.WaitMessageStatus, "tok-status")
			for _, ev := range tt.statuses {
				if err := f.p.Process(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := f.wf.successes["tok-status"]; ok != tt.wantSuccess {
				t.Errorf("resumed with success: got %v, want %v", ok, tt.wantSuccess)
			}
			if got := f.wf.failures["tok-status"]; got != tt.wantFailure {
				t.Errorf("failure: got %q, want %q", got, tt.wantFailure)
			}
			if tt.wantFailure != "" {
				if got := f.record(t).Progress.TestFailureCode; got != 131026 {
					t.Errorf("recorded failure code: got %d, want 131026", got)
				}
			}
		})
	}
}
