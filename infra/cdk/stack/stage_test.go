package stack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/waes/onboarding/infra/cdk/stack"
)

func TestCDKJSONStages(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	stages, err := loadStages(root)
	if err != nil {
		t.Fatalf("cdk.json stages: %v", err)
	}
	for _, name := range []string{"dev", "staging", "prod"} {
		t.Run(name, func(t *testing.T) {
			s, err := stack.SelectStage(stages, name)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := s.Name, name; got != want {
				t.Errorf("Name: got %q, want %q", got, want)
			}
			if got, want := s.DeletionProtection, name == "prod"; got != want {
				t.Errorf("deletionProtection: got %v, want %v", got, want)
			}
		})
	}
	if _, err := stack.SelectStage(stages, "qa"); err == nil || !strings.Contains(err.Error(), "dev, prod, staging") {
		t.Errorf("SelectStage(qa): got %v, want an error listing the stages", err)
	}
}

// validStage is a stage entry that DecodeStages accepts; the cases below break one setting each.
func validStage() map[string]any {
	return map[string]any{
		"allowedOrigins":        []any{"https://app.partner.example", "http://localhost:3000"},
		"throttleRateLimit":     10,
		"throttleBurstLimit":    20,
		"logRetentionDays":      14,
		"logLevel":              "INFO",
		"deletionProtection":    false,
		"defaultCurrency":       "EUR",
		"inboundTimeoutSeconds": 3600,
		"statusTimeoutSeconds":  600,
		"graphApiVersion":       "v21.0",
	}
}

