package statemachine

import (
	"context"
	"testing"
	"time"
)

// FuzzPath checks the reference-path parser and evaluator: no panics, a canonical form that
// parses back to itself, and evaluation that never modifies its input. Seeds: testdata/fuzz/FuzzPath.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$$.Execution.Input", "$.a.b[0]", "$['a b']", `$["x\"y"]`, "$..a", "$.a[*]"} {
		f.Add(s)
	}
	const doc = `{"a":{"b":[1,{"c":null}],"a b":"s","x\"y":2},"l":[[0]],"s":"str"}`
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
		if q.String() != canon || q.context != p.context || len(q.segs) != len(p.segs) {
			t.Fatalf("%q -> %q -> %q: not a fixed point", s, canon, q.String())
		}
		input := mustJSON(t, doc)
		en := &env{ctxObj: map[string]any{"Execution": map[string]any{"Input": input}}}
		got, found := p.get(input, en)
		if p.isRoot() && (!found || !jsonEqual(got, input)) {
			t.Fatalf("$ did not select the whole input")
		}
		if p.context {
			return
		}
		before := jsonString(input)
		out, err := p.set(input, "new")
		if after := jsonString(input); after != before {
			t.Fatalf("set(%q) modified its input", s)
		}
		if err == nil {
			if v, ok := p.get(out, nil); !ok || v != "new" {
				t.Fatalf("after set(%q), get = %v, %v", s, v, ok)
			}
		}
	})
}

// FuzzParse checks that Parse never panics, and that every definition it accepts runs to a
// closed status (no function is registered, so every task fails; MaxHistoryEvents bounds loops).
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericLessThan":3,"Next":"A"}],"Default":"B"},"B":{"Type":"Fail"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := Parse(data)
		if err != nil {
			if def != nil {
				t.Fatal("Parse returned a definition with an error")
			}
			return
		}
		if names := def.StateNames(); len(names) == 0 || names[0] != def.StartAt() {
			t.Fatalf("StateNames() = %q for StartAt %q", names, def.StartAt())
		}
		eng := New(def, Options{Clock: NewFakeClock(corpusStart), MaxHistoryEvents: 200})
		arn, err := eng.StartExecution(context.Background(), "fuzz", []byte(`{"x":1,"s":"a","l":[1,2]}`))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if d, err := eng.Wait(ctx, arn); err != nil || d.Status == StatusRunning {
			t.Fatalf("execution did not finish: %+v, %v", d, err)
		}
		if err := eng.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
