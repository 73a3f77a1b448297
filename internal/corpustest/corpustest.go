// Package corpustest reads the JSON test corpora of the interpreter's packages (shared/asl and
// shared/asl/engine) and compares JSON values, so that both test suites read their cases the same way.
package corpustest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Load returns the files testdata/<dir>/*.json by name without the extension; none at all fails the test.
func Load(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in testdata/%s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

// Decode decodes one corpus file strictly into v: an unknown field is a mistake in the file.
func Decode(t testing.TB, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("bad corpus file: %v", err)
	}
}

// JSONEqual compares two JSON values structurally; numbers compare by value (1 equals 1.0): both sides are
// re-encoded and decoded with numbers as float64.
func JSONEqual(a, b any) bool {
	na, errA := normalize(a)
	nb, errB := normalize(b)
	return errA == nil && errB == nil && reflect.DeepEqual(na, nb)
}

func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}
