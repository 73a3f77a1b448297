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
	t.Run("concurrent slow bodies past the budget are answered 503 with Retry-After", func(t *testing.T) {
		const holders, senders = 3, 12
		f := budgetFixture(t, holders*int64(len(body)))
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
			t.Errorf("bodies read: got %d, want %d (a refused delivery must not read its body)", got, want)
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
		// The budget came back: a new delivery is taken.
		if rec := f.do(post(body, signed(body, testSecret))); rec.Code != http.StatusOK {
			t.Errorf("after release: got %d, want 200", rec.Code)
		}
	})
	t.Run("a body of undeclared length takes the body limit", func(t *testing.T) {
		f := budgetFixture(t, MaxBodyBytes)
		release := make(chan struct{})
		codes := make(chan *httptest.ResponseRecorder, 1)
		r, sb := stalledPost(body, -1, release) // chunked
		go func() { codes <- f.do(r) }()
		<-sb.started
		if rec := f.do(post(body, signed(body, testSecret))); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("beside a chunked body holding the budget: got %d, want 503", rec.Code)
		}
		close(release)
		if rec := receive(t, codes); rec.Code != http.StatusOK {
			t.Errorf("chunked delivery: got %d, want 200 (%s)", rec.Code, rec.Body)
		}
	})
	t.Run("a budget smaller than one body still lets one through", func(t *testing.T) {
		f := budgetFixture(t, 16)
		if rec := f.do(post(body, signed(body, testSecret))); rec.Code != http.StatusOK {
			t.Errorf("got %d, want 200 (%s)", rec.Code, rec.Body)
		}
	})
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
