package stack_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/waes/onboarding/internal/testenv"
)

// validateASL runs the pinned asl-validator (package.json) on def. A missing node_modules skips the test
// under a plain go test and fails it under `make test` (REQUIRE_NODE_TOOLS), so CI cannot pass silently.
func validateASL(t *testing.T, root, def string) {
	t.Helper()
	validator := filepath.Join(root, "node_modules", ".bin", "asl-validator")
	testenv.NodeTools(t, filepath.Join("node_modules", ".bin", "asl-validator"))
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
