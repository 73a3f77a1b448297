package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/graph"
)

func TestVersionTable(t *testing.T) {
	if len(graph.Versions) == 0 {
		t.Fatal("empty version table")
	}
	for i, v := range graph.Versions {
		if _, err := graph.New(graph.Options{APIVersion: v.Version}); err != nil {
			t.Errorf("%s: the client refuses it: %v", v.Version, err)
		}
		if !v.Expires.IsZero() && !v.Expires.After(v.Released) {
			t.Errorf("%s: expires %s before its release %s", v.Version, v.Expires, v.Released)
		}
		if i > 0 && !graph.Versions[i-1].Released.After(v.Released) {
			t.Errorf("%s: table not newest first", v.Version)
		}
	}
	info, ok := graph.LookupVersion(graph.DefaultAPIVersion)
	if !ok || info.Expires.IsZero() {
		t.Fatalf("default %s: got %+v, %v; want a listed version with a published end date", graph.DefaultAPIVersion, info, ok)
	}
	if got, want := info.Expires, time.Date(2028, time.July, 29, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("default %s expires %s, want %s", graph.DefaultAPIVersion, got, want)
	}
}

func TestCheckVersion(t *testing.T) {
	v21End := time.Date(2027, time.January, 21, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		version string
		now     time.Time
		want    graph.VersionStatus
	}{
		{"far from the end", "v21.0", v21End.Add(-91 * 24 * time.Hour), graph.VersionOK},
		{"exactly 90 days left", "v21.0", v21End.Add(-90 * 24 * time.Hour), graph.VersionEnding},
		{"seven weeks left", "v21.0", time.Date(2026, time.December, 4, 2, 0, 0, 0, time.UTC), graph.VersionEnding},
		{"on the end date", "v21.0", v21End, graph.VersionExpired},
		{"long expired", "v20.0", v21End, graph.VersionExpired},
		{"no end date yet", "v27.0", v21End, graph.VersionNoEndDate},
		{"not in the table", "v99.0", v21End, graph.VersionUnknown},
		{"default today", graph.DefaultAPIVersion, time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC), graph.VersionOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, _ := graph.CheckVersion(c.version, c.now); got != c.want {
				t.Errorf("CheckVersion(%s, %s) = %d, want %d", c.version, c.now, got, c.want)
			}
		})
	}
}

func TestLogVersionCheck(t *testing.T) {
	cases := []struct {
		name       string
		version    string
		wantLevel  string
		wantMetric bool
	}{
		{"ending", "v21.0", "WARN", true},
		{"fine", "v25.0", "INFO", false},
		{"no end date", "v27.0", "INFO", false},
		{"empty means the default", "", "INFO", false},
	}
	now := time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			graph.LogVersionCheck(context.Background(), log, c.version, now)
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON line: %q", buf.String())
			}
			if got := line["level"]; got != c.wantLevel {
				t.Errorf("level: got %v, want %s", got, c.wantLevel)
			}
			if got := line["metric"] == graph.VersionEndingMetric; got != c.wantMetric {
				t.Errorf("metric key present: got %v, want %v (line %s)", got, c.wantMetric, buf.String())
			}
			if c.wantMetric {
				if got, want := line["expires"], "2027-01-21"; got != want {
					t.Errorf("expires: got %v, want %s", got, want)
				}
				if got, want := line["days_left"], float64(48); got != want {
					t.Errorf("days_left: got %v, want %v", got, want)
				}
			}
		})
	}
}
