// Command lambdabench runs the project's Lambda functions and the Node.js peer under AWS's Runtime Interface
// Emulator, against dynalite (DynamoDB), goaws (SQS) and a stand-in for Secrets Manager, EventBridge and Step
// Functions, and measures what Lambda bills and what a cold start costs: cold start (first invocation sent
// to first answer, the runtime started by it) and the emulator's Init Duration, warm latency p50/p99, CPU
// time per invocation of the runtime process (/proc/<pid>/stat), peak RSS (VmHWM), log bytes and AWS calls
// per invocation. Rounds are interleaved (every target once per round, the order rotating), so that a burst
// of other work on the machine spoils one round of a target, not all; the tables report medians over rounds.
//
//	lambdabench -functions build/bench/lambda -rie build/bench/bin/aws-lambda-rie -goaws build/bench/bin/goaws
//
// It prints markdown tables, ends with the line "lambda vs node: cold start X.XXx faster, warm CPU per
// invocation Y.YYx less", and writes the figures as JSON (-json) for bench/cmd/cost.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/bench/internal/stats"
	"github.com/waes/onboarding/bench/lambdaenv"
)

const (
	appSecret   = "bench-app-secret-0123456789abcdef"
	verifyToken = "bench-verify-token"
	table       = "onboarding-bench"
	queueName   = "webhooks-bench"
	// peerQueue is the Node.js peer's queue: its messages are not the worker's format.
	peerQueue   = "webhooks-peer"
	stageSecret = "wa-onboarding/bench/stage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lambdabench:", err)
		os.Exit(1)
	}
}

// phase is one kind of warm invocation of a target.
type phase struct {
	Name string
	// next returns the i-th event of the phase.
	next cycleFunc
	// check tells whether an answer is the one expected.
	check func([]byte) error
	// min and max bound the count of invocations, which run for -budget.
	min, max int
	// itemsPerInvocation scales a per-invocation figure to a per-item one (events per SQS batch); 0 = 1.
	itemsPerInvocation int
}

type target struct {
	Key, Name string
	Runtime   string
	cmd       []string
	dir       string
	env       []string
	// cold returns the cold invocation's event (nil: the first phase's first event); the first phase's
	// check applies to its answer.
	cold   cycleFunc
	phases []phase
	// purge empties the target's queue before it runs (messages from earlier rounds are not needed).
	purge func() error
	res   *lambdaenv.TargetResult
}

// bench is one run: the emulator, how long each target runs, and the counter of the AWS requests.
type bench struct {
	rieBin string
	colds  int
	// budget is the time each warm phase runs for.
	budget time.Duration
	// logDir receives a sample of each target's output (next to the JSON figures).
	logDir string
	count  *lambdaenv.Counter
}

