package eventbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/partnerevents/eventbridge"
)

const bus = "partner-events-prod"

// putEvents is a func-type fake of the EventBridge client.
type putEvents func(ctx context.Context, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error)

func (f putEvents) PutEvents(ctx context.Context, in *awseventbridge.PutEventsInput, _ ...func(*awseventbridge.Options)) (*awseventbridge.PutEventsOutput, error) {
	return f(ctx, in)
}

// calls records the PutEvents calls and answers each with answer(call index, input).
type calls struct {
	mu  sync.Mutex
	got [][]types.PutEventsRequestEntry
}

func (c *calls) fake(answer func(n int, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error)) putEvents {
	return func(_ context.Context, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
		c.mu.Lock()
		n := len(c.got)
		c.got = append(c.got, slices.Clone(in.Entries))
		c.mu.Unlock()
		return answer(n, in)
	}
}

func (c *calls) sizes() []int {
	out := make([]int, len(c.got))
	for i, g := range c.got {
		out[i] = len(g)
	}
	return out
}

func ok(_ int, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
	out := &awseventbridge.PutEventsOutput{}
	for range in.Entries {
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("ev")})
	}
	return out, nil
}

// failing answers the entries at the given positions as failed.
func failing(in *awseventbridge.PutEventsInput, positions ...int) *awseventbridge.PutEventsOutput {
	out := &awseventbridge.PutEventsOutput{}
	for i := range in.Entries {
		if slices.Contains(positions, i) {
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
			out.FailedEntryCount++
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("ev")})
	}
	return out
}

