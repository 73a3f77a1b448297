package config_test

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
)

// env is a getenv over a map: only what a case sets exists.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// full sets every variable a Need may require.
var full = env{
	config.EnvStage:            "prod",
	config.EnvTableName:        "onboarding-prod",
	config.EnvStageSecretID:    "wa-onboarding/prod/stage",
	config.EnvWABASecretPrefix: "wa-onboarding/prod/waba/",
	config.EnvStateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:onboarding-prod",
	config.EnvWebhookQueueURL:  "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks-prod",
	config.EnvEventBusName:     "partner-events-prod",
}

var needs = []struct {
	need config.Need
	env  string
}{
	{config.NeedTable, config.EnvTableName},
	{config.NeedStageSecret, config.EnvStageSecretID},
	{config.NeedWABASecrets, config.EnvWABASecretPrefix},
	{config.NeedStateMachine, config.EnvStateMachineARN},
	{config.NeedWebhookQueue, config.EnvWebhookQueueURL},
	{config.NeedEventBus, config.EnvEventBusName},
}

func allNeeds() config.Need {
	var n config.Need
	for _, x := range needs {
		n |= x.need
	}
	return n
}

func TestFromEnvRequiresWhatIsNeeded(t *testing.T) {
	for _, n := range needs {
		t.Run(n.env, func(t *testing.T) {
			missing := full.with(n.env, "")
			_, err := config.FromEnv(missing.get, n.need)
			if err == nil || !strings.Contains(err.Error(), n.env+" is not set") {
				t.Fatalf("FromEnv without %s, needing it: got %v, want an error naming %s", n.env, err, n.env)
			}
			// Every other need is satisfied and none of them names this variable.
			if _, err := config.FromEnv(missing.get, allNeeds()&^n.need); err != nil {
				t.Fatalf("FromEnv without %s, not needing it: got %v, want nil", n.env, err)
			}
		})
	}
}

func TestFromEnvNamesEveryMissingVariable(t *testing.T) {
	_, err := config.FromEnv(env{}.get, allNeeds())
	if err == nil {
		t.Fatal("FromEnv of an empty environment: got nil, want an error")
	}
	for _, n := range needs {
		if !strings.Contains(err.Error(), n.env) {
			t.Errorf("error %q: want it to name %s", err, n.env)
		}
	}
}

func TestFromEnvReadsEverySetting(t *testing.T) {
	e := full.with(
		config.EnvSecretsKMSKeyID, "alias/wa-onboarding",
		config.EnvGraphBaseURL, "http://127.0.0.1:8081",
		config.EnvGraphAPIVersion, "v23.0",
		config.EnvWebhookOverrideURL, "https://partner.example/webhooks",
		config.EnvDefaultCurrency, "EUR",
		config.EnvTestMessageBody, "Hello from onboarding",
		config.EnvInboundTimeout, "600",
		config.EnvStatusTimeout, "120",
		config.EnvPhoneVerificationTimeout, "3600",
		config.EnvLogLevel, "debug",
	)
	got, err := config.FromEnv(e.get, allNeeds())
	if err != nil {
		t.Fatal(err)
	}
	want := config.Stage{
		Name: "prod", TableName: "onboarding-prod", StageSecretID: "wa-onboarding/prod/stage",
		WABASecretPrefix: "wa-onboarding/prod/waba/", SecretsKMSKeyID: "alias/wa-onboarding",
		StateMachineARN: full[config.EnvStateMachineARN], GraphBaseURL: "http://127.0.0.1:8081", GraphAPIVersion: "v23.0",
		WebhookOverrideURL: "https://partner.example/webhooks", DefaultCurrency: "EUR", TestMessageBody: "Hello from onboarding",
		InboundTimeout: 10 * time.Minute, StatusTimeout: 2 * time.Minute, PhoneVerificationTimeout: time.Hour, WebhookQueueURL: full[config.EnvWebhookQueueURL],
		EventBusName: "partner-events-prod", LogLevel: slog.LevelDebug,
	}
	if got != want {
		t.Errorf("FromEnv:\n got %+v\nwant %+v", got, want)
	}
}

