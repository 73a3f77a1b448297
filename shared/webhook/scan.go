package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
)

// This file is a minimal reader over JSON that validJSON (valid.go) has already accepted. encoding/json would scan
// every byte of a notification five or six times here (validate, decode the envelope, skip the raw value,
// validate and decode the value, then each item); walking the validated bytes once instead is what keeps the
// intake near the cost of one HMAC and one decode (BenchmarkIntake beside BenchmarkFloor). Because the input
// is known to be valid, the reader only tracks structure; it never needs to report a syntax error.

// errJSONType: a value has another JSON type than the model expects (an object where a string belongs).
var errJSONType = errors.New("unexpected JSON type")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'. It jumps from quote to quote and
// counts the backslashes before each, so long texts cost one memchr.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b) // unreachable on valid JSON
		}
		i += j
		k := i - 1
		for k >= 0 && b[k] == '\\' {
			k--
		}
		i++
		if (i-2-k)%2 == 0 { // an even number of backslashes: the quote is not escaped
			return i
		}
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// eachMember calls fn for every member of the object at b[i] with the key (unescaped only when it holds an
// escape) and the offset of its value; fn returns the offset after the value. A null is an empty object; any
// other type is errJSONType. It returns the offset after the object.
func eachMember(b []byte, i int, fn func(key []byte, v int) (int, error)) (int, error) {
	if b[i] == 'n' {
		return i + 4, nil
	}
	if b[i] != '{' {
		return i, errJSONType
	}
	i = skipSpace(b, i+1)
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		end := skipString(b, i)
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return i, err
			}
			key = []byte(s)
		}
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		next, err := fn(key, i)
		if err != nil {
			return next, err
		}
		i = skipSpace(b, next)
		if b[i] == '}' {
			return i + 1, nil
		}
		i = skipSpace(b, i+1) // the comma
	}
}

// eachElement calls fn for every element of the array at b[i]; fn returns the offset after the element. A
// null is an empty array; any other type is errJSONType.
func eachElement(b []byte, i int, fn func(v int) (int, error)) (int, error) {
	if b[i] == 'n' {
		return i + 4, nil
	}
	if b[i] != '[' {
		return i, errJSONType
	}
	i = skipSpace(b, i+1)
	if b[i] == ']' {
		return i + 1, nil
	}
	for {
		next, err := fn(i)
		if err != nil {
			return next, err
		}
		i = skipSpace(b, next)
		if b[i] == ']' {
			return i + 1, nil
		}
		i = skipSpace(b, i+1)
	}
}

// readString reads a string, or a number as its literal text, or null as "" (FlexString's rules), and
// returns the offset after it.
func readString(b []byte, i int) (string, int, error) {
	end := skipValue(b, i)
	switch c := b[i]; {
	case c == '"':
		s := b[i+1 : end-1]
		if bytes.IndexByte(s, '\\') < 0 {
			return string(s), end, nil
		}
		var v string
		if err := json.Unmarshal(b[i:end], &v); err != nil {
			return "", end, err
		}
		return v, end, nil
	case c == 'n':
		return "", end, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return string(b[i:end]), end, nil
	}
	return "", end, errJSONType
}

// readInt reads an integer, or a string holding one, or null as 0 (FlexInt's rules).
func readInt(b []byte, i int) (int64, int, error) {
	end := skipValue(b, i)
	lit := b[i:end]
	if b[i] == '"' {
		lit = lit[1 : len(lit)-1]
	} else if b[i] != 'n' && b[i] != '-' && (b[i] < '0' || b[i] > '9') {
		return 0, end, errJSONType
	}
	if len(lit) == 0 || string(lit) == "null" {
		return 0, end, nil
	}
	v, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(lit), 64)
		if ferr != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
			return 0, end, errJSONType
		}
		v = int64(f)
	}
	return v, end, nil
}

// readObjectString reads one string member of the object at b[i] (text.body, context.id, ...).
func readObjectString(b []byte, i int, name string) (string, int, error) {
	var out string
	end, err := eachMember(b, i, func(key []byte, v int) (int, error) {
		if string(key) != name {
			return skipValue(b, v), nil
		}
		s, next, err := readString(b, v)
		out = s
		return next, err
	})
	return out, end, err
}
