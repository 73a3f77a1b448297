package graph

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds of a wait read from Meta's error text.
const (
	// MinRetryAfter and MaxRetryAfter bound a wait parsed from Meta's text: a misread (or hostile) number can
	// neither make the workflow hammer Meta nor park an onboarding for days.
	MinRetryAfter = time.Second
	MaxRetryAfter = 6 * time.Hour
)

// waitPattern finds "<n> <unit>" in Meta's free text ("Try again in 5 minutes", "after 30 seconds", "2 hours").
var waitPattern = regexp.MustCompile(`(?i)\b(\d{1,6})\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?)\b`)

// RetryAfter returns how long Meta asks the caller to wait before trying again, read from the error's text,
// and whether Meta said so. Meta has no structured retry field: error codes 133008 and 133009 put the wait in
// error_data.details, and its wording is not specified, so the text is read conservatively: the first
// "<number> <seconds|minutes|hours>" of details (else of the message), bounded to MinRetryAfter..MaxRetryAfter.
// When the text names no wait, a wait-fixed code gets Meta's documented fixed wait (133015: 5 minutes) or this
// client's default (WaitSeconds), and any other error reports false.
func RetryAfter(e *Error) (time.Duration, bool) {
	if e == nil {
		return 0, false
	}
	for _, text := range []string{e.Details, e.Message} {
		if d, ok := parseWait(text); ok {
			return d, true
		}
	}
	if s := WaitSeconds(e.Code); s > 0 {
		return time.Duration(s) * time.Second, true
	}
	return 0, false
}

func parseWait(text string) (time.Duration, bool) {
	m := waitPattern.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, false
	}
	unit := time.Second
	switch u := strings.ToLower(m[2]); {
	case strings.HasPrefix(u, "min"):
		unit = time.Minute
	case strings.HasPrefix(u, "h"):
		unit = time.Hour
	}
	d := time.Duration(n) * unit
	return min(max(d, MinRetryAfter), MaxRetryAfter), true
}
