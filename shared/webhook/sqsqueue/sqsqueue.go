// Package sqsqueue carries webhook events and correlation requests over the SQS webhook queue: the intake's
// Sink, the wait handler's Correlator, and the worker's SQS batch handler.
package sqsqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// MaxMessageBytes is SQS's message size limit.
const MaxMessageBytes = 256 << 10

// batchSize is SendMessageBatch's limit of entries (and of 256 KiB in total).
const batchSize = 10

// Queue sends messages to the webhook queue.
type Queue struct {
	client API
	url    string
	// parallel bounds the SendMessageBatch calls in flight for one delivery (Meta batches up to 1000 changes).
	parallel int
}

// New returns the queue at url.
func New(client API, url string) *Queue { return &Queue{client: client, url: url, parallel: 8} }

// Accept enqueues the events (the intake's Sink). It fails unless every event was enqueued, so the intake
// answers 5xx and Meta redelivers; events enqueued before the failure are deduplicated by the worker.
func (q *Queue) Accept(ctx context.Context, evs []webhook.Event) error {
	bodies := make([]string, 0, len(evs))
	for i := range evs {
		b, err := encode(worker.Message{Event: &evs[i]})
		if err != nil {
			return err
		}
		bodies = append(bodies, b)
	}
	batches := pack(bodies)
	errs := make(chan error, len(batches))
	sem := make(chan struct{}, q.parallel)
	for _, batch := range batches {
		sem <- struct{}{}
		go func(batch []string) {
			defer func() { <-sem }()
			errs <- q.sendBatch(ctx, batch)
		}(batch)
	}
	var first error
	for range batches {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// encode marshals a message; an event too large for SQS loses its raw Meta JSON (the normalized fields are
// what the worker uses) rather than the whole event.
func encode(m worker.Message) (string, error) {
	b, err := marshal(m)
	if err != nil {
		return "", err
	}
	if len(b) > MaxMessageBytes && m.Event != nil {
		ev := *m.Event
		ev.Raw = nil
		if b, err = marshal(worker.Message{Event: &ev}); err != nil {
			return "", err
		}
	}
	if len(b) > MaxMessageBytes {
		return "", fmt.Errorf("a queue message of %d bytes exceeds the SQS limit", len(b))
	}
	return string(b), nil
}

func marshal(m worker.Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding a queue message: %w", err)
	}
	return sqsSafe(b), nil
}

// sqsSafe escapes what SQS refuses in a message body (it accepts only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD
// and #x10000-#x10FFFF, and rejects the whole message otherwise, which would fail every delivery of the
// notification): the noncharacters U+FFFE and U+FFFF, which encoding/json writes as they are, and invalid
// UTF-8, which it passes through from Raw. Both can only be inside JSON strings, where an escape means the
// same character (U+FFFD for an invalid byte, as encoding/json does for strings).
func sqsSafe(b []byte) []byte {
	if utf8.Valid(b) && !bytes.Contains(b, []byte("\uFFFE")) && !bytes.Contains(b, []byte("\uFFFF")) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case r == 0xFFFE:
			out = append(out, `\ufffe`...)
		case r == 0xFFFF:
			out = append(out, `\uffff`...)
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// pack groups bodies into batches of at most ten entries and 256 KiB.
func pack(bodies []string) [][]string {
	var batches [][]string
	var cur []string
	size := 0
	for _, b := range bodies {
		if len(cur) == batchSize || (len(cur) > 0 && size+len(b) > MaxMessageBytes) {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
		cur = append(cur, b)
		size += len(b)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

func (q *Queue) sendBatch(ctx context.Context, bodies []string) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(bodies))
	for i, b := range bodies {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
	}
	for attempt := 0; ; attempt++ {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("enqueueing %d webhook events: %w", len(entries), err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		if attempt == 1 {
			return fmt.Errorf("enqueueing webhook events: %d of %d failed (first: %s)", len(out.Failed), len(entries), aws.ToString(out.Failed[0].Code))
		}
		failed := map[string]bool{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
		}
		var retry []types.SendMessageBatchRequestEntry
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				retry = append(retry, e)
			}
		}
		entries = retry
	}
}

// RequestCorrelation asks the worker to check an onboarding's waits (the wait handler's Correlator).
func (q *Queue) RequestCorrelation(ctx context.Context, onboardingID string) error {
	b, err := encode(worker.Message{Correlate: onboardingID})
	if err != nil {
		return err
	}
	if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(b)}); err != nil {
		return fmt.Errorf("enqueueing a correlation request: %w", err)
	}
	return nil
}

// Handler returns the worker Lambda's SQS handler: each record is processed on its own, and the ones that
// failed are reported as batch item failures so SQS redelivers only those (and, after maxReceiveCount, moves
// them to the dead-letter queue).
func Handler(p *worker.Processor, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			rctx := logging.WithRequestID(ctx, rec.MessageId)
			var m worker.Message
			if err := json.Unmarshal([]byte(rec.Body), &m); err != nil {
				// A message that cannot be decoded never will be: drop it loudly rather than loop.
				log.ErrorContext(rctx, "undecodable queue message dropped", "error", err.Error())
				continue
			}
			if err := p.Handle(rctx, m); err != nil {
				log.WarnContext(rctx, "queue message failed; SQS will redeliver it", "error", err.Error())
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}