func run() error {
	fnDir := flag.String("functions", "build/bench/lambda", "directory of the host-architecture function builds (<name>/bootstrap)")
	b := &bench{count: lambdaenv.NewCounter()}
	flag.StringVar(&b.rieBin, "rie", "build/bench/bin/aws-lambda-rie", "the Runtime Interface Emulator binary")
	goawsBin := flag.String("goaws", "build/bench/bin/goaws", "the goaws binary")
	peerDir := flag.String("peer", "bench/peer/node-lambda", "the Node.js peer's directory")
	rounds := flag.Int("rounds", 7, "interleaved rounds")
	flag.IntVar(&b.colds, "colds", 3, "cold starts per target per round (the last one goes on with the warm phases)")
	flag.DurationVar(&b.budget, "budget", 3*time.Second, "time each warm phase runs for (within its minimum and maximum counts)")
	jsonOut := flag.String("json", "build/bench/lambda.json", "write the figures here")
	only := flag.String("only", "", "comma-separated target keys (default: all)")
	flag.Parse()

	if *jsonOut != "" {
		b.logDir = filepath.Dir(*jsonOut)
	}
	for _, p := range []*string{&b.rieBin, goawsBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	work, err := os.MkdirTemp("", "lambdabench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	q, err := lambdaenv.StartGoaws(*goawsBin, work, queueName, peerQueue)
	if err != nil {
		return err
	}
	defer q.Close()
	secret, _ := json.Marshal(map[string]string{"app_id": "1234567890", "app_secret": appSecret, "webhook_verify_token": verifyToken})
	edge, err := lambdaenv.StartEdge(q.URL, map[string]string{stageSecret: string(secret)}, b.count)
	if err != nil {
		return err
	}
	defer edge.Close()
	ctx := context.Background()
	ddb, err := lambdaenv.StartDynalite(ctx, table, b.count)
	if err != nil {
		return err
	}
	defer ddb.Close()
	if err := lambdaenv.SeedCompletedOnboarding(ctx, ddb.URL, table, metahook.DefaultWABA, metahook.DefaultPhone); err != nil {
		return err
	}
	targets, nodeRuntime, err := newTargets(q, edge, functionEnv(ddb.URL, edge, filepath.Join(work, "none")), *fnDir, *peerDir)
	if err != nil {
		return err
	}
	if *only != "" {
		keep := strings.Split(*only, ",")
		targets = slices.DeleteFunc(targets, func(t *target) bool { return !slices.Contains(keep, t.Key) })
	}
	for _, t := range targets {
		if _, err := os.Stat(t.cmd[0]); err != nil {
			if _, lerr := exec.LookPath(t.cmd[0]); lerr != nil {
				return fmt.Errorf("%s: %w (run `make bench-lambda`, which builds the functions)", t.Key, err)
			}
		}
	}
	res, err := b.runRounds(targets, *rounds, nodeRuntime)
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err == nil {
			out, _ := json.MarshalIndent(res, "", "  ")
			if err := os.WriteFile(*jsonOut, out, 0o644); err != nil {
				return err
			}
		}
	}
	report(os.Stdout, res)
	return nil
}

// runRounds runs every target once per round and gathers the figures.
func (b *bench) runRounds(targets []*target, rounds int, nodeRuntime string) (*lambdaenv.Results, error) {
	res := &lambdaenv.Results{When: time.Now().UTC(), LoadBefore: stats.LoadAvg(3), Rounds: rounds, NodeRuntime: nodeRuntime}
	for _, t := range targets {
		t.res = &lambdaenv.TargetResult{Key: t.Key, Name: t.Name, Runtime: t.Runtime, Phases: map[string][]lambdaenv.PhaseResult{}}
		for _, p := range t.phases {
			t.res.Order = append(t.res.Order, p.Name)
		}
		res.Targets = append(res.Targets, t.res)
	}
	// The worker needs messages: one round of the Go webhook's phases enqueues tens of thousands.
	fmt.Fprintf(os.Stderr, "lambdabench: %d rounds of %d targets, %d cold starts each per round; load average %s\n",
		rounds, len(targets), b.colds, res.LoadBefore)
	for r := 0; r < rounds; r++ {
		// Round r's order is rotated by r. The first round keeps the listed order, so that the worker runs
		// after the webhook functions filled the queue it consumes.
		for i := range targets {
			t := targets[(i+r)%len(targets)]
			fmt.Fprintf(os.Stderr, "round %d: %s\n", r+1, t.Key)
			if err := b.runTarget(t); err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", r+1, t.Key, err)
			}
		}
	}
	res.LoadAfter = stats.LoadAvg(3)
	return res, nil
}

// functionEnv is the functions' configuration, as the stack gives it, on the local services.
func functionEnv(ddbURL string, edge *lambdaenv.Edge, none string) []string {
	return append(lambdaenv.ClientEnv(none, "DYNAMODB="+ddbURL, "SQS="+edge.URL, "SECRETS_MANAGER="+edge.URL,
		"EVENTBRIDGE="+edge.URL, "SFN="+edge.URL),
		"STAGE=bench", "TABLE_NAME="+table, "STAGE_SECRET_ID="+stageSecret, "WABA_SECRET_PREFIX=wa-onboarding/bench/waba/",
		"STATE_MACHINE_ARN=arn:aws:states:us-east-1:000000000000:stateMachine:onboarding-bench",
		"WEBHOOK_QUEUE_URL="+edge.QueueURL(queueName), "EVENT_BUS_NAME=partner-events-bench", "LOG_LEVEL=INFO")
}

