package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/waes/onboarding/bench/internal/loadgen"
	"github.com/waes/onboarding/bench/internal/stats"
	"github.com/waes/onboarding/bench/lambdaenv"
	"github.com/waes/onboarding/infra/local/runner"
)

// peerBench is one side-by-side comparison: its flags, and the commands that start each target's server.
type peerBench struct {
	warm                                  float64
	conc, rounds                          int
	serverCPU, genCPU, self, secret, proj string
	targets                               []string
	servers                               map[string][]string
}

// peerSize is one payload size of the comparison.
type peerSize struct {
	name, flag string
	n          int
}

// peerRow is a target's best round at one payload size and CPU configuration.
type peerRow struct {
	size, config, target string
	res                  summary
	cpuPerReq            time.Duration
}

// cmdPeer runs the side-by-side comparison. For each payload size and CPU configuration, every target gets a
// fresh server process, a warm-up, then the measured requests, each sent by a separate generator process
// (`load send`) that builds the same signed payloads byte for byte from the same seed and sends them over the
// same number of keep-alive connections. Every payload is unique, so the project's dedupe stores every event
// (no duplicate fast path). Targets run interleaved, -rounds times; the best round of each is reported, which
// keeps other work on the machine from deciding the ratio.
func cmdPeer(args []string) error {
	p := peerBench{secret: runner.DefaultAppSecret}
	fs := flag.NewFlagSet("peer", flag.ExitOnError)
	n1k := fs.Int("n-1kb", 60000, "measured requests of ~1 KB per run")
	n100k := fs.Int("n-100kb", 2000, "measured requests of ~100 KB per run")
	fs.Float64Var(&p.warm, "warmup", 0.25, "warm-up requests, as a fraction of the measured ones")
	fs.IntVar(&p.conc, "c", 32, "concurrent keep-alive connections")
	configs := fs.String("configs", "pinned,shared", "CPU configurations: pinned (the server alone on one core, the generator on another: Go GOMAXPROCS=1 vs Node's one thread), shared (no pinning, Go's default GOMAXPROCS)")
	fs.StringVar(&p.serverCPU, "server-cpu", "1", "the core servers are pinned to in the pinned configuration (taskset -c)")
	fs.StringVar(&p.genCPU, "gen-cpu", "0", "the core(s) the generator is pinned to in the pinned configuration")
	fs.IntVar(&p.rounds, "rounds", 2, "rounds per configuration (targets interleaved); the best round of each target is reported")
	fs.StringVar(&p.proj, "project", "handler", "the project's server: handler (the webhook handler with the inline worker on the in-memory store) or runner (the whole local runner, as make run)")
	targetList := fs.String("targets", "peer,project,gofloor,cfloor", "what to run: peer (Node), project, gofloor (the peer's program in Go, for reference), cfloor (bench/peer/cfloor.c: the least any server can do per request here)")
	cfloor := fs.String("cfloor", "", "the C floor's binary (default: cfloor beside this program, as make bench-tools builds it); the cfloor target is skipped when it is missing")
	node := fs.String("node", "node", "the Node.js binary")
	peerJS := fs.String("peer", "bench/peer/server.js", "the peer's server script")
	_ = fs.Parse(args)

	if _, err := exec.LookPath("taskset"); err != nil && strings.Contains(*configs, "pinned") {
		fmt.Fprintln(os.Stderr, "taskset not found: skipping the pinned configuration")
		*configs = strings.ReplaceAll(*configs, "pinned", "")
	}
	var err error
	if p.self, err = os.Executable(); err != nil {
		return err
	}
	nodeVersion, err := exec.Command(*node, "--version").Output()
	if err != nil {
		return fmt.Errorf("running %s --version: %w", *node, err)
	}
	if *cfloor == "" {
		*cfloor = filepath.Join(filepath.Dir(p.self), "cfloor")
	}
	p.targets = slices.DeleteFunc(strings.Split(*targetList, ","), func(t string) bool {
		if _, err := os.Stat(*cfloor); t == "cfloor" && err != nil {
			fmt.Fprintf(os.Stderr, "%s not found (make bench-tools builds it with a C compiler): skipping the C floor\n", *cfloor)
			return true
		}
		return false
	})
	p.servers = map[string][]string{"peer": {*node, *peerJS}, "project": {p.self, "serve", "-target", p.proj},
		"gofloor": {p.self, "serve", "-target", "gofloor"}, "cfloor": {*cfloor}}
	load0 := stats.LoadAvg(1)
	var groups [][]peerRow // per size and configuration, one row per target
	for si, sz := range []peerSize{{"~1 KB", "1kb", *n1k}, {"~100 KB", "100kb", *n100k}} {
		for _, cfg := range strings.Split(*configs, ",") {
			if cfg == "" {
				continue
			}
			group, err := p.group(si, sz, cfg)
			if err != nil {
				return err
			}
			groups = append(groups, group)
		}
	}
	p.print(groups, strings.TrimSpace(string(nodeVersion)))
	fmt.Printf("\n1-minute load average before / after the runs: %s / %s (other work on the machine shows here).\n", load0, stats.LoadAvg(1))
	return nil
}

