package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Values are plain decoded JSON, with json.Number so that numbers round-trip exactly. They are
// immutable: every transformation copies what it changes, so subtrees may be shared.

// MaxPayloadBytes is Step Functions' quota for execution input, state input/output and callback output.
const MaxPayloadBytes = 256 * 1024

// DecodeJSON decodes exactly one JSON value, keeping numbers as json.Number.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// MarshalJSON encodes v compactly without HTML escaping (Step Functions does not turn < into \u003c).
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// JSONString renders v as MarshalJSON does, for places that only display data (history, causes).
func JSONString(v any) string {
	b, err := MarshalJSON(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}

// jsonType names the JSON type of v as error messages show it.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// toFloat returns the numeric value of a JSON number (±Inf beyond the float64 range).
func toFloat(v any) (float64, bool) {
	n, ok := v.(json.Number)
	f, err := n.Float64()
	return f, ok && (err == nil || errors.Is(err, strconv.ErrRange))
}

// escapePointer escapes a key for a JSON pointer.
func escapePointer(key string) string { return pointerEscaper.Replace(key) }

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
