// Package testenv decides what a test does when a tool outside Go is missing: Node.js with the npm packages
// of package.json (dynalite, asl-validator, aws-local-stepfunctions, the CDK's jsii runtime, playwright-core)
// or Chromium. A plain `go test ./...` skips such a test with a message that says what to install; `make
// test` sets REQUIRE_NODE_TOOLS=1 and REQUIRE_BROWSER=1, and then the same test fails, so that CI cannot
// pass by not running it.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The variables that turn a skip into a failure (any non-empty value but "0").
const (
	EnvRequireNodeTools = "REQUIRE_NODE_TOOLS"
	EnvRequireBrowser   = "REQUIRE_BROWSER"
)

// Required reports whether env asks for a missing tool to fail the test rather than skip it.
func Required(env string) bool {
	v := os.Getenv(env)
	return v != "" && v != "0"
}

// Unavailable ends tb for a missing tool (err says which, and how to install it): it fails tb when env is
// set (see Required), else skips it.
func Unavailable(tb testing.TB, env string, err error) {
	tb.Helper()
	if Required(env) {
		tb.Fatalf("%v (%s is set: this test must run)", err, env)
	}
	tb.Skipf("skipped: %v (set %s=1 to make this a failure, as `make test` does)", err, env)
}

// Root returns the module root, where node_modules lives: the nearest directory with a go.mod above the
// working directory (go test runs a test in its package directory) that also holds package.json, else the
// nearest with a go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: working directory: %w", err)
	}
	first := ""
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return dir, nil
			}
			if first == "" {
				first = dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			if first != "" {
				return first, nil
			}
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// MissingNodeTools returns why Node.js or one of paths (relative to the module root, e.g.
// "node_modules/.bin/asl-validator") is unavailable, or nil when all are there.
func MissingNodeTools(paths ...string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH (%v): install Node.js (package.json engines), then run `make deps`", err)
	}
	root, err := Root()
	if err != nil {
		return err
	}
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			return fmt.Errorf("%s is missing (%v): run `make deps` (npm ci)", p, err)
		}
	}
	return nil
}

// NodeTools skips tb, or fails it under REQUIRE_NODE_TOOLS, unless Node.js and every one of paths (relative
// to the module root) are there. It returns the module root.
func NodeTools(tb testing.TB, paths ...string) string {
	tb.Helper()
	if err := MissingNodeTools(paths...); err != nil {
		Unavailable(tb, EnvRequireNodeTools, err)
	}
	root, err := Root()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// Browser skips tb, or fails it under REQUIRE_BROWSER, unless a Chromium (or Chrome) binary is at path.
func Browser(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		Unavailable(tb, EnvRequireBrowser, fmt.Errorf("the browser tests need Chromium, which was not found at %s: "+
			"install it (`apt-get install chromium`, as `make browser` does) or set CHROMIUM_PATH to a Chromium or Chrome binary", path))
	}
}
