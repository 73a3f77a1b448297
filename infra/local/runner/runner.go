// Package runner is the local runner behind `make run`: the whole onboarding on one machine. It serves the
// HTTP API and the webhooks on one address, interprets the one workflow definition with the real step
// handlers (invoked through lambda.NewHandler, so JSON behaves as on Lambda), keeps state and secrets in
// the state directory (LOCAL_STATE=disk, the default: shared/localstate) or in memory, and talks to the
// embedded Graph API simulator, which sends its signed webhooks back to /webhooks.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/shared/asl"
	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/signup"
	"github.com/waes/onboarding/shared/stepfunctions"
	"github.com/waes/onboarding/shared/stephandlers"
	boltstore "github.com/waes/onboarding/shared/store/bolt"
	"github.com/waes/onboarding/shared/store/memory"
	"github.com/waes/onboarding/shared/tokenhealth"
	boltvault "github.com/waes/onboarding/shared/vault/bolt"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
	"github.com/waes/onboarding/shared/workflow"
)

// localARN names a local Lambda function in the substituted definition.
func localARN(name string) string { return "arn:aws:lambda:local:000000000000:function:" + name }

// Runner is the running local system.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	listener net.Listener
	server   *http.Server

	// Sim is the embedded Graph simulator (nil when GRAPH_BASE_URL names another one).
	Sim    *graphsim.Server
	sender *graphsim.WebhookSender
	// Engine interprets the workflow definition.
	Engine *engine.Engine
	// Store and Vault are the in-memory stand-ins (LOCAL_STATE=memory); nil when the state is on disk.
	Store *memory.Store
	Vault *vaultmem.Vault
	// DiskStore and DiskVault are the durable adapters (LOCAL_STATE=disk); nil in memory mode.
	DiskStore *boltstore.Store
	DiskVault *boltvault.Vault
	// Events is the in-memory partner event sink.
	Events *partnerevents.MemorySink
	// URL is the base URL the runner serves on.
	URL string

	workflow *EngineWorkflow
	// state is the open state directory (disk mode).
	state *localstate.State
	// adapters are the state adapters wired in, whichever the mode.
	adapters stateAdapters
	// executions keeps the workflow executions (disk mode), which a restart resumes.
	executions *executionStore
	// sweepDone is closed when the start's sweep of expired webhook items has finished (disk mode).
	sweepDone chan struct{}
	// localRoutes says whether /_local/* is served (localRoutesAllowed).
	localRoutes bool
	// TokenHealth is the token health check, run every TOKEN_HEALTH_INTERVAL (tokenhealth.go).
	TokenHealth     *tokenhealth.Checker
	stopTokenHealth func()
}

// authDiscoveryTimeout bounds reading the partner authentication issuer's discovery document at start.
const authDiscoveryTimeout = 10 * time.Second

// localRoutesAllowed says whether the local-only endpoints (/_local/*: executions, partner events, the
// Embedded Signup stand-in that issues codes) may be served. They reveal every onboarding and mint codes,
// so only a runner that listens on loopback and plays the Graph API itself (or talks to a loopback one)
// serves them; one listening on other interfaces or talking to the real Graph API does not.
func (r *Runner) localRoutesAllowed() bool {
	tcp, ok := r.listener.Addr().(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return false
	}
	return r.cfg.GraphBaseURL == "" || loopbackURL(r.cfg.GraphBaseURL)
}

// loopbackHostOnly answers the local endpoints only for requests addressed to this machine by name
// (Host 127.0.0.1, localhost or [::1], any port): a page on another site that gets its own host name
// resolved to 127.0.0.1 (DNS rebinding) sends that name as Host and is refused.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host := req.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !isLoopback(strings.ToLower(host)) {
			httpapi.WriteError(w, http.StatusForbidden, onboarding.CodeForbidden, "",
				"local endpoints answer only requests addressed to 127.0.0.1, localhost or [::1]")
			return
		}
		next.ServeHTTP(w, req)
	})
}

