package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waes/onboarding/internal/testlog"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// The kill tests run the runner as a child process: the test binary itself, re-executed with envKillChild
// set, configured from the environment as `make run` is. The child prints one line per workflow checkpoint
// ("checkpoint <state> <phase>") and, when envHaltAt names a state and phase, SIGKILLs itself right after
// that checkpoint is committed ("halted"): nothing of the process runs on, not even the handling of a webhook
// that arrives at that moment. The Graph simulator lives in the
// parent, so that its world and its count of side effects outlive the child.
const (
	envKillChild = "RUNNER_KILL_CHILD"
	envHaltAt    = "RUNNER_KILL_HALT_AT"
)

// Checkpoint phases: entering a state (the transition), waiting in it (a Wait state or retry back-off,
// or a callback task whose function returned), closed.
const (
	phaseEnter  = "enter"
	phaseWait   = "wait"
	phaseClosed = "closed"
)

func TestMain(m *testing.M) {
	if os.Getenv(envKillChild) != "" {
		os.Exit(runKillChild())
	}
	os.Exit(m.Run())
}

func checkpointPhase(p engine.Progress) string {
	switch {
	case p.Status != engine.StatusRunning:
		return phaseClosed
	case p.Submitted || !p.WakeAt.IsZero():
		return phaseWait
	}
	return phaseEnter
}

func runKillChild() int {
	cfg, err := ConfigFromEnv(os.LookupEnv)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	halt := os.Getenv(envHaltAt)
	var out sync.Mutex
	cfg.afterCheckpoint = func(s engine.ExecutionSnapshot) {
		point := s.Progress.State + " " + checkpointPhase(s.Progress)
		out.Lock()
		fmt.Println("checkpoint", point)
		out.Unlock()
		if point == halt {
			out.Lock()
			fmt.Println("halted")
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	r, err := New(cfg, logging.New(os.Stderr, slog.LevelInfo))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _ = r.Serve() }()
	out.Lock()
	fmt.Println("ready", r.URL)
	out.Unlock()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Shutdown(sctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	return 0
}

// killWorld is what outlives the runner processes of one kill test: the state directory, the address, and
// the Graph simulator with its webhook sender.
type killWorld struct {
	t    *testing.T
	dir  string
	addr string
	sim  *graphsim.Server
	url  string // the simulator's
	env  map[string]string

	// The simulated user (killUser) messages the number once the onboarding waits for it, unless the
	// runner is about to kill itself at that wait (a message then would race with the kill).
	mu      sync.Mutex
	id      string
	halt    string
	sent    bool
	stopped chan struct{}
}

// killUser is the test recipient of the kill tests: not the simulator's tester, so that its message comes
// when the world's driver sends it rather than right after the registration.
const killUser = "+15550001111"

func newKillWorld(t *testing.T, env map[string]string, faults string) *killWorld {
	t.Helper()
	injected, err := graphsim.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	addr := reservePort(t)
	sender := &graphsim.WebhookSender{URL: "http://" + addr + "/webhooks", AppSecret: onboarding.NewSecret(DefaultAppSecret),
		RetryDelay: 50 * time.Millisecond, MaxAttempts: 12}
	sim := graphsim.New(graphsim.Config{
		AppID: DefaultAppID, AppSecret: onboarding.NewSecret(DefaultAppSecret), SystemToken: onboarding.NewSecret(DefaultSystemToken),
		SystemUserID: DefaultSystemUserID, CreditLineID: DefaultCreditLineID, TesterNumber: DefaultTester, Observer: sender,
		Faults: injected,
	})
	u, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &killWorld{t: t, dir: t.TempDir(), addr: addr, sim: sim, url: u, env: env, stopped: make(chan struct{})}
	go w.drive()
	t.Cleanup(func() { close(w.stopped); sender.Close(); sim.Close() })
	return w
}

// reservePort returns a free loopback address for the runners of one kill test, which listen on it one after
// the other. The port is taken below the kernel's ephemeral range when it can be: a port from that range
// (":0") can be handed to another test's listener or to an outgoing connection while no runner holds it,
// and the next runner then fails with "address already in use".
func reservePort(t *testing.T) string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	for range 50 {
		port := 0
		if low > 11000 {
			port = 10000 + rand.IntN(low-10000)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	t.Fatal("no free loopback port")
	return ""
}

// drive plays the user: it sends the message the onboarding waits for, once.
func (w *killWorld) drive() {
	for {
		select {
		case <-w.stopped:
			return
		case <-time.After(10 * time.Millisecond):
		}
		w.mu.Lock()
		id, halt, sent := w.id, w.halt, w.sent
		w.mu.Unlock()
		if id == "" || sent || halt == "await_test_message "+phaseWait {
			continue
		}
		resp, err := http.Get("http://" + w.addr + "/onboardings/" + id)
		if err != nil {
			continue
		}
		var rec map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&rec)
		resp.Body.Close()
		if rec["status"] != string(onboarding.StatusAwaitingTestMessage) {
			continue
		}
		if _, err := w.sim.SendUserMessage(graphsim.UserMessage{From: killUser, PhoneNumberID: phone, Text: "hello"}); err == nil {
			w.mu.Lock()
			w.sent = true
			w.mu.Unlock()
		}
	}
}

func (w *killWorld) watch(id string) {
	w.mu.Lock()
	w.id = id
	w.mu.Unlock()
}

// child is one runner process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	lines  chan string
	stderr *testlog.Buffer
	halt   string
	points []string // checkpoints seen, in order
}

func (w *killWorld) start(halt string) *child {
	t := w.t
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillChild+"=1", envHaltAt+"="+halt,
		EnvAddr+"="+w.addr, EnvGraphBaseURL+"="+w.url, EnvState+"="+StateDisk, EnvStateDir+"="+w.dir, EnvTimeScale+"=0.001")
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	w.mu.Lock()
	w.halt = halt
	w.mu.Unlock()
	c := &child{t: t, cmd: cmd, halt: halt, lines: make(chan string, 256), stderr: &testlog.Buffer{}}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := c.next("ready")
	c.url = strings.TrimPrefix(line, "ready ")
	return c
}

