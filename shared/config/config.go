// Package config reads the stage configuration of a deployed function from its environment. It holds only
// non-secret settings: secrets live in Secrets Manager and are read through the vault. The CDK stack sets
// these variables (infra/cdk uses the Env* names below), and only the functions' main packages read them.
package config

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/onboarding"
)

// Environment variable names: the contract between the CDK stack and the functions.
const (
	EnvStage              = "STAGE"
	EnvTableName          = "TABLE_NAME"
	EnvStageSecretID      = "STAGE_SECRET_ID"
	EnvWABASecretPrefix   = "WABA_SECRET_PREFIX"
	EnvSecretsKMSKeyID    = "SECRETS_KMS_KEY_ID"
	EnvStateMachineARN    = "STATE_MACHINE_ARN"
	EnvGraphBaseURL       = "GRAPH_BASE_URL"
	EnvGraphAPIVersion    = "GRAPH_API_VERSION"
	EnvWebhookOverrideURL = "WEBHOOK_OVERRIDE_URL"
	EnvDefaultCurrency    = "DEFAULT_CURRENCY"
	EnvTestMessageBody    = "TEST_MESSAGE_BODY"
	EnvInboundTimeout     = "INBOUND_TIMEOUT_SECONDS"
	EnvStatusTimeout      = "STATUS_TIMEOUT_SECONDS"
	// EnvPhoneVerificationTimeout bounds the wait for the customer's phone verification code (default 7 days).
	EnvPhoneVerificationTimeout = "PHONE_VERIFICATION_TIMEOUT_SECONDS"
	EnvWebhookQueueURL          = "WEBHOOK_QUEUE_URL"
	EnvEventBusName             = "EVENT_BUS_NAME"
	EnvLogLevel                 = "LOG_LEVEL"
	// EnvAuthIssuer, when set, says the API Gateway JWT authorizer of this issuer guards the partner routes:
	// the API function then requires its verified claims on every partner request (partner authentication).
	EnvAuthIssuer = "AUTH_ISSUER"
	// EnvPreviousSecretGrace is how long after a rotation the previous app secret still verifies webhooks,
	// when the stage secret does not say (seconds).
	EnvPreviousSecretGrace = "PREVIOUS_APP_SECRET_GRACE_SECONDS"
)

// Stage is a deployed function's configuration.
type Stage struct {
	Name               string
	TableName          string
	StageSecretID      string
	WABASecretPrefix   string
	SecretsKMSKeyID    string
	StateMachineARN    string
	GraphBaseURL       string
	GraphAPIVersion    string
	WebhookOverrideURL string
	DefaultCurrency    string
	TestMessageBody    string
	InboundTimeout     time.Duration
	StatusTimeout      time.Duration
	// PhoneVerificationTimeout bounds the wait for the phone verification code.
	PhoneVerificationTimeout time.Duration
	WebhookQueueURL          string
	EventBusName             string
	LogLevel                 slog.Level
	// AuthIssuer is the partner authentication issuer (https URL); empty when partner authentication is off.
	AuthIssuer string
}

// Need names the settings a function requires beyond the common ones (Require derives them from the
// function's catalog entry).
type Need int

// Settings a function may require.
const (
	NeedTable Need = 1 << iota
	NeedStageSecret
	NeedWABASecrets
	NeedStateMachine
	NeedWebhookQueue
	NeedEventBus
)

// Require returns the settings a function with needs n cannot start without: the name of every resource
// it may touch, except the event bus of a function that publishes only when one is configured.
func Require(n catalog.Needs) Need {
	var need Need
	set := func(cond bool, x Need) {
		if cond {
			need |= x
		}
	}
	set(n.Table, NeedTable)
	set(n.StageSecret, NeedStageSecret)
	set(n.WABASecrets != catalog.WABANone, NeedWABASecrets)
	set(n.StateMachine(), NeedStateMachine)
	set(n.QueueSend, NeedWebhookQueue)
	set(n.Events == catalog.EventsRequired, NeedEventBus)
	return need
}

