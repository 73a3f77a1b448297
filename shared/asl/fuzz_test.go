package asl

import (
	"testing"

	"github.com/waes/onboarding/internal/corpustest"
)

// FuzzPath checks the dot-notation reference-path parser and evaluator: no panics, a canonical form that
// parses back to itself, and evaluation that never modifies its input. Seeds: testdata/fuzz/FuzzPath.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$$.Task.Token", "$.a.b", "$.a.b[0]", "$['a b']", "$..a", "$.a[*]"} {
		f.Add(s)
	}
	const doc = `{"a":{"b":{"c":null},"a-b":"s"},"l":[[0]],"s":"str"}`
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s)
		if err != nil {
			return
		}
		canon := p.String()
		q, err := parsePath(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if q.String() != canon || q.token != p.token || len(q.segs) != len(p.segs) {
			t.Fatalf("%q -> %q -> %q: not a fixed point", s, canon, q.String())
		}
		input := mustJSON(t, doc)
		got, found := p.get(input, "tok")
		if s == "$" && (!found || !corpustest.JSONEqual(got, input)) {
			t.Fatalf("$ did not select the whole input")
		}
		if p.token {
			if !found || got != "tok" {
				t.Fatalf("%s did not select the token", s)
			}
			return
		}
		before := JSONString(input)
		out, err := p.set(input, "new")
		if after := JSONString(input); after != before {
			t.Fatalf("set(%q) modified its input", s)
		}
		if err == nil {
			if v, ok := p.get(out, ""); !ok || v != "new" {
				t.Fatalf("after set(%q), get = %v, %v", s, v, ok)
			}
		}
	})
}
