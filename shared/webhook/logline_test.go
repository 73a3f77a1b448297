package webhook

import (
	"encoding/json"
	"strings"
	"testing"
)

// A delivery is logged in one line: the request line, carrying what was taken.
func TestOneLogLinePerDelivery(t *testing.T) {
	tests := []struct {
		name, fixture, wantLevel string
		wantStored               float64
		wantCounts               string
	}{
		{"stored", "status_failed_131047.json", "INFO", 1, "message_statuses"},
		{"unknown field", "unknown_field.json", "WARN", 0, "unknown_fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testConfig(), nil)
			body := readFixture(t, tt.fixture)
			if rec := f.do(post(body, signed(body, testSecret))); rec.Code != 200 {
				t.Fatalf("status: got %d, want 200 (%s)", rec.Code, rec.Body.String())
			}
			lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
			if got, want := len(lines), 1; got != want {
				t.Fatalf("log lines: got %d, want %d:\n%s", got, want, f.logs.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, lines[0])
			}
			for key, want := range map[string]any{"msg": "webhook taken", "level": tt.wantLevel, "method": "POST",
				"path": "/webhooks", "status": float64(200), "stored": tt.wantStored, "bytes": float64(len(body))} {
				if got := line[key]; got != want {
					t.Errorf("%s: got %v, want %v", key, got, want)
				}
			}
			for _, key := range []string{"request_id", "duration_ms"} {
				if _, ok := line[key]; !ok {
					t.Errorf("line lacks %s: %s", key, lines[0])
				}
			}
			if counts, _ := line["counts"].(map[string]any); counts[tt.wantCounts] == nil {
				t.Errorf("counts lack %s: %s", tt.wantCounts, lines[0])
			}
		})
	}
}
