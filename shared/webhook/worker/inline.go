package worker

import (
	"context"
	"errors"
	"time"

	"github.com/waes/onboarding/shared/webhook"
)

// Inline is the local runner's queue: the intake's Sink processes events in the request, so a storage
// failure is answered 5xx exactly as a failed enqueue would be on AWS; correlation requests run in the
// background, as the SQS queue would deliver them.
type Inline struct {
	P *Processor
	// BusyWait bounds how long a delivery waits for a concurrent duplicate being processed (default 5 s);
	// past it the delivery is answered 5xx and redelivered.
	BusyWait time.Duration
}

// Accept processes the events in order; the first failure fails the delivery.
func (in Inline) Accept(ctx context.Context, evs []webhook.Event) error {
	for _, ev := range evs {
		if err := in.process(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// process waits out a concurrent duplicate instead of failing at once: when its processing completes, this
// delivery finds the event done.
func (in Inline) process(ctx context.Context, ev webhook.Event) error {
	limit := in.BusyWait
	if limit <= 0 {
		limit = 5 * time.Second
	}
	deadline := time.Now().Add(limit)
	delay := time.Millisecond
	for {
		err := in.P.Process(ctx, ev)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// RequestCorrelation checks the onboarding's waits in the background, retrying briefly like a queue would.
func (in Inline) RequestCorrelation(ctx context.Context, onboardingID string) error {
	ctx = context.WithoutCancel(ctx)
	go func() {
		delay := 50 * time.Millisecond
		for attempt := 0; attempt < 5; attempt++ {
			if err := in.P.Correlate(ctx, onboardingID); err == nil {
				return
			} else if attempt == 4 {
				in.P.logger.ErrorContext(ctx, "correlation failed", "error", err.Error())
				return
			}
			time.Sleep(delay)
			delay *= 2
		}
	}()
	return nil
}
