package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/internal/testenv"
	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/logging"
)

// The browser tests click through the example page in headless Chromium (Debian's chromium package, driven
// by playwright-core from node_modules) against local runners: a signup that reaches VERIFIED, cancelled
// and failed signups, an onboarding that fails (GRAPH_SIM_FAULTS=register:100x1) and is retried, the
// WABA-only and Business app finishes, and a 409.
// Screenshots go to test-artifacts/browser/. A missing browser fails the test: CI installs it (.ci/run).

const defaultChromium = "/usr/bin/chromium"

func startRunner(t *testing.T, env map[string]string) (*runner.Runner, *testlog.Buffer) {
	t.Helper()
	vars := map[string]string{runner.EnvAddr: "127.0.0.1:0", runner.EnvState: runner.StateMemory}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := runner.ConfigFromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	r, err := runner.New(cfg, logging.New(logs, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("runner shutdown: %v", err)
		}
	})
	return r, logs
}

type scenarioResult struct {
	Scenario string   `json:"scenario"`
	OK       bool     `json:"ok"`
	MS       int      `json:"ms"`
	Error    string   `json:"error"`
	Observed []string `json:"observed"`
}

// issuedCode matches the codes the simulated popup hands out: none may reach a log line.
var issuedCode = regexp.MustCompile(`sim:[0-9]{1,20}:[0-9]{0,20}:[0-9a-f]{16}|expired-[0-9a-f]{16}`)

func TestBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = defaultChromium
	}
	testenv.Browser(t, chromium)
	root := testenv.NodeTools(t, filepath.Join("node_modules", "playwright-core", "package.json"))
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(root, "test-artifacts", "browser")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	main, mainLogs := startRunner(t, nil)
	faults, faultLogs := startRunner(t, map[string]string{runner.EnvSimFaults: "register:100x1"})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "e2e", "browser.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"BASE_URL="+main.URL, "FAULTS_URL="+faults.URL, "CHROMIUM_PATH="+chromium, "ARTIFACTS_DIR="+artifacts)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	out, runErr := cmd.Output()
	t.Logf("browser scenarios ran in %s; screenshots in %s", time.Since(started).Round(time.Millisecond), artifacts)

	var results []scenarioResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "RESULT ")
		if !ok {
			continue
		}
		var r scenarioResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("unreadable result line %q: %v", line, err)
			continue
		}
		results = append(results, r)
	}
	for _, r := range results {
		t.Run(r.Scenario, func(t *testing.T) {
			t.Logf("%d ms", r.MS)
			if len(r.Observed) > 0 {
				t.Logf("seen on the page: %q", r.Observed)
			}
			if !r.OK {
				t.Errorf("failed after %d ms: %s (screenshots in %s)", r.MS, r.Error, artifacts)
			}
		})
	}
	want := []string{"verified", "cancelled", "retried", "variants", "unverified", "tester", "conflict"}
	if len(results) != len(want) {
		var exit *exec.ExitError
		if runErr != nil && !errors.As(runErr, &exit) {
			t.Fatalf("running %s: %v\n%s", node, runErr, stderr.String())
		}
		t.Fatalf("expected results for %v, got %d\nstdout:\n%s\nstderr:\n%s", want, len(results), out, stderr.String())
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("the browser script failed: %v\n%s", runErr, stderr.String())
	}

	for name, logs := range map[string]*testlog.Buffer{"main": mainLogs, "faults": faultLogs} {
		if m := issuedCode.FindString(logs.String()); m != "" {
			t.Errorf("the %s runner logged a signup code: %s", name, m)
		}
	}
	if testing.Verbose() {
		fmt.Fprint(os.Stderr, stderr.String())
	}
}
