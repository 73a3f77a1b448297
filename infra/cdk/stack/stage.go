package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
	"github.com/waes/onboarding/shared/onboarding"
)

// StageConfig is the configuration of one deployment stage: one entry of the "stages" object in cdk.json's
// context. It holds no secret: secrets go in the stage secret, which the stack creates empty.
type StageConfig struct {
	// Name is the stage's key in "stages" (dev, staging, prod). It names the stack and the secrets.
	Name string `json:"-"`
	// AllowedOrigins are the partner frontend origins (scheme://host[:port]) the API allows by CORS.
	AllowedOrigins []string `json:"allowedOrigins"`
	// ThrottleRateLimit and ThrottleBurstLimit are the API stage's steady-state requests per second and burst.
	ThrottleRateLimit  float64 `json:"throttleRateLimit"`
	ThrottleBurstLimit int     `json:"throttleBurstLimit"`
	// LogRetentionDays is the retention of every log group of the stage; one of CloudWatch's allowed values.
	LogRetentionDays int `json:"logRetentionDays"`
	// LogLevel is the functions' application log level: DEBUG, INFO, WARN or ERROR.
	LogLevel string `json:"logLevel"`
	// MemoryMB overrides the default memory of functions, by function name.
	MemoryMB map[string]int `json:"memoryMB,omitempty"`
	// AlarmEmail, when set, subscribes this address to the alarm topic (the subscription must be confirmed).
	AlarmEmail string `json:"alarmEmail,omitempty"`
	// AlarmTopicARN, when set, is an existing SNS topic (the operator's paging or chat integration) every
	// alarm also notifies. Every stage but dev needs AlarmEmail or AlarmTopicARN: an alarm nobody receives
	// is no alarm.
	AlarmTopicARN string `json:"alarmTopicArn,omitempty"`
	// Auth, when set, turns partner authentication on: API Gateway's JWT authorizer guards every partner
	// route and the api function requires its verified claims.
	Auth *AuthConfig `json:"auth,omitempty"`
	// RouteThrottles override DefaultRouteThrottles per route class; the stage throttle above applies to the
	// routes of no class (/healthz).
	RouteThrottles map[RouteClass]Throttle `json:"routeThrottles,omitempty"`
	// WebhookWorkerMaxConcurrency caps the concurrent webhook_worker invocations the queue drives (2..1000;
	// DefaultWebhookWorkerMaxConcurrency when 0), so that a webhook flood cannot take the account's
	// concurrency from the onboarding functions.
	WebhookWorkerMaxConcurrency int `json:"webhookWorkerMaxConcurrency,omitempty"`
	// DeletionProtection protects the table and the stack from deletion, and retains the stage secret and
	// log groups when the stack is deleted. On in prod.
	DeletionProtection bool `json:"deletionProtection"`
	// WebhookOverrideURL, when set, is the per-WABA webhook callback override (https) set at subscription.
	WebhookOverrideURL string `json:"webhookOverrideUrl,omitempty"`
	// DefaultCurrency is the credit line currency when a signup names none.
	DefaultCurrency string `json:"defaultCurrency"`
	// InboundTimeoutSeconds bounds the wait for the tester's inbound message; StatusTimeoutSeconds the wait
	// for the status webhooks of the reply.
	InboundTimeoutSeconds int `json:"inboundTimeoutSeconds"`
	StatusTimeoutSeconds  int `json:"statusTimeoutSeconds"`
	// PhoneVerificationTimeoutSeconds bounds the wait for an unverified number's code (0: 7 days).
	PhoneVerificationTimeoutSeconds int `json:"phoneVerificationTimeoutSeconds,omitempty"`
	// GraphAPIVersion is the Graph API version the functions call (vNN.N).
	GraphAPIVersion string `json:"graphApiVersion"`
	// TokenHealthSchedule is the EventBridge Scheduler expression of the token health check: rate(...) or
	// cron(...) (DefaultTokenHealthSchedule when empty).
	TokenHealthSchedule string `json:"tokenHealthSchedule,omitempty"`
}

// DefaultTokenHealthSchedule runs the token health check once a day.
const DefaultTokenHealthSchedule = "rate(1 day)"

// scheduleExpression accepts EventBridge Scheduler's recurring expressions: rate(n unit) and cron(six fields).
var scheduleExpression = regexp.MustCompile(`^(rate\([1-9][0-9]{0,4} (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$`)

// TokenHealthScheduleOrDefault is the stage's schedule of the token health check.
func (s StageConfig) TokenHealthScheduleOrDefault() string {
	if s.TokenHealthSchedule == "" {
		return DefaultTokenHealthSchedule
	}
	return s.TokenHealthSchedule
}

