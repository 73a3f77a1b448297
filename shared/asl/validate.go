package asl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// validator collects every problem of a definition instead of stopping at the first, so that one
// Parse call shows everything to fix.
type validator struct {
	problems []string
}

func (v *validator) addf(loc, format string, a ...any) {
	v.problems = append(v.problems, pointer(loc)+": "+fmt.Sprintf(format, a...))
}

// obj reads the fields of one JSON object and remembers which ones were consumed, so that done()
// can reject every field the ASL does not define for this object.
type obj struct {
	v    *validator
	loc  string
	what string // "Task state", "Retrier", ... for unknown-field messages
	m    map[string]any
	used map[string]bool
}

func (v *validator) object(raw any, loc string) *obj {
	m, ok := raw.(map[string]any)
	if !ok {
		v.addf(loc, "expected a JSON object, got %s", jsonType(raw))
		return nil
	}
	return &obj{v: v, loc: loc, m: m, used: map[string]bool{}}
}

func (o *obj) has(key string) bool { _, ok := o.m[key]; return ok }

func (o *obj) take(key string) any {
	o.used[key] = true
	return o.m[key]
}

func (o *obj) fieldLoc(key string) string { return o.loc + "/" + escapePointer(key) }

func (o *obj) reqString(key string) (string, bool) {
	if !o.has(key) {
		o.v.addf(o.loc, "missing required field %q", key)
		return "", false
	}
	return o.optString(key)
}

func (o *obj) optString(key string) (string, bool) {
	if !o.has(key) {
		return "", false
	}
	s, ok := o.take(key).(string)
	if !ok {
		o.v.addf(o.fieldLoc(key), "expected a string, got %s", jsonType(o.m[key]))
		return "", false
	}
	return s, true
}

// optInt reads an integer field within [lo, hi].
func (o *obj) optInt(key string, lo, hi int64) (int64, bool) {
	if !o.has(key) {
		return 0, false
	}
	raw := o.take(key)
	n, ok := raw.(json.Number)
	i, err := strconv.ParseInt(string(n), 10, 64)
	if !ok || err != nil {
		o.v.addf(o.fieldLoc(key), "%s must be an integer, got %s", key, jsonString(raw))
		return 0, false
	}
	if i < lo || i > hi {
		o.v.addf(o.fieldLoc(key), "%s must be between %d and %d, got %d", key, lo, hi, i)
		return 0, false
	}
	return i, true
}

// asl fields that are defined for some state types; finding one in another type gets a specific
// message instead of "unknown field".
var stateFieldTypes = map[string][]string{
	"InputPath":          {"Task", "Pass", "Wait", "Choice", "Succeed", "Parallel", "Map"},
	"OutputPath":         {"Task", "Pass", "Wait", "Choice", "Succeed", "Parallel", "Map"},
	"Parameters":         {"Task", "Pass", "Parallel", "Map"},
	"ResultSelector":     {"Task", "Parallel", "Map"},
	"ResultPath":         {"Task", "Pass", "Parallel", "Map"},
	"Retry":              {"Task", "Parallel", "Map"},
	"Catch":              {"Task", "Parallel", "Map"},
	"Result":             {"Pass"},
	"Resource":           {"Task"},
	"TimeoutSeconds":     {"Task"},
	"TimeoutSecondsPath": {"Task"},
	"HeartbeatSeconds":   {"Task"},
	"Choices":            {"Choice"},
	"Default":            {"Choice"},
	"Seconds":            {"Wait"},
	"SecondsPath":        {"Wait"},
	"Error":              {"Fail"},
	"Cause":              {"Fail"},
	"ErrorPath":          {"Fail"},
	"CausePath":          {"Fail"},
	"Next":               {"Task", "Pass", "Wait", "Parallel", "Map"},
	"End":                {"Task", "Pass", "Wait", "Parallel", "Map"},
}

