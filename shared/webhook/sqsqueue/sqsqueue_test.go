package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks-prod"

// fakeSQS is a func-type fake of the SQS client; an operation left nil fails the call.
type fakeSQS struct {
	send  func(ctx context.Context, in *sqs.SendMessageInput) (*sqs.SendMessageOutput, error)
	batch func(ctx context.Context, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
}

func (f fakeSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if f.send == nil {
		return nil, errors.New("unexpected SendMessage")
	}
	return f.send(ctx, in)
}

func (f fakeSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if f.batch == nil {
		return nil, errors.New("unexpected SendMessageBatch")
	}
	return f.batch(ctx, in)
}

// recorder records SendMessageBatch calls (safe for the concurrent calls of Accept) and answers each with
// answer, or success when answer is nil.
type recorder struct {
	mu     sync.Mutex
	calls  []*sqs.SendMessageBatchInput
	answer func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
}

func (r *recorder) api() fakeSQS {
	return fakeSQS{batch: func(_ context.Context, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		r.mu.Lock()
		r.calls = append(r.calls, in)
		answer := r.answer
		r.mu.Unlock()
		if answer != nil {
			return answer(in)
		}
		return succeed(in), nil
	}}
}

// sent returns the event keys of every entry sent, sorted (batches are sent concurrently).
func (r *recorder) sent(t *testing.T) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, c := range r.calls {
		for _, e := range c.Entries {
			keys = append(keys, decode(t, aws.ToString(e.MessageBody)).Event.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

func succeed(in *sqs.SendMessageBatchInput) *sqs.SendMessageBatchOutput {
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m-" + aws.ToString(e.Id))})
	}
	return out
}

// failIDs answers the entries with the given ids as failed, the others as sent.
func failIDs(in *sqs.SendMessageBatchInput, ids ...string) *sqs.SendMessageBatchOutput {
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if slices.Contains(ids, aws.ToString(e.Id)) {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), SenderFault: false})
			continue
		}
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m")})
	}
	return out
}

func decode(t *testing.T, body string) worker.Message {
	t.Helper()
	var m worker.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("queue message %q: %v", body, err)
	}
	return m
}

func event(i int) webhook.Event {
	id := fmt.Sprintf("wamid.%04d", i)
	return webhook.Event{
		Kind: webhook.KindInboundMessage, Key: "message:" + id, Field: "messages", EntryID: "102290129340398",
		WABAID: "102290129340398", PhoneNumberID: "106540352242922", MessageID: id, From: "16505551234",
		MessageType: "text", Text: "hello " + strconv.Itoa(i), Timestamp: time.Unix(1749416383, 0).UTC(),
		Raw: json.RawMessage(`{"from":"16505551234","id":"` + id + `","type":"text","text":{"body":"hello"}}`),
	}
}

func eventsN(n int) []webhook.Event {
	evs := make([]webhook.Event, n)
	for i := range evs {
		evs[i] = event(i)
	}
	return evs
}

func keys(evs []webhook.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Key
	}
	slices.Sort(out)
	return out
}

func TestPack(t *testing.T) {
	const kib = 1 << 10
	body := func(n int) string { return strings.Repeat("x", n) }
	bodies := func(sizes ...int) []string {
		out := make([]string, len(sizes))
		for i, s := range sizes {
			out[i] = body(s)
		}
		return out
	}
	repeat := func(n, size int) []string { return bodies(slices.Repeat([]int{size}, n)...) }
	for _, tc := range []struct {
		name   string
		bodies []string
		want   []int // entries per batch
	}{
		{"none", nil, nil},
		{"one", repeat(1, 10), []int{1}},
		{"ten", repeat(10, 10), []int{10}},
		{"eleven", repeat(11, 10), []int{10, 1}},
		{"twenty-five", repeat(25, 10), []int{10, 10, 5}},
		{"a thousand", repeat(1000, 100), slices.Repeat([]int{10}, 100)},
		{"size splits before ten", repeat(3, 100*kib), []int{2, 1}},
		{"exactly 256 KiB fits", bodies(128*kib, 128*kib), []int{2}},
		{"one byte over 256 KiB splits", bodies(128*kib, 128*kib+1), []int{1, 1}},
		{"a full message alone", bodies(10, MaxMessageBytes, 10), []int{1, 1, 1}},
		{"small after big", bodies(200*kib, 10, 10, 60*kib), []int{3, 1}},
		{"size and count", append(repeat(12, 1*kib), repeat(3, 100*kib)...), []int{10, 4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pack(tc.bodies)
			var sizes []int
			var all []string
			for _, b := range got {
				sizes = append(sizes, len(b))
				all = append(all, b...)
				total := 0
				for _, s := range b {
					total += len(s)
				}
				if len(b) == 0 || len(b) > batchSize || total > MaxMessageBytes {
					t.Errorf("batch of %d entries and %d bytes: want 1 to %d entries and at most %d bytes", len(b), total, batchSize, MaxMessageBytes)
				}
			}
			if !slices.Equal(sizes, tc.want) {
				t.Errorf("entries per batch: got %v, want %v", sizes, tc.want)
			}
			if !slices.Equal(all, tc.bodies) {
				t.Errorf("bodies: got %d in another order or changed, want the %d given in order", len(all), len(tc.bodies))
			}
		})
	}
}

