// Package dynalitetest runs dynalite, a DynamoDB implementation in Node.js installed in the repository's
// node_modules by `make deps`, for tests of DynamoDB adapters.
//
// One server runs per test package:
//
//	func TestMain(m *testing.M) { dynalitetest.Main(m) }
//
// and each test takes its own table:
//
//	client := dynalitetest.Client(t)
//	table := dynalitetest.NewTable(t, client)
//
// The server listens on 127.0.0.1 only, and clients use static dummy credentials and an explicit endpoint,
// so tests never reach AWS. Without Node.js or node_modules the tests that need dynalite skip under a plain
// go test and fail under `make test` (REQUIRE_NODE_TOOLS, see internal/testenv): run `make deps`.
package dynalitetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/waes/onboarding/internal/testenv"
	"github.com/waes/onboarding/internal/testlog"
	store "github.com/waes/onboarding/shared/store/dynamodb"
)

const (
	// startTimeout bounds how long Launch waits for dynalite to accept connections (node's start-up is slow on
	// a loaded CI machine, hence the margin).
	startTimeout = 30 * time.Second
	// launchAttempts: the free port is found by binding and releasing it, so another process may take it before
	// dynalite binds; then dynalite exits and Launch tries another port.
	launchAttempts = 3
)

// watchdog is the Node script that runs dynalite's CLI (its path is the first argument) and exits when its
// standard input closes, that is when the Go test process is gone: a test binary that panics or is killed by
// -timeout skips its cleanup, and without this dynalite would outlive it.
const watchdog = `process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
require(process.argv[1]);`

// Server is a running dynalite process.
type Server struct {
	// Endpoint is the base URL, http://127.0.0.1:<port>.
	Endpoint string

	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	exited chan struct{}
	output *testlog.Buffer
	once   sync.Once
}

// Launch starts dynalite on a free loopback port and waits until it accepts connections.
func Launch() (*Server, error) {
	node, cli, err := tools()
	if err != nil {
		return nil, err
	}
	var errs []error
	for range launchAttempts {
		srv, err := launch(node, cli)
		if err == nil {
			return srv, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func launch(node, cli string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", watchdog, cli,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		// Tables become ACTIVE at once: CreateTable's wait would otherwise add half a second to every test.
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	out := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	setProcessGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("dynalitetest: stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynalitetest: starting %s: %w", cli, err)
	}
	srv := &Server{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:      cmd,
		stdin:    stdin,
		exited:   make(chan struct{}),
		output:   out,
	}
	go func() {
		_ = cmd.Wait() // the exit status is reported through output when it matters
		close(srv.exited)
	}()
	if err := srv.waitReady(port); err != nil {
		srv.Close()
		return nil, err
	}
	return srv, nil
}

// listening is dynalite's start-up line; seeing it tells our dynalite from another process that took the port.
var listening = regexp.MustCompile(`Dynalite listening at: https?://[^:]+:(\d+)`)

func (s *Server) waitReady(port int) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("dynalitetest: dynalite exited during start-up on port %d: %s", port, s.output.String())
		default:
		}
		if m := listening.FindStringSubmatch(s.output.String()); m != nil && m[1] == strconv.Itoa(port) {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				_ = conn.Close()
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("dynalitetest: dynalite did not accept connections on port %d within %s: %s", port, startTimeout, s.output.String())
}

// Close stops the server and its process group and waits for it to exit. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		killProcessGroup(s.cmd)
		_ = s.stdin.Close()
		<-s.exited
	})
}