// unsupportedFields are real ASL fields this interpreter deliberately does not implement.
var unsupportedFields = map[string]string{
	"Assign":      "workflow variables (Assign) are not supported",
	"Arguments":   "Arguments belongs to the JSONata query language, which is not supported",
	"Output":      "Output belongs to the JSONata query language, which is not supported",
	"Credentials": "cross-account Credentials are not supported",

	"HeartbeatSecondsPath": "HeartbeatSecondsPath is not supported by this interpreter: use HeartbeatSeconds",
	"Timestamp":            "Wait states with Timestamp are not supported by this interpreter: use Seconds or SecondsPath",
	"TimestampPath":        "Wait states with TimestampPath are not supported by this interpreter: use Seconds or SecondsPath",
}

func (o *obj) done() {
	for _, key := range sortedKeys(o.m) {
		if o.used[key] {
			continue
		}
		loc := o.fieldLoc(key)
		if msg, ok := unsupportedFields[key]; ok {
			o.v.addf(loc, "%s", msg)
			continue
		}
		if types, ok := stateFieldTypes[key]; ok && strings.HasSuffix(o.what, " state") {
			typ := strings.TrimSuffix(o.what, " state")
			switch key {
			case "Next":
				if typ == "Choice" {
					o.v.addf(loc, "a Choice state has no Next: it transitions through Choices and Default")
				} else {
					o.v.addf(loc, "a %s state is terminal and cannot have Next", typ)
				}
			case "End":
				if typ == "Choice" {
					o.v.addf(loc, "a Choice state cannot have End")
				} else {
					o.v.addf(loc, "a %s state is terminal and cannot have End", typ)
				}
			default:
				o.v.addf(loc, "%s is only allowed in %s states, not in a %s state", key, strings.Join(types, ", "), typ)
			}
			continue
		}
		o.v.addf(loc, "unknown field %q in %s", key, o.what)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// reqPath reads a required path field.
func (v *validator) reqPath(o *obj, key, loc string) *path {
	s, ok := o.reqString(key)
	if !ok {
		return nil
	}
	p, err := parsePath(s)
	if err != nil {
		v.addf(loc+"/"+key, "%v", err)
		return nil
	}
	return p
}

// optPathField reads an optional path-valued field (SecondsPath, TimeoutSecondsPath, ...).
func (v *validator) optPathField(o *obj, key string) *path {
	s, ok := o.optString(key)
	if !ok {
		return nil
	}
	p, err := parsePath(s)
	if err != nil {
		v.addf(o.fieldLoc(key), "%v", err)
		return nil
	}
	return p
}

// ioPath reads InputPath, OutputPath or ResultPath: absent means "$", null is allowed.
func (v *validator) ioPath(o *obj, key string, allowContext bool) ioPath {
	if !o.has(key) {
		return ioPath{}
	}
	raw := o.take(key)
	if raw == nil {
		return ioPath{set: true, null: true}
	}
	s, ok := raw.(string)
	if !ok {
		v.addf(o.fieldLoc(key), "%s must be a path string or null, got %s", key, jsonType(raw))
		return ioPath{}
	}
	p, err := parsePath(s)
	if err != nil {
		v.addf(o.fieldLoc(key), "%v", err)
		return ioPath{}
	}
	if p.context && !allowContext {
		v.addf(o.fieldLoc(key), "%s cannot refer to the context object ($$)", key)
		return ioPath{}
	}
	return ioPath{set: true, p: p}
}

// errorEquals reads a Retrier's or Catcher's ErrorEquals and reports whether it is States.ALL.
func (v *validator) errorEquals(o *obj) ([]string, bool) {
	loc := o.fieldLoc("ErrorEquals")
	if !o.has("ErrorEquals") {
		v.addf(o.loc, "missing required field %q", "ErrorEquals")
		return nil, false
	}
	arr, ok := o.take("ErrorEquals").([]any)
	if !ok || len(arr) == 0 {
		v.addf(loc, "ErrorEquals must be a non-empty array of error names")
		return nil, false
	}
	var names []string
	hasAll := false
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			v.addf(fmt.Sprintf("%s/%d", loc, i), "an error name must be a non-empty string")
			continue
		}
		if s == ErrorAll {
			hasAll = true
		}
		names = append(names, s)
	}
	if hasAll && len(arr) > 1 {
		v.addf(loc, "States.ALL must appear alone in ErrorEquals")
	}
	return names, hasAll
}
