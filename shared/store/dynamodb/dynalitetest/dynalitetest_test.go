package dynalitetest

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/waes/onboarding/internal/testenv"
)

func TestLaunchWithoutNodeModules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	srv, err := Launch()
	if err == nil {
		srv.Close()
		t.Fatal("Launch without node_modules: got nil error, want one")
	}
	if got, want := err.Error(), "make deps"; !strings.Contains(got, want) {
		t.Errorf("error: got %q, want it to mention %q", got, want)
	}
}

func TestLaunchServeClose(t *testing.T) {
	if err := Missing(); err != nil {
		testenv.Unavailable(t, testenv.EnvRequireNodeTools, err)
	}
	srv, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	// Registered first, so it runs after NewTable's cleanup has deleted the table.
	t.Cleanup(func() {
		srv.Close()
		srv.Close() // idempotent
		if conn, err := net.Dial("tcp", u.Host); err == nil {
			conn.Close()
			t.Errorf("dynalite still accepts connections on %s after Close", u.Host)
		}
	})
	if got, want := u.Hostname(), "127.0.0.1"; got != want {
		t.Errorf("endpoint host: got %s, want %s", got, want)
	}

	client := NewClient(srv.Endpoint)
	table := NewTable(t, client)
	out, err := client.ListTables(context.Background(), &ddb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.TableNames; len(got) != 1 || got[0] != table {
		t.Errorf("tables: got %v, want [%s]", got, table)
	}
}
