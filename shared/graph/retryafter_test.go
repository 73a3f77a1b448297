package graph_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
)

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		err    *graph.Error
		want   time.Duration
		wantOK bool
	}{
		{"minutes in details", &graph.Error{Code: 133008, Details: "Too many PIN guesses. Try again in 12 minutes."}, 12 * time.Minute, true},
		{"seconds in details", &graph.Error{Code: 133009, Details: "PIN entered too quickly; wait 30 seconds"}, 30 * time.Second, true},
		{"hours, capitalised", &graph.Error{Code: 133008, Details: "Try again after 2 Hours"}, 2 * time.Hour, true},
		{"abbreviated", &graph.Error{Code: 133008, Details: "retry in 90 secs"}, 90 * time.Second, true},
		{"details win over the message", &graph.Error{Code: 133009, Message: "wait 9 minutes", Details: "wait 1 minute"}, time.Minute, true},
		{"in the message only", &graph.Error{Code: 130429, Message: "(#130429) Rate limit hit: try again in 45 seconds"}, 45 * time.Second, true},
		{"bounded above", &graph.Error{Code: 133008, Details: "Try again in 999999 hours"}, graph.MaxRetryAfter, true},
		{"bounded below", &graph.Error{Code: 133009, Details: "wait 0 seconds"}, graph.MinRetryAfter, true},
		{"no wait in the text: the fixed default", &graph.Error{Code: 133015, Details: "The phone number was recently deleted."}, 5 * time.Minute, true},
		{"a number that is not a wait", &graph.Error{Code: 133009, Details: "PIN 123456 entered too quickly"}, time.Minute, true},
		{"no wait, not a wait-fixed code", &graph.Error{Code: 130429, Details: "Cloud API message throughput has been reached."}, 0, false},
		{"nil", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := graph.RetryAfter(tt.err)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter: got %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestClientWaitsAsLongAsMetaAsks(t *testing.T) {
	var slept []time.Duration
	c, ft := newClient(t, func(n int, _ *http.Request) (*http.Response, error) {
		if n == 1 {
			return respond(400, `{"error":{"message":"(#130429) Rate limit hit","code":130429,"error_data":{"details":"Try again in 3 seconds."},"fbtrace_id":"T"}}`), nil
		}
		return respond(200, `{"data":[]}`), nil
	}, func(o *graph.Options) {
		o.Retry.RetryGraphErrors = true
		o.Retry.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	})
	if _, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)}); err != nil {
		t.Fatal(err)
	}
	if ft.count() != 2 || len(slept) != 1 || slept[0] != 3*time.Second {
		t.Errorf("requests %d, waits %v; want 2 requests and one 3s wait", ft.count(), slept)
	}
}

func TestClientGivesUpWhenMetasWaitExceedsTheBudget(t *testing.T) {
	c, ft := newClient(t, func(int, *http.Request) (*http.Response, error) {
		return respond(400, `{"error":{"message":"(#130429) Rate limit hit","code":130429,"error_data":{"details":"Try again in 10 minutes."},"fbtrace_id":"T"}}`), nil
	}, func(o *graph.Options) { o.Retry.RetryGraphErrors = true })
	_, err := c.ListPhoneNumbers(context.Background(), &graph.ListPhoneNumbersInput{WABAID: wabaID, AccessToken: secret(bizToken)})
	if ge, ok := graph.AsError(err); !ok || ge.Code != 130429 {
		t.Fatalf("got %v, want the 130429 error", err)
	}
	if ft.count() != 1 {
		t.Errorf("requests: got %d, want 1 (a 10-minute wait does not fit the 20 s budget)", ft.count())
	}
}