func TestEncode(t *testing.T) {
	big := strings.Repeat("a", MaxMessageBytes)
	withRaw := event(1)
	withRaw.Raw = json.RawMessage(`{"text":{"body":"` + big + `"}}`)
	tooBig := event(2)
	tooBig.Text = big
	badRaw := event(3)
	badRaw.Raw = json.RawMessage(`{not json`)

	// exact builds an event whose message is exactly n bytes (its Text padded), with or without Raw.
	exact := func(n int, raw bool) webhook.Event {
		ev := event(4)
		if !raw {
			ev.Raw = nil
		}
		ev.Text = ""
		b, _ := json.Marshal(worker.Message{Event: &ev})
		ev.Text = strings.Repeat("b", n-len(b)-len(`,"text":""`))
		return ev
	}
	for _, tc := range []struct {
		name    string
		m       worker.Message
		want    worker.Message // decoded
		wantErr string
	}{
		{name: "event", m: worker.Message{Event: ptr(event(0))}, want: worker.Message{Event: ptr(event(0))}},
		{name: "correlation", m: worker.Message{Correlate: "3q2-7wEjRuW3bFq0DqRU1A"}, want: worker.Message{Correlate: "3q2-7wEjRuW3bFq0DqRU1A"}},
		{name: "oversize raw is dropped", m: worker.Message{Event: &withRaw}, want: worker.Message{Event: ptr(without(withRaw))}},
		{name: "exactly the limit keeps raw", m: worker.Message{Event: ptr(exact(MaxMessageBytes, true))}, want: worker.Message{Event: ptr(exact(MaxMessageBytes, true))}},
		{name: "one byte over drops raw", m: worker.Message{Event: ptr(exact(MaxMessageBytes+1, true))}, want: worker.Message{Event: ptr(without(exact(MaxMessageBytes+1, true)))}},
		{name: "exactly the limit without raw", m: worker.Message{Event: ptr(exact(MaxMessageBytes, false))}, want: worker.Message{Event: ptr(exact(MaxMessageBytes, false))}},
		{name: "one byte over without raw to drop", m: worker.Message{Event: ptr(exact(MaxMessageBytes+1, false))}, wantErr: "exceeds the SQS limit"},
		{name: "too big without its raw", m: worker.Message{Event: &tooBig}, wantErr: "exceeds the SQS limit"},
		{name: "raw that is not JSON", m: worker.Message{Event: &badRaw}, wantErr: "encoding a queue message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encode(tc.m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("encode: got %d bytes, %v; want an error containing %q", len(got), err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if len(got) > MaxMessageBytes {
				t.Errorf("message: got %d bytes, want at most %d", len(got), MaxMessageBytes)
			}
			if m := decode(t, got); !reflect.DeepEqual(m, tc.want) {
				t.Errorf("decoded:\n got %+v\nwant %+v", m, tc.want)
			}
		})
	}
	t.Run("the caller's event keeps its raw", func(t *testing.T) {
		if _, err := encode(worker.Message{Event: &withRaw}); err != nil {
			t.Fatal(err)
		}
		if len(withRaw.Raw) == 0 {
			t.Error("encode dropped Raw from the caller's event")
		}
	})
}

// sqsAllowed reports whether SQS accepts every character of a message body.
func sqsAllowed(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return false
		}
	}
	return true
}