// newTargets are the functions (with the environment common) and the Node.js peer, in the order the first
// round runs them; and the name of the peer's runtime.
func newTargets(q *lambdaenv.Goaws, edge *lambdaenv.Edge, common []string, fnDir, peerDir string) ([]*target, string, error) {
	ev, err := newEvents(q)
	if err != nil {
		return nil, "", err
	}
	peerAbs, _ := filepath.Abs(peerDir)
	nodePath, _ := filepath.Abs("node_modules")
	nodeCmd, loopCmd, nodeRuntime := nodeCommands(peerAbs)
	noopCmd := append(slices.Clone(nodeCmd[:len(nodeCmd)-1]), strings.Replace(nodeCmd[len(nodeCmd)-1], "index", "noop", 1))
	peerEnv := append(slices.Clone(common), "APP_SECRET="+appSecret, "WEBHOOK_QUEUE_URL="+edge.QueueURL(peerQueue), "VERIFY_TOKEN="+verifyToken,
		"LAMBDA_TASK_ROOT="+peerAbs, "_HANDLER=index.handler", "NODE_PATH="+nodePath)
	fn := func(name string) string { p, _ := filepath.Abs(filepath.Join(fnDir, name, "bootstrap")); return p }
	purge := func(queue string) func() error { return func() error { return q.Purge(queue) } }
	return []*target{
		{Key: "go-webhook", Name: "webhook (Go, provided.al2023)", Runtime: "go", cmd: []string{fn("webhook")}, env: common,
			purge: purge(queueName), phases: ev.webhookPhases()},
		{Key: "node-webhook", Name: "webhook peer (Node.js 20, " + nodeRuntime + ")", Runtime: "node", cmd: nodeCmd, dir: peerAbs,
			purge: purge(peerQueue), env: peerEnv, phases: ev.webhookPhases()},
		{Key: "node-webhook-loop", Name: "webhook peer (Node.js 20, minimal Runtime API loop)", Runtime: "node", cmd: loopCmd, dir: peerAbs,
			purge: purge(peerQueue), env: peerEnv, phases: ev.webhookPhases()[:1]},
		{Key: "go-noop", Name: "floor: Go runtime loop, handler answers 200 (bench/cmd/noopfn)", Runtime: "go", cmd: []string{fn("noopfn")}, env: common,
			phases: ev.webhookPhases()[:1]},
		{Key: "node-noop", Name: "floor: Node.js runtime (" + nodeRuntime + "), handler answers 200", Runtime: "node", cmd: noopCmd, dir: peerAbs,
			env: append(slices.Clone(common), "LAMBDA_TASK_ROOT="+peerAbs, "_HANDLER=noop.handler"), phases: ev.webhookPhases()[:1]},
		{Key: "go-api", Name: "api, signup refused by validation (Go)", Runtime: "go", cmd: []string{fn("api")}, env: common,
			phases: []phase{{Name: "signup 400", next: func(int) ([]byte, error) { return ev.signupBad, nil }, check: wantStatus(400), min: 300, max: 20000}}},
		{Key: "go-worker", Name: "webhook_worker, SQS batches of 10 (Go)", Runtime: "go", cmd: []string{fn("webhook_worker")}, env: common,
			cold: ev.workerBatch(10),
			phases: []phase{
				{Name: "SQS batch of 1", next: ev.workerBatch(1), check: noFailures, min: 20, max: 5000, itemsPerInvocation: 1},
				{Name: "SQS batch of 10", next: ev.workerBatch(10), check: noFailures, min: 10, max: 2000, itemsPerInvocation: 10},
			}},
	}, nodeRuntime, nil
}

// events makes the targets' invocation events.
type events struct {
	// b builds the webhook bodies: every invocation its own (unique wamids, so that the worker stores every
	// event as new), built and signed between invocations, outside the timed round trip.
	b         *metahook.Builder
	hook      *lambdaenv.APIGatewayTemplate
	signupBad []byte
	q         *lambdaenv.Goaws
}

