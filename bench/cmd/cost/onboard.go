package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/waes/onboarding/bench/lambdaenv"
	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/asl"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/partnerevents/eventbridge"
	"github.com/waes/onboarding/shared/signup"
	"github.com/waes/onboarding/shared/stephandlers"
	ddbstore "github.com/waes/onboarding/shared/store/dynamodb"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
	"github.com/waes/onboarding/shared/workflow"
)

// Invocation is one Lambda invocation of the onboarding: which function, how long it ran here, and the
// remote calls it made (whose latency on AWS the cost model adds).
type Invocation struct {
	Function string  `json:"function"`
	LocalMs  float64 `json:"local_ms"`
	// CPUMs is this process's CPU time during the invocation (getrusage): the function's work plus what the
	// in-process simulator and stand-ins did for it, an upper bound of the function's own.
	CPUMs      float64            `json:"cpu_ms"`
	GraphCalls int64              `json:"graph_calls"`
	Vault      int64              `json:"secrets_manager_calls"`
	AWS        lambdaenv.Snapshot `json:"aws"`
}

// Onboarding is what one onboarding (signup to COMPLETED) did.
type Onboarding struct {
	Status      string             `json:"status"`
	Transitions int                `json:"state_transitions"`
	History     map[string]int     `json:"history_events"`
	Invocations []Invocation       `json:"invocations"`
	AWS         lambdaenv.Snapshot `json:"aws"`
	// SecretsManager counts the Secrets Manager API calls the deployed vault makes for the vault operations
	// the onboarding performed (see vaultCalls), an upper bound: cache hits are counted as calls.
	SecretsManager int64 `json:"secrets_manager_calls"`
	GraphCalls     int64 `json:"graph_calls"`
	// WebhookDeliveries are the webhooks Meta (the simulator) sent during the onboarding; WebhookEvents the
	// events they carried (each a queue message and a worker record on AWS); Correlations the await
	// step's correlation requests (each a queue message and a worker record).
	WebhookDeliveries int64 `json:"webhook_deliveries"`
	WebhookEvents     int64 `json:"webhook_events"`
	Correlations      int64 `json:"correlations"`
	PartnerEvents     int64 `json:"partner_events"`
}

// vaultCalls is what each vault operation costs in Secrets Manager API calls with the deployed vault
// (shared/vault/secretsmanager): a read is GetSecretValue; a write reads the secret, writes it
// (CreateSecret, or PutSecretValue and UpdateSecretVersionStage) and reads it back.
var vaultCalls = map[string]int64{"AppConfig": 1, "WABASecret": 1, "PutBusinessToken": 4, "EnsurePIN": 4, "SetPIN": 4}

// countingVault counts the vault operations, mapped to Secrets Manager calls.
type countingVault struct {
	onboarding.Vault
	n *atomic.Int64
}

func (v countingVault) AppConfig(ctx context.Context) (onboarding.AppConfig, error) {
	v.n.Add(vaultCalls["AppConfig"])
	return v.Vault.AppConfig(ctx)
}

func (v countingVault) WABASecret(ctx context.Context, waba string) (*onboarding.WABASecret, error) {
	v.n.Add(vaultCalls["WABASecret"])
	return v.Vault.WABASecret(ctx, waba)
}

func (v countingVault) PutBusinessToken(ctx context.Context, waba string, t onboarding.Secret, exp time.Time, key string) error {
	v.n.Add(vaultCalls["PutBusinessToken"])
	return v.Vault.PutBusinessToken(ctx, waba, t, exp, key)
}

func (v countingVault) EnsurePIN(ctx context.Context, waba, phone string, c onboarding.Secret, key string) (onboarding.Secret, error) {
	v.n.Add(vaultCalls["EnsurePIN"])
	return v.Vault.EnsurePIN(ctx, waba, phone, c, key)
}

func (v countingVault) SetPIN(ctx context.Context, waba, phone string, pin onboarding.Secret, key string) error {
	v.n.Add(vaultCalls["SetPIN"])
	return v.Vault.SetPIN(ctx, waba, phone, pin, key)
}

// countingQueue is the inline worker, counting what would be queue messages on AWS.
type countingQueue struct {
	in                   worker.Inline
	events, correlations *atomic.Int64
}

func (q countingQueue) Accept(ctx context.Context, evs []webhook.Event) error {
	q.events.Add(int64(len(evs)))
	return q.in.Accept(ctx, evs)
}

func (q countingQueue) RequestCorrelation(ctx context.Context, id string) error {
	q.correlations.Add(1)
	return q.in.RequestCorrelation(ctx, id)
}

// countingPublisher counts partner events.
type countingPublisher struct {
	partnerevents.Publisher
	n *atomic.Int64
}

func (p countingPublisher) Publish(ctx context.Context, evs ...partnerevents.Event) error {
	p.n.Add(int64(len(evs)))
	return p.Publisher.Publish(ctx, evs...)
}

