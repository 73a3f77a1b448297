package secretsmanager

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func BenchmarkAppConfigCached(b *testing.B) {
	ctx := context.Background()
	h := newHarness(b)
	if _, err := h.vault.AppConfig(ctx); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.vault.AppConfig(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h.vault.AppConfig(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	if got := len(h.fake.callsOf("GetSecretValue")); got != 1 {
		b.Errorf("GetSecretValue calls: got %d, want 1", got)
	}
}

// BenchmarkEnsurePINOverFake measures the adapter's own work per EnsurePIN (SDK serialisation, signing,
// JSON) with an in-process transport; real latency is the round trips: 1 read for a stored PIN, 4 for a
// new one (read, put, promote, read back).
func BenchmarkEnsurePINOverFake(b *testing.B) {
	ctx := context.Background()
	b.Run("stored", func(b *testing.B) {
		h := newHarness(b)
		if _, err := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "k"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.vault.EnsurePIN(ctx, waba, phone1, pinA, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		h := newHarness(b)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			h.clock.add(time.Second)
			if _, err := h.vault.EnsurePIN(ctx, fmt.Sprint(1000000+i), phone1, pinA, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
