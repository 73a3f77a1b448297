package sqsqueue

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/store/memory"
	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
)

const (
	waba   = "102290129340398"
	phone  = "106540352242922"
	tester = "+16505551234"
)

var errTaskGone = errors.New("task gone")

// workflowFuncs is a func-type fake of onboarding.Workflow; a nil func succeeds.
type workflowFuncs struct {
	success func(token string, output []byte) error
	failure func(token, name, cause string) error
}

func (w workflowFuncs) Start(context.Context, onboarding.StartInput) (string, error) { return "", nil }

func (w workflowFuncs) SendTaskSuccess(_ context.Context, token string, output []byte) error {
	if w.success == nil {
		return nil
	}
	return w.success(token, output)
}

func (w workflowFuncs) SendTaskFailure(_ context.Context, token, name, cause string) error {
	if w.failure == nil {
		return nil
	}
	return w.failure(token, name, cause)
}

// handlerFixture is a real worker.Processor over the memory store, with a fake workflow and clock.
type handlerFixture struct {
	store *memory.Store
	sink  *partnerevents.MemorySink
	logs  *testlog.Buffer
	now   time.Time
	wf    *workflowFuncs
	rec   *onboarding.Record
	p     *worker.Processor
	h     func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
}

func newHandlerFixture(t *testing.T) *handlerFixture {
	t.Helper()
	f := &handlerFixture{
		store: memory.New(), sink: &partnerevents.MemorySink{}, logs: &testlog.Buffer{},
		now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), wf: &workflowFuncs{},
	}
	f.store.SetClock(func() time.Time { return f.now })
	log := logging.New(f.logs, slog.LevelDebug)
	f.p = worker.New(f.store, f.store, f.wf, worker.Options{
		Publisher: f.sink, Logger: log,
		Clock:      func() time.Time { return f.now },
		IsTaskGone: func(err error) bool { return errors.Is(err, errTaskGone) },
	})
	f.rec = onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone,
		Event: onboarding.EventFinish, TestRecipient: tester, Now: f.now})
	if err := f.store.Create(context.Background(), f.rec); err != nil {
		t.Fatal(err)
	}
	f.h = Handler(f.p, log)
	return f
}

// sqsRecord is a queue record carrying m encoded as Accept encodes it.
func sqsRecord(t *testing.T, id string, m worker.Message) events.SQSMessage {
	t.Helper()
	body, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: body}
}

func inboundFrom(from, wamid string) worker.Message {
	return worker.Message{Event: &webhook.Event{Kind: webhook.KindInboundMessage, Key: "message:" + wamid, Field: "messages",
		WABAID: waba, PhoneNumberID: phone, MessageID: wamid, From: from, MessageType: "text", Text: "hi",
		Timestamp: time.Unix(1749416383, 0).UTC()}}
}

func statusOf(wamid, status string) worker.Message {
	return worker.Message{Event: &webhook.Event{Kind: webhook.KindMessageStatus, Key: "status:" + wamid + ":" + status,
		Field: "messages", WABAID: waba, PhoneNumberID: phone, MessageID: wamid, Status: status, RecipientID: "16505551234"}}
}

func accountUpdate(event string) worker.Message {
	return worker.Message{Event: &webhook.Event{Kind: webhook.KindAccountUpdate, Key: "change:" + event, Field: "account_update",
		WABAID: waba, AccountEvent: event}}
}