// AuthConfig is a stage's partner authentication: the OpenID provider whose RS256 access tokens the partner
// routes take.
type AuthConfig struct {
	// Issuer is the provider's issuer URL (https), the tokens' iss; API Gateway reads its discovery document.
	Issuer string `json:"issuer"`
	// Audience is the aud the tokens must carry (the API's identifier at the provider).
	Audience string `json:"audience"`
}

// RouteClass groups the API routes that share a throttle.
type RouteClass string

// The route classes.
const (
	// RouteWebhooks: Meta's webhook deliveries and handshake. Meta batches changes and retries failed
	// deliveries, so bursts are large and a throttled delivery is only retried later.
	RouteWebhooks RouteClass = "webhooks"
	// RouteSignup: POST /signup, one call per Embedded Signup a person completes.
	RouteSignup RouteClass = "signup"
	// RouteRetry: POST /onboardings/{id}/retry, which starts a workflow execution, and the phone
	// verification routes, which call Meta.
	RouteRetry RouteClass = "retry"
	// RouteStatus: the status reads a frontend polls (GET /onboardings...).
	RouteStatus RouteClass = "status"
)

// Throttle is a steady-state rate (requests per second) and a burst.
type Throttle struct {
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
}

// DefaultRouteThrottles are the per-route-class throttles of a stage whose routeThrottles do not say.
var DefaultRouteThrottles = map[RouteClass]Throttle{
	RouteWebhooks: {RateLimit: 1000, BurstLimit: 2000},
	RouteSignup:   {RateLimit: 5, BurstLimit: 10},
	RouteRetry:    {RateLimit: 2, BurstLimit: 5},
	RouteStatus:   {RateLimit: 50, BurstLimit: 100},
}

// DefaultWebhookWorkerMaxConcurrency is the webhook worker's concurrency cap when the stage does not set one.
const DefaultWebhookWorkerMaxConcurrency = 5

// RouteThrottle returns the throttle of a route class: the stage's override, else the default.
func (s StageConfig) RouteThrottle(c RouteClass) Throttle {
	if t, ok := s.RouteThrottles[c]; ok {
		return t
	}
	return DefaultRouteThrottles[c]
}

// WorkerMaxConcurrency returns the webhook worker's concurrency cap.
func (s StageConfig) WorkerMaxConcurrency() int {
	if s.WebhookWorkerMaxConcurrency == 0 {
		return DefaultWebhookWorkerMaxConcurrency
	}
	return s.WebhookWorkerMaxConcurrency
}

// RequiresAlarmDestination reports whether the stage must name where its alarms go: every stage but dev.
func (s StageConfig) RequiresAlarmDestination() bool { return s.Name != "dev" }

var (
	// An SNS standard topic ARN (CloudWatch alarms cannot notify FIFO topics).
	snsTopicARN  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	stageNameRE  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	graphVersion = regexp.MustCompile(`^v[0-9]{2}\.[0-9]$`)
	logLevels    = []string{"DEBUG", "INFO", "WARN", "ERROR"}
)

// DecodeStages decodes the "stages" context value (as the CDK returns it: decoded JSON) into validated stage
// configurations keyed by stage name. Unknown keys are errors, so a typo in cdk.json fails the synth instead
// of silently deploying a default.
func DecodeStages(raw any) (map[string]StageConfig, error) {
	if raw == nil {
		return nil, errors.New(`cdk.json: context "stages" is missing`)
	}
	doc, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf(`cdk.json: context "stages": %w`, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(doc, &entries); err != nil {
		return nil, fmt.Errorf(`cdk.json: context "stages" must be an object of stage objects: %w`, err)
	}
	stages := make(map[string]StageConfig, len(entries))
	for name, entry := range entries {
		dec := json.NewDecoder(bytes.NewReader(entry))
		dec.DisallowUnknownFields()
		var s StageConfig
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("cdk.json: stage %q: %w", name, err)
		}
		s.Name = name
		if err := s.Validate(); err != nil {
			return nil, err
		}
		stages[name] = s
	}
	return stages, nil
}

// SelectStage returns the named stage, or an error listing the stages there are.
func SelectStage(stages map[string]StageConfig, name string) (StageConfig, error) {
	s, ok := stages[name]
	if !ok {
		names := strings.Join(slices.Sorted(maps.Keys(stages)), ", ")
		return StageConfig{}, fmt.Errorf("unknown stage %q (cdk.json has: %s); choose one with -c stage=NAME", name, names)
	}
	return s, nil
}