// repoRoot finds the module root (the directory with go.mod) above the working directory, which `go test`
// sets to the package directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("dynalitetest: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dynalitetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// cliPath returns the path of dynalite's CLI script, as its package.json "bin" names it.
func cliPath() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	pkgDir := filepath.Join(root, "node_modules", "dynalite")
	data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", fmt.Errorf("dynalitetest: dynalite is not installed in %s (run `make deps`): %w", filepath.Join(root, "node_modules"), err)
	}
	var pkg struct {
		Bin json.RawMessage `json:"bin"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("dynalitetest: reading %s: %w", filepath.Join(pkgDir, "package.json"), err)
	}
	// "bin" is either a path or a map from command names to paths.
	var bin string
	if err := json.Unmarshal(pkg.Bin, &bin); err != nil {
		var bins map[string]string
		if err := json.Unmarshal(pkg.Bin, &bins); err != nil || bins["dynalite"] == "" {
			return "", fmt.Errorf("dynalitetest: %s names no dynalite bin", filepath.Join(pkgDir, "package.json"))
		}
		bin = bins["dynalite"]
	}
	cli := filepath.Join(pkgDir, bin)
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("dynalitetest: dynalite install is incomplete (run `make deps`): %w", err)
	}
	return cli, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dynalitetest: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	shared        *Server
	sharedClients sync.Map // endpoint → *ddb.Client
	tableSeq      atomic.Int64
)

// Main starts one dynalite server for the test package, runs its tests and benchmarks, stops the server and
// exits. Call it from TestMain. If dynalite cannot start although it is installed, every test fails; if Node.js
// or dynalite is not installed, the tests that need the server skip (or fail under REQUIRE_NODE_TOOLS), and
// the others run.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

// Missing returns why dynalite cannot run here (Node.js or the npm package is not installed), or nil.
func Missing() error {
	_, _, err := tools()
	return err
}

// tools returns the paths of node and of dynalite's CLI script.
func tools() (node, cli string, err error) {
	if cli, err = cliPath(); err != nil {
		return "", "", err
	}
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", fmt.Errorf("dynalitetest: node not found in PATH (install Node.js >= 20, then run `make deps`): %w", err)
	}
	return node, cli, nil
}

func runMain(m *testing.M) int {
	if missing := Missing(); missing != nil {
		if testenv.Required(testenv.EnvRequireNodeTools) {
			fmt.Fprintf(os.Stderr, "FAIL: %v (%s is set)\n", missing, testenv.EnvRequireNodeTools)
			return 1
		}
		return m.Run() // Start skips each test that needs the server
	}
	srv, err := Launch()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	defer srv.Close()
	shared = srv
	return m.Run()
}

// Start returns the endpoint of the package's server started by Main or, without Main, starts a server for
// tb and stops it when tb ends.
func Start(tb testing.TB) string {
	tb.Helper()
	if shared != nil {
		return shared.Endpoint
	}
	if err := Missing(); err != nil {
		testenv.Unavailable(tb, testenv.EnvRequireNodeTools, err)
	}
	srv, err := Launch()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	return srv.Endpoint
}

// NewClient returns a DynamoDB client for a dynalite endpoint: region us-east-1, static dummy credentials,
// no shared config or environment (nothing can send it to AWS).
func NewClient(endpoint string) *ddb.Client {
	return ddb.New(ddb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("dynalite", "dynalite", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

// Client returns a client for Start(tb)'s server, shared by the tests of the package.
func Client(tb testing.TB) *ddb.Client {
	tb.Helper()
	endpoint := Start(tb)
	c, _ := sharedClients.LoadOrStore(endpoint, NewClient(endpoint))
	return c.(*ddb.Client)
}

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// NewTable creates a table of its own for tb with the store's schema (dynamodb.CreateTable) and deletes it
// when tb ends. The name is unique in the package run and derived from the test's name, for debugging.
func NewTable(tb testing.TB, client *ddb.Client) string {
	tb.Helper()
	name := unsafeTableChars.ReplaceAllString(tb.Name(), "_")
	name = fmt.Sprintf("t%d_%s", tableSeq.Add(1), name)
	if len(name) > 255 {
		name = name[:255]
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := store.CreateTable(ctx, client, name); err != nil {
		tb.Fatalf("creating table: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			tb.Errorf("deleting table %s: %v", name, err)
		}
	})
	return name
}
