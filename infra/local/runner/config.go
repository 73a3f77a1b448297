package runner

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/onboarding"
)

// Dev defaults of the local runner: fake credentials the Graph simulator accepts. They are refused when
// GRAPH_BASE_URL points at the real Graph API.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultAppID        = "236484624622562"
	DefaultAppSecret    = "dev-app-secret-not-for-production"
	DefaultVerifyToken  = "dev-verify-token"
	DefaultSystemToken  = "dev-system-token"
	DefaultSystemUserID = "100000000000001"
	DefaultCreditLineID = "1972385232742146"
	DefaultTester       = "+16505551234"
	// DefaultTimeScale shortens the definition's Wait states and retry intervals locally (0.01: a 5-minute
	// wait takes 3 seconds), so an onboarding with a few injected faults finishes within a minute. Task
	// timeouts stay real. LOCAL_TIME_SCALE=1 runs production timing.
	DefaultTimeScale = 0.01
	// Local defaults of the test-message waits (production: 24 h and 1 h).
	DefaultInboundTimeout = 5 * time.Minute
	DefaultStatusTimeout  = 2 * time.Minute
	// DefaultPhoneVerificationTimeout is the local wait for the phone verification code (production: 7 days).
	DefaultPhoneVerificationTimeout = 10 * time.Minute
	// DefaultStateDir is where disk state lives, relative to the working directory (the checkout, for
	// `make run`); it is git-ignored.
	DefaultStateDir = ".local"
)

// Where the runner keeps records, webhook state and secrets (LOCAL_STATE).
const (
	// StateDisk keeps them in LOCAL_STATE_DIR (the default of ConfigFromEnv): they survive a restart.
	StateDisk = "disk"
	// StateMemory keeps them in memory, as tests and benchmarks want: every start is empty. It is also what
	// a Config with an empty State means.
	StateMemory = "memory"
)

// Config is the local runner's configuration, from environment variables.
type Config struct {
	Addr string
	App  onboarding.AppConfig
	// GraphBaseURL is empty for the embedded Graph simulator.
	GraphBaseURL    string
	GraphAPIVersion string
	SimFaults       []graphsim.Fault
	SimLatency      time.Duration
	SimTester       string
	TimeScale       float64
	DefaultCurrency string
	InboundTimeout  time.Duration
	StatusTimeout   time.Duration
	// PhoneVerificationTimeout bounds the wait for the phone verification code.
	PhoneVerificationTimeout time.Duration
	WebhookOverride          string
	TestMessageBody          string
	// State is StateDisk or StateMemory; empty means StateMemory.
	State string
	// StateDir is the state directory of StateDisk.
	StateDir string
	// GraphCallTimeout bounds each Graph call attempt (zero: graph.DefaultCallTimeout, 10 s). Not read from
	// the environment: the fault-injection tests shorten it so that a lost answer costs little time.
	GraphCallTimeout time.Duration
	// AuthIssuer and AuthAudience turn partner authentication on (both set) or leave it off (both empty,
	// the dev default): RS256 bearer tokens of that OpenID issuer, for that audience, on the partner routes.
	AuthIssuer   string
	AuthAudience string
	// afterCheckpoint, when set (the kill tests), is called after each workflow checkpoint is committed.
	afterCheckpoint func(engine.ExecutionSnapshot)
	// TokenHealthInterval is how often the token health check runs (EnvTokenHealthInterval); 0 is off.
	TokenHealthInterval time.Duration
}

// Environment variables of the local runner.
const (
	EnvAddr                     = "ADDR"
	EnvAppID                    = "WA_APP_ID"
	EnvAppSecret                = "WA_APP_SECRET"
	EnvVerifyToken              = "WA_VERIFY_TOKEN"
	EnvSystemToken              = "WA_SYSTEM_TOKEN"
	EnvSystemUserID             = "WA_SYSTEM_USER_ID"
	EnvCreditLineID             = "WA_CREDIT_LINE_ID"
	EnvGraphBaseURL             = "GRAPH_BASE_URL"
	EnvGraphAPIVersion          = "GRAPH_API_VERSION"
	EnvSimFaults                = "GRAPH_SIM_FAULTS"
	EnvSimLatency               = "GRAPH_SIM_LATENCY_MS"
	EnvSimTester                = "GRAPH_SIM_TESTER"
	EnvTimeScale                = "LOCAL_TIME_SCALE"
	EnvDefaultCurrency          = "DEFAULT_CURRENCY"
	EnvInboundTimeout           = "INBOUND_TIMEOUT_SECONDS"
	EnvStatusTimeout            = "STATUS_TIMEOUT_SECONDS"
	EnvPhoneVerificationTimeout = "PHONE_VERIFICATION_TIMEOUT_SECONDS"
	EnvWebhookOverride          = "WEBHOOK_OVERRIDE_URL"
	EnvTestMessageBody          = "TEST_MESSAGE_BODY"
	EnvAuthIssuer               = "AUTH_ISSUER"
	EnvAuthAudience             = "AUTH_AUDIENCE"
	EnvState                    = "LOCAL_STATE"
	EnvStateDir                 = "LOCAL_STATE_DIR"
)