// New builds the local system and binds cfg.Addr (port 0 picks a free port).
func New(cfg Config, log *slog.Logger) (*Runner, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	r := &Runner{cfg: cfg, log: log, listener: ln, URL: "http://" + ln.Addr().String()}
	if err := r.build(); err != nil {
		ln.Close()
		r.closeSim()
		return nil, errors.Join(err, r.closeState())
	}
	return r, nil
}

// build wires the local system in the order its parts depend on each other.
func (r *Runner) build() error {
	st, err := r.openState()
	if err != nil {
		return err
	}
	r.adapters = st
	r.Events = &partnerevents.MemorySink{Logger: r.log}
	baseURL := r.cfg.GraphBaseURL
	if baseURL == "" {
		if baseURL, err = r.startSim(); err != nil {
			return err
		}
	}
	client, err := r.graphClient(baseURL)
	if err != nil {
		return err
	}
	r.workflow = &EngineWorkflow{}
	queue, steps := r.services(client)
	if err := r.startEngine(steps); err != nil {
		return err
	}
	api, err := r.partnerAPI(client)
	if err != nil {
		return err
	}
	r.server = r.httpServer(api, webhook.NewHandler(st.vault.AppConfig, queue, webhook.Options{Logger: r.log}))
	r.startTokenHealth(st, client)
	return nil
}

// startSim starts the embedded Graph simulator, which sends its signed webhooks to the runner's /webhooks,
// and returns its base URL.
func (r *Runner) startSim() (string, error) {
	cfg := r.cfg
	r.sender = &graphsim.WebhookSender{URL: r.URL + "/webhooks", AppSecret: cfg.App.AppSecret, Logger: r.log}
	simCfg := graphsim.Config{
		AppID: cfg.App.AppID, AppSecret: cfg.App.AppSecret, SystemToken: cfg.App.SystemToken,
		SystemUserID: cfg.App.SystemUserID, CreditLineID: cfg.App.CreditLineID, TesterNumber: cfg.SimTester,
		Faults: cfg.SimFaults, Latency: cfg.SimLatency, Logger: r.log, Observer: r.sender,
		// As for a partner app with "Require App Secret" on: every call must carry appsecret_proof.
		RequireAppSecretProof: true,
	}
	var world *simWorld
	if r.state != nil {
		// On disk the simulated Meta survives a restart too, so that resumed executions find their numbers
		// and tokens.
		var err error
		if world, err = openSimWorld(r.state.DB, r.state.Dir); err != nil {
			return "", err
		}
		simCfg.OnChange = func() {
			if err := world.save(r.Sim); err != nil {
				r.log.Warn("saving the Graph simulator's world", "error", err.Error())
			}
		}
	}
	r.Sim = graphsim.New(simCfg)
	if world != nil {
		if err := world.load(r.Sim); err != nil {
			return "", err
		}
	}
	u, err := r.Sim.Start("127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("starting the Graph simulator: %w", err)
	}
	return u, nil
}

// graphClient builds the Graph client on baseURL, signing with the vault's app secret, and logs whether
// its API version is ending.
func (r *Runner) graphClient(baseURL string) (*graph.Client, error) {
	client, err := graph.New(graph.Options{BaseEndpoint: baseURL, APIVersion: r.cfg.GraphAPIVersion, CallTimeout: r.cfg.GraphCallTimeout, Logger: r.log,
		AppSecret: func(ctx context.Context) (onboarding.Secret, error) {
			app, err := r.adapters.vault.AppConfig(ctx)
			return app.AppSecret, err
		}})
	if err != nil {
		return nil, fmt.Errorf("building the Graph client: %w", err)
	}
	graph.LogVersionCheck(context.Background(), r.log, client.Options().APIVersion, time.Now())
	return client, nil
}