func entryIDs(t *testing.T, entries []types.PutEventsRequestEntry) []string {
	t.Helper()
	var out []string
	for _, e := range entries {
		var d struct {
			OnboardingID string `json:"onboarding_id"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			t.Fatalf("detail %q: %v", aws.ToString(e.Detail), err)
		}
		out = append(out, d.OnboardingID)
	}
	return out
}

func TestEventBridgeChunksOfTen(t *testing.T) {
	for _, tc := range []struct {
		events int
		want   []int
	}{
		{0, []int{}},
		{1, []int{1}},
		{9, []int{9}},
		{10, []int{10}},
		{11, []int{10, 1}},
		{20, []int{10, 10}},
		{25, []int{10, 10, 5}},
	} {
		t.Run(strconv.Itoa(tc.events)+" events", func(t *testing.T) {
			var c calls
			p := eventbridge.New(c.fake(ok), bus, "prod")
			evs := numbered(tc.events)
			if err := p.Publish(context.Background(), evs...); err != nil {
				t.Fatal(err)
			}
			if got := c.sizes(); !slices.Equal(got, tc.want) {
				t.Errorf("PutEvents entries per call: got %v, want %v", got, tc.want)
			}
			// Every event is sent once, in order.
			var all []types.PutEventsRequestEntry
			for _, g := range c.got {
				all = append(all, g...)
			}
			if got, want := entryIDs(t, all), ids(evs); !slices.Equal(got, want) {
				t.Errorf("events sent: got %v, want %v", got, want)
			}
		})
	}
}

func TestEventBridgeEntry(t *testing.T) {
	ev := partnerevents.StatusChanged("ob-1", "102290129340398", "106540352242922", "COMPLETED", at)
	detail, _ := partnerevents.Detail(ev)
	for _, tc := range []struct {
		stage, source string
	}{
		{"prod", "wa-onboarding.prod"},
		{"dev-alice", "wa-onboarding.dev-alice"},
		{"", "wa-onboarding"},
	} {
		t.Run("stage "+tc.stage, func(t *testing.T) {
			var c calls
			if err := eventbridge.New(c.fake(ok), bus, tc.stage).Publish(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if len(c.got) != 1 || len(c.got[0]) != 1 {
				t.Fatalf("calls: got %v, want one call of one entry", c.sizes())
			}
			e := c.got[0][0]
			for _, f := range []struct{ name, got, want string }{
				{"EventBusName", aws.ToString(e.EventBusName), bus},
				{"Source", aws.ToString(e.Source), tc.source},
				{"DetailType", aws.ToString(e.DetailType), partnerevents.TypeOnboardingStatusChanged},
				{"Detail", aws.ToString(e.Detail), detail},
			} {
				if f.got != f.want {
					t.Errorf("%s: got %q, want %q", f.name, f.got, f.want)
				}
			}
			if e.Time == nil || !e.Time.Equal(at) {
				t.Errorf("Time: got %v, want %v", e.Time, at)
			}
		})
	}
}

func TestEventBridgeRetriesFailedEntriesOnce(t *testing.T) {
	t.Run("retried entries succeed", func(t *testing.T) {
		var c calls
		p := eventbridge.New(c.fake(func(n int, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
			if n == 0 {
				return failing(in, 2, 7), nil
			}
			return ok(n, in)
		}), bus, "prod")
		if err := p.Publish(context.Background(), numbered(12)...); err != nil {
			t.Fatalf("Publish: got %v, want nil", err)
		}
		if got, want := c.sizes(), []int{10, 2, 2}; !slices.Equal(got, want) {
			t.Fatalf("entries per call: got %v, want %v", got, want)
		}
		if got, want := entryIDs(t, c.got[1]), []string{"ob-2", "ob-7"}; !slices.Equal(got, want) {
			t.Errorf("retried: got %v, want only the failed %v", got, want)
		}
		if got, want := entryIDs(t, c.got[2]), []string{"ob-10", "ob-11"}; !slices.Equal(got, want) {
			t.Errorf("next chunk: got %v, want %v", got, want)
		}
	})
	t.Run("entries failing twice fail Publish", func(t *testing.T) {
		var c calls
		p := eventbridge.New(c.fake(func(n int, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
			if n == 0 {
				return failing(in, 0, 1, 5), nil
			}
			return failing(in, 1), nil
		}), bus, "prod")
		err := p.Publish(context.Background(), numbered(15)...)
		if err == nil {
			t.Fatal("Publish: got nil, want an error")
		}
		if !strings.Contains(err.Error(), bus) || !strings.Contains(err.Error(), "1 entries failed") {
			t.Errorf("error %q: want the bus %s and the count of entries still failing", err, bus)
		}
		// One retry only, of the failed entries; the rest is not sent (the caller retries everything).
		if got, want := c.sizes(), []int{10, 3}; !slices.Equal(got, want) {
			t.Errorf("entries per call: got %v, want %v", got, want)
		}
		if got, want := entryIDs(t, c.got[1]), []string{"ob-0", "ob-1", "ob-5"}; !slices.Equal(got, want) {
			t.Errorf("retried: got %v, want %v", got, want)
		}
	})
	t.Run("a failure count without failed entries is an error", func(t *testing.T) {
		var c calls
		p := eventbridge.New(c.fake(func(int, *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
			return &awseventbridge.PutEventsOutput{FailedEntryCount: 1}, nil
		}), bus, "prod")
		if err := p.Publish(context.Background(), numbered(2)...); err == nil || !strings.Contains(err.Error(), bus) {
			t.Errorf("Publish: got %v, want an error naming %s", err, bus)
		}
		if got := len(c.got); got != 1 {
			t.Errorf("calls: got %d, want 1 (nothing identifiable to retry)", got)
		}
	})
}

func TestEventBridgeClientError(t *testing.T) {
	throttled := errors.New("ThrottlingException: rate exceeded")
	for _, tc := range []struct {
		name      string
		failOn    int
		events    int
		wantCalls int
	}{
		{"first call", 0, 5, 1},
		{"second chunk", 1, 15, 2},
		{"retry of failed entries", 1, 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c calls
			p := eventbridge.New(c.fake(func(n int, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
				if n == tc.failOn {
					return nil, throttled
				}
				if tc.events <= 10 {
					return failing(in, 0), nil
				}
				return ok(n, in)
			}), bus, "prod")
			err := p.Publish(context.Background(), numbered(tc.events)...)
			if !errors.Is(err, throttled) {
				t.Fatalf("Publish: got %v, want it to wrap %v", err, throttled)
			}
			if !strings.Contains(err.Error(), bus) {
				t.Errorf("error %q: want the bus name %s", err, bus)
			}
			if got := len(c.got); got != tc.wantCalls {
				t.Errorf("calls: got %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestEventBridgePassesTheContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	var got any
	p := eventbridge.New(putEvents(func(ctx context.Context, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
		got = ctx.Value(key{})
		return ok(0, in)
	}), bus, "prod")
	if err := p.Publish(ctx, numbered(1)...); err != nil {
		t.Fatal(err)
	}
	if got != "v" {
		t.Errorf("context value in PutEvents: got %v, want v", got)
	}
}

func BenchmarkEventBridgePublish(b *testing.B) {
	p := eventbridge.New(putEvents(func(_ context.Context, in *awseventbridge.PutEventsInput) (*awseventbridge.PutEventsOutput, error) {
		return ok(0, in)
	}), bus, "prod")
	evs := numbered(25)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(context.Background(), evs...); err != nil {
			b.Fatal(err)
		}
	}
}

var _ partnerevents.Publisher = (*eventbridge.Publisher)(nil)

var at = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func numbered(n int) []partnerevents.Event {
	evs := make([]partnerevents.Event, n)
	for i := range evs {
		evs[i] = partnerevents.StatusChanged("ob-"+strconv.Itoa(i), "102290129340398", "106540352242922", "COMPLETED", at)
	}
	return evs
}

func ids(evs []partnerevents.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.OnboardingID
	}
	return out
}
