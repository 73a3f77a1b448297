package bench_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	boltstore "github.com/waes/onboarding/shared/store/bolt"
	boltvault "github.com/waes/onboarding/shared/vault/bolt"
)

// BenchmarkStartDisk measures how long `make run` takes to start on a state directory that already holds
// records onboardings (each with its own WABA's encrypted token and PIN, and a finished webhook claim):
// one op opens the state (file lock, bbolt, the vault key check), builds the runner, serves a first
// GET /healthz, and shuts down again (waiting for the start's background sweep of expired webhook items),
// releasing the lock. It reports ready-ms (from the start to the first answer) and db-MiB (the database).
func BenchmarkStartDisk(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			fillState(b, dir, n)
			cfg, err := runner.ConfigFromEnv(func(k string) (string, bool) {
				v, ok := map[string]string{runner.EnvAddr: "127.0.0.1:0", runner.EnvState: runner.StateDisk, runner.EnvStateDir: dir}[k]
				return v, ok
			})
			if err != nil {
				b.Fatal(err)
			}
			client := &http.Client{Timeout: 10 * time.Second}
			log := logging.New(io.Discard, slog.LevelInfo)
			var ready time.Duration
			for b.Loop() {
				started := time.Now()
				r, err := runner.New(cfg, log)
				if err != nil {
					b.Fatal(err)
				}
				go func() { _ = r.Serve() }()
				resp, err := client.Get(r.URL + "/healthz")
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("healthz: %d", resp.StatusCode)
				}
				ready += time.Since(started)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := r.Shutdown(ctx); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
			b.ReportMetric(float64(ready.Microseconds())/1000/float64(b.N), "ready-ms")
			if fi, err := os.Stat(localstate.DBPath(dir)); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "db-MiB")
			}
		})
	}
}

// fillState writes n finished onboardings, their vault entries and webhook claims into dir, as a long
// series of local runs would leave them. The writes skip fsync (they are set up, not measured) and are
// synced once at the end.
func fillState(b *testing.B, dir string, n int) {
	b.Helper()
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
	}()
	st.DB.NoSync = true
	store, err := boltstore.New(st.DB, boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	vault, err := boltvault.Open(st.DB, localstate.KeyPath(dir), onboarding.AppConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		waba, phone := fmt.Sprint(100000000000000+i), fmt.Sprint(200000000000000+i)
		now := t0.Add(time.Duration(i) * time.Minute)
		r := onboarding.NewRecord(onboarding.NewRecordInput{ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Currency: "USD", Now: now})
		r.Executions = 1
		for _, s := range r.Steps {
			if !s.Status.Done() {
				if err := r.SucceedStep(s.Name, "", now); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := r.Complete(false, now); err != nil {
			b.Fatal(err)
		}
		if err := store.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
		if err := vault.PutBusinessToken(ctx, waba, onboarding.NewSecret(fmt.Sprintf("EAAG-bench-token-%d", i)), now.Add(60*24*time.Hour), "k"); err != nil {
			b.Fatal(err)
		}
		if _, err := vault.EnsurePIN(ctx, waba, phone, onboarding.NewSecret(onboarding.NewPIN()), "k"); err != nil {
			b.Fatal(err)
		}
		// Live claims (within their 7 days), so that every start's sweep reads them all and deletes none.
		if err := store.CompleteEvent(ctx, "message:wamid.bench"+phone, time.Now(), 7*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	st.DB.NoSync = false
	if err := st.DB.Sync(); err != nil {
		b.Fatal(err)
	}
}