func TestDecodeStages(t *testing.T) {
	tests := []struct {
		name    string
		change  func(m map[string]any)
		wantErr string // "" means valid
	}{
		{"valid", func(map[string]any) {}, ""},
		{"memory override", func(m map[string]any) { m["memoryMB"] = map[string]any{"api": 1024} }, ""},
		{"alarm email and override URL", func(m map[string]any) {
			m["alarmEmail"] = "ops@partner.example"
			m["webhookOverrideUrl"] = "https://hooks.partner.example/wa"
		}, ""},
		{"unknown key", func(m map[string]any) { m["allowedOrigin"] = []any{"https://x.example"} }, `unknown field "allowedOrigin"`},
		{"no origins", func(m map[string]any) { m["allowedOrigins"] = []any{} }, "allowedOrigins must list"},
		{"wildcard origin", func(m map[string]any) { m["allowedOrigins"] = []any{"*"} }, "wildcards are not allowed"},
		{"origin with path", func(m map[string]any) { m["allowedOrigins"] = []any{"https://app.example/signup"} }, "nothing after it"},
		{"plain http origin", func(m map[string]any) { m["allowedOrigins"] = []any{"http://app.example"} }, "must be https"},
		{"zero throttle", func(m map[string]any) { m["throttleRateLimit"] = 0 }, "must be positive"},
		{"retention CloudWatch refuses", func(m map[string]any) { m["logRetentionDays"] = 10 }, "logRetentionDays must be one of"},
		{"log level", func(m map[string]any) { m["logLevel"] = "TRACE" }, "logLevel must be one of"},
		{"memory of an unknown function", func(m map[string]any) { m["memoryMB"] = map[string]any{"apii": 512} }, `unknown function "apii"`},
		{"memory too small", func(m map[string]any) { m["memoryMB"] = map[string]any{"api": 64} }, "outside 128..10240"},
		{"alarm email", func(m map[string]any) { m["alarmEmail"] = "Ops <ops@partner.example>" }, "bare email address"},
		{"http override URL", func(m map[string]any) { m["webhookOverrideUrl"] = "http://hooks.example" }, "must be an https URL"},
		{"currency", func(m map[string]any) { m["defaultCurrency"] = "BRL" }, "defaultCurrency must be one of"},
		{"inbound timeout", func(m map[string]any) { m["inboundTimeoutSeconds"] = 0 }, "inboundTimeoutSeconds must be between"},
		{"status timeout over the workflow's", func(m map[string]any) { m["statusTimeoutSeconds"] = 8 * 24 * 3600 }, "statusTimeoutSeconds must be between"},
		{"graph version", func(m map[string]any) { m["graphApiVersion"] = "21.0" }, "graphApiVersion must have the form"},
		{"token health rate", func(m map[string]any) { m["tokenHealthSchedule"] = "rate(12 hours)" }, ""},
		{"token health cron", func(m map[string]any) { m["tokenHealthSchedule"] = "cron(0 6 * * ? *)" }, ""},
		{"token health every 0 days", func(m map[string]any) { m["tokenHealthSchedule"] = "rate(0 days)" }, "tokenHealthSchedule must be"},
		{"token health one-off", func(m map[string]any) { m["tokenHealthSchedule"] = "at(2026-12-04T03:00:00)" }, "tokenHealthSchedule must be"},
		{"token health short cron", func(m map[string]any) { m["tokenHealthSchedule"] = "cron(0 6 * * ?)" }, "tokenHealthSchedule must be"},
		{"string where a number belongs", func(m map[string]any) { m["throttleBurstLimit"] = "20" }, "cannot unmarshal string"},
		{"partner authentication", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.partner.example/", "audience": "https://onboarding.partner.example/api"}
		}, ""},
		{"http issuer", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "http://login.partner.example/", "audience": "api"}
		}, "auth.issuer: must be an https URL"},
		{"issuer with a query", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.partner.example/?x=1", "audience": "api"}
		}, "auth.issuer: must have no user, query or fragment"},
		{"no audience", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.partner.example/", "audience": " "}
		}, "auth.audience must name"},
		{"unknown auth key", func(m map[string]any) {
			m["auth"] = map[string]any{"issuer": "https://login.partner.example/", "audience": "api", "audiences": []any{"x"}}
		}, `unknown field "audiences"`},
		{"route throttles", func(m map[string]any) {
			m["routeThrottles"] = map[string]any{"webhooks": map[string]any{"rateLimit": 2000, "burstLimit": 5000}}
		}, ""},
		{"unknown route class", func(m map[string]any) {
			m["routeThrottles"] = map[string]any{"webhook": map[string]any{"rateLimit": 1, "burstLimit": 1}}
		}, `unknown route class "webhook"`},
		{"zero route throttle", func(m map[string]any) {
			m["routeThrottles"] = map[string]any{"signup": map[string]any{"rateLimit": 0, "burstLimit": 1}}
		}, "routeThrottles.signup: rateLimit and burstLimit must be positive"},
		{"worker concurrency", func(m map[string]any) { m["webhookWorkerMaxConcurrency"] = 50 }, ""},
		{"worker concurrency under SQS's minimum", func(m map[string]any) { m["webhookWorkerMaxConcurrency"] = 1 }, "webhookWorkerMaxConcurrency must be between 2 and 1000"},
		{"alarm topic", func(m map[string]any) { m["alarmTopicArn"] = "arn:aws:sns:eu-west-1:123456789012:ops" }, ""},
		{"FIFO alarm topic", func(m map[string]any) { m["alarmTopicArn"] = "arn:aws:sns:eu-west-1:123456789012:ops.fifo" }, "alarmTopicArn must be the ARN of a standard SNS topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry := validStage()
			tt.change(entry)
			// Round-trip through JSON: the CDK hands main the context as decoded JSON.
			raw, err := json.Marshal(map[string]any{"dev": entry})
			if err != nil {
				t.Fatal(err)
			}
			var ctx any
			if err := json.Unmarshal(raw, &ctx); err != nil {
				t.Fatal(err)
			}
			stages, err := stack.DecodeStages(ctx)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("DecodeStages: got %v, want no error", err)
			case tt.wantErr == "":
				if got, want := stages["dev"].Name, "dev"; got != want {
					t.Errorf("Name: got %q, want %q", got, want)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("DecodeStages: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if _, err := stack.DecodeStages(nil); err == nil {
			t.Errorf("DecodeStages(nil): got no error, want one")
		}
	})
	t.Run("alarm destination outside dev", func(t *testing.T) {
		for _, tt := range []struct {
			stage, key, value string
			wantErr           bool
		}{
			{"dev", "", "", false},
			{"staging", "", "", true},
			{"prod", "", "", true},
			{"qa", "", "", true},
			{"prod", "alarmEmail", "ops@partner.example", false},
			{"prod", "alarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:ops", false},
		} {
			entry := validStage()
			if tt.key != "" {
				entry[tt.key] = tt.value
			}
			_, err := stack.DecodeStages(map[string]any{tt.stage: entry})
			if tt.wantErr != (err != nil) || (err != nil && !strings.Contains(err.Error(), "alarmEmail or alarmTopicArn is required outside dev")) {
				t.Errorf("%s with %s=%q: got %v, want error %v", tt.stage, tt.key, tt.value, err, tt.wantErr)
			}
		}
	})
	t.Run("bad stage name", func(t *testing.T) {
		if _, err := stack.DecodeStages(map[string]any{"Prod_1": validStage()}); err == nil || !strings.Contains(err.Error(), "stage name") {
			t.Errorf("DecodeStages: got %v, want a stage name error", err)
		}
	})
}
