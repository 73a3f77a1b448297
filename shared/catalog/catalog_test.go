package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/workflow"
)

// Every main package under functions/ has a catalog entry, and every entry a main package.
func TestCatalogMatchesFunctionsDir(t *testing.T) {
	entries, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join("../../functions", e.Name(), "main.go")); err == nil {
				dirs = append(dirs, e.Name())
			}
		}
	}
	var names []string
	for _, f := range catalog.Functions {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(dirs, names) {
		t.Errorf("functions/ main packages: got %v, want the catalog's %v", dirs, names)
	}
}

func TestCatalogEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range catalog.Functions {
		t.Run(f.Name, func(t *testing.T) {
			keys := []string{"name " + f.Name}
			if f.Placeholder != "" {
				keys = append(keys, "placeholder "+f.Placeholder)
			}
			for _, key := range keys {
				if seen[key] {
					t.Errorf("duplicate %s", key)
				}
				seen[key] = true
			}
			if f.Description == "" || f.TimeoutSeconds <= 0 || f.MemoryMB < 128 {
				t.Errorf("got description %q, timeout %d s, memory %d MB; want a description, a timeout and at least 128 MB", f.Description, f.TimeoutSeconds, f.MemoryMB)
			}
			if f.Placeholder != "" && !strings.Contains(string(workflow.Definition), "${"+f.Placeholder+"}") {
				t.Errorf("placeholder %s: not in the workflow definition", f.Placeholder)
			}
			if f.Needs.QueueConsume && f.Needs.QueueSend {
				t.Error("a function both consuming and feeding the webhook queue would loop")
			}
		})
	}
	if got, want := len(catalog.Workflow()), 8; got != want {
		t.Errorf("Workflow: got %d functions, want %d", got, want)
	}
}

func TestLookup(t *testing.T) {
	if got := catalog.Lookup("register_phone"); got.Name != "register_phone" || got.Needs.WABASecrets != catalog.WABAWrite {
		t.Errorf("Lookup(register_phone): got %+v", got)
	}
	if _, ok := catalog.Find("nope"); ok {
		t.Error("Find(nope): got ok, want not found")
	}
	defer func() {
		if recover() == nil {
			t.Error("Lookup(nope): want a panic")
		}
	}()
	catalog.Lookup("nope")
}