func newEvents(q *lambdaenv.Goaws) (*events, error) {
	hook, err := lambdaenv.LoadAPIGatewayEvent(filepath.Join("events", "apigw", "post_webhooks.json"))
	if err != nil {
		return nil, err
	}
	signup, err := lambdaenv.LoadAPIGatewayEvent(filepath.Join("events", "apigw", "post_signup.json"))
	if err != nil {
		return nil, err
	}
	bad, err := signup.With([]byte(`{"waba_id":"102290129340398","phone_number_id":"106540352242922"}`), "")
	if err != nil {
		return nil, err
	}
	return &events{b: metahook.New(9e12), hook: hook, signupBad: bad, q: q}, nil
}

// webhook returns a phase's events: fresh signed webhooks of a size ("1 KB", "100 KB" or "1 MB").
func (e *events) webhook(size string) cycleFunc {
	gen := map[string]func() []byte{
		"1 KB":   func() []byte { body, _ := e.b.Single(e.b.Seq%2 == 0); return body },
		"100 KB": func() []byte { body, _ := e.b.Batch(100 << 10); return body },
		"1 MB":   func() []byte { body, _ := e.b.Batch(1 << 20); return body },
	}[size]
	return func(int) ([]byte, error) { return e.hook.With(gen(), appSecret) }
}

func (e *events) webhookPhases() []phase {
	return []phase{
		{Name: "1 KB", next: e.webhook("1 KB"), check: wantStatus(200), min: 300, max: 20000},
		{Name: "100 KB", next: e.webhook("100 KB"), check: wantStatus(200), min: 40, max: 5000},
		{Name: "1 MB", next: e.webhook("1 MB"), check: wantStatus(200), min: 10, max: 1000},
	}
}

// workerBatch returns SQS events of n messages the webhook functions queued.
func (e *events) workerBatch(n int) cycleFunc {
	return func(int) ([]byte, error) {
		msgs, err := e.q.Receive(n)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("the queue is empty: no messages for the worker")
		}
		return lambdaenv.SQSEvent("arn:aws:sqs:us-east-1:000000000000:"+queueName, msgs)
	}
}

// wantStatus checks an API Gateway answer's status code.
func wantStatus(status int) func([]byte) error {
	return func(b []byte) error {
		var r struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.StatusCode != status {
			return fmt.Errorf("got %.200s, want statusCode %d", b, status)
		}
		return nil
	}
}