func failureIDs(r events.SQSEventResponse) []string {
	var out []string
	for _, f := range r.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

func TestHandler(t *testing.T) {
	boom := errors.New("throttled")
	for _, tc := range []struct {
		name string
		// setup prepares the fixture and returns the batch.
		setup        func(t *testing.T, f *handlerFixture) []events.SQSMessage
		wantFailures []string
		// wantPublished are the partner event types published, in order.
		wantPublished []string
		wantLog       map[string]string // message id -> a message logged with its request id
	}{
		{
			name: "every kind of message processed",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				return []events.SQSMessage{
					sqsRecord(t, "m-1", inboundFrom("447700900000", "wamid.stranger")),
					sqsRecord(t, "m-2", statusOf("wamid.out", "delivered")),
					sqsRecord(t, "m-3", accountUpdate("PARTNER_ADDED")),
					sqsRecord(t, "m-4", worker.Message{Correlate: f.rec.ID}),
					sqsRecord(t, "m-5", worker.Message{Correlate: onboarding.NewID()}), // unknown onboarding
					{MessageId: "m-6", Body: `{}`},                                     // empty: ignored
				}
			},
			wantPublished: []string{partnerevents.TypeMessageReceived, partnerevents.TypeMessageStatus, partnerevents.TypeAccountUpdate},
		},
		{
			name: "duplicates in one batch are processed once",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				m := statusOf("wamid.out", "read")
				return []events.SQSMessage{sqsRecord(t, "m-1", m), sqsRecord(t, "m-2", m)}
			},
			wantPublished: []string{partnerevents.TypeMessageStatus},
		},
		{
			name: "undecodable messages are dropped and logged",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				return []events.SQSMessage{
					{MessageId: "bad-1", Body: "not json"},
					{MessageId: "bad-2", Body: `{"event":{"kind":"inbound_message"`},
					{MessageId: "bad-3", Body: `{"event":{"timestamp":"yesterday"}}`},
					{MessageId: "bad-4", Body: ""},
					sqsRecord(t, "m-1", inboundFrom("447700900000", "wamid.stranger")),
				}
			},
			wantPublished: []string{partnerevents.TypeMessageReceived},
			wantLog: map[string]string{
				"bad-1": "undecodable queue message dropped", "bad-2": "undecodable queue message dropped",
				"bad-3": "undecodable queue message dropped", "bad-4": "undecodable queue message dropped",
			},
		},
		{
			name: "a storage failure is reported by message id",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				f.store.FailNext("AdvanceMessageStatus", boom)
				return []events.SQSMessage{
					sqsRecord(t, "m-1", inboundFrom("447700900000", "wamid.stranger")),
					sqsRecord(t, "m-2", statusOf("wamid.out", "sent")),
					sqsRecord(t, "m-3", accountUpdate("PARTNER_ADDED")),
				}
			},
			wantFailures:  []string{"m-2"},
			wantPublished: []string{partnerevents.TypeMessageReceived, partnerevents.TypeAccountUpdate},
			wantLog:       map[string]string{"m-2": "queue message failed; SQS will redeliver it"},
		},
		{
			name: "a publishing failure is reported",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				calls := 0
				f.sink.Fail = func() error {
					calls++
					if calls == 2 {
						return boom
					}
					return nil
				}
				return []events.SQSMessage{
					sqsRecord(t, "m-1", statusOf("wamid.a", "sent")),
					sqsRecord(t, "m-2", statusOf("wamid.b", "sent")),
					sqsRecord(t, "m-3", statusOf("wamid.c", "sent")),
				}
			},
			wantFailures:  []string{"m-2"},
			wantPublished: []string{partnerevents.TypeMessageStatus, partnerevents.TypeMessageStatus},
		},
		{
			name: "a workflow failure is reported and the wait kept",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				putWait(t, f, onboarding.WaitInboundMessage, "tok-in")
				f.wf.success = func(string, []byte) error { return boom }
				return []events.SQSMessage{
					sqsRecord(t, "m-1", statusOf("wamid.out", "sent")),
					sqsRecord(t, "m-2", inboundFrom(tester, "wamid.tester")),
					sqsRecord(t, "m-3", inboundFrom("447700900000", "wamid.stranger")),
				}
			},
			wantFailures:  []string{"m-2"},
			wantPublished: []string{partnerevents.TypeMessageStatus, partnerevents.TypeMessageReceived},
		},
		{
			name: "an event another worker is processing is reported",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				m := statusOf("wamid.out", "read")
				if _, err := f.store.ClaimEvent(context.Background(), m.Event.Key, f.now, time.Minute, time.Hour); err != nil {
					t.Fatal(err)
				}
				return []events.SQSMessage{sqsRecord(t, "m-1", m), sqsRecord(t, "m-2", statusOf("wamid.out", "sent"))}
			},
			wantFailures:  []string{"m-1"},
			wantPublished: []string{partnerevents.TypeMessageStatus},
		},
		{
			name: "every message failing",
			setup: func(t *testing.T, f *handlerFixture) []events.SQSMessage {
				f.store.SetFault(func(op string) error { return boom })
				return []events.SQSMessage{
					sqsRecord(t, "m-1", statusOf("wamid.a", "sent")),
					sqsRecord(t, "m-2", inboundFrom(tester, "wamid.tester")),
					sqsRecord(t, "m-3", worker.Message{Correlate: f.rec.ID}),
				}
			},
			wantFailures: []string{"m-1", "m-2", "m-3"},
		},
		{
			name:  "empty batch",
			setup: func(*testing.T, *handlerFixture) []events.SQSMessage { return nil },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			batch := tc.setup(t, f)
			resp, err := f.h(context.Background(), events.SQSEvent{Records: batch})
			if err != nil {
				t.Fatalf("Handler: got %v, want nil (failures are reported per message)", err)
			}
			if got := failureIDs(resp); !slices.Equal(got, tc.wantFailures) {
				t.Errorf("batch item failures: got %v, want %v", got, tc.wantFailures)
			}
			var published []string
			for _, e := range f.sink.Events() {
				published = append(published, e.Type)
			}
			if !slices.Equal(published, tc.wantPublished) {
				t.Errorf("published: got %v, want %v", published, tc.wantPublished)
			}
			lines, err := f.logs.Lines()
			if err != nil {
				t.Fatal(err)
			}
			for id, msg := range tc.wantLog {
				found := slices.ContainsFunc(lines, func(l map[string]any) bool {
					return l["msg"] == msg && l[logging.KeyRequestID] == id
				})
				if !found {
					t.Errorf("log: want %q with request_id %s, got %v", msg, id, lines)
				}
			}
		})
	}
}

