package partnerevents

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridgeAPI is the part of the EventBridge client the publisher uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes partner events to a bus.
type EventBridge struct {
	client EventBridgeAPI
	bus    string
	source string
}

// NewEventBridge returns a publisher to the named bus; stage suffixes the source ("wa-onboarding.prod").
func NewEventBridge(client EventBridgeAPI, bus, stage string) *EventBridge {
	src := Source
	if stage != "" {
		src += "." + stage
	}
	return &EventBridge{client: client, bus: bus, source: src}
}

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// Publish puts the events, ten per call, retrying the entries EventBridge reports as failed once; entries
// still failing make Publish fail so the caller retries (publishing is at least once).
func (p *EventBridge) Publish(ctx context.Context, events ...Event) error {
	for start := 0; start < len(events); start += maxEntries {
		end := min(start+maxEntries, len(events))
		entries := make([]types.PutEventsRequestEntry, 0, end-start)
		for _, e := range events[start:end] {
			detail, err := Detail(e)
			if err != nil {
				return err
			}
			entries = append(entries, types.PutEventsRequestEntry{
				EventBusName: aws.String(p.bus), Source: aws.String(p.source), DetailType: aws.String(e.Type),
				Detail: aws.String(detail), Time: aws.Time(e.Time),
			})
		}
		for attempt := 0; ; attempt++ {
			out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
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
