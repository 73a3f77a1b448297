package lambdaenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"time"
)

// APIGatewayTemplate is an API Gateway HTTP API (payload format 2.0) event, one of events/apigw.
type APIGatewayTemplate struct{ ev map[string]any }

// LoadAPIGatewayEvent reads an event of events/apigw.
func LoadAPIGatewayEvent(file string) (*APIGatewayTemplate, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &APIGatewayTemplate{ev: ev}, nil
}

// With returns the event with body in place of its body, content-length set to match, and, when secret is
// not empty, the X-Hub-Signature-256 of body under secret, as Meta signs a delivery.
func (t *APIGatewayTemplate) With(body []byte, secret string) ([]byte, error) {
	ev := maps.Clone(t.ev)
	headers, _ := t.ev["headers"].(map[string]any)
	headers = maps.Clone(headers)
	if headers == nil {
		headers = map[string]any{}
	}
	ev["headers"] = headers
	headers["content-length"] = strconv.Itoa(len(body))
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		headers["x-hub-signature-256"] = "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	ev["body"] = string(body)
	ev["isBase64Encoded"] = false
	return json.Marshal(ev)
}

// SQSEvent returns the Lambda event of an SQS event source mapping delivering msgs from the queue arn.
func SQSEvent(arn string, msgs []Message) ([]byte, error) {
	type record struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes map[string]any    `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	recs := make([]record, len(msgs))
	for i, m := range msgs {
		recs[i] = record{
			MessageID: m.MessageId, ReceiptHandle: m.ReceiptHandle, Body: m.Body, MD5OfBody: m.MD5OfBody,
			Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": now,
				"SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": now},
			MessageAttributes: map[string]any{}, EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: "us-east-1",
		}
	}
	return json.Marshal(map[string]any{"Records": recs})
}