// FromEnv reads the configuration with getenv (os.Getenv in main) and checks that what the function needs
// is present and well-formed. Errors name the variable.
func FromEnv(getenv func(string) string, need Need) (Stage, error) {
	s := Stage{
		Name:               getenv(EnvStage),
		TableName:          getenv(EnvTableName),
		StageSecretID:      getenv(EnvStageSecretID),
		WABASecretPrefix:   getenv(EnvWABASecretPrefix),
		SecretsKMSKeyID:    getenv(EnvSecretsKMSKeyID),
		StateMachineARN:    getenv(EnvStateMachineARN),
		GraphBaseURL:       getenv(EnvGraphBaseURL),
		GraphAPIVersion:    getenv(EnvGraphAPIVersion),
		WebhookOverrideURL: getenv(EnvWebhookOverrideURL),
		DefaultCurrency:    getenv(EnvDefaultCurrency),
		TestMessageBody:    getenv(EnvTestMessageBody),
		WebhookQueueURL:    getenv(EnvWebhookQueueURL),
		EventBusName:       getenv(EnvEventBusName),
		AuthIssuer:         getenv(EnvAuthIssuer),
	}
	var problems []string
	require := func(n Need, name, value string) {
		if need&n != 0 && value == "" {
			problems = append(problems, name+" is not set")
		}
	}
	require(NeedTable, EnvTableName, s.TableName)
	require(NeedStageSecret, EnvStageSecretID, s.StageSecretID)
	require(NeedWABASecrets, EnvWABASecretPrefix, s.WABASecretPrefix)
	require(NeedStateMachine, EnvStateMachineARN, s.StateMachineARN)
	require(NeedWebhookQueue, EnvWebhookQueueURL, s.WebhookQueueURL)
	require(NeedEventBus, EnvEventBusName, s.EventBusName)

	if s.DefaultCurrency == "" {
		s.DefaultCurrency = "USD"
	}
	if !onboarding.ValidCurrency(s.DefaultCurrency) {
		problems = append(problems, fmt.Sprintf("%s must be one of %s", EnvDefaultCurrency, strings.Join(onboarding.Currencies, ", ")))
	}
	if s.WebhookOverrideURL != "" {
		if u, err := url.Parse(s.WebhookOverrideURL); err != nil || u.Scheme != "https" || u.Host == "" {
			problems = append(problems, EnvWebhookOverrideURL+" must be an https URL")
		}
	}
	if s.AuthIssuer != "" {
		if u, err := url.Parse(s.AuthIssuer); err != nil || u.Scheme != "https" || u.Host == "" {
			problems = append(problems, EnvAuthIssuer+" must be an https URL")
		}
	}
	var err error
	if s.InboundTimeout, err = seconds(getenv(EnvInboundTimeout), 24*time.Hour); err != nil {
		problems = append(problems, EnvInboundTimeout+": "+err.Error())
	}
	if s.StatusTimeout, err = seconds(getenv(EnvStatusTimeout), time.Hour); err != nil {
		problems = append(problems, EnvStatusTimeout+": "+err.Error())
	}
	if s.PhoneVerificationTimeout, err = seconds(getenv(EnvPhoneVerificationTimeout), 7*24*time.Hour); err != nil {
		problems = append(problems, EnvPhoneVerificationTimeout+": "+err.Error())
	}
	if err := s.LogLevel.UnmarshalText([]byte(cmp.Or(getenv(EnvLogLevel), "INFO"))); err != nil {
		problems = append(problems, EnvLogLevel+" must be DEBUG, INFO, WARN or ERROR")
	}
	if len(problems) > 0 {
		return Stage{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return s, nil
}

// MaxWait bounds each of the workflow's waits (the phone verification code, the tester's message, the reply's
// status): the state machine's own timeout, 22 days, outlasts the three at their longest.
const MaxWait = 7 * 24 * time.Hour

func seconds(v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	// Compared in seconds: time.Duration(n)*time.Second overflows (to a negative or small duration) for huge n.
	if err != nil || n < 1 || n > int(MaxWait/time.Second) {
		return 0, fmt.Errorf("must be a whole number of seconds between 1 and %d", int(MaxWait/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}
