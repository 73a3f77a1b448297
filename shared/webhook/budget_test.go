package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// stalledBody is a request body that reports its first Read and then blocks until released, as a sender
// trickling its bytes does.
type stalledBody struct {
	data    io.Reader
	started chan struct{}
	once    sync.Once
	release <-chan struct{}
}

func newStalledBody(data []byte, release <-chan struct{}) *stalledBody {
	return &stalledBody{data: bytes.NewReader(data), started: make(chan struct{}), release: release}
}

func (b *stalledBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return b.data.Read(p)
}

// budgetFixture is a handler with a budget of exactly budget bytes and a short wait.
func budgetFixture(t *testing.T, budget int64) *fixture {
	t.Helper()
	f := newFixture(t, testConfig(), nil)
	config := func(context.Context) (onboarding.AppConfig, error) { return testConfig(), nil }
	f.h = NewHandler(config, f.sink, Options{MaxInFlightBytes: budget, BudgetWait: 20 * time.Millisecond})
	return f
}

func stalledPost(body []byte, declared int64, release <-chan struct{}) (*http.Request, *stalledBody) {
	sb := newStalledBody(body, release)
	r := post(nil, signed(body, testSecret))
	r.Body, r.ContentLength = io.NopCloser(sb), declared
	return r, sb
}

func TestInFlightBudget(t *testing.T) {
	body := readFixture(t, "message_text.json")
	// A declared body under one chunk takes its length and one byte (to see the end) before its first read.
	share := int64(len(body)) + 1
	t.Run("concurrent stalled bodies past the budget are answered 503 with Retry-After", func(t *testing.T) {
		const holders, senders = 3, 12
		f := budgetFixture(t, holders*share)
		release := make(chan struct{})
		codes := make(chan *httptest.ResponseRecorder, senders)
		bodies := make([]*stalledBody, senders)
		for i := range senders {
			r, sb := stalledPost(body, int64(len(body)), release)
			bodies[i] = sb
			go func() { codes <- f.do(r) }()
		}
		// The holders block in their bodies until released, so every other sender runs out of wait first.
		for range senders - holders {
			rec := receive(t, codes)
			if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
				t.Fatalf("status: got %d, want %d (%s)", got, want, rec.Body)
			}
			if got, want := rec.Header().Get("Retry-After"), strconv.Itoa(RetryAfterSeconds); got != want {
				t.Errorf("Retry-After: got %q, want %q", got, want)
			}
			if got, want := errorCode(t, rec), onboarding.CodeUnavailable; got != want {
				t.Errorf("error code: got %q, want %q", got, want)
			}
		}
		started := 0
		for _, sb := range bodies {
			select {
			case <-sb.started:
				started++
			default:
			}
		}
		if got, want := started, holders; got != want {
			t.Errorf("bodies read: got %d, want %d (a delivery reads only into a buffer it has budget for)", got, want)
		}
		if got := f.sink.Calls(); got != 0 {
			t.Errorf("sink calls before release: got %d, want 0", got)
		}
		close(release)
		for range holders {
			if rec := receive(t, codes); rec.Code != http.StatusOK {
				t.Errorf("holder: got %d, want 200 (%s)", rec.Code, rec.Body)
			}
		}
		if got, want := f.sink.Calls(), holders; got != want {
			t.Errorf("sink calls: got %d, want %d", got, want)
		}
		if got := f.h.held.Load(); got != 0 {
			t.Errorf("budget held once all are answered: got %d, want 0", got)
		}
		// The budget came back: a new delivery is taken.
		if rec := f.do(post(body, signed(body, testSecret))); rec.Code != http.StatusOK {
			t.Errorf("after release: got %d, want 200", rec.Code)
		}
	})
	t.Run("a body of undeclared length takes one chunk, not the body limit", func(t *testing.T) {
		tests := []struct {
			name   string
			budget int64
			want   int
		}{
			{"beside it in a budget of one chunk", readChunk, http.StatusServiceUnavailable},
			{"beside it in a budget of one chunk and one body", readChunk + share, http.StatusOK},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := budgetFixture(t, tt.budget)
				release := make(chan struct{})
				codes := make(chan *httptest.ResponseRecorder, 1)
				r, sb := stalledPost(body, -1, release) // chunked
				go func() { codes <- f.do(r) }()
				<-sb.started
				if got, want := f.h.held.Load(), int64(readChunk); got != want {
					t.Errorf("held by the stalled chunked body: got %d, want %d", got, want)
				}
				if rec := f.do(post(body, signed(body, testSecret))); rec.Code != tt.want {
					t.Errorf("a delivery beside it: got %d, want %d (%s)", rec.Code, tt.want, rec.Body)
				}
				close(release)
				if rec := receive(t, codes); rec.Code != http.StatusOK {
					t.Errorf("chunked delivery: got %d, want 200 (%s)", rec.Code, rec.Body)
				}
			})
		}
	})
	t.Run("a budget smaller than one body still lets one through", func(t *testing.T) {
		for _, size := range []int{len(body), 3 * readChunk} {
			big := body
			if size > len(body) {
				big = payloadOfSize(size)
			}
			f := budgetFixture(t, 16)
			if rec := f.do(post(big, signed(big, testSecret))); rec.Code != http.StatusOK {
				t.Errorf("%d bytes: got %d, want 200 (%s)", len(big), rec.Code, rec.Body)
			}
			if got, want := f.h.peak.Load(), int64(16); got != want {
				t.Errorf("%d bytes: most held: got %d, want %d (the whole budget, no more)", len(big), got, want)
			}
		}
	})
}