func TestFromEnvDefaults(t *testing.T) {
	got, err := config.FromEnv(env{}.get, 0)
	if err != nil {
		t.Fatalf("FromEnv of an empty environment needing nothing: got %v, want nil", err)
	}
	if got.DefaultCurrency != "USD" {
		t.Errorf("DefaultCurrency: got %q, want USD", got.DefaultCurrency)
	}
	if got.InboundTimeout != 24*time.Hour {
		t.Errorf("InboundTimeout: got %v, want 24h", got.InboundTimeout)
	}
	if got.StatusTimeout != time.Hour {
		t.Errorf("StatusTimeout: got %v, want 1h", got.StatusTimeout)
	}
	if got.LogLevel != slog.LevelInfo {
		t.Errorf("LogLevel: got %v, want INFO", got.LogLevel)
	}
	if got.WebhookOverrideURL != "" || got.GraphBaseURL != "" {
		t.Errorf("URLs: got override %q, graph %q; want both empty", got.WebhookOverrideURL, got.GraphBaseURL)
	}
}

func TestFromEnvLogLevels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
	}{
		{"DEBUG", slog.LevelDebug}, {"info", slog.LevelInfo}, {"WARN", slog.LevelWarn}, {"Error", slog.LevelError},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := config.FromEnv(env{config.EnvLogLevel: tc.in}.get, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.LogLevel != tc.want {
				t.Errorf("LogLevel: got %v, want %v", got.LogLevel, tc.want)
			}
		})
	}
}

func TestFromEnvCurrencies(t *testing.T) {
	for _, c := range []string{"AUD", "EUR", "GBP", "IDR", "INR", "USD"} {
		t.Run(c, func(t *testing.T) {
			got, err := config.FromEnv(env{config.EnvDefaultCurrency: c}.get, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.DefaultCurrency != c {
				t.Errorf("DefaultCurrency: got %q, want %q", got.DefaultCurrency, c)
			}
		})
	}
}

func TestFromEnvTimeoutBounds(t *testing.T) {
	maxSeconds := int(config.MaxWait / time.Second)
	for _, name := range []string{config.EnvInboundTimeout, config.EnvStatusTimeout} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				in   string
				want time.Duration // 0: invalid
			}{
				{"1", time.Second},
				{"3600", time.Hour},
				{strconv.Itoa(maxSeconds), config.MaxWait},
				{"0", 0},
				{"-1", 0},
				{strconv.Itoa(maxSeconds + 1), 0},
				{"1.5", 0},
				{"1h", 0},
				{" 60", 0},
				{"ten", 0},
				// time.Duration(n)*time.Second overflows int64 for these: they must not wrap into range.
				{"9223372037", 0},
				{"18446744074", 0},
				{"9223372036854775807", 0},
				{"99999999999999999999", 0},
			} {
				t.Run(tc.in, func(t *testing.T) {
					got, err := config.FromEnv(env{name: tc.in}.get, 0)
					if tc.want == 0 {
						if err == nil || !strings.Contains(err.Error(), name) {
							t.Fatalf("FromEnv with %s=%q: got %v (stage %+v), want an error naming %s", name, tc.in, err, got, name)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					d := got.InboundTimeout
					if name == config.EnvStatusTimeout {
						d = got.StatusTimeout
					}
					if d != tc.want {
						t.Errorf("%s=%q: got %v, want %v", name, tc.in, d, tc.want)
					}
				})
			}
		})
	}
}

func TestFromEnvInvalidValuesNameTheirVariable(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
	}{
		{"currency not supported", config.EnvDefaultCurrency, "BTC"},
		{"currency lower case", config.EnvDefaultCurrency, "usd"},
		{"override http", config.EnvWebhookOverrideURL, "http://partner.example/webhooks"},
		{"override no scheme", config.EnvWebhookOverrideURL, "partner.example/webhooks"},
		{"override no host", config.EnvWebhookOverrideURL, "https:///webhooks"},
		{"override scheme only", config.EnvWebhookOverrideURL, "https://"},
		{"override unparsable", config.EnvWebhookOverrideURL, "https://partner.example:port/"},
		{"override ftp", config.EnvWebhookOverrideURL, "ftp://partner.example/"},
		{"inbound timeout", config.EnvInboundTimeout, "forever"},
		{"status timeout", config.EnvStatusTimeout, "0"},
		{"log level", config.EnvLogLevel, "verbose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.FromEnv(full.with(tc.key, tc.value).get, allNeeds())
			if err == nil {
				t.Fatalf("FromEnv with %s=%q: got %+v, want an error", tc.key, tc.value, got)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q: want it to name %s", err, tc.key)
			}
			if got != (config.Stage{}) {
				t.Errorf("stage on error: got %+v, want the zero Stage", got)
			}
		})
	}
}

