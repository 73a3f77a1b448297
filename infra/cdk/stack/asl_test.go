package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// validateASL runs the pinned asl-validator (package.json) on def. A missing node_modules fails the test
// rather than skipping it: CI installs the Node tools, and a skipped check would pass silently.
func validateASL(t *testing.T, root, def string) {
	t.Helper()
	validator := filepath.Join(root, "node_modules", ".bin", "asl-validator")
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("asl-validator is not installed (%v): run `make deps`", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: install Node.js (package.json engines) and run `make deps`")
	}
	file := filepath.Join(t.TempDir(), "definition.asl.json")
	if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", validator, "--json-path", file)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator rejects the deployed definition: %v\n%s", err, out)
	}
	t.Logf("asl-validator: %s", out)
}
