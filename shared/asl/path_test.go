package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/waes/onboarding/internal/corpustest"
)

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

func TestParsePathCanonical(t *testing.T) {
	tests := []struct {
		in      string
		context bool
		segs    int
	}{
		{"$", false, 0},
		{"$$", true, 0},
		{"$.a", false, 1},
		{"$.a.b", false, 2},
		{"$.my-field_1", false, 1},
		{"$.ünïcode", false, 1},
		{"$$.Execution.Id", true, 2},
		{"$$.Task.Token", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parsePath(tt.in)
			if err != nil {
				t.Fatalf("parsePath: %v", err)
			}
			if got := p.String(); got != tt.in {
				t.Errorf("String() = %q, want %q", got, tt.in)
			}
			if p.context != tt.context || len(p.segs) != tt.segs {
				t.Errorf("got context %v, %d segments; want %v, %d", p.context, len(p.segs), tt.context, tt.segs)
			}
		})
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, in := range []string{"$..a", "$.*", "$.a[*]", "$.a[0]", "$['a']", "$.a[?(@.b)]", "$.", "$.a.", "$a", "$.a b", "$.a@b"} {
		t.Run(in, func(t *testing.T) {
			if _, err := parsePath(in); err == nil || !strings.Contains(err.Error(), "only dot notation") {
				t.Errorf("parsePath(%q) error = %v, want a dot-notation refusal", in, err)
			}
		})
	}
	for _, in := range []string{"", "a.b"} {
		if _, err := parsePath(in); err == nil || !strings.Contains(err.Error(), "must start with '$'") {
			t.Errorf("parsePath(%q) error = %v, want it to ask for '$'", in, err)
		}
	}
}

func TestPathGet(t *testing.T) {
	doc := `{"a":{"b":[10],"c":"deep","n":null},"s":"str"}`
	ctx := map[string]any{"Execution": map[string]any{"Name": "exec"}}
	tests := []struct {
		path  string
		want  string // JSON; "" means not found
		found bool
	}{
		{"$", doc, true},
		{"$.a.b", "[10]", true},
		{"$.a.c", `"deep"`, true},
		{"$.a.n", "null", true},
		{"$.missing", "", false},
		{"$.s.length", "", false},
		{"$.a.b.x", "", false},
		{"$$.Execution.Name", `"exec"`, true},
		{"$$.Task.Token", "", false},
	}
	input := mustJSON(t, doc)
	en := staticEnv{ctx}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := parsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, found := p.get(input, en)
			if found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
			if found && !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", jsonString(got), tt.want)
			}
		})
	}
}

func TestPathSet(t *testing.T) {
	tests := []struct {
		name, path, input, value, want string
		wantErr                        bool
	}{
		{"replace root field", "$.a", `{"a":1,"b":2}`, `3`, `{"a":3,"b":2}`, false},
		{"add field", "$.c", `{"a":1}`, `{"x":1}`, `{"a":1,"c":{"x":1}}`, false},
		{"create intermediates", "$.a.b.c", `{"k":true}`, `1`, `{"k":true,"a":{"b":{"c":1}}}`, false},
		{"into existing object", "$.a.b", `{"a":{"z":0}}`, `1`, `{"a":{"z":0,"b":1}}`, false},
		{"through a string", "$.a.b", `{"a":"s"}`, `1`, "", true},
		{"through null", "$.a.b", `{"a":null}`, `1`, "", true},
		{"root not an object", "$.a", `[1]`, `1`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			input := mustJSON(t, tt.input)
			before := jsonString(input)
			got, err := p.set(input, mustJSON(t, tt.value))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("set succeeded with %s, want an error", jsonString(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", jsonString(got), tt.want)
			}
			if after := jsonString(input); after != before {
				t.Errorf("set modified its input: %s became %s", before, after)
			}
		})
	}
}

func TestApplyResultPath(t *testing.T) {
	raw := mustJSON(t, `{"in":1}`)
	result := mustJSON(t, `{"r":2}`)
	p, _ := parsePath("$.out")
	root, _ := parsePath("$")
	tests := []struct {
		name string
		rp   ioPath
		want string
	}{
		{"absent means $", ioPath{}, `{"r":2}`},
		{"$ replaces", ioPath{set: true, p: root}, `{"r":2}`},
		{"null discards the result", ioPath{set: true, null: true}, `{"in":1}`},
		{"path merges into the input", ioPath{set: true, p: p}, `{"in":1,"out":{"r":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyResultPath(tt.rp, raw, result)
			if err != nil {
				t.Fatal(err)
			}
			if !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", jsonString(got), tt.want)
			}
		})
	}
	bad, _ := parsePath("$.in.x")
	_, err := applyResultPath(ioPath{set: true, p: bad}, raw, result)
	var se *Error
	if !errors.As(err, &se) || se.Name != ErrorResultPathMatchFailure {
		t.Errorf("err = %v, want %s", err, ErrorResultPathMatchFailure)
	}
}

func TestIOPathNullAndMissing(t *testing.T) {
	in := mustJSON(t, `{"a":1}`)
	got, err := ioPath{set: true, null: true}.apply(in, nil, "InputPath")
	if err != nil || !corpustest.JSONEqual(got, map[string]any{}) {
		t.Errorf("null path: got %v, %v; want {}", jsonString(got), err)
	}
	p, _ := parsePath("$.b")
	_, err = ioPath{set: true, p: p}.apply(in, nil, "InputPath")
	var se *Error
	if !errors.As(err, &se) || se.Name != ErrorRuntime || !strings.Contains(se.Cause, "Invalid path '$.b'") {
		t.Errorf("missing path: err = %v, want States.Runtime naming the path", err)
	}
}