func TestFromEnvOverrideURL(t *testing.T) {
	for _, u := range []string{"https://partner.example/webhooks", "HTTPS://partner.example", "https://partner.example:8443/a/b?x=1"} {
		t.Run(u, func(t *testing.T) {
			got, err := config.FromEnv(env{config.EnvWebhookOverrideURL: u}.get, 0)
			if err != nil {
				t.Fatalf("FromEnv with %s=%q: got %v, want nil", config.EnvWebhookOverrideURL, u, err)
			}
			if got.WebhookOverrideURL != u {
				t.Errorf("WebhookOverrideURL: got %q, want %q", got.WebhookOverrideURL, u)
			}
		})
	}
}

// All problems are reported at once, so one failed deployment shows every mistake.
func TestFromEnvReportsEveryProblem(t *testing.T) {
	e := env{config.EnvDefaultCurrency: "XXX", config.EnvInboundTimeout: "0", config.EnvLogLevel: "loud"}
	_, err := config.FromEnv(e.get, config.NeedTable)
	if err == nil {
		t.Fatal("got nil, want an error")
	}
	for _, name := range []string{config.EnvTableName, config.EnvDefaultCurrency, config.EnvInboundTimeout, config.EnvLogLevel} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q: want it to name %s", err, name)
		}
	}
}

func ExampleFromEnv() {
	vars := map[string]string{config.EnvTableName: "onboarding-dev", config.EnvStatusTimeout: "900"}
	s, err := config.FromEnv(func(k string) string { return vars[k] }, config.NeedTable|config.NeedEventBus)
	fmt.Println(err)
	s, err = config.FromEnv(func(k string) string { return vars[k] }, config.NeedTable)
	fmt.Println(s.TableName, s.DefaultCurrency, s.InboundTimeout, s.StatusTimeout, err)
	// Output:
	// configuration: EVENT_BUS_NAME is not set
	// onboarding-dev USD 24h0m0s 15m0s <nil>
}

// A function requires the name of every resource its catalog entry lets it touch; the event bus only when
// publishing is required, and nothing for the queue it only consumes (its event source).
func TestRequire(t *testing.T) {
	for _, tt := range []struct {
		name  string
		needs catalog.Needs
		want  config.Need
	}{
		{"nothing", catalog.Needs{}, 0},
		{"table", catalog.Needs{Table: true}, config.NeedTable},
		{"stage secret", catalog.Needs{StageSecret: true}, config.NeedStageSecret},
		{"read WABA secrets", catalog.Needs{WABASecrets: catalog.WABARead}, config.NeedWABASecrets},
		{"write WABA secrets", catalog.Needs{WABASecrets: catalog.WABAWrite}, config.NeedWABASecrets},
		{"start executions", catalog.Needs{StartExecution: true}, config.NeedStateMachine},
		{"resume tasks", catalog.Needs{SendTaskResult: true}, config.NeedStateMachine},
		{"send to the queue", catalog.Needs{QueueSend: true}, config.NeedWebhookQueue},
		{"consume the queue", catalog.Needs{QueueConsume: true}, 0},
		{"events if configured", catalog.Needs{Events: catalog.EventsIfConfigured}, 0},
		{"events required", catalog.Needs{Events: catalog.EventsRequired}, config.NeedEventBus},
		{"all", catalog.Needs{Table: true, StageSecret: true, WABASecrets: catalog.WABAWrite, StartExecution: true, QueueSend: true, Events: catalog.EventsRequired}, allNeeds()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := config.Require(tt.needs); got != tt.want {
				t.Errorf("Require: got %b, want %b", got, tt.want)
			}
		})
	}
}
