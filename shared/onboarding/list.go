package onboarding

import (
	"encoding/base64"
	"strings"
	"time"
)

// cursorTimeLayout is RFC 3339 with a fixed nine-digit fraction in UTC, as the store indexes sort by.
const cursorTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// maxCursorLength bounds a cursor before it is decoded.
const maxCursorLength = 256

// ListCursor returns the opaque cursor that continues a listing after the record created at createdAt with
// id: the store adapters' ListByCustomer issue it, and take it back through ParseListCursor. It is the
// listing's sort key (creation time, then id), base64url-encoded so that clients pass it unchanged.
func ListCursor(createdAt time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(createdAt.UTC().Format(cursorTimeLayout) + "#" + id))
}

// ParseListCursor decodes a ListCursor; anything else is ErrInvalidCursor.
func ParseListCursor(cursor string) (createdAt time.Time, id string, err error) {
	if len(cursor) > maxCursorLength {
		return time.Time{}, "", ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", ErrInvalidCursor
	}
	ts, id, ok := strings.Cut(string(b), "#")
	if !ok || !ValidID(id) {
		return time.Time{}, "", ErrInvalidCursor
	}
	t, err := time.Parse(cursorTimeLayout, ts)
	if err != nil || t.Format(cursorTimeLayout) != ts {
		return time.Time{}, "", ErrInvalidCursor
	}
	return t, id, nil
}

// maxCursorWABALength bounds the WABA id inside a WABA listing cursor.
const maxCursorWABALength = 64

// WABACursor returns the opaque cursor that continues a WABA listing (Store.ListWABAs) after wabaID:
// base64url, so that callers pass it unchanged.
func WABACursor(wabaID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(wabaID))
}

// ParseWABACursor decodes a WABACursor; anything else is ErrInvalidCursor.
func ParseWABACursor(cursor string) (wabaID string, err error) {
	if cursor == "" || len(cursor) > maxCursorLength {
		return "", ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > maxCursorWABALength || strings.ContainsAny(string(b), "#$") {
		return "", ErrInvalidCursor
	}
	return string(b), nil
}