// next reads the child's lines until one starting with prefix, recording the checkpoints on the way.
func (c *child) next(prefix string) string {
	c.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("the runner exited before %q; its log:\n%s", prefix, c.stderr.String())
			}
			if p, ok := strings.CutPrefix(line, "checkpoint "); ok {
				c.points = append(c.points, p)
			}
			if strings.HasPrefix(line, "error") {
				c.t.Fatalf("runner: %s\n%s", line, c.stderr.String())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			c.t.Fatalf("no %q from the runner in 20 s; its log:\n%s", prefix, c.stderr.String())
		}
	}
}

// drain records the checkpoints printed so far.
func (c *child) drain() {
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				return
			}
			if p, ok := strings.CutPrefix(line, "checkpoint "); ok {
				c.points = append(c.points, p)
			}
		default:
			return
		}
	}
}

// killed waits for the child that SIGKILLed itself at its halt point.
func (c *child) killed() {
	c.t.Helper()
	c.next("halted")
	err := c.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		c.t.Fatalf("the runner did not die of SIGKILL: %v", err)
	}
}

// stop is Ctrl-C: SIGTERM, and a clean exit.
func (c *child) stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		for range c.lines {
		}
	}()
	if err := c.cmd.Wait(); err != nil {
		c.t.Fatalf("the runner did not stop cleanly on SIGTERM: %v\n%s", err, c.stderr.String())
	}
}

func (c *child) get(path string, v any) int {
	c.t.Helper()
	resp, err := http.Get(c.url + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		_ = json.Unmarshal(b, v)
	}
	return resp.StatusCode
}

