package runner

import (
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
	get := func(name, def string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, true
		}
		return def, false
	}
	var problems []string
	c := Config{}
	c.Addr, _ = get(EnvAddr, DefaultAddr)
	appID, setAppID := get(EnvAppID, DefaultAppID)
	appSecret, setSecret := get(EnvAppSecret, DefaultAppSecret)
	verify, setVerify := get(EnvVerifyToken, DefaultVerifyToken)
	system, setSystem := get(EnvSystemToken, DefaultSystemToken)
	systemUser, setSystemUser := get(EnvSystemUserID, DefaultSystemUserID)
	creditLine, setCreditLine := get(EnvCreditLineID, DefaultCreditLineID)
	c.App = onboarding.AppConfig{
		AppID: appID, AppSecret: onboarding.NewSecret(appSecret), WebhookVerifyToken: onboarding.NewSecret(verify),
		SystemToken: onboarding.NewSecret(system), SystemUserID: systemUser, CreditLineID: creditLine,
	}
	for name, id := range map[string]string{EnvAppID: appID, EnvSystemUserID: systemUser} {
		if !onboarding.ValidGraphID(id) {
			problems = append(problems, name+" must be 1 to 20 digits")
		}
	}
	if creditLine != "" && !onboarding.ValidGraphID(creditLine) {
		problems = append(problems, EnvCreditLineID+" must be 1 to 20 digits, or empty to skip credit sharing")
	}
	if appSecret == "" || verify == "" {
		problems = append(problems, EnvAppSecret+" and "+EnvVerifyToken+" must not be empty")
	}

	c.GraphBaseURL, _ = get(EnvGraphBaseURL, "")
	if c.GraphBaseURL != "" {
		u, err := url.Parse(c.GraphBaseURL)
		if err != nil || u.Host == "" {
			problems = append(problems, EnvGraphBaseURL+" must be a URL")
		} else if !isLoopback(u.Hostname()) {
			// The real Graph API: every credential must be given explicitly, and none may be a dev default.
			required := []requirement{
				{EnvAppID, setAppID, appID == DefaultAppID},
				{EnvAppSecret, setSecret, appSecret == DefaultAppSecret},
				{EnvVerifyToken, setVerify, verify == DefaultVerifyToken},
				{EnvCreditLineID, setCreditLine, creditLine == DefaultCreditLineID},
			}
			if creditLine != "" {
				required = append(required,
					requirement{EnvSystemToken, setSystem, system == DefaultSystemToken},
					requirement{EnvSystemUserID, setSystemUser, systemUser == DefaultSystemUserID})
			}
			for _, r := range required {
				if !r.set || r.isDev {
					problems = append(problems, fmt.Sprintf("%s points at %s: set %s to your own value (dev defaults are refused against the real Graph API)", EnvGraphBaseURL, u.Host, r.name))
				}
			}
		}
	}
	c.GraphAPIVersion, _ = get(EnvGraphAPIVersion, graph.DefaultAPIVersion)

	if v, ok := lookup(EnvSimFaults); ok && v != "" {
		faults, err := graphsim.ParseFaults(v)
		if err != nil {
			problems = append(problems, EnvSimFaults+": "+err.Error())
		}
		c.SimFaults = faults
	}
	if v, ok := lookup(EnvSimLatency); ok && v != "" {
		d, err := graphsim.ParseLatencyMS(v)
		if err != nil {
			problems = append(problems, EnvSimLatency+": "+err.Error())
		}
		c.SimLatency = d
	}
	c.SimTester, _ = get(EnvSimTester, DefaultTester)
	if !onboarding.ValidE164(c.SimTester) {
		problems = append(problems, EnvSimTester+" must be an E.164 number such as +16505551234")
	}

	c.TimeScale = DefaultTimeScale
	if v, ok := lookup(EnvTimeScale); ok && v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			problems = append(problems, EnvTimeScale+" must be a number in (0, 1]; 1 is production timing")
		}
		c.TimeScale = f
	}
	c.DefaultCurrency, _ = get(EnvDefaultCurrency, "USD")
	if !onboarding.ValidCurrency(c.DefaultCurrency) {
		problems = append(problems, EnvDefaultCurrency+" must be one of "+strings.Join(onboarding.Currencies, ", "))
	}
	var err error
	if c.InboundTimeout, err = seconds(lookup, EnvInboundTimeout, DefaultInboundTimeout); err != nil {
		problems = append(problems, err.Error())
	}
	if c.StatusTimeout, err = seconds(lookup, EnvStatusTimeout, DefaultStatusTimeout); err != nil {
		problems = append(problems, err.Error())
	}
	if c.PhoneVerificationTimeout, err = seconds(lookup, EnvPhoneVerificationTimeout, DefaultPhoneVerificationTimeout); err != nil {
		problems = append(problems, err.Error())
	}
	c.WebhookOverride, _ = get(EnvWebhookOverride, "")
	c.TestMessageBody, _ = get(EnvTestMessageBody, "")
	c.AuthIssuer, _ = get(EnvAuthIssuer, "")
	c.AuthAudience, _ = get(EnvAuthAudience, "")
	switch {
	case (c.AuthIssuer == "") != (c.AuthAudience == ""):
		problems = append(problems, EnvAuthIssuer+" and "+EnvAuthAudience+" turn partner authentication on together: set both, or neither")
	case c.AuthIssuer != "":
		if err := auth.CheckIssuerURL(c.AuthIssuer); err != nil {
			problems = append(problems, EnvAuthIssuer+": "+err.Error())
		}
	}
	c.State, _ = get(EnvState, StateDisk)
	if c.State == "" {
		c.State = StateDisk
	}
	if c.State != StateDisk && c.State != StateMemory {
		problems = append(problems, EnvState+" must be "+StateDisk+" (the default: state survives a restart) or "+StateMemory)
	}
	c.StateDir, _ = get(EnvStateDir, DefaultStateDir)
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	c.TokenHealthInterval = DefaultTokenHealthInterval
	if v, ok := lookup(EnvTokenHealthInterval); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problems = append(problems, EnvTokenHealthInterval+" must be a duration such as 1m or 30s, or 0 to turn the token health check off")
		}
		c.TokenHealthInterval = d
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("local configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// requirement is a credential that must be set explicitly, and not to its dev default, against the real
// Graph API.
type requirement struct {
	name       string
	set, isDev bool
}

func seconds(lookup func(string) (string, bool), name string, def time.Duration) (time.Duration, error) {
	v, ok := lookup(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a whole number of seconds", name)
	}
	return time.Duration(n) * time.Second, nil
}

func isLoopback(host string) bool { return host == "127.0.0.1" || host == "::1" || host == "localhost" }
