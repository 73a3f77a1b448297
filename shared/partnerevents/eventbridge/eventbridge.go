// Package eventbridge is the partner event publisher on an Amazon EventBridge bus. It is apart from
// partnerevents so that the services publishing events do not link the AWS SDK; only the functions' wiring
// builds it.
package eventbridge

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/waes/onboarding/shared/partnerevents"
)

// API is the part of the EventBridge client the publisher uses.
type API interface {
	PutEvents(ctx context.Context, in *awseventbridge.PutEventsInput, optFns ...func(*awseventbridge.Options)) (*awseventbridge.PutEventsOutput, error)
}

// Publisher publishes partner events to a bus.
type Publisher struct {
	client API
	bus    string
	source string
}

// New returns a publisher to the named bus; stage suffixes the source ("wa-onboarding.prod").
func New(client API, bus, stage string) *Publisher {
	src := partnerevents.Source
	if stage != "" {
		src += "." + stage
	}
	return &Publisher{client: client, bus: bus, source: src}
}

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// Publish puts the events, ten per call, retrying the entries EventBridge reports as failed once; entries
// still failing make Publish fail so the caller retries (publishing is at least once).
func (p *Publisher) Publish(ctx context.Context, events ...partnerevents.Event) error {
	for start := 0; start < len(events); start += maxEntries {
		end := min(start+maxEntries, len(events))
		entries := make([]types.PutEventsRequestEntry, 0, end-start)
		for _, e := range events[start:end] {
			detail, err := partnerevents.Detail(e)
			if err != nil {
				return err
			}
			entries = append(entries, types.PutEventsRequestEntry{
				EventBusName: aws.String(p.bus), Source: aws.String(p.source), DetailType: aws.String(e.Type),
				Detail: aws.String(detail), Time: aws.Time(e.Time),
			})
		}
		for attempt := 0; ; attempt++ {
			out, err := p.client.PutEvents(ctx, &awseventbridge.PutEventsInput{Entries: entries})
			if err != nil {
				return fmt.Errorf("publishing %d partner events to %s: %w", len(entries), p.bus, err)
			}
			if out.FailedEntryCount == 0 {
				break
			}
			var failed []types.PutEventsRequestEntry
			for i, r := range out.Entries {
				if r.ErrorCode != nil && i < len(entries) {
					failed = append(failed, entries[i])
				}
			}
			if attempt == 1 || len(failed) == 0 {
				return fmt.Errorf("publishing partner events to %s: %d entries failed", p.bus, out.FailedEntryCount)
			}
			entries = failed
		}
	}
	return nil
}
