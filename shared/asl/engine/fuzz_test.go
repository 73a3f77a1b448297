package engine

import (
	"context"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/asl"
)

// FuzzParse checks that Parse never panics, and that every definition it accepts runs to a
// closed status (no function is registered, so every task fails; MaxHistoryEvents bounds loops).
// Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericLessThan":3,"Next":"A"}],"Default":"B"},"B":{"Type":"Fail"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := asl.Parse(data)
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