// group runs the rounds of one payload size (the si-th) and CPU configuration and returns each target's
// best round.
func (p *peerBench) group(si int, sz peerSize, cfg string) ([]peerRow, error) {
	pinned := cfg == "pinned"
	best := map[string]peerRow{}
	for round := 0; round < p.rounds; round++ {
		for _, target := range p.targets {
			argv, ok := p.servers[target]
			if !ok {
				return nil, fmt.Errorf("unknown target %q", target)
			}
			if pinned {
				argv = append([]string{"taskset", "-c", p.serverCPU}, argv...)
			}
			server := exec.Command(argv[0], argv[1:]...)
			server.Env = append(os.Environ(), serverEnv(target, pinned, p.secret)...)
			gen := func(n int, seq int64, url string) *exec.Cmd {
				a := []string{p.self, "send", "-json", "-url", url, "-size", sz.flag, "-n", strconv.Itoa(n),
					"-seq", strconv.FormatInt(seq, 10), "-c", strconv.Itoa(p.conc), "-secret", p.secret}
				if pinned {
					a = append([]string{"taskset", "-c", p.genCPU}, a...)
				}
				return exec.Command(a[0], a[1:]...)
			}
			// Warm-up and measured payloads come from disjoint wamid ranges.
			base := int64(si+1) * 1e13
			m, err := measure(server, func(url string) *exec.Cmd { return gen(int(float64(sz.n)*p.warm), base, url) },
				func(url string) *exec.Cmd { return gen(sz.n, base+5e12, url) })
			if err != nil {
				return nil, fmt.Errorf("%s, %s, %s: %w", sz.name, cfg, target, err)
			}
			if m.res.Errors > 0 || m.res.Statuses[200] != m.res.Requests {
				return nil, fmt.Errorf("%s, %s, %s: %d transport errors, statuses %v", sz.name, cfg, target, m.res.Errors, m.res.Statuses)
			}
			fmt.Fprintf(os.Stderr, "  %-7s %-7s %-8s round %d: %8.0f req/s  p50 %s ms  p99 %s ms  server CPU %s/req\n",
				sz.name, cfg, target, round+1, m.res.reqPerSec(), loadgen.Ms(m.res.P50), loadgen.Ms(m.res.P99), m.cpu)
			if prev, ok := best[target]; !ok || m.res.reqPerSec() > prev.res.reqPerSec() {
				best[target] = peerRow{size: sz.name, config: cfg, target: target, res: m.res, cpuPerReq: m.cpu}
			}
		}
	}
	var group []peerRow
	for _, t := range p.targets {
		group = append(group, best[t])
	}
	return group, nil
}

