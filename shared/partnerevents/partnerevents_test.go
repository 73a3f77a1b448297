package partnerevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/partnerevents"
)

var (
	_ partnerevents.Publisher = (*partnerevents.MemorySink)(nil)
	_ partnerevents.Publisher = partnerevents.Discard{}
)

var at = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func numbered(n int) []partnerevents.Event {
	evs := make([]partnerevents.Event, n)
	for i := range evs {
		evs[i] = partnerevents.StatusChanged("ob-"+strconv.Itoa(i), "102290129340398", "106540352242922", "COMPLETED", at)
	}
	return evs
}

func ids(evs []partnerevents.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.OnboardingID
	}
	return out
}

func TestStatusChanged(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	got := partnerevents.StatusChanged("3q2-7wEjRuW3bFq0DqRU1A", "102290129340398", "106540352242922", "FAILED", at.In(local))
	want := partnerevents.Event{
		ID: "onboarding:3q2-7wEjRuW3bFq0DqRU1A:FAILED", Version: "1", Type: partnerevents.TypeOnboardingStatusChanged, Time: at,
		OnboardingID: "3q2-7wEjRuW3bFq0DqRU1A", WABAID: "102290129340398", PhoneNumberID: "106540352242922", Status: "FAILED",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StatusChanged:\n got %+v\nwant %+v", got, want)
	}
	if got.Time.Location() != time.UTC {
		t.Errorf("Time location: got %v, want UTC", got.Time.Location())
	}
	// The id is stable per fact: the same onboarding and status, whenever it is published.
	again := partnerevents.StatusChanged("3q2-7wEjRuW3bFq0DqRU1A", "", "", "FAILED", at.Add(time.Hour))
	if again.ID != got.ID {
		t.Errorf("ID of the same fact later: got %q, want %q", again.ID, got.ID)
	}
	for _, status := range []string{"PENDING", "COMPLETED", "OFFBOARDED"} {
		if e := partnerevents.StatusChanged("ob", "", "", status, at); e.ID == got.ID {
			t.Errorf("ID of status %s: got %q, the same as FAILED's", status, e.ID)
		}
	}
}

