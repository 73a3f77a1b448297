package graph

import (
	"cmp"
	"context"
	"log/slog"
	"time"
)

// VersionInfo is one Graph API version's lifecycle as Meta publishes it.
type VersionInfo struct {
	Version  string
	Released time.Time
	// Expires is zero while Meta has not published the end date ("TBD").
	Expires time.Time
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Versions are the Graph API versions this client knows, newest first. Dates come from Meta's "Versions"
// changelog (https://developers.facebook.com/docs/graph-api/changelog/versions/) and, for v27.0, Meta's
// announcement "Introducing Graph API v27.0 and Marketing API v27.0" (developer blog, 4 November 2026).
// Meta publishes a version's end date only once the next version is out (two years after that release), so
// the newest versions have none yet. Update this table when Meta publishes a version or a date.
var Versions = []VersionInfo{
	{Version: "v27.0", Released: day(2026, time.November, 4)},
	{Version: "v26.0", Released: day(2026, time.July, 29)},
	{Version: "v25.0", Released: day(2026, time.February, 18), Expires: day(2028, time.July, 29)},
	{Version: "v24.0", Released: day(2025, time.October, 8), Expires: day(2028, time.February, 18)},
	{Version: "v23.0", Released: day(2025, time.May, 29), Expires: day(2027, time.October, 8)},
	{Version: "v22.0", Released: day(2025, time.January, 21), Expires: day(2027, time.May, 20)},
	{Version: "v21.0", Released: day(2024, time.October, 2), Expires: day(2027, time.January, 21)},
	{Version: "v20.0", Released: day(2024, time.May, 21), Expires: day(2026, time.September, 24)},
}

// LookupVersion returns the lifecycle of version, if the table has it.
func LookupVersion(version string) (VersionInfo, bool) {
	for _, v := range Versions {
		if v.Version == version {
			return v, true
		}
	}
	return VersionInfo{}, false
}

// VersionWarningWindow is how long before a version's end date the start-up check warns.
const VersionWarningWindow = 90 * 24 * time.Hour

// VersionEndingMetric is the stable key of the start-up warning: the log line carries metric=<this>, which
// the stack's CloudWatch metric filters count and alarm on. Do not rename it without changing the stack.
const VersionEndingMetric = "GraphAPIVersionEnding"

// VersionStatus is the outcome of CheckVersion.
type VersionStatus int

// The outcomes of CheckVersion.
const (
	// VersionOK: the version's end date is more than VersionWarningWindow away.
	VersionOK VersionStatus = iota
	// VersionNoEndDate: Meta has published no end date yet (the newest versions).
	VersionNoEndDate
	// VersionUnknown: the table does not list the version.
	VersionUnknown
	// VersionEnding: the end date is within VersionWarningWindow.
	VersionEnding
	// VersionExpired: the end date has passed; Meta answers calls with a newer version (or fails them).
	VersionExpired
)

// CheckVersion reports where version stands at now, with its end date when known.
func CheckVersion(version string, now time.Time) (VersionStatus, VersionInfo) {
	info, ok := LookupVersion(version)
	switch {
	case !ok:
		return VersionUnknown, VersionInfo{Version: version}
	case info.Expires.IsZero():
		return VersionNoEndDate, info
	case !now.Before(info.Expires):
		return VersionExpired, info
	case info.Expires.Sub(now) <= VersionWarningWindow:
		return VersionEnding, info
	}
	return VersionOK, info
}

// LogVersionCheck writes one line about the configured version at start-up: a warning carrying
// metric=VersionEndingMetric when it ends within VersionWarningWindow (or has ended), an info line otherwise.
// It returns the status for callers and tests.
func LogVersionCheck(ctx context.Context, log *slog.Logger, version string, now time.Time) VersionStatus {
	version = cmp.Or(version, DefaultAPIVersion)
	status, info := CheckVersion(version, now)
	attrs := []slog.Attr{slog.String("graph_api_version", version)}
	if !info.Expires.IsZero() {
		attrs = append(attrs, slog.String("expires", info.Expires.Format(time.DateOnly)),
			slog.Int("days_left", int(info.Expires.Sub(now).Hours()/24)))
	}
	switch status {
	case VersionEnding, VersionExpired:
		attrs = append(attrs, slog.String("metric", VersionEndingMetric),
			slog.String("action", "set GRAPH_API_VERSION (cdk.json graphApiVersion) to a newer version; see docs/deploy.md"))
		msg := "graph api version ends soon"
		if status == VersionExpired {
			msg = "graph api version has ended"
		}
		log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	case VersionUnknown:
		log.LogAttrs(ctx, slog.LevelInfo, "graph api version not in the client's table; its end date is not checked", attrs...)
	case VersionNoEndDate:
		log.LogAttrs(ctx, slog.LevelInfo, "graph api version has no published end date yet", attrs...)
	default:
		log.LogAttrs(ctx, slog.LevelInfo, "graph api version", attrs...)
	}
	return status
}