// Validate checks every setting, naming the stage and the setting at fault.
func (s StageConfig) Validate() error {
	var problems []string
	// check records the problem unless ok.
	check := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	maxWait := int(config.MaxWait / time.Second)
	within := func(v, lo, hi int) bool { return v >= lo && v <= hi }

	check(stageNameRE.MatchString(s.Name), "the stage name must match %s (it names the stack and the secrets)", stageNameRE)
	check(len(s.AllowedOrigins) > 0, "allowedOrigins must list at least one partner frontend origin")
	for _, o := range s.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			check(false, "allowedOrigins: %q: %v", o, err)
		}
	}
	check(s.ThrottleRateLimit > 0 && s.ThrottleBurstLimit > 0, "throttleRateLimit and throttleBurstLimit must be positive")
	_, knownRetention := retentionDays[s.LogRetentionDays]
	check(knownRetention, "logRetentionDays must be one of %v", slices.Sorted(maps.Keys(retentionDays)))
	check(slices.Contains(logLevels, s.LogLevel), "logLevel must be one of %s", strings.Join(logLevels, ", "))
	for fn, mb := range s.MemoryMB {
		_, known := catalog.Find(fn)
		check(known, "memoryMB: unknown function %q", fn)
		check(within(mb, 128, 10240), "memoryMB: %s: %d is outside 128..10240", fn, mb)
	}
	if s.AlarmEmail != "" {
		a, err := mail.ParseAddress(s.AlarmEmail)
		check(err == nil && a.Address == s.AlarmEmail, "alarmEmail must be a bare email address")
	}
	check(s.AlarmTopicARN == "" || snsTopicARN.MatchString(s.AlarmTopicARN),
		"alarmTopicArn must be the ARN of a standard SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME)")
	check(!s.RequiresAlarmDestination() || s.AlarmEmail != "" || s.AlarmTopicARN != "",
		"alarmEmail or alarmTopicArn is required outside dev: the stage's alarms must reach someone")
	if s.Auth != nil {
		if err := checkIssuer(s.Auth.Issuer); err != nil {
			check(false, "auth.issuer: %v", err)
		}
		check(strings.TrimSpace(s.Auth.Audience) != "", "auth.audience must name the audience (aud) the partner's tokens carry")
	}
	for c, t := range s.RouteThrottles {
		_, known := DefaultRouteThrottles[c]
		check(known, "routeThrottles: unknown route class %q (known: %s)", c, strings.Join(routeClassNames(), ", "))
		check(t.RateLimit > 0 && t.BurstLimit > 0, "routeThrottles.%s: rateLimit and burstLimit must be positive", c)
	}
	check(s.WebhookWorkerMaxConcurrency == 0 || within(s.WebhookWorkerMaxConcurrency, 2, 1000),
		"webhookWorkerMaxConcurrency must be between 2 and 1000 (SQS event source maximum concurrency)")
	if s.WebhookOverrideURL != "" {
		u, err := url.Parse(s.WebhookOverrideURL)
		check(err == nil && u.Scheme == "https" && u.Host != "", "webhookOverrideUrl must be an https URL")
	}
	check(onboarding.ValidCurrency(s.DefaultCurrency), "defaultCurrency must be one of %s", strings.Join(onboarding.Currencies, ", "))
	check(s.PhoneVerificationTimeoutSeconds == 0 || within(s.PhoneVerificationTimeoutSeconds, 1, maxWait),
		"phoneVerificationTimeoutSeconds must be between 1 and %d", maxWait)
	check(within(s.InboundTimeoutSeconds, 1, maxWait), "inboundTimeoutSeconds must be between 1 and %d", maxWait)
	check(within(s.StatusTimeoutSeconds, 1, maxWait), "statusTimeoutSeconds must be between 1 and %d", maxWait)
	check(graphVersion.MatchString(s.GraphAPIVersion), "graphApiVersion must have the form vNN.N (for example v25.0)")
	check(s.TokenHealthSchedule == "" || scheduleExpression.MatchString(s.TokenHealthSchedule),
		"tokenHealthSchedule must be rate(<n> minutes|hours|days) or cron(<6 fields>), for example %s", DefaultTokenHealthSchedule)
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("cdk.json: stage %q: %s", s.Name, strings.Join(problems, "; "))
	}
	return nil
}

// checkOrigin accepts a CORS origin: https://host[:port], or http for loopback hosts (local frontends).
// Wildcards are refused: the allow-list is what keeps other sites from driving the signup API.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	switch {
	case strings.Contains(o, "*"):
		return errors.New("wildcards are not allowed")
	case u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return errors.New("must be scheme://host[:port] with nothing after it")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"):
		return nil
	default:
		return errors.New("must be https (http only for localhost)")
	}
}

// checkIssuer accepts an OpenID issuer: an https URL with a host and nothing after the path, which API
// Gateway's JWT authorizer fetches the discovery document of.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		return err
	case u.Scheme != "https" || u.Host == "":
		return errors.New("must be an https URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(issuer, "?#"):
		return errors.New("must have no user, query or fragment")
	}
	return nil
}

func routeClassNames() []string {
	names := make([]string, 0, len(DefaultRouteThrottles))
	for c := range DefaultRouteThrottles {
		names = append(names, string(c))
	}
	sort.Strings(names)
	return names
}
