package runner

import (
	"context"
	"errors"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/tokenhealth"
)

// DefaultTokenHealthInterval is how often `make run` runs the token health check (TOKEN_HEALTH_INTERVAL;
// daily on AWS): often enough to see a token expiring locally.
const DefaultTokenHealthInterval = time.Minute

// EnvTokenHealthInterval sets the interval of the local token health check (a Go duration such as 30s or
// 5m; 0 turns it off).
const EnvTokenHealthInterval = "TOKEN_HEALTH_INTERVAL"

// startTokenHealth builds the token health check, the same one the scheduled token_health function runs,
// and runs it every cfg.TokenHealthInterval (the first run one interval after the start) until Shutdown.
func (r *Runner) startTokenHealth(st stateAdapters, client *graph.Client) {
	r.TokenHealth = tokenhealth.New(st.records, st.webhooks, st.vault, client, r.Events, r.log, nil, tokenhealth.Config{})
	interval := r.cfg.TokenHealthInterval
	if interval <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.stopTokenHealth = func() { cancel(); <-done }
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// Run logs its summary and each problem; an incomplete run is retried at the next tick.
			if _, err := r.TokenHealth.Run(ctx); err != nil && !errors.Is(err, tokenhealth.ErrIncomplete) && ctx.Err() == nil {
				r.log.Error("token health check failed", "error", err)
			}
		}
	}()
}

// stopTokenHealthLoop stops the periodic check and waits for a run in progress to end.
func (r *Runner) stopTokenHealthLoop() {
	if r.stopTokenHealth != nil {
		r.stopTokenHealth()
	}
}