// print prints the comparison's table, each target's ratio to the peer in its group.
func (p *peerBench) print(groups [][]peerRow, nodeVersion string) {
	names := map[string]string{"peer": "peer (Node)", "project": "**project** (Go)", "gofloor": "Go floor (reference)", "cfloor": "C floor (ceiling)"}
	fmt.Printf("\n### Webhook intake vs a typical Node.js receiver (loopback, %d connections, Node %s, %d cores, best of %d rounds)\n\n",
		p.conc, nodeVersion, runtime.NumCPU(), p.rounds)
	fmt.Printf("pinned: each server alone on core %s (taskset; Go with GOMAXPROCS=1, Node single-threaded), the generator on core %s. "+
		"shared: no pinning, Go's default GOMAXPROCS=%d, Node still one JavaScript thread, the generator competing for the same cores. "+
		"project: %s. Go floor: the peer's program in Go. C floor: bench/peer/cfloor.c, which frames each request and answers "+
		"without checking or parsing anything, so its ratio to the peer is the most any server could show here.\n\n", p.serverCPU, p.genCPU, runtime.NumCPU(), projectDescription(p.proj))
	fmt.Println("| payload | CPUs | server | req/s | MB/s | p50 ms | p99 ms | server CPU / req | ÷ peer |")
	fmt.Println("|---|---|---|---:|---:|---:|---:|---:|---:|")
	for _, group := range groups {
		var peer peerRow
		for _, r := range group {
			if r.target == "peer" {
				peer = r
			}
		}
		for _, r := range group {
			ratio := ""
			if r.target != "peer" && peer.target != "" {
				ratio = fmt.Sprintf("%.2fx req/s, %.2fx CPU/req", r.res.reqPerSec()/peer.res.reqPerSec(), float64(r.cpuPerReq)/float64(peer.cpuPerReq))
				if r.target == "project" {
					ratio = "**" + strings.Replace(ratio, " req/s", "** req/s", 1)
				}
			}
			fmt.Printf("| %s (%d B) | %s | %s | %.0f | %.1f | %s | %s | %s | %s |\n", r.size, r.res.BodyBytes/int64(max(1, r.res.Requests)),
				r.config, names[r.target], r.res.reqPerSec(), r.res.mbPerSec(), loadgen.Ms(r.res.P50), loadgen.Ms(r.res.P99),
				r.cpuPerReq.Round(100*time.Nanosecond), ratio)
		}
	}
}

func projectDescription(p string) string {
	if p == "runner" {
		return "the whole local runner as `make run` serves it (POST /webhooks with the inline worker, partner events kept and logged)"
	}
	return "the webhook handler with the local runner's inline worker on the in-memory store (signature, parse, dedupe claim, status, correlation lookup and completion of every event; JSON logs encoded and discarded)"
}

func serverEnv(target string, pinned bool, secret string) []string {
	if target == "peer" {
		return []string{"APP_SECRET=" + secret, "PORT=0"}
	}
	if pinned {
		return []string{"GOMAXPROCS=1"}
	}
	return nil
}

type measured struct {
	res summary
	cpu time.Duration // server CPU time per measured request
}

// measure starts the server, waits for its "listening <url>" line, runs the warm-up generator, then the
// measured one, and stops the server. The server's CPU time is read around the measured run.
func measure(server *exec.Cmd, warm, run func(url string) *exec.Cmd) (measured, error) {
	server.Stderr = os.Stderr
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := server.StdoutPipe()
	if err != nil {
		return measured{}, err
	}
	if err := server.Start(); err != nil {
		return measured{}, err
	}
	defer func() {
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	base, err := listening(out)
	if err != nil {
		return measured{}, err
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	url := base + "/webhooks"
	if _, err := generate(warm(url)); err != nil {
		return measured{}, fmt.Errorf("warm-up: %w", err)
	}
	time.Sleep(200 * time.Millisecond) // let the warm-up's garbage collection settle
	st0, err := lambdaenv.ReadStat(server.Process.Pid)
	if err != nil {
		return measured{}, err
	}
	res, err := generate(run(url))
	if err != nil {
		return measured{}, err
	}
	st1, err := lambdaenv.ReadStat(server.Process.Pid)
	if err != nil {
		return measured{}, err
	}
	return measured{res: res, cpu: (st1.CPU() - st0.CPU()) / time.Duration(max(1, res.Requests))}, nil
}

// generate runs a `load send -json` process and decodes its summary.
func generate(cmd *exec.Cmd) (summary, error) {
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return summary{}, err
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		return summary{}, fmt.Errorf("reading the generator's summary %q: %w", stdout.String(), err)
	}
	return s, nil
}

// listening reads the server's first line "listening http://host:port" and returns the base URL.
func listening(out io.Reader) (string, error) {
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
		if !ok {
			return "", fmt.Errorf("unexpected first line %q", line)
		}
		if _, err := url.Parse(rest); err != nil {
			return "", err
		}
		return rest, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("the server did not start within 30 s")
	}
}