// ConfigFromEnv reads the configuration. lookup is os.LookupEnv: a variable set to "" differs from an unset
// one (WA_CREDIT_LINE_ID= disables credit sharing).
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	e := &envReader{lookup: lookup}
	c := Config{
		Addr: e.str(EnvAddr, DefaultAddr),
		App: onboarding.AppConfig{
			AppID: e.str(EnvAppID, DefaultAppID), AppSecret: onboarding.NewSecret(e.str(EnvAppSecret, DefaultAppSecret)),
			WebhookVerifyToken: onboarding.NewSecret(e.str(EnvVerifyToken, DefaultVerifyToken)),
			SystemToken:        onboarding.NewSecret(e.str(EnvSystemToken, DefaultSystemToken)),
			SystemUserID:       e.str(EnvSystemUserID, DefaultSystemUserID), CreditLineID: e.str(EnvCreditLineID, DefaultCreditLineID),
		},
		GraphBaseURL: e.str(EnvGraphBaseURL, ""), GraphAPIVersion: e.str(EnvGraphAPIVersion, graph.DefaultAPIVersion),
		SimTester: e.str(EnvSimTester, DefaultTester), TimeScale: DefaultTimeScale, DefaultCurrency: e.str(EnvDefaultCurrency, "USD"),
		InboundTimeout: DefaultInboundTimeout, StatusTimeout: DefaultStatusTimeout, PhoneVerificationTimeout: DefaultPhoneVerificationTimeout,
		WebhookOverride: e.str(EnvWebhookOverride, ""), TestMessageBody: e.str(EnvTestMessageBody, ""),
		AuthIssuer: e.str(EnvAuthIssuer, ""), AuthAudience: e.str(EnvAuthAudience, ""),
		State: StateDisk, StateDir: DefaultStateDir, TokenHealthInterval: DefaultTokenHealthInterval,
	}
	// The checks, in the order their problems are reported.
	e.checkApp(c.App)
	e.checkGraphBaseURL(c.GraphBaseURL, c.App.CreditLineID != "")
	e.parse(EnvSimFaults, "", func(v string) (err error) { c.SimFaults, err = graphsim.ParseFaults(v); return err })
	e.parse(EnvSimLatency, "", func(v string) (err error) { c.SimLatency, err = graphsim.ParseLatencyMS(v); return err })
	e.check(onboarding.ValidE164(c.SimTester), EnvSimTester+" must be an E.164 number such as +16505551234")
	e.parse(EnvTimeScale, EnvTimeScale+" must be a number in (0, 1]; 1 is production timing", func(v string) (err error) {
		if c.TimeScale, err = strconv.ParseFloat(v, 64); err == nil && (c.TimeScale <= 0 || c.TimeScale > 1) {
			err = errOutOfRange
		}
		return err
	})
	e.check(onboarding.ValidCurrency(c.DefaultCurrency), EnvDefaultCurrency+" must be one of "+strings.Join(onboarding.Currencies, ", "))
	e.seconds(EnvInboundTimeout, &c.InboundTimeout)
	e.seconds(EnvStatusTimeout, &c.StatusTimeout)
	e.seconds(EnvPhoneVerificationTimeout, &c.PhoneVerificationTimeout)
	e.checkAuth(c.AuthIssuer, c.AuthAudience)
	e.parse(EnvState, "", func(v string) error { c.State = v; return nil })
	e.check(c.State == StateDisk || c.State == StateMemory, EnvState+" must be "+StateDisk+" (the default: state survives a restart) or "+StateMemory)
	e.parse(EnvStateDir, "", func(v string) error { c.StateDir = v; return nil })
	e.parse(EnvTokenHealthInterval, EnvTokenHealthInterval+" must be a duration such as 1m or 30s, or 0 to turn the token health check off", func(v string) (err error) {
		if c.TokenHealthInterval, err = time.ParseDuration(v); err == nil && c.TokenHealthInterval < 0 {
			err = errOutOfRange
		}
		return err
	})
	if len(e.problems) > 0 {
		return Config{}, fmt.Errorf("local configuration: %s", strings.Join(e.problems, "; "))
	}
	return c, nil
}