// A character SQS refuses would fail the whole batch, every time Meta redelivers: it is escaped instead.
func TestEncodeEscapesWhatSQSRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, text, raw string
		wantText        string
		wantRaw         string // compacted
	}{
		{"plain", "héllo 👋 \u0000", `{"body":"héllo"}`, "héllo 👋 \u0000", `{"body":"héllo"}`},
		{"control characters", "a\x00b\x1fc\td", `{"body":"a\u0000"}`, "a\x00b\x1fc\td", `{"body":"a\u0000"}`},
		{"noncharacters in text", "a\uFFFEb\uFFFFc", `{}`, "a\uFFFEb\uFFFFc", `{}`},
		{"noncharacters in raw", "x", "{\"body\":\"a\uFFFF\uFFFE\"}", "x", `{"body":"a\uffff\ufffe"}`},
		{"invalid UTF-8 in raw", "x", "{\"body\":\"a\xffb\xc3\"}", "x", `{"body":"a\ufffdb\ufffd"}`},
		{"invalid UTF-8 in text", "a\xffb", `{}`, "a\uFFFDb", `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := event(0)
			ev.Text, ev.Raw = tc.text, json.RawMessage(tc.raw)
			body, err := encode(worker.Message{Event: &ev})
			if err != nil {
				t.Fatal(err)
			}
			if !sqsAllowed(body) {
				t.Errorf("body %q: want only characters SQS accepts", body)
			}
			got := decode(t, body).Event
			if got.Text != tc.wantText {
				t.Errorf("Text: got %q, want %q", got.Text, tc.wantText)
			}
			var want, gotRaw any
			json.Unmarshal([]byte(tc.wantRaw), &want)
			json.Unmarshal(got.Raw, &gotRaw)
			if !reflect.DeepEqual(gotRaw, want) {
				t.Errorf("Raw: got %s, want %s", got.Raw, tc.wantRaw)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func without(ev webhook.Event) webhook.Event {
	ev.Raw = nil
	return ev
}

func TestAcceptSendsEveryEvent(t *testing.T) {
	for _, n := range []int{0, 1, 10, 11, 25, 1000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var r recorder
			q := New(r.api(), queueURL)
			evs := eventsN(n)
			if err := q.Accept(context.Background(), evs); err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if got, want := len(r.calls), (n+batchSize-1)/batchSize; got != want {
				t.Errorf("SendMessageBatch calls: got %d, want %d", got, want)
			}
			if got, want := r.sent(t), keys(evs); !slices.Equal(got, want) {
				t.Errorf("events sent: got %d, want %d", len(got), len(want))
			}
			for _, c := range r.calls {
				if got := aws.ToString(c.QueueUrl); got != queueURL {
					t.Errorf("QueueUrl: got %q, want %q", got, queueURL)
				}
				seen := map[string]bool{}
				for _, e := range c.Entries {
					id := aws.ToString(e.Id)
					if id == "" || seen[id] {
						t.Errorf("entry id %q: want unique and set in its batch", id)
					}
					seen[id] = true
				}
			}
		})
	}
}

// The events' messages reach the worker as they were accepted (Raw compacted by encoding/json).
func TestAcceptMessagesDecode(t *testing.T) {
	var r recorder
	evs := eventsN(3)
	if err := New(r.api(), queueURL).Accept(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	for i, e := range r.calls[0].Entries {
		got := decode(t, aws.ToString(e.MessageBody))
		if got.Event == nil || !reflect.DeepEqual(*got.Event, evs[i]) {
			t.Errorf("entry %d: got %+v, want %+v", i, got.Event, evs[i])
		}
	}
}

func TestAcceptBoundsParallelism(t *testing.T) {
	for _, parallel := range []int{1, 3, 8} {
		t.Run(strconv.Itoa(parallel), func(t *testing.T) {
			var (
				mu       sync.Mutex
				inFlight int
				maxSeen  int
				full     = make(chan struct{})
				once     sync.Once
			)
			q := New(fakeSQS{batch: func(_ context.Context, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
				mu.Lock()
				inFlight++
				maxSeen = max(maxSeen, inFlight)
				if inFlight == parallel {
					once.Do(func() { close(full) })
				}
				mu.Unlock()
				<-full // the first calls wait until the bound is reached, so it is reached
				mu.Lock()
				inFlight--
				mu.Unlock()
				return succeed(in), nil
			}}, queueURL)
			q.parallel = parallel
			if err := q.Accept(context.Background(), eventsN(20*batchSize)); err != nil {
				t.Fatal(err)
			}
			if maxSeen != parallel {
				t.Errorf("calls in flight at most: got %d, want %d", maxSeen, parallel)
			}
		})
	}
}

func TestAcceptRetriesFailedEntriesOnce(t *testing.T) {
	t.Run("retried entries succeed", func(t *testing.T) {
		var r recorder
		attempts := map[string]int{} // by event key
		r.answer = func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			var fail []string
			r.mu.Lock()
			for _, e := range in.Entries {
				k := decode(t, aws.ToString(e.MessageBody)).Event.Key
				attempts[k]++
				if attempts[k] == 1 && (strings.HasSuffix(k, "1") || strings.HasSuffix(k, "4")) {
					fail = append(fail, aws.ToString(e.Id))
				}
			}
			r.mu.Unlock()
			return failIDs(in, fail...), nil
		}
		evs := eventsN(25)
		if err := New(r.api(), queueURL).Accept(context.Background(), evs); err != nil {
			t.Fatalf("Accept: got %v, want nil", err)
		}
		// 3 batches, each retrying its failed entries once: the 1s and 4s of every batch.
		if got := len(r.calls); got != 6 {
			t.Errorf("SendMessageBatch calls: got %d, want 6", got)
		}
		for k, n := range attempts {
			want := 1
			if strings.HasSuffix(k, "1") || strings.HasSuffix(k, "4") {
				want = 2
			}
			if n != want {
				t.Errorf("%s sent %d times, want %d", k, n, want)
			}
		}
		if len(attempts) != len(evs) {
			t.Errorf("events sent: got %d, want %d", len(attempts), len(evs))
		}
		for _, c := range r.calls {
			if len(c.Entries) == 2 {
				ids := []string{aws.ToString(c.Entries[0].Id), aws.ToString(c.Entries[1].Id)}
				if !slices.Equal(ids, []string{"1", "4"}) {
					t.Errorf("retry entry ids: got %v, want the failed [1 4]", ids)
				}
			}
		}
	})
	t.Run("entries failing twice fail Accept", func(t *testing.T) {
		var r recorder
		r.answer = func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			return failIDs(in, "0", "9"), nil
		}
		err := New(r.api(), queueURL).Accept(context.Background(), eventsN(10))
		if err == nil {
			t.Fatal("Accept: got nil, want an error")
		}
		if want := "2 of 2 failed (first: InternalError)"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want %q", err, want)
		}
		if got, want := []int{len(r.calls[0].Entries), len(r.calls[1].Entries)}, []int{10, 2}; len(r.calls) != 2 || !slices.Equal(got, want) {
			t.Errorf("calls: got %d (%v entries), want 2 of %v", len(r.calls), got, want)
		}
	})
	t.Run("a client error fails Accept after every batch was tried", func(t *testing.T) {
		var r recorder
		throttled := errors.New("AWS.SimpleQueueService.RequestThrottled")
		r.answer = func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
			if decode(t, aws.ToString(in.Entries[0].MessageBody)).Event.Key == event(10).Key {
				return nil, throttled
			}
			return succeed(in), nil
		}
		err := New(r.api(), queueURL).Accept(context.Background(), eventsN(30))
		if !errors.Is(err, throttled) {
			t.Fatalf("Accept: got %v, want it to wrap %v", err, throttled)
		}
		if got := len(r.calls); got != 3 {
			t.Errorf("SendMessageBatch calls: got %d, want 3 (no retry of a client error: the SDK retried it)", got)
		}
	})
	t.Run("an event that cannot be encoded sends nothing", func(t *testing.T) {
		var r recorder
		evs := eventsN(5)
		evs[3].Text = strings.Repeat("x", MaxMessageBytes)
		if err := New(r.api(), queueURL).Accept(context.Background(), evs); err == nil {
			t.Fatal("Accept: got nil, want an error")
		}
		if got := len(r.calls); got != 0 {
			t.Errorf("SendMessageBatch calls: got %d, want 0", got)
		}
	})
}

func TestAcceptConcurrentUse(t *testing.T) {
	var r recorder
	q := New(r.api(), queueURL)
	var wg sync.WaitGroup
	var want []string
	for g := range 8 {
		evs := eventsN(35)
		for i := range evs {
			evs[i].Key = fmt.Sprintf("message:g%d-%d", g, i)
		}
		want = append(want, keys(evs)...)
		wg.Go(func() {
			if err := q.Accept(context.Background(), evs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	slices.Sort(want)
	if got := r.sent(t); !slices.Equal(got, want) {
		t.Errorf("events sent: got %d, want %d", len(got), len(want))
	}
}

func TestRequestCorrelation(t *testing.T) {
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name string
		err  error
	}{{"sent", nil}, {"client error", boom}} {
		t.Run(tc.name, func(t *testing.T) {
			var got *sqs.SendMessageInput
			q := New(fakeSQS{send: func(_ context.Context, in *sqs.SendMessageInput) (*sqs.SendMessageOutput, error) {
				got = in
				return &sqs.SendMessageOutput{MessageId: aws.String("m")}, tc.err
			}}, queueURL)
			err := q.RequestCorrelation(context.Background(), "3q2-7wEjRuW3bFq0DqRU1A")
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("RequestCorrelation: got %v, want %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), "correlation") {
				t.Errorf("error %q: want it to say what failed", err)
			}
			if got == nil {
				t.Fatal("SendMessage was not called")
			}
			if u := aws.ToString(got.QueueUrl); u != queueURL {
				t.Errorf("QueueUrl: got %q, want %q", u, queueURL)
			}
			if body, want := aws.ToString(got.MessageBody), `{"correlate":"3q2-7wEjRuW3bFq0DqRU1A"}`; body != want {
				t.Errorf("MessageBody: got %s, want %s", body, want)
			}
		})
	}
}

func BenchmarkAccept(b *testing.B) {
	q := New(fakeSQS{batch: func(_ context.Context, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return succeed(in), nil
	}}, queueURL)
	evs := eventsN(100)
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Accept(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
}