// signup posts a signup and returns the onboarding id, or "" when the runner died before it answered (it
// may kill itself right after the execution's start).
func (c *child) signup(extra string) string {
	c.t.Helper()
	code := fmt.Sprintf("sim:%s:%s:%s", waba, phone, onboarding.NewID())
	body := fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q%s}`, code, waba, phone, extra)
	resp, err := http.Post(c.url+"/signup", "application/json", strings.NewReader(body))
	if err != nil && c.halt != "" {
		return ""
	}
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusAccepted {
		c.t.Fatalf("signup: got %d %v", resp.StatusCode, m)
	}
	return m["id"].(string)
}

// outcome is what an onboarding ended as: the record's status and step statuses, the execution's status
// and the states it went through.
type outcome struct {
	status      string
	steps       map[string]string
	execution   string
	executions  int
	transitions []string
}

func (o outcome) String() string {
	return fmt.Sprintf("%s %v, execution %s (%d), states %v", o.status, o.steps, o.execution, o.executions, o.transitions)
}

func (o outcome) equal(p outcome) bool {
	return o.status == p.status && fmt.Sprint(o.steps) == fmt.Sprint(p.steps) && o.execution == p.execution &&
		o.executions == p.executions && slices.Equal(o.transitions, p.transitions)
}

// finish waits for the onboarding's execution to close and returns the outcome.
func (c *child) finish(id string) outcome {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var m struct {
			Executions []struct {
				Status string                `json:"status"`
				Events []engine.HistoryEvent `json:"events"`
			} `json:"executions"`
		}
		c.get("/_local/executions/"+id, &m)
		if n := len(m.Executions); n > 0 && m.Executions[n-1].Status != string(engine.StatusRunning) {
			var rec map[string]any
			c.get("/onboardings/"+id, &rec)
			o := outcome{status: fmt.Sprint(rec["status"]), steps: map[string]string{}, execution: m.Executions[n-1].Status, executions: n}
			for name, s := range stepsOf(rec) {
				o.steps[name] = fmt.Sprint(s["status"])
			}
			for _, ev := range m.Executions[n-1].Events {
				if d := ev.StateEnteredEventDetails; d != nil {
					o.transitions = append(o.transitions, d.Name)
				}
			}
			return o
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("onboarding %s: the execution did not close in 30 s: %+v\n%s", id, m, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onlyOnboarding returns the onboarding id of the one execution the runner has.
func (c *child) onlyOnboarding() string {
	c.t.Helper()
	var m struct {
		Executions []engine.ExecutionDescription `json:"executions"`
	}
	c.get("/_local/executions", &m)
	if len(m.Executions) != 1 {
		c.t.Fatalf("executions: got %v, want the one the signup started", m.Executions)
	}
	return onboardingIDOf(m.Executions[0].Name)
}

func sideEffects(sim *graphsim.Server) map[string]int {
	m := map[string]int{}
	for _, call := range sideEffectCalls {
		m[call] = sim.SideEffects(call)
	}
	return m
}

// killPoints are the distinct checkpoints of a run, in order, except the closing one.
func killPoints(points []string) []string {
	var out []string
	for _, p := range points {
		if !strings.HasSuffix(p, " "+phaseClosed) && !strings.HasPrefix(p, " ") && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// TestKillAtEveryState: an onboarding whose runner is SIGKILLed right after any checkpoint of its workflow
// (entering each state it goes through; sleeping in a Wait state or a retry back-off; waiting in a callback
// state) and started again on the same state directory ends as the uninterrupted one does: same status,
// step statuses, execution status and states, one execution, and the same side effects at Meta (each once).
// The kill points are the checkpoints of an uninterrupted run, so the matrix follows the definition.
func TestKillAtEveryState(t *testing.T) {
	for _, sc := range []struct{ name, faults string }{
		{"verified", ""},
		// A transient error retried after a back-off, and Meta's fixed wait before a registration (a Wait state).
		{"retry and wait", "subscribed_apps.POST:2x1,register:133015x1"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			killAtEveryState(t, sc.faults)
		})
	}
}

func killAtEveryState(t *testing.T, faults string) {
	const extra = `,"test_recipient":"` + killUser + `"`
	base := newKillWorld(t, nil, faults)
	c := base.start("")
	id := c.signup(extra)
	base.watch(id)
	want := c.finish(id)
	c.drain()
	wantEffects := sideEffects(base.sim)
	points := killPoints(c.points)
	c.stop()
	if want.status != string(onboarding.StatusVerified) || len(points) < 10 {
		t.Fatalf("uninterrupted run: got %v with checkpoints %v, want VERIFIED", want, points)
	}
	if !slices.Contains(points, "await_test_message "+phaseWait) {
		t.Fatalf("no checkpoint while waiting for the test message: %v", points)
	}
	if faults != "" && !slices.Contains(points, "wait_before_register "+phaseWait) {
		t.Fatalf("no checkpoint in the Wait state: %v", points)
	}
	// A restart after a clean stop still serves the closed execution.
	c = base.start("")
	if got := c.finish(id); !got.equal(want) {
		t.Errorf("after a restart: got %v, want %v", got, want)
	}
	c.stop()

	t.Logf("%-28s %-10s %-9s %s", "killed after checkpoint", "status", "execution", "side effects at Meta")
	for _, point := range points {
		t.Run(strings.ReplaceAll(point, " ", "@"), func(t *testing.T) {
			// Each case has its own state directory, address and simulator; the runners mostly wait.
			t.Parallel()
			began := time.Now()
			w := newKillWorld(t, nil, faults)
			c := w.start(point)
			id := c.signup(extra)
			w.watch(id)
			c.killed()
			c = w.start("")
			if id == "" {
				id = c.onlyOnboarding()
				w.watch(id)
			}
			got := c.finish(id)
			effects := sideEffects(w.sim)
			// No clean stop: it would wait for a webhook redelivery that the killed runner's claim keeps busy
			// for a minute (the worker's lease), which is not what this test is about.
			t.Logf("%-28s %-10s %-9s %v", point, got.status, got.execution, effects)
			if testing.Verbose() && time.Since(began) > 3*time.Second {
				t.Logf("slow case: the restarted runner's log:\n%s", c.stderr.String())
			}
			if !got.equal(want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if fmt.Sprint(effects) != fmt.Sprint(wantEffects) {
				t.Errorf("side effects at Meta: got %v, want %v", effects, wantEffects)
			}
		})
	}
}

// TestKillWhileWaitingPastTheTimeout: a runner killed while its onboarding waits for the test message, and
// started again after the wait's timeout, times the wait out as Step Functions would (States.Timeout, into
// the state's Catch): the onboarding fails on send_test_message as an uninterrupted run with no message does.
func TestKillWhileWaitingPastTheTimeout(t *testing.T) {
	const extra = `,"test_recipient":"+15550001113"`
	env := map[string]string{EnvInboundTimeout: "1"}
	base := newKillWorld(t, env, "")
	c := base.start("")
	want := c.finish(c.signup(extra))
	c.stop()
	if want.status != string(onboarding.StatusFailed) || want.steps["send_test_message"] != "FAILED" {
		t.Fatalf("uninterrupted run: got %v, want FAILED on send_test_message", want)
	}

	w := newKillWorld(t, env, "")
	c = w.start("await_test_message " + phaseWait)
	id := c.signup(extra)
	c.killed()
	time.Sleep(1200 * time.Millisecond)
	c = w.start("")
	got := c.finish(id)
	c.stop()
	if !got.equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if n := w.sim.SideEffects(graph.CallRegister); n != 1 {
		t.Errorf("registrations at Meta: got %d, want 1", n)
	}
}

// TestCtrlCResumesAWaitingOnboarding: SIGTERM stops the runner cleanly while an onboarding waits for its
// test message; the next start resumes the wait with the same token, and the message that arrives then
// verifies the onboarding.
func TestCtrlCResumesAWaitingOnboarding(t *testing.T) {
	const user = "+15550001112" // not the driver's: the test sends the message itself
	w := newKillWorld(t, map[string]string{EnvInboundTimeout: "600"}, "")
	c := w.start("")
	id := c.signup(`,"test_recipient":"` + user + `"`)
	for !slices.Contains(c.points, "await_test_message "+phaseWait) {
		c.next("checkpoint")
	}
	c.stop()

	c = w.start("")
	var rec map[string]any
	c.get("/onboardings/"+id, &rec)
	if rec["status"] != string(onboarding.StatusAwaitingTestMessage) {
		t.Fatalf("after the restart: got %v, want %s", rec["status"], onboarding.StatusAwaitingTestMessage)
	}
	if _, err := w.sim.SendUserMessage(graphsim.UserMessage{From: user, PhoneNumberID: phone, Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	got := c.finish(id)
	c.stop()
	if got.status != string(onboarding.StatusVerified) || got.execution != string(engine.StatusSucceeded) || got.executions != 1 {
		t.Errorf("got %v, want VERIFIED by the one execution", got)
	}
}