// services builds the webhook worker, run inline as the queue, and the workflow's steps service.
func (r *Runner) services(client *graph.Client) (worker.Inline, *stephandlers.Service) {
	st := r.adapters
	offboarder := &lateOffboarder{}
	proc := worker.New(st.records, st.webhooks, r.workflow, worker.Options{
		Publisher: r.Events, Logger: r.log,
		IsTaskGone: IsTaskGone,
		Offboarder: offboarder,
	})
	queue := worker.Inline{P: proc}
	steps := stephandlers.New(st.records, st.vault, client, st.webhooks, queue, stephandlers.Options{
		Config:    stephandlers.Config{WebhookOverrideURL: r.cfg.WebhookOverride, TestMessageBody: r.cfg.TestMessageBody},
		Publisher: r.Events, Logger: r.log,
	})
	offboarder.svc = steps
	return queue, steps
}

// StepFunctions are the workflow's functions, registered under the names the definition's placeholders
// resolve to; around, when set, runs each invocation of the step handler (the cost tool times them with it).
func StepFunctions(steps *stephandlers.Service, around func(name string, call func())) (map[string]lambda.Handler, error) {
	functions := map[string]lambda.Handler{
		"subscribe_webhooks": step(around, "subscribe_webhooks", steps.SubscribeWebhooks),
		"sync_business_app":  step(around, "sync_business_app", steps.SyncBusinessApp),
		"share_credit_line":  step(around, "share_credit_line", steps.ShareCreditLine),
		"verify_phone":       step(around, "verify_phone", steps.VerifyPhone),
		"register_phone":     step(around, "register_phone", steps.RegisterPhone),
		"send_test_message":  step(around, "send_test_message", steps.SendTestMessage),
		"await_webhook":      step(around, "await_webhook", steps.AwaitWebhook),
		"record_outcome":     step(around, "record_outcome", steps.RecordOutcome),
	}
	for _, f := range catalog.Workflow() {
		if functions[f.Name] == nil {
			return nil, fmt.Errorf("the definition invokes %s, which the local runner does not provide", f.Name)
		}
	}
	return functions, nil
}

// startEngine builds the interpreter of the workflow definition and, on disk, resumes the executions an
// earlier run left.
func (r *Runner) startEngine(steps *stephandlers.Service) error {
	functions, err := StepFunctions(steps, nil)
	if err != nil {
		return err
	}
	doc, err := asl.Substitute(workflow.Definition, workflow.Substitutions(localARN))
	if err != nil {
		return fmt.Errorf("substituting the workflow definition: %w", err)
	}
	def, err := asl.Parse(doc)
	if err != nil {
		return fmt.Errorf("parsing the workflow definition: %w", err)
	}
	engOpts := engine.Options{
		Name: "wa-onboarding-local", Region: "local", AccountID: "000000000000",
		Functions: functions, TimeScale: r.cfg.TimeScale, TimeoutScale: 1, Logger: r.log,
	}
	if r.executions != nil {
		engOpts.Checkpoint = r.executions.save
	}
	r.Engine = engine.New(def, engOpts)
	r.workflow.Engine = r.Engine
	if r.executions == nil {
		return nil
	}
	// Before the server takes requests, so that a webhook for a resumed callback finds its token.
	running, err := r.resumeExecutions(r.executions)
	if err != nil {
		return err
	}
	return r.failInterrupted(r.DiskStore, running)
}

