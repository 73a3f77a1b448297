package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waes/onboarding/shared/onboarding"
)

// MaxBodyBytes is the largest request body the API accepts (webhooks excepted).
const MaxBodyBytes = 64 << 10

// requestError is a request the API refuses, with its HTTP status.
type requestError struct {
	status int
	*onboarding.ValidationError
}

func invalid(status int, code, field, format string, args ...any) *requestError {
	return &requestError{status: status, ValidationError: &onboarding.ValidationError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

// checkJSONContentType accepts application/json with an optional utf-8 charset.
func checkJSONContentType(r *http.Request) *requestError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return invalid(http.StatusUnsupportedMediaType, onboarding.CodeUnsupportedMediaType, "", "Content-Type must be application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return invalid(http.StatusUnsupportedMediaType, onboarding.CodeUnsupportedMediaType, "", "Content-Type must be application/json, not %q", truncate(ct, 64))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return invalid(http.StatusUnsupportedMediaType, onboarding.CodeUnsupportedMediaType, "", "the charset must be utf-8")
	}
	return nil
}

// readBody reads at most limit bytes; a longer body is 413.
func readBody(r *http.Request, limit int64) ([]byte, *requestError) {
	if r.ContentLength > limit {
		return nil, invalid(http.StatusRequestEntityTooLarge, onboarding.CodeBodyTooLarge, "", "the body is larger than %d bytes", limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body could not be read")
	}
	if int64(len(body)) > limit {
		return nil, invalid(http.StatusRequestEntityTooLarge, onboarding.CodeBodyTooLarge, "", "the body is larger than %d bytes", limit)
	}
	return body, nil
}

// readJSONBody checks that the body is JSON (415 otherwise) and reads at most limit bytes of it (413).
func readJSONBody(r *http.Request, limit int64) ([]byte, *requestError) {
	if rerr := checkJSONContentType(r); rerr != nil {
		return nil, rerr
	}
	return readBody(r, limit)
}

// refuseBody refuses a request body on a route that takes none (400), allowing only the exact bytes of
// allowed. It reads one byte past what it would accept instead of trusting Content-Length, which a chunked
// body does not declare, so no body slips through and none is read further.
func refuseBody(r *http.Request, allowed, route string) *requestError {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(len(allowed))+1))
	if err != nil {
		return invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body could not be read")
	}
	if len(b) > 0 && string(b) != allowed {
		return invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "%s takes no body", route)
	}
	return nil
}

// decodeStringObject parses body as exactly one JSON object whose values are all strings, refusing what
// encoding/json would let through: invalid UTF-8, duplicate keys, keys that differ from a known field only by
// case, unknown keys, non-string values (numbers where strings belong, null, objects) and trailing data. The
// fields named in bools take a JSON boolean instead, returned as "true" or "false".
func decodeStringObject(body []byte, fields []string, bools ...string) (map[string]string, *requestError) {
	m, _, rerr := decodeObject(body, fields, nil, bools)
	return m, rerr
}

// maxArrayItems bounds a string array field.
const maxArrayItems = 100

// decodeObject is decodeStringObject whose arrayFields hold arrays of strings instead (at most
// maxArrayItems); they are returned in the second map.
func decodeObject(body []byte, fields, arrayFields, bools []string) (map[string]string, map[string][]string, *requestError) {
	all := slices.Concat(fields, arrayFields)
	arrays := map[string][]string{}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body must be a JSON object")
	}
	out := make(map[string]string, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, syntaxError(err)
		}
		key := tok.(string) // inside an object, the decoder only yields string keys
		if !slices.Contains(all, key) {
			for _, f := range all {
				if strings.EqualFold(f, key) {
					return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeUnknownField, truncate(key, 64), "unknown field %q (field names are case-sensitive: did you mean %q?)", truncate(key, 64), f)
				}
			}
			return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeUnknownField, truncate(key, 64), "unknown field %q", truncate(key, 64))
		}
		_, dupArray := arrays[key]
		if _, dup := out[key]; dup || dupArray {
			return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, key, "field %q appears more than once", key)
		}
		val, err := dec.Token()
		if err != nil {
			return nil, nil, syntaxError(err)
		}
		if slices.Contains(arrayFields, key) {
			items, rerr := stringArray(dec, key, val)
			if rerr != nil {
				return nil, nil, rerr
			}
			arrays[key] = items
			continue
		}
		if slices.Contains(bools, key) {
			b, ok := val.(bool)
			if !ok {
				return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, key, "%s must be a JSON boolean (true or false), not %s", key, jsonKind(val))
			}
			out[key] = strconv.FormatBool(b)
			continue
		}
		s, ok := val.(string)
		if !ok {
			return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, key, "%s must be a JSON string, not %s", key, jsonKind(val))
		}
		out[key] = s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "unexpected data after the JSON object")
	}
	return out, arrays, nil
}

// stringArray reads the rest of an array of non-empty strings whose first token is first.
func stringArray(dec *json.Decoder, key string, first json.Token) ([]string, *requestError) {
	if d, ok := first.(json.Delim); !ok || d != '[' {
		return nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, key, "%s must be a JSON array of strings, not %s", key, jsonKind(first))
	}
	items := []string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, key, "%s must hold strings only, not %s", key, jsonKind(tok))
		}
		if len(items) == maxArrayItems {
			return nil, invalid(http.StatusBadRequest, onboarding.CodeInvalidField, key, "%s holds more than %d items", key, maxArrayItems)
		}
		items = append(items, v)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, syntaxError(err)
	}
	return items, nil
}

func syntaxError(err error) *requestError {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "malformed JSON at byte %d", se.Offset)
	}
	return invalid(http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "malformed JSON")
}

func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	}
	return "another type"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