// trickleBody is a slow sender: it yields its first sent bytes a little at a time, then blocks until released
// (as a connection trickling 1 KB at a time and then idling would), then ends, short of what it declared.
type trickleBody struct {
	data    []byte
	sent    int
	step    int
	ended   bool
	stalled chan struct{}
	release <-chan struct{}
}

func newTrickleBody(sent, step int, release <-chan struct{}) *trickleBody {
	return &trickleBody{data: bytes.Repeat([]byte{' '}, sent), step: step, stalled: make(chan struct{}), release: release}
}

func (b *trickleBody) Read(p []byte) (int, error) {
	if b.sent < len(b.data) {
		n := copy(p, b.data[b.sent:min(b.sent+b.step, len(b.data))])
		b.sent += n
		return n, nil
	}
	if !b.ended {
		b.ended = true
		close(b.stalled)
		<-b.release
	}
	return 0, io.EOF
}

// TestSlowSendersDoNotHoldTheBudget is the slow-body attack: 16 connections declaring MaxBodyBytes that have
// sent 120 KB each. They hold what they sent plus at most one chunk each, so a genuine delivery beside them
// is answered as it would be alone, not 503.
func TestSlowSendersDoNotHoldTheBudget(t *testing.T) {
	const slow, sent = 16, 120 << 10
	body := readFixture(t, "message_text.json")
	f := budgetFixture(t, MaxBodyBytes) // one declared body's worth: the old up-front share let one sender take it all
	release := make(chan struct{})
	codes := make(chan *httptest.ResponseRecorder, slow)
	for range slow {
		tb := newTrickleBody(sent, 1<<10, release)
		r := post(nil, signed(body, testSecret))
		r.Body, r.ContentLength = io.NopCloser(tb), MaxBodyBytes
		go func() { codes <- f.do(r) }()
		select {
		case <-tb.stalled:
		case <-time.After(10 * time.Second):
			t.Fatal("a slow sender was not read within 10 s")
		}
	}
	// Each has filled one chunk and grown into a second.
	if got, want := f.h.held.Load(), int64(slow*2*readChunk); got != want {
		t.Errorf("held by the slow senders: got %d, want %d", got, want)
	}
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"signed", signed(body, testSecret), http.StatusOK},
		{"unsigned", nil, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := f.do(post(body, tt.headers)); rec.Code != tt.want {
				t.Errorf("beside %d slow senders: got %d, want %d (%s)", slow, rec.Code, tt.want, rec.Body)
			}
		})
	}
	close(release)
	for range slow {
		// They end short of what they declared.
		if rec := receive(t, codes); rec.Code != http.StatusBadRequest {
			t.Errorf("slow sender: got %d, want 400 (%s)", rec.Code, rec.Body)
		}
	}
	if got := f.h.held.Load(); got != 0 {
		t.Errorf("budget held once all are answered: got %d, want 0", got)
	}
}

// gatedSink holds every Accept until its gate is closed, as a slow queue would, counting those waiting.
type gatedSink struct {
	*MemorySink
	gate    chan struct{}
	waiting atomic.Int64
}

func (s *gatedSink) Accept(ctx context.Context, events []Event) error {
	s.waiting.Add(1)
	<-s.gate
	return s.MemorySink.Accept(ctx, events)
}

