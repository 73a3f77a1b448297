package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// BenchmarkOnboarding measures one whole local onboarding through the local runner in this process, as
// `make run` serves it with its defaults (time scale 0.01) and no simulated Graph latency: POST /signup (the
// code exchange and grant check against the simulator), then the workflow interpreted step by step until its
// execution closes. One op is one onboarding, run one after another.
//
//   - completed: no test recipient; subscribe, share the credit line, register, record: signup → COMPLETED.
//   - verified: with the simulated tester as test recipient: also the tester's inbound message, the reply
//     and its status webhook, signed and delivered over loopback: signup → VERIFIED. The simulator sends a
//     reply's first status 100 ms after the reply (graphsim.WebhookSender.StatusDelay), which is most of it.
//
// It reports signup-ms (POST /signup answered 202) besides ns/op (signup to terminal status).
func BenchmarkOnboarding(b *testing.B) {
	for _, c := range []struct {
		name, extra string
		want        onboarding.Status
	}{
		{"completed", "", onboarding.StatusCompleted},
		{"verified", `,"test_recipient":"` + graphsim.DefaultTesterNumber + `"`, onboarding.StatusVerified},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg, err := runner.ConfigFromEnv(func(k string) (string, bool) {
				switch k {
				case runner.EnvAddr:
					return "127.0.0.1:0", true
				case runner.EnvState:
					return runner.StateMemory, true
				}
				return "", false
			})
			if err != nil {
				b.Fatal(err)
			}
			r, err := runner.New(cfg, logging.New(io.Discard, slog.LevelInfo))
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = r.Serve() }()
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = r.Shutdown(ctx)
			})
			execPrefix := strings.Replace(r.Engine.StateMachineARN(), ":stateMachine:", ":execution:", 1) + ":"
			client := &http.Client{Timeout: 30 * time.Second}
			var signupTime time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				waba, phone := fmt.Sprintf("4%014d", i), fmt.Sprintf("5%013d0", i)
				body := fmt.Sprintf(`{"code":"sim:%s:%s:bench-%d","waba_id":%q,"phone_number_id":%q%s}`, waba, phone, i, waba, phone, c.extra)
				t0 := time.Now()
				resp, err := client.Post(r.URL+"/signup", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				var m struct {
					ID string `json:"id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusAccepted {
					b.Fatalf("signup: %d %v", resp.StatusCode, err)
				}
				signupTime += time.Since(t0)
				d, err := r.Engine.Wait(context.Background(), execPrefix+onboarding.ExecutionName(m.ID, 1))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				rec, err := r.Store.Get(context.Background(), m.ID)
				if err != nil || rec.Status != c.want {
					b.Fatalf("onboarding %s: %v %v (execution %s %s %s), want %s", m.ID, rec, err, d.Status, d.Error, d.Cause, c.want)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(signupTime.Microseconds())/1000/float64(b.N), "signup-ms")
		})
	}
}