// recorder attributes remote calls to the invocation running: the onboarding's invocations run one after
// the other, so the counters' deltas over one invocation are its calls.
type recorder struct {
	mu    sync.Mutex
	list  []Invocation
	graph *atomic.Int64
	vault *atomic.Int64
	count *lambdaenv.Counter
}

func (r *recorder) around(fn string, call func()) {
	g0, v0, s0 := r.graph.Load(), r.vault.Load(), r.count.Snapshot()
	c0 := processCPU()
	t0 := time.Now()
	call()
	inv := Invocation{Function: fn, LocalMs: float64(time.Since(t0).Microseconds()) / 1000, CPUMs: float64((processCPU() - c0).Microseconds()) / 1000,
		GraphCalls: r.graph.Load() - g0, Vault: r.vault.Load() - v0, AWS: r.count.Snapshot().Sub(s0)}
	r.mu.Lock()
	r.list = append(r.list, inv)
	r.mu.Unlock()
}

// processCPU is this process's user + system time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// onboardingRun is one in-process onboarding: its counters, and the store and interpreter it runs on.
type onboardingRun struct {
	count                                                     *lambdaenv.Counter
	rec                                                       *recorder
	graphN, vaultN, events, correlations, deliveries, partner atomic.Int64
	store                                                     *ddbstore.Store
	eng                                                       *engine.Engine
}

// runOnboarding runs one whole onboarding in this process with the project's code: the API, the workflow
// definition on the interpreter with the real step handlers, the webhook intake and the worker (inline),
// the Graph simulator (no latency), DynamoDB on dynalite behind the counting proxy, EventBridge on the
// edge stand-in, and the in-memory vault counted as Secrets Manager calls.
func runOnboarding(ctx context.Context, testRecipient string) (*Onboarding, error) {
	r := &onboardingRun{count: lambdaenv.NewCounter()}
	r.rec = &recorder{graph: &r.graphN, vault: &r.vaultN, count: r.count}
	const table = "onboarding-cost"
	ddb, err := lambdaenv.StartDynalite(ctx, table, r.count)
	if err != nil {
		return nil, err
	}
	defer ddb.Close()
	edge, err := lambdaenv.StartEdge("", nil, r.count)
	if err != nil {
		return nil, err
	}
	defer edge.Close()
	cfg, err := runner.ConfigFromEnv(func(k string) (string, bool) {
		if k == runner.EnvAddr {
			return "127.0.0.1:0", true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	base, stop, err := r.serve(cfg, ddb.URL, edge.URL, table)
	if err != nil {
		return nil, err
	}
	defer stop()
	id, err := postSignup(base, testRecipient)
	if err != nil {
		return nil, err
	}
	return r.wait(ctx, id)
}

// serve wires the project's code on the local services and serves its API and webhook intake on a free
// loopback port; it returns their base URL and what stops them.
func (r *onboardingRun) serve(cfg runner.Config, ddbURL, edgeURL, table string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	log := logging.New(io.Discard, slog.LevelInfo)
	awsCfg := aws.Config{Region: "us-east-1", Credentials: lambdaenv.Credentials}
	r.store = ddbstore.New(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddbURL) }), table,
		func(o *ddbstore.Options) { o.Logger = log })
	publisher := eventbridge.New(awseventbridge.NewFromConfig(awsCfg, func(o *awseventbridge.Options) { o.BaseEndpoint = aws.String(edgeURL) }),
		"partner-events-cost", "cost")
	vault := countingVault{Vault: vaultmem.New(cfg.App), n: &r.vaultN}
	pub := countingPublisher{Publisher: publisher, n: &r.partner}
	base := "http://" + ln.Addr().String()
	sender := &graphsim.WebhookSender{URL: base + "/webhooks", AppSecret: cfg.App.AppSecret, Logger: log}
	sim := graphsim.New(graphsim.Config{AppID: cfg.App.AppID, AppSecret: cfg.App.AppSecret, SystemToken: cfg.App.SystemToken,
		SystemUserID: cfg.App.SystemUserID, CreditLineID: cfg.App.CreditLineID, TesterNumber: cfg.SimTester, Logger: log, Observer: sender})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	stopSim := func() { sender.Close(); sim.Close() }
	httpc := &http.Client{Timeout: 10 * time.Second}
	client, err := graph.New(graph.Options{BaseEndpoint: simURL, APIVersion: cfg.GraphAPIVersion, Logger: log,
		HTTPClient: graph.HTTPClientFunc(func(req *http.Request) (*http.Response, error) { r.graphN.Add(1); return httpc.Do(req) })})
	if err != nil {
		stopSim()
		return "", nil, err
	}
	wf := &runner.EngineWorkflow{}
	proc := worker.New(r.store, r.store, wf, worker.Options{Publisher: pub, Logger: log,
		IsTaskGone: runner.IsTaskGone})
	queue := countingQueue{in: worker.Inline{P: proc}, events: &r.events, correlations: &r.correlations}
	stepSvc := stephandlers.New(r.store, vault, client, r.store, queue, stephandlers.Options{Publisher: pub, Logger: log,
		Config: stephandlers.Config{WebhookOverrideURL: cfg.WebhookOverride, TestMessageBody: cfg.TestMessageBody}})
	if r.eng, err = r.engine(stepSvc, cfg, log); err != nil {
		stopSim()
		return "", nil, err
	}
	wf.Engine = r.eng
	signupSvc := signup.New(r.store, vault, client, wf, signup.Options{Publisher: pub, Logger: log,
		Config: signup.Config{DefaultCurrency: cfg.DefaultCurrency, InboundTimeout: cfg.InboundTimeout, StatusTimeout: cfg.StatusTimeout}})
	api := httpapi.New(signupSvc, httpapi.Options{Logger: log})
	hooks := webhook.NewHandler(vault.AppConfig, queue, webhook.Options{Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/webhooks", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.deliveries.Add(1)
		r.rec.around("webhook", func() { hooks.ServeHTTP(w, req) })
	}))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.rec.around("api", func() { api.ServeHTTP(w, req) })
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return base, func() { srv.Close(); stopSim() }, nil
}

