package metahook_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/shared/webhook"
)

// The keys the builder reports are the ones the project's parser derives, so the load test can check the
// store event by event.
func TestKeysMatchTheParser(t *testing.T) {
	b := metahook.New(42)
	m, mk := b.Single(true)
	s, sk := b.Single(false)
	batch, bk := b.Batch(100 << 10)
	for _, c := range []struct {
		name string
		body []byte
		keys []metahook.Event
	}{{"message", m, mk}, {"status", s, sk}, {"batch", batch, bk}} {
		res, err := webhook.Parse(c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got, want []string
		for _, e := range res.Events {
			got = append(got, e.Key)
		}
		for _, e := range c.keys {
			want = append(want, e.Key)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: parser keys %v, builder keys %v", c.name, got, want)
		}
	}
	if len(batch) > 100<<10 || len(bk) < 100 || len(bk) > 1000 {
		t.Errorf("batch: %d bytes, %d changes; want at most 100 KiB and 100 to 1000 changes", len(batch), len(bk))
	}
	if n := (len(m) + len(s)) / 2; n < 800 || n > 1200 {
		t.Errorf("single webhooks average %d bytes, want about 1 KB", n)
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := metahook.New(7).Batch(10 << 10)
	b, _ := metahook.New(7).Batch(10 << 10)
	c, _ := metahook.New(8).Batch(10 << 10)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("the same seq must give the same bytes, another seq other bytes")
	}
}
