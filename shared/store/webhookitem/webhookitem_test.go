package webhookitem

import (
	"testing"
	"time"
)

func TestTTL(t *testing.T) {
	base := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	tests := []struct {
		name string
		t    time.Time
		want int64
	}{
		{"whole second", base, base.Unix()},
		{"a nanosecond later rounds up", base.Add(1), base.Unix() + 1},
		{"other zones keep the instant", base.Add(500 * time.Millisecond).In(time.FixedZone("x", 3600)), base.Unix() + 1},
	}
	for _, tc := range tests {
		if got := TTL(tc.t); got != tc.want {
			t.Errorf("%s: TTL: got %d, want %d", tc.name, got, tc.want)
		}
		if Expired(TTL(tc.t), tc.t.Add(-1)) {
			t.Errorf("%s: expired before its time", tc.name)
		}
		if !Expired(TTL(tc.t), time.Unix(TTL(tc.t), 0)) {
			t.Errorf("%s: not expired at its TTL", tc.name)
		}
	}
	if Expired(0, base) {
		t.Error("Expired(0): got true, want false (no TTL)")
	}
}

func TestEventAttr(t *testing.T) {
	tests := []struct {
		event, attr string
		ok          bool
	}{
		{"PARTNER_ADDED", "partner_added_at", true},
		{"PARTNER_REMOVED", "partner_removed_at", true},
		{"ACCOUNT_VIOLATION2", "account_violation2_at", true},
		{"partner_added", "", false},
		{"", "", false},
		{"_X", "", false},
		{"LAST_EVENT", "", false},
		{"EXPIRES", "", false},
	}
	for _, tc := range tests {
		attr, err := EventAttr(tc.event)
		if got, want := err == nil, tc.ok; got != want || attr != tc.attr {
			t.Errorf("EventAttr(%q): got %q, %v; want %q, ok=%t", tc.event, attr, err, tc.attr, tc.ok)
		}
		if !tc.ok {
			continue
		}
		if got, ok := EventOfAttr(attr); !ok || got != tc.event {
			t.Errorf("EventOfAttr(%q): got %q, %t; want %q", attr, got, ok, tc.event)
		}
	}
	for _, attr := range []string{"last_event_at", "expires_at", "last_event", "waba_id", "pk", "Partner_added_at"} {
		if ev, ok := EventOfAttr(attr); ok {
			t.Errorf("EventOfAttr(%q): got %q, want none", attr, ev)
		}
	}
}