// engine is the workflow definition on the interpreter, its tasks the step handlers, each timed as an
// invocation.
func (r *onboardingRun) engine(stepSvc *stephandlers.Service, cfg runner.Config, log *slog.Logger) (*engine.Engine, error) {
	functions, err := runner.StepFunctions(stepSvc, r.rec.around)
	if err != nil {
		return nil, err
	}
	doc, err := asl.Substitute(workflow.Definition, workflow.Substitutions(func(n string) string {
		return "arn:aws:lambda:us-east-1:000000000000:function:" + n
	}))
	if err != nil {
		return nil, err
	}
	def, err := asl.Parse(doc)
	if err != nil {
		return nil, err
	}
	return engine.New(def, engine.Options{Name: "wa-onboarding-cost", Region: "us-east-1", AccountID: "000000000000",
		Functions: functions, TimeScale: cfg.TimeScale, TimeoutScale: 1, Logger: log}), nil
}

// postSignup posts the signup (with a test message to testRecipient, when set) and returns the
// onboarding's id.
func postSignup(base, testRecipient string) (string, error) {
	body := `{"code":"sim:102290129340398:106540352242920:cost-1","waba_id":"102290129340398","phone_number_id":"106540352242920"`
	if testRecipient != "" {
		body += `,"test_recipient":"` + testRecipient + `"`
	}
	body += "}"
	resp, err := http.Post(base+"/signup", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	var m struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("signup answered %s", resp.Status)
	}
	return m.ID, nil
}

// wait waits for onboarding id's execution to end and gathers what the onboarding did.
func (r *onboardingRun) wait(ctx context.Context, id string) (*Onboarding, error) {
	arn := strings.Replace(r.eng.StateMachineARN(), ":stateMachine:", ":execution:", 1) + ":" + onboarding.ExecutionName(id, 1)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	d, err := r.eng.Wait(wctx, arn)
	if err != nil {
		return nil, err
	}
	// The statuses of the test message arrive after the execution ends; let them land.
	time.Sleep(500 * time.Millisecond)
	hist, err := r.eng.GetExecutionHistory(arn)
	if err != nil {
		return nil, err
	}
	history, transitions := countHistory(hist)
	r.rec.mu.Lock()
	ob := &Onboarding{Status: string(d.Status), Transitions: transitions, History: history, Invocations: slices.Clone(r.rec.list),
		AWS: r.count.Snapshot(), SecretsManager: r.vaultN.Load(), GraphCalls: r.graphN.Load(), WebhookDeliveries: r.deliveries.Load(),
		WebhookEvents: r.events.Load(), Correlations: r.correlations.Load(), PartnerEvents: r.partner.Load()}
	r.rec.mu.Unlock()
	if rec, err := r.store.Get(ctx, id); err == nil {
		ob.Status = string(rec.Status)
	}
	fmt.Fprintf(os.Stderr, "cost: onboarding %s ended %s (execution %s): %d transitions, %d invocations\n", id, ob.Status, d.Status, ob.Transitions, len(ob.Invocations))
	return ob, nil
}

// countHistory counts an execution's history events by type, and its state transitions: one per state
// entered, and one per retried attempt of a task.
func countHistory(hist []engine.HistoryEvent) (map[string]int, int) {
	history, transitions, scheduled, taskEntered := map[string]int{}, 0, 0, 0
	for _, ev := range hist {
		t := string(ev.Type)
		history[t]++
		switch {
		case strings.HasSuffix(t, "StateEntered"):
			transitions++
			if t == "TaskStateEntered" {
				taskEntered++
			}
		case t == string(engine.EventTaskScheduled):
			scheduled++
		}
	}
	return history, transitions + max(0, scheduled-taskEntered)
}
