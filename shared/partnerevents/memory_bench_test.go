package partnerevents_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/partnerevents"
)

// BenchmarkMemorySinkPublish measures one publish of one event into a sink that is already full (the local
// runner's steady state under webhook load: every event the worker processes is published here).
func BenchmarkMemorySinkPublish(b *testing.B) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ev := partnerevents.Event{ID: "status:wamid.x:delivered", Version: partnerevents.Version, Type: partnerevents.TypeMessageStatus, Time: at, Status: "delivered"}
	for _, limit := range []int{100, 10000} {
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			m := &partnerevents.MemorySink{Limit: limit}
			for range limit {
				_ = m.Publish(context.Background(), ev)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Publish(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