func TestDetail(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   partnerevents.Event
		want string
	}{
		{
			name: "status changed",
			ev:   partnerevents.StatusChanged("ob-1", "102290129340398", "106540352242922", "COMPLETED", at),
			want: `{"id":"onboarding:ob-1:COMPLETED","version":"1","type":"onboarding.status_changed","time":"2026-03-14T15:09:26Z","onboarding_id":"ob-1","waba_id":"102290129340398","phone_number_id":"106540352242922","status":"COMPLETED"}`,
		},
		{
			name: "failed onboarding",
			ev: partnerevents.Event{ID: "onboarding:ob-1:FAILED", Version: "1", Type: partnerevents.TypeOnboardingStatusChanged, Time: at,
				OnboardingID: "ob-1", Status: "FAILED", FailedStep: "register_phone", ErrorCode: "register_budget_exhausted"},
			want: `{"id":"onboarding:ob-1:FAILED","version":"1","type":"onboarding.status_changed","time":"2026-03-14T15:09:26Z","onboarding_id":"ob-1","status":"FAILED","failed_step":"register_phone","error_code":"register_budget_exhausted"}`,
		},
		{
			name: "inbound message",
			ev: partnerevents.Event{ID: "message:wamid.1", Version: "1", Type: partnerevents.TypeMessageReceived, Time: at,
				PhoneNumberID: "106540352242922", MessageID: "wamid.1", From: "16505551234", FromUserID: "US.1", MessageType: "text", Text: "Hi <b>&\"é\""},
			want: `{"id":"message:wamid.1","version":"1","type":"message.received","time":"2026-03-14T15:09:26Z","phone_number_id":"106540352242922","message_id":"wamid.1","from":"16505551234","from_user_id":"US.1","message_type":"text","text":"Hi \u003cb\u003e\u0026\"é\""}`,
		},
		{
			name: "failed status with errors",
			ev: partnerevents.Event{ID: "status:wamid.2:failed", Version: "1", Type: partnerevents.TypeMessageStatus, Time: at,
				MessageID: "wamid.2", Status: "failed", RecipientID: "16505551234",
				Errors: []partnerevents.Error{{Code: 131047, Title: "Re-engagement message", Details: "more than 24 hours"}, {Code: 131026}}},
			want: `{"id":"status:wamid.2:failed","version":"1","type":"message.status","time":"2026-03-14T15:09:26Z","status":"failed","message_id":"wamid.2","recipient_id":"16505551234","errors":[{"code":131047,"title":"Re-engagement message","details":"more than 24 hours"},{"code":131026}]}`,
		},
		{
			name: "account update",
			ev:   partnerevents.Event{ID: "change:ab", Version: "1", Type: partnerevents.TypeAccountUpdate, Time: at, WABAID: "102290129340398", AccountEvent: "PARTNER_REMOVED"},
			want: `{"id":"change:ab","version":"1","type":"account.updated","time":"2026-03-14T15:09:26Z","waba_id":"102290129340398","account_event":"PARTNER_REMOVED"}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := partnerevents.Detail(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Detail:\n got %s\nwant %s", got, tc.want)
			}
			var back partnerevents.Event
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.ev) {
				t.Errorf("decoded detail:\n got %+v\nwant %+v", back, tc.ev)
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	if err := (partnerevents.Discard{}).Publish(context.Background(), numbered(3)...); err != nil {
		t.Errorf("Discard.Publish: got %v, want nil", err)
	}
}

func TestMemorySink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int
		batches []int
		want    []string // ids kept, oldest first
	}{
		{"nothing", 0, nil, nil},
		{"empty publish", 0, []int{0}, nil},
		{"under the limit", 3, []int{2}, []string{"ob-0", "ob-1"}},
		{"at the limit", 3, []int{3}, []string{"ob-0", "ob-1", "ob-2"}},
		{"oldest dropped", 3, []int{5}, []string{"ob-2", "ob-3", "ob-4"}},
		{"oldest dropped across publishes", 3, []int{2, 2}, []string{"ob-1", "ob-0", "ob-1"}},
		{"limit of one", 1, []int{2, 1}, []string{"ob-0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &partnerevents.MemorySink{Limit: tc.limit}
			for _, n := range tc.batches {
				if err := m.Publish(context.Background(), numbered(n)...); err != nil {
					t.Fatal(err)
				}
			}
			if got := ids(m.Events()); !slices.Equal(got, tc.want) {
				t.Errorf("Events: got %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("default limit is 10000", func(t *testing.T) {
		m := &partnerevents.MemorySink{}
		for range 3 {
			if err := m.Publish(context.Background(), numbered(4000)...); err != nil {
				t.Fatal(err)
			}
		}
		got := m.Events()
		if len(got) != 10000 {
			t.Fatalf("events kept: got %d, want 10000", len(got))
		}
		if got[0].ID != partnerevents.StatusChanged("ob-2000", "", "", "COMPLETED", at).ID {
			t.Errorf("oldest kept: got %q, want the 2001st published", got[0].ID)
		}
	})
	t.Run("Events is a copy", func(t *testing.T) {
		m := &partnerevents.MemorySink{}
		m.Publish(context.Background(), numbered(2)...)
		got := m.Events()
		got[0].ID = "changed"
		if again := m.Events(); again[0].ID == "changed" {
			t.Error("changing the returned slice changed the sink")
		}
	})
}

func TestMemorySinkFail(t *testing.T) {
	boom := errors.New("boom")
	var fail error
	calls := 0
	m := &partnerevents.MemorySink{Fail: func() error { calls++; return fail }}
	for _, tc := range []struct {
		name    string
		fail    error
		wantErr error
		want    int
	}{
		{"hook answers nil", nil, nil, 1},
		{"hook fails", boom, boom, 1},
		{"hook recovers", nil, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fail = tc.fail
			err := m.Publish(context.Background(), numbered(1)...)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("Publish: got %v, want %v", err, tc.wantErr)
			}
			if got := len(m.Events()); got != tc.want {
				t.Errorf("events: got %d, want %d", got, tc.want)
			}
		})
	}
	if calls != 3 {
		t.Errorf("Fail calls: got %d, want 3", calls)
	}
}

func TestMemorySinkLogs(t *testing.T) {
	var b bytes.Buffer
	m := &partnerevents.MemorySink{Logger: logging.New(&b, slog.LevelInfo)}
	ctx := logging.WithOnboardingID(context.Background(), "ob-1")
	if err := m.Publish(ctx, numbered(2)...); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines: got %d, want 2: %s", len(lines), b.String())
	}
	for i, l := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"msg": "partner event", "event_type": partnerevents.TypeOnboardingStatusChanged,
			"event_id": "onboarding:ob-" + strconv.Itoa(i) + ":COMPLETED", "status": "COMPLETED", "onboarding_id": "ob-1",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("line %d %s: got %v, want %q", i, k, got[k], w)
			}
		}
	}
}

func TestMemorySinkConcurrent(t *testing.T) {
	m := &partnerevents.MemorySink{Limit: 100}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				m.Publish(context.Background(), numbered(3)...)
				_ = m.Events()
			}
		})
	}
	wg.Wait()
	if got := len(m.Events()); got != 100 {
		t.Errorf("events: got %d, want the limit 100", got)
	}
}

func ExampleStatusChanged() {
	e := partnerevents.StatusChanged("3q2-7wEjRuW3bFq0DqRU1A", "102290129340398", "106540352242922", "COMPLETED",
		time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC))
	detail, _ := partnerevents.Detail(e)
	fmt.Println(detail)
	// Output: {"id":"onboarding:3q2-7wEjRuW3bFq0DqRU1A:COMPLETED","version":"1","type":"onboarding.status_changed","time":"2026-03-14T15:09:26Z","onboarding_id":"3q2-7wEjRuW3bFq0DqRU1A","waba_id":"102290129340398","phone_number_id":"106540352242922","status":"COMPLETED"}
}

func TestTokenEvent(t *testing.T) {
	local := time.FixedZone("CET", 3600)
	expires := at.Add(72 * time.Hour)
	tests := []struct {
		name   string
		facts  partnerevents.TokenFacts
		wantID string
	}{
		{"business expiring", partnerevents.TokenFacts{Type: partnerevents.TypeTokenExpiring, TokenType: partnerevents.TokenBusiness,
			WABAID: "102290129340398", ExpiresAt: expires.In(local), At: at.In(local)}, "token:102290129340398:expiring:2026-03-14"},
		{"business invalid", partnerevents.TokenFacts{Type: partnerevents.TypeTokenInvalid, TokenType: partnerevents.TokenBusiness,
			WABAID: "102290129340398", At: at}, "token:102290129340398:invalid:2026-03-14"},
		{"system invalid", partnerevents.TokenFacts{Type: partnerevents.TypeTokenInvalid, TokenType: partnerevents.TokenSystem, At: at}, "token:system:invalid:2026-03-14"},
		// The date is UTC's: 23:30 in UTC-2 is the next day.
		{"date in UTC", partnerevents.TokenFacts{Type: partnerevents.TypeTokenInvalid, TokenType: partnerevents.TokenBusiness,
			WABAID: "1", At: time.Date(2026, 3, 14, 23, 30, 0, 0, time.FixedZone("UTC-2", -7200))}, "token:1:invalid:2026-03-15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := partnerevents.TokenEvent(tc.facts)
			if got.ID != tc.wantID {
				t.Errorf("ID: got %q, want %q", got.ID, tc.wantID)
			}
			if got.Type != tc.facts.Type || got.TokenType != tc.facts.TokenType || got.Version != partnerevents.Version {
				t.Errorf("type %q token_type %q version %q: want %q %q %q", got.Type, got.TokenType, got.Version, tc.facts.Type, tc.facts.TokenType, partnerevents.Version)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("Time location: got %v, want UTC", got.Time.Location())
			}
			if tc.facts.ExpiresAt.IsZero() != (got.ExpiresAt == nil) {
				t.Errorf("ExpiresAt: got %v for facts %v", got.ExpiresAt, tc.facts.ExpiresAt)
			}
			if got.ExpiresAt != nil && (!got.ExpiresAt.Equal(expires) || got.ExpiresAt.Location() != time.UTC) {
				t.Errorf("ExpiresAt: got %v, want %v in UTC", got.ExpiresAt, expires)
			}
			// A later check the same day is the same fact.
			later := tc.facts
			later.At = tc.facts.At.Add(time.Minute)
			if again := partnerevents.TokenEvent(later); again.ID != got.ID {
				t.Errorf("ID a minute later: got %q, want %q", again.ID, got.ID)
			}
		})
	}
}