// partnerAPI builds the onboarding API; with partner authentication, it reads the issuer's discovery
// document now, so that a wrong issuer stops `make run` with a clear error instead of failing every
// partner request.
func (r *Runner) partnerAPI(client *graph.Client) (http.Handler, error) {
	cfg, st := r.cfg, r.adapters
	signupSvc := signup.New(st.records, st.vault, client, r.workflow, signup.Options{
		Config: signup.Config{DefaultCurrency: cfg.DefaultCurrency, InboundTimeout: cfg.InboundTimeout, StatusTimeout: cfg.StatusTimeout,
			PhoneVerificationTimeout: cfg.PhoneVerificationTimeout},
		Publisher: r.Events, Logger: r.log,
		PhoneGraph: client, Waits: st.webhooks,
		IsTaskGone: IsTaskGone,
	})
	apiOpts := httpapi.Options{Logger: r.log}
	if cfg.AuthIssuer != "" {
		ctx, cancel := context.WithTimeout(context.Background(), authDiscoveryTimeout)
		v, err := auth.NewVerifier(ctx, auth.VerifierConfig{Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("partner authentication (%s): %w", EnvAuthIssuer, err)
		}
		apiOpts.Auth = v
	}
	return httpapi.New(signupSvc, apiOpts), nil
}

// httpServer serves the webhooks, the local-only endpoints when allowed, the example partner page and the
// API on one address.
func (r *Runner) httpServer(api, hooks http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/webhooks", hooks)
	r.localRoutes = r.localRoutesAllowed()
	if r.localRoutes {
		mux.Handle("/_local/", httpapi.Middleware(r.log, loopbackHostOnly(r.localHandler())))
	}
	r.servePage(mux) // the example partner page at /, and its local Embedded Signup stand-in
	mux.Handle("/", api)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (r *Runner) Serve() error {
	if err := r.server.Serve(r.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops taking requests, lets in-flight requests and workflow tasks finish until ctx ends, then
// stops the executions still running, each logged with its onboarding id: on disk they stay saved as
// running and the next start resumes them; in memory they are aborted (an ExecutionAborted event). Last it
// stops the simulator and its webhook deliveries.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.stopTokenHealthLoop()
	httpErr := r.server.Shutdown(ctx)
	running := r.Engine.ListExecutions(engine.StatusRunning)
	engineErr := r.Engine.Shutdown(ctx)
	for _, ex := range running {
		d, err := r.Engine.DescribeExecution(ex.ExecutionARN)
		if err == nil && d.Status == engine.StatusRunning {
			r.log.Info("workflow execution suspended by the shutdown: the next start resumes it", logging.KeyOnboardingID, onboardingIDOf(d.Name), "execution", d.Name)
		}
		if err == nil && d.Status != engine.StatusRunning && d.Status != engine.StatusSucceeded && d.Status != engine.StatusFailed {
			r.log.Warn("workflow execution interrupted by the shutdown", logging.KeyOnboardingID, onboardingIDOf(d.Name), "execution", d.Name, "execution_status", string(d.Status))
		}
	}
	if r.sender != nil {
		r.sender.Close()
	}
	r.closeSim()
	return errors.Join(httpErr, engineErr, r.closeState())
}

func (r *Runner) closeSim() {
	if r.Sim != nil {
		r.Sim.Close()
	}
}

// onboardingIDOf returns the onboarding id of an execution name (<id>-<n>).
func onboardingIDOf(executionName string) string {
	if i := strings.LastIndexByte(executionName, '-'); i > 0 {
		return executionName[:i]
	}
	return executionName
}

// step is a step handler as a Lambda function: each invocation gets a request id for the logs, as Lambda's
// request id would be, and runs inside around when that is set.
func step[In, Out any](around func(string, func()), name string, fn func(context.Context, In) (Out, error)) lambda.Handler {
	return lambda.NewHandler(func(ctx context.Context, in In) (out Out, err error) {
		if logging.RequestID(ctx) == "" {
			ctx = logging.WithRequestID(ctx, "local-"+onboarding.NewID()[:12])
		}
		if around == nil {
			return fn(ctx, in)
		}
		around(name, func() { out, err = fn(ctx, in) })
		return out, err
	})
}

// EngineWorkflow runs workflow executions on an interpreter (onboarding.Workflow); Engine must be set
// before the first start.
type EngineWorkflow struct {
	Engine *engine.Engine
	// failStart, when set (fault-injection tests), is called before each start: an error fails the start as
	// a throttled or refused StartExecution would on AWS.
	failStart atomic.Pointer[func() error]
}

// Start starts the execution; starting one that already exists (a repeated start) returns it.
func (w *EngineWorkflow) Start(ctx context.Context, in onboarding.StartInput) (string, error) {
	if fail := w.failStart.Load(); fail != nil {
		if err := (*fail)(); err != nil {
			return "", err
		}
	}
	doc, err := json.Marshal(in.Input)
	if err != nil {
		return "", fmt.Errorf("encoding the execution input: %w", err)
	}
	// An execution outlives the request that started it and gets its own request ids, as on AWS.
	arn, err := w.Engine.StartExecution(context.Background(), in.Name, doc)
	if errors.Is(err, engine.ErrExecutionAlreadyExists) {
		for _, ex := range w.Engine.ListExecutions("") {
			if ex.Name == in.Name {
				return ex.ExecutionARN, nil
			}
		}
	}
	return arn, err
}

// SendTaskSuccess resumes a waiting task; a token that no longer waits is stepfunctions.ErrTaskGone, as on AWS.
func (w *EngineWorkflow) SendTaskSuccess(_ context.Context, token string, output []byte) error {
	return taskError(w.Engine.SendTaskSuccess(token, output))
}

// SendTaskFailure fails a waiting task; a token that no longer waits is stepfunctions.ErrTaskGone.
func (w *EngineWorkflow) SendTaskFailure(_ context.Context, token, errorName, cause string) error {
	return taskError(w.Engine.SendTaskFailure(token, errorName, cause))
}

// IsTaskGone recognises the answer for a task token that is no longer waiting (taskError).
func IsTaskGone(err error) bool { return errors.Is(err, stepfunctions.ErrTaskGone) }

func taskError(err error) error {
	if errors.Is(err, engine.ErrTaskDoesNotExist) || errors.Is(err, engine.ErrTaskTimedOut) || errors.Is(err, engine.ErrInvalidToken) {
		return fmt.Errorf("%w: %v", stepfunctions.ErrTaskGone, err)
	}
	return err
}

// localHandler serves the local-only inspection endpoints.
func (r *Runner) localHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_local/executions", func(w http.ResponseWriter, req *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"executions": r.Engine.ListExecutions("")})
	})
	mux.HandleFunc("GET /_local/executions/{id}", func(w http.ResponseWriter, req *http.Request) {
		id := req.PathValue("id")
		type execution struct {
			engine.ExecutionDescription
			Events []engine.HistoryEvent `json:"events"`
		}
		var out []execution
		for _, ex := range r.Engine.ListExecutions("") {
			if ex.Name == id || ex.ExecutionARN == id || onboardingIDOf(ex.Name) == id {
				events, err := r.Engine.GetExecutionHistory(ex.ExecutionARN)
				if err != nil {
					continue
				}
				out = append(out, execution{ExecutionDescription: ex, Events: events})
			}
		}
		if len(out) == 0 {
			httpapi.WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "id", "no execution for this onboarding id or execution name")
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"executions": out})
	})
	mux.HandleFunc("GET /_local/events", func(w http.ResponseWriter, req *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"events": r.Events.Events()})
	})
	mux.Handle(graphsim.UserMessagesPath, r.simUserMessages())
	mux.HandleFunc("/_local/", func(w http.ResponseWriter, req *http.Request) {
		httpapi.WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "", "local endpoints: GET /_local/executions, /_local/executions/{onboarding id}, /_local/events; POST /_local/sim/messages")
	})
	return mux
}

// simUserMessages serves POST /_local/sim/messages: a simulated WhatsApp user messages a business number,
// and the embedded simulator sends the signed inbound webhook to /webhooks (graphsim.UserMessagesHandler).
// Against a Graph API in another process there is no simulated user to drive: 404.
func (r *Runner) simUserMessages() http.Handler {
	if r.Sim == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			httpapi.WriteError(w, http.StatusNotFound, onboarding.CodeNotFound, "", "the Graph API is not simulated by this runner (GRAPH_BASE_URL is set): there are no simulated users to drive")
		})
	}
	return r.Sim.UserMessagesHandler()
}

// lateOffboarder lets the worker, built before the steps service (which needs the worker as its
// correlator), offboard through it.
type lateOffboarder struct{ svc *stephandlers.Service }

// Offboard cleans up through the steps service.
func (l *lateOffboarder) Offboard(ctx context.Context, onboardingID string) error {
	return l.svc.Offboard(ctx, onboardingID)
}