// TestFastLargeBodiesPastTheBudget: bodies that arrive at once still take their full size from the budget, so
// more of them than the budget holds are answered 503 with Retry-After, and nothing of those is stored.
func TestFastLargeBodiesPastTheBudget(t *testing.T) {
	const senders, budget = 8, 1 << 20
	body := payloadOfSize(300 << 10) // 5 chunks, joined into one of its size: at most 3 such fit in the budget
	fits := budget / len(body)
	sink := &gatedSink{MemorySink: NewMemorySink(), gate: make(chan struct{})}
	config := func(context.Context) (onboarding.AppConfig, error) { return testConfig(), nil }
	h := NewHandler(config, sink, Options{MaxInFlightBytes: budget, BudgetWait: 20 * time.Millisecond})
	codes := make(chan *httptest.ResponseRecorder, senders)
	for range senders {
		r := post(body, signed(body, testSecret))
		go func() { rec := httptest.NewRecorder(); h.ServeHTTP(rec, r); codes <- rec }()
	}
	var deferred, taken int
	deadline := time.After(10 * time.Second)
	for deferred+int(sink.waiting.Load()) < senders {
		select {
		case rec := <-codes:
			if got, want := rec.Code, http.StatusServiceUnavailable; got != want {
				t.Fatalf("status before the sink answers: got %d, want %d (%s)", got, want, rec.Body)
			}
			if got, want := rec.Header().Get("Retry-After"), strconv.Itoa(RetryAfterSeconds); got != want {
				t.Errorf("Retry-After: got %q, want %q", got, want)
			}
			deferred++
		case <-time.After(time.Millisecond):
		case <-deadline:
			t.Fatalf("after 10 s: %d answered 503, %d in the sink, of %d", deferred, sink.waiting.Load(), senders)
		}
	}
	if got, want := deferred, senders-fits; got < want {
		t.Errorf("answered 503: got %d, want at least %d", got, want)
	}
	close(sink.gate)
	for range senders - deferred {
		if rec := receive(t, codes); rec.Code == http.StatusOK {
			taken++
		} else {
			t.Errorf("after the sink answered: got %d, want 200 (%s)", rec.Code, rec.Body)
		}
	}
	if got, want := sink.Calls(), taken; got != want {
		t.Errorf("sink calls: got %d, want %d (one per 200)", got, want)
	}
	if got := h.peak.Load(); got > budget {
		t.Errorf("most held: got %d, want at most %d", got, budget)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, post(body, signed(body, testSecret)))
	if rec.Code != http.StatusOK {
		t.Errorf("once the budget is back: got %d, want 200 (%s)", rec.Code, rec.Body)
	}
}

// TestHeldBudgetBounded runs deliveries of every shape at once against a budget far smaller than their sum:
// what the handler holds never exceeds the budget, each is answered 200 or 503, and all of it is given back.
func TestHeldBudgetBounded(t *testing.T) {
	const budget, rounds = 512 << 10, 4
	bodies := [][]byte{readFixture(t, "message_text.json"), payloadOfSize(100 << 10), payloadOfSize(1 << 20)}
	f := budgetFixture(t, budget)
	f.h.opts.BudgetWait = DefaultBudgetWait // contention resolves as deliveries finish, as in production
	var wg sync.WaitGroup
	var ok, deferred, other atomic.Int64
	for range rounds {
		for _, body := range bodies {
			for _, chunked := range []bool{false, true} {
				wg.Go(func() {
					r := post(body, signed(body, testSecret))
					if chunked {
						r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), -1
					}
					switch f.do(r).Code {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusServiceUnavailable:
						deferred.Add(1)
					default:
						other.Add(1)
					}
				})
			}
		}
	}
	wg.Wait()
	if got := other.Load(); got != 0 {
		t.Errorf("answers other than 200 or 503: got %d, want 0", got)
	}
	if got := f.h.peak.Load(); got > budget || got == 0 {
		t.Errorf("most held: got %d, want 1 to %d", got, budget)
	}
	if got := f.h.held.Load(); got != 0 {
		t.Errorf("held once all are answered: got %d, want 0", got)
	}
	t.Logf("%d answered 200, %d 503; at most %d bytes held", ok.Load(), deferred.Load(), f.h.peak.Load())
	body := bodies[len(bodies)-1]
	if rec := f.do(post(body, signed(body, testSecret))); rec.Code != http.StatusOK {
		t.Errorf("once the budget is back: got %d, want 200 (%s)", rec.Code, rec.Body)
	}
}

func receive(t *testing.T, ch <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	select {
	case rec := <-ch:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10 s")
		return nil
	}
}

// endlessBody yields bytes forever and counts how many were read.
type endlessBody struct{ n atomic.Int64 }

func (b *endlessBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	b.n.Add(int64(len(p)))
	return len(p), nil
}

func TestOversizeBodyRefusedAsItStreams(t *testing.T) {
	const limit = 1 << 10
	f := newFixture(t, testConfig(), nil)
	configCalls := 0
	config := func(context.Context) (onboarding.AppConfig, error) { configCalls++; return testConfig(), nil }
	f.h = NewHandler(config, f.sink, Options{MaxBodyBytes: limit})
	body := &endlessBody{}
	r := post(nil, nil)
	r.Body, r.ContentLength = io.NopCloser(body), -1
	rec := f.do(r)
	if got, want := rec.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	if got, want := errorCode(t, rec), onboarding.CodeBodyTooLarge; got != want {
		t.Errorf("error code: got %q, want %q", got, want)
	}
	if got := body.n.Load(); got > limit+1 {
		t.Errorf("bytes read: got %d, want at most %d (the read must stop at the limit)", got, limit+1)
	}
	if configCalls != 0 || f.sink.Calls() != 0 {
		t.Errorf("config calls %d, sink calls %d: want none for a refused body", configCalls, f.sink.Calls())
	}
}