func putWait(t *testing.T, f *handlerFixture, kind onboarding.WaitKind, token string) {
	t.Helper()
	if err := f.store.PutWait(context.Background(), onboarding.Wait{OnboardingID: f.rec.ID, Kind: string(kind), TaskToken: token, ExpiresAt: f.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// What failed is processed when SQS redelivers it (after the claim's lease), and only once.
func TestHandlerRedeliveryCompletesTheFailures(t *testing.T) {
	f := newHandlerFixture(t)
	putWait(t, f, onboarding.WaitInboundMessage, "tok-in")
	var resumed []string
	f.wf.success = func(string, []byte) error { return errors.New("states: throttled") }
	batch := []events.SQSMessage{
		sqsRecord(t, "m-1", inboundFrom(tester, "wamid.tester")),
		sqsRecord(t, "m-2", statusOf("wamid.out", "delivered")),
	}
	resp, _ := f.h(context.Background(), events.SQSEvent{Records: batch})
	if got, want := failureIDs(resp), []string{"m-1"}; !slices.Equal(got, want) {
		t.Fatalf("first delivery failures: got %v, want %v", got, want)
	}

	f.wf.success = func(token string, _ []byte) error { resumed = append(resumed, token); return nil }
	f.now = f.now.Add(worker.DefaultLease + time.Second)
	resp, _ = f.h(context.Background(), events.SQSEvent{Records: batch}) // SQS redelivers; m-2 again too (at least once)
	if got := failureIDs(resp); len(got) != 0 {
		t.Fatalf("redelivery failures: got %v, want none", got)
	}
	if !slices.Equal(resumed, []string{"tok-in"}) {
		t.Errorf("resumed: got %v, want [tok-in]", resumed)
	}
	var published []string
	for _, e := range f.sink.Events() {
		published = append(published, e.ID)
	}
	if want := []string{"status:wamid.out:delivered", "message:wamid.tester"}; !slices.Equal(published, want) {
		t.Errorf("published: got %v, want %v (each once)", published, want)
	}
	rec, err := f.store.Get(context.Background(), f.rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Progress.InboundMessageID != "wamid.tester" {
		t.Errorf("inbound message recorded: got %q, want wamid.tester", rec.Progress.InboundMessageID)
	}
}

// Lambda may run handlers of different batches at once over one Processor.
func TestHandlerConcurrentBatches(t *testing.T) {
	f := newHandlerFixture(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var batch []events.SQSMessage
			for _, s := range []string{"sent", "delivered", "read"} {
				batch = append(batch, sqsRecord(t, "m-"+s, statusOf("wamid.out", s)))
			}
			// A duplicate still leased by another batch may be reported as failed (SQS redelivers it).
			if _, err := f.h(context.Background(), events.SQSEvent{Records: batch}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st, err := f.store.MessageStatus(context.Background(), "wamid.out")
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "read" {
		t.Errorf("message status: got %q, want read", st.Status)
	}
	seen := map[string]bool{}
	for _, e := range f.sink.Events() {
		if seen[e.ID] {
			t.Errorf("partner event %s published twice", e.ID)
		}
		seen[e.ID] = true
	}
	if !seen["status:wamid.out:sent"] && !seen["status:wamid.out:delivered"] && !seen["status:wamid.out:read"] {
		t.Error("no status published")
	}
}