// noFailures checks that the worker processed its whole batch.
func noFailures(b []byte) error {
	var r struct {
		BatchItemFailures []any `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.BatchItemFailures) > 0 {
		return fmt.Errorf("worker answered %.300s, want no batch item failures", b)
	}
	return nil
}

type cycleFunc func(int) ([]byte, error)

// nodeCommands returns the commands that run the peer in dir: with the official Runtime Interface Client
// when it is installed there (npm ci there builds its native part), else with the minimal Runtime API loop
// (runtime.mjs), which is the second command; and the name of the one the first uses.
func nodeCommands(dir string) (peer, loop []string, runtime string) {
	node, err := exec.LookPath("node")
	if err != nil {
		node = "node"
	}
	loop = []string{node, filepath.Join(dir, "runtime.mjs"), "./index.mjs"}
	ric := filepath.Join(dir, "node_modules", "aws-lambda-ric")
	if _, err := os.Stat(filepath.Join(ric, "rapid-client.node")); err == nil {
		return []string{node, filepath.Join(ric, "index.mjs"), "index.handler"}, loop, "aws-lambda-ric 4.0.2"
	}
	return loop, loop, "minimal Runtime API loop (runtime.mjs)"
}

// runTarget purges the target's queue and runs its cold starts; the last one goes on with the warm phases.
func (b *bench) runTarget(t *target) error {
	if t.purge != nil {
		if err := t.purge(); err != nil {
			return err
		}
	}
	for c := 0; c < b.colds; c++ {
		if err := b.coldStart(t, c == b.colds-1); err != nil {
			return err
		}
	}
	return nil
}

// coldStart measures the runtime's init, then starts an emulator and times its first invocation; when warm
// is set, the warm phases follow on the same runtime.
func (b *bench) coldStart(t *target, warm bool) error {
	init, err := lambdaenv.MeasureInit(t.cmd, t.dir, t.env)
	if err != nil {
		return fmt.Errorf("measuring init: %w", err)
	}
	rie, err := lambdaenv.StartRIE(b.rieBin, t.cmd, t.dir, t.env, 1769)
	if err != nil {
		return err
	}
	defer rie.Close()
	cold := t.cold
	if cold == nil {
		cold = t.phases[0].next
	}
	ev, err := cold(0)
	if err != nil {
		return err
	}
	out, d, err := rie.Invoke(ev)
	if err == nil {
		err = t.phases[0].check(out)
	}
	if err != nil {
		return fmt.Errorf("cold invocation: %w; output: %.2000s", err, rie.Output())
	}
	cr := lambdaenv.ColdResult{ColdMs: ms(d), InitMs: -1, RuntimeInitMs: ms(init)}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if v := rie.InitDuration(); v >= 0 {
			cr.InitMs = v
			break
		}
	}
	pid, err := rie.RuntimePID()
	if err != nil {
		return err
	}
	cr.RSSKiB, _ = lambdaenv.PeakRSS(pid)
	t.res.Colds = append(t.res.Colds, cr)
	if !warm {
		return nil
	}
	for _, p := range t.phases {
		pr, err := b.runPhase(rie, pid, p)
		if err != nil {
			return fmt.Errorf("%s: %w; output: %.1000s", p.Name, err, rie.Output())
		}
		t.res.Phases[p.Name] = append(t.res.Phases[p.Name], pr)
	}
	if b.logDir != "" {
		// A sample of what the emulator and the function wrote: the REPORT lines, the log lines.
		out := rie.Output()
		_ = os.WriteFile(filepath.Join(b.logDir, "lambda-"+t.Key+".log"), []byte(out[:min(len(out), 8192)]), 0o644)
	}
	return nil
}

func (b *bench) runPhase(rie *lambdaenv.RIE, pid int, p phase) (lambdaenv.PhaseResult, error) {
	invoke := func(i int) ([]byte, time.Duration, error) {
		ev, err := p.next(i)
		if err != nil {
			return nil, 0, err
		}
		return rie.Invoke(ev)
	}
	// Warm-up: the first invocations of a size grow buffers and, on Node, get the JIT going.
	for i := 0; i < 5; i++ {
		if _, _, err := invoke(i); err != nil {
			return lambdaenv.PhaseResult{}, err
		}
	}
	first, err := p.next(0)
	if err != nil {
		return lambdaenv.PhaseResult{}, err
	}
	pr := lambdaenv.PhaseResult{BodyBytes: bodyLen(first), Items: max(1, p.itemsPerInvocation)}
	var lat []time.Duration
	snap0 := b.count.Snapshot()
	log0 := rie.OutputBytes()
	st0, err := lambdaenv.ReadStat(pid)
	if err != nil {
		return pr, err
	}
	sc0, _ := lambdaenv.SchedCPU(pid)
	start := time.Now()
	for i := 0; i < p.max && (i < p.min || time.Since(start) < b.budget); i++ {
		out, d, err := invoke(i + 5)
		if err != nil {
			return pr, err
		}
		if err := p.check(out); err != nil {
			return pr, err
		}
		lat = append(lat, d)
	}
	st1, err := lambdaenv.ReadStat(pid)
	if err != nil {
		return pr, err
	}
	sc1, _ := lambdaenv.SchedCPU(pid)
	pr.AWS = b.count.Snapshot().Sub(snap0)
	n := len(lat)
	pr.N = n
	pr.LogBytes = float64(rie.OutputBytes()-log0) / float64(n)
	pr.CPUus = float64((st1.CPU() - st0.CPU()).Microseconds()) / float64(n)
	pr.SchedCPUus = float64((sc1 - sc0).Microseconds()) / float64(n)
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	pr.MeanMs = ms(sum) / float64(n)
	pr.P50ms = ms(lat[n/2])
	pr.P99ms = ms(lat[min(n-1, int(math.Ceil(float64(n)*0.99))-1)])
	pr.PeakRSSKiB, _ = lambdaenv.PeakRSS(pid)
	return pr, nil
}

// bodyLen is the length of an API Gateway event's body, or of the whole event otherwise.
func bodyLen(ev []byte) int {
	var e struct {
		Body *string `json:"body"`
	}
	if json.Unmarshal(ev, &e) == nil && e.Body != nil {
		return len(*e.Body)
	}
	return len(ev)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func report(w io.Writer, res *lambdaenv.Results) {
	fmt.Fprintf(w, "### Lambda functions under the Runtime Interface Emulator (`make bench-lambda`)\n\n")
	fmt.Fprintf(w, "%s; %d interleaved rounds; 1-minute load average %s before, %s after. Node peer runtime: %s.\n\n",
		res.When.Format("2006-01-02 15:04 UTC"), res.Rounds, res.LoadBefore, res.LoadAfter, res.NodeRuntime)
	fmt.Fprintf(w, "| function | cold start ms (median, min–max) | init ms: process start → first /next | Init Duration ms (emulator's REPORT) | RSS after cold start MiB | cold starts |\n|---|---:|---:|---:|---:|---:|\n")
	sums := map[string]lambdaenv.Summary{}
	for _, t := range res.Targets {
		s := lambdaenv.Summarize(t)
		sums[t.Key] = s
		fmt.Fprintf(w, "| %s | %.2f (%.2f–%.2f) | %.2f | %.2f | %.1f | %d |\n", t.Name, s.ColdMs, s.ColdMin, s.ColdMax, s.RuntimeInitMs, s.InitMs, s.ColdRSSMiB, len(t.Colds))
	}
	fmt.Fprintf(w, "\n| function | invocation | body bytes | invocations | p50 ms | p99 ms | CPU µs / invocation (stat) | CPU µs (schedstat) | peak RSS MiB | log bytes / inv | AWS calls / inv |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, t := range res.Targets {
		s := sums[t.Key]
		for _, name := range t.Order {
			p := s.Phases[name]
			fmt.Fprintf(w, "| %s | %s | %d | %d | %.3f | %.3f | %.0f | %.0f | %.1f | %.0f | %s |\n", t.Name, name, p.BodyBytes, p.N,
				p.P50, p.P99, p.CPUus, p.SchedCPUus, p.RSSMiB, p.LogB, perInvocation(p.AWS, t.Phases[name]))
		}
	}
	g, okg := sums["go-webhook"]
	n, okn := sums["node-webhook"]
	if !okg || !okn {
		return
	}
	fmt.Fprintf(w, "\n| webhook, Node peer ÷ Go | cold start | init |")
	for _, name := range []string{"1 KB", "100 KB", "1 MB"} {
		fmt.Fprintf(w, " CPU/inv %s | p50 %s | p99 %s |", name, name, name)
	}
	fmt.Fprintf(w, "\n|---|---:|---:|%s\n", strings.Repeat("---:|", 9))
	fmt.Fprintf(w, "| ratio (higher: Go better) | %.2fx | %.2fx |", n.ColdMs/g.ColdMs, n.RuntimeInitMs/g.RuntimeInitMs)
	for _, name := range []string{"1 KB", "100 KB", "1 MB"} {
		fmt.Fprintf(w, " %.2fx | %.2fx | %.2fx |", n.Phases[name].CPUus/g.Phases[name].CPUus, n.Phases[name].P50/g.Phases[name].P50, n.Phases[name].P99/g.Phases[name].P99)
	}
	fmt.Fprintf(w, "\n\nCold start: first invocation sent to its answer, the runtime process started by it (the emulator already listening); warm CPU: 1 KB webhooks (the common delivery).\n\n")
	fmt.Fprintf(w, "lambda vs node: cold start %.2fx faster, warm CPU per invocation %.2fx less\n", n.ColdMs/g.ColdMs, n.Phases["1 KB"].CPUus/g.Phases["1 KB"].CPUus)
}

// perInvocation lists the AWS requests per invocation of the last round of a phase.
func perInvocation(s lambdaenv.Snapshot, prs []lambdaenv.PhaseResult) string {
	if len(prs) == 0 || prs[len(prs)-1].N == 0 {
		return ""
	}
	n := float64(prs[len(prs)-1].N)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Calls)) {
		parts = append(parts, fmt.Sprintf("%s %.3g", k, float64(s.Calls[k])/n))
	}
	if s.WCU > 0 || s.RCU > 0 {
		parts = append(parts, fmt.Sprintf("RCU %.3g, WCU %.3g", s.RCU/n, s.WCU/n))
	}
	return strings.Join(parts, "; ")
}
