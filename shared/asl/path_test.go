package asl

import (
	"errors"
	"strings"
	"testing"

	"github.com/waes/onboarding/internal/corpustest"
)

// String renders the path in canonical form: as written, since Parse accepts only canonical paths.
// Only the tests call it; the interpreter's messages quote p.src.
func (p *path) String() string { return p.src }

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
		in    string
		token bool
		segs  int
	}{
		{"$", false, 0},
		{"$.a", false, 1},
		{"$.a.b", false, 2},
		{"$.my-field_1", false, 1},
		{"$.ünïcode", false, 1},
		{"$$.Task.Token", true, 0},
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
			if p.token != tt.token || len(p.segs) != tt.segs {
				t.Errorf("got token %v, %d segments; want %v, %d", p.token, len(p.segs), tt.token, tt.segs)
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
	for _, in := range []string{"$$", "$$.Execution.Id", "$$.Task", "$$.Task.Token.x"} {
		if _, err := parsePath(in); err == nil || !strings.Contains(err.Error(), "the only context object field supported is $$.Task.Token") {
			t.Errorf("parsePath(%q) error = %v, want a context object refusal", in, err)
		}
	}
}

func TestPathGet(t *testing.T) {
	doc := `{"a":{"b":[10],"c":"deep","n":null},"s":"str"}`
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
		{"$$.Task.Token", `"tok-1"`, true},
	}
	input := mustJSON(t, doc)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := parsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, found := p.get(input, "tok-1")
			if found != tt.found {
				t.Fatalf("found = %v, want %v", found, tt.found)
			}
			if found && !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", JSONString(got), tt.want)
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
			before := JSONString(input)
			got, err := p.set(input, mustJSON(t, tt.value))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("set succeeded with %s, want an error", JSONString(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", JSONString(got), tt.want)
			}
			if after := JSONString(input); after != before {
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
		rp   resultPath
		want string
	}{
		{"absent means $", resultPath{}, `{"r":2}`},
		{"$ replaces", resultPath{p: root}, `{"r":2}`},
		{"null discards the result", resultPath{null: true}, `{"in":1}`},
		{"path merges into the input", resultPath{p: p}, `{"in":1,"out":{"r":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyResultPath(tt.rp, raw, result)
			if err != nil {
				t.Fatal(err)
			}
			if !corpustest.JSONEqual(got, mustJSON(t, tt.want)) {
				t.Errorf("got %s, want %s", JSONString(got), tt.want)
			}
		})
	}
	bad, _ := parsePath("$.in.x")
	_, err := applyResultPath(resultPath{p: bad}, raw, result)
	var se *Error
	if !errors.As(err, &se) || se.Name != ErrorResultPathMatchFailure {
		t.Errorf("err = %v, want %s", err, ErrorResultPathMatchFailure)
	}
}