// envReader reads the environment and collects every problem with it, so that one start reports them all.
type envReader struct {
	lookup   func(string) (string, bool)
	problems []string
}

// str returns the variable's value, or def when it is unset: a variable set to "" is "".
func (e *envReader) str(name, def string) string {
	if v, ok := e.lookup(name); ok {
		return v
	}
	return def
}

// check records problem unless ok.
func (e *envReader) check(ok bool, problem string) {
	if !ok {
		e.problems = append(e.problems, problem)
	}
}

// parse hands the variable's value to set, unless it is unset or empty (the default then stays). A failure
// is recorded as problem, or as "NAME: error" when problem is empty.
func (e *envReader) parse(name, problem string, set func(string) error) {
	v, ok := e.lookup(name)
	if !ok || v == "" {
		return
	}
	if err := set(v); err != nil {
		if problem == "" {
			problem = name + ": " + err.Error()
		}
		e.check(false, problem)
	}
}

// errOutOfRange is a value that parses but is not allowed (the problem recorded says what is).
var errOutOfRange = errors.New("out of range")

// seconds parses a whole number of seconds into d.
func (e *envReader) seconds(name string, d *time.Duration) {
	e.parse(name, name+" must be a whole number of seconds", func(v string) error {
		n, err := strconv.Atoi(v)
		if err == nil && n < 1 {
			err = errOutOfRange
		}
		*d = time.Duration(n) * time.Second
		return err
	})
}

func (e *envReader) checkApp(app onboarding.AppConfig) {
	e.check(onboarding.ValidGraphID(app.AppID), EnvAppID+" must be 1 to 20 digits")
	e.check(onboarding.ValidGraphID(app.SystemUserID), EnvSystemUserID+" must be 1 to 20 digits")
	e.check(app.CreditLineID == "" || onboarding.ValidGraphID(app.CreditLineID), EnvCreditLineID+" must be 1 to 20 digits, or empty to skip credit sharing")
	e.check(!app.AppSecret.IsZero() && !app.WebhookVerifyToken.IsZero(), EnvAppSecret+" and "+EnvVerifyToken+" must not be empty")
}

// devCredentials are the settings whose dev defaults the real Graph API refuses, with those defaults. The
// system user's token and id serve only the credit sharing: they are required only with a credit line.
var devCredentials = []struct{ name, def string }{
	{EnvAppID, DefaultAppID}, {EnvAppSecret, DefaultAppSecret}, {EnvVerifyToken, DefaultVerifyToken}, {EnvCreditLineID, DefaultCreditLineID},
	{EnvSystemToken, DefaultSystemToken}, {EnvSystemUserID, DefaultSystemUserID},
}

// checkGraphBaseURL checks GRAPH_BASE_URL: against the real Graph API (a host not on loopback), every
// credential must be given explicitly, and none may be a dev default.
func (e *envReader) checkGraphBaseURL(base string, creditLine bool) {
	if base == "" {
		return
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		e.check(false, EnvGraphBaseURL+" must be a URL")
		return
	}
	if isLoopback(u.Hostname()) {
		return
	}
	required := devCredentials
	if !creditLine {
		required = required[:4]
	}
	for _, r := range required {
		v, ok := e.lookup(r.name)
		e.check(ok && v != r.def, fmt.Sprintf("%s points at %s: set %s to your own value (dev defaults are refused against the real Graph API)", EnvGraphBaseURL, u.Host, r.name))
	}
}

func (e *envReader) checkAuth(issuer, audience string) {
	switch {
	case (issuer == "") != (audience == ""):
		e.check(false, EnvAuthIssuer+" and "+EnvAuthAudience+" turn partner authentication on together: set both, or neither")
	case issuer != "":
		if err := auth.CheckIssuerURL(issuer); err != nil {
			e.check(false, EnvAuthIssuer+": "+err.Error())
		}
	}
}

func isLoopback(host string) bool { return host == "127.0.0.1" || host == "::1" || host == "localhost" }
