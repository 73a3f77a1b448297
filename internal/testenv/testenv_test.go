package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{{"", false}, {"0", false}, {"1", true}, {"yes", true}}
	for _, tt := range tests {
		t.Run("value="+tt.value, func(t *testing.T) {
			t.Setenv("TESTENV_PROBE", tt.value)
			if got := Required("TESTENV_PROBE"); got != tt.want {
				t.Errorf("Required: got %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeTB records how Unavailable ends a test. Skipf and Fatalf stop the goroutine like the real ones, so that
// a caller never runs on past them.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	panic(f)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	panic(f)
}

func run(f *fakeTB, fn func()) {
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	fn()
}

func TestUnavailable(t *testing.T) {
	for _, required := range []bool{false, true} {
		t.Run(map[bool]string{false: "skips", true: "fails when required"}[required], func(t *testing.T) {
			v := ""
			if required {
				v = "1"
			}
			t.Setenv(EnvRequireNodeTools, v)
			f := &fakeTB{}
			run(f, func() { Unavailable(f, EnvRequireNodeTools, os.ErrNotExist) })
			if f.skipped == required || f.failed != required {
				t.Errorf("skipped %v, failed %v; want skipped %v, failed %v", f.skipped, f.failed, !required, required)
			}
			if !strings.Contains(f.msg, EnvRequireNodeTools) || !strings.Contains(f.msg, os.ErrNotExist.Error()) {
				t.Errorf("message %q does not name %s and the cause", f.msg, EnvRequireNodeTools)
			}
		})
	}
}

func TestMissingNodeToolsNamesTheMissingPath(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"go.mod", "package.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("module example.com/x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("PATH", dir) // no node either: the first missing tool is named
	err := MissingNodeTools("node_modules/dynalite/package.json")
	if err == nil || !strings.Contains(err.Error(), "install Node.js") {
		t.Fatalf("without node: got %v, want an error that says to install Node.js", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = MissingNodeTools("node_modules/dynalite/package.json")
	if err == nil || !strings.Contains(err.Error(), "node_modules/dynalite/package.json") || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("without dynalite: got %v, want an error naming it and `make deps`", err)
	}
	if root, err := Root(); err != nil || root != dir {
		t.Errorf("Root: got %q, %v; want %q", root, err, dir)
	}
}
