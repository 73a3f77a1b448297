package stack_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/infra/cdk/stack"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
	ddbschema "github.com/waes/onboarding/shared/store/dynamodb/schema"
	"github.com/waes/onboarding/shared/workflow"
)

func TestFunctions(t *testing.T) {
	s := dev(t)
	if got, want := len(s.resources("AWS::Lambda::Function")), len(catalog.Functions); got != want {
		t.Errorf("Lambda functions: got %d, want %d", got, want)
	}
	logGroups := s.resources("AWS::Logs::LogGroup")
	for _, f := range catalog.Functions {
		t.Run(f.Name, func(t *testing.T) {
			_, p := s.function(t, f.Name)
			checks := []struct {
				what      string
				got, want any
			}{
				{"Runtime", p["Runtime"], "provided.al2023"},
				{"Architectures", render(p["Architectures"]), `["arm64"]`},
				{"Handler", p["Handler"], "bootstrap"},
				{"TracingConfig.Mode", obj(p["TracingConfig"])["Mode"], "Active"},
				{"LoggingConfig.LogFormat", obj(p["LoggingConfig"])["LogFormat"], "JSON"},
				{"LoggingConfig.ApplicationLogLevel", obj(p["LoggingConfig"])["ApplicationLogLevel"], s.stage.LogLevel},
				{"Timeout", p["Timeout"], float64(f.TimeoutSeconds)},
				{"MemorySize", p["MemorySize"], float64(f.MemoryMB)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
				}
			}
			lg := ref(obj(p["LoggingConfig"])["LogGroup"])
			if got, want := props(logGroups[lg])["RetentionInDays"], float64(s.stage.LogRetentionDays); got != want {
				t.Errorf("log group %q RetentionInDays: got %v, want %v", lg, got, want)
			}
		})
	}
	t.Run("api stays under API Gateway's 30 s", func(t *testing.T) {
		if _, p := s.function(t, "api"); p["Timeout"].(float64) > 29 {
			t.Errorf("api Timeout: got %v, want at most 29", p["Timeout"])
		}
	})
	t.Run("prod memory override", func(t *testing.T) {
		prod := synth(t).stages["prod"]
		for name, mb := range prod.stage.MemoryMB {
			if _, p := prod.function(t, name); p["MemorySize"] != float64(mb) {
				t.Errorf("prod %s MemorySize: got %v, want %d", name, p["MemorySize"], mb)
			}
		}
	})
}

func TestFunctionEnvironment(t *testing.T) {
	common := []string{config.EnvStage, config.EnvLogLevel, config.EnvGraphAPIVersion, config.EnvDefaultCurrency, config.EnvInboundTimeout, config.EnvStatusTimeout}
	waba := []string{config.EnvWABASecretPrefix, config.EnvSecretsKMSKeyID}
	// Each resource's name goes to exactly the functions whose catalog needs let them touch it.
	extra := func(n catalog.Needs) []string {
		var out []string
		add := func(cond bool, names ...string) {
			if cond {
				out = append(out, names...)
			}
		}
		add(n.Table, config.EnvTableName)
		add(n.StageSecret, config.EnvStageSecretID)
		add(n.WABASecrets != catalog.WABANone, waba...)
		add(n.StartExecution || n.SendTaskResult, config.EnvStateMachineARN)
		add(n.QueueSend, config.EnvWebhookQueueURL)
		add(n.Events != catalog.EventsNone, config.EnvEventBusName)
		return out
	}
	type test struct {
		function string
		extra    []string
	}
	var tests []test
	for _, f := range catalog.Functions {
		tests = append(tests, test{f.Name, extra(f.Needs)})
	}
	s := dev(t)
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			_, p := s.function(t, tt.function)
			env := obj(obj(p["Environment"])["Variables"])
			want := append(slices.Clone(common), tt.extra...)
			slices.Sort(want)
			if got := sortedKeys(env); !slices.Equal(got, want) {
				t.Errorf("environment: got %v, want %v", got, want)
			}
			for k, v := range env {
				if strings.Contains(strings.ToLower(k), "secret") && !slices.Contains([]string{config.EnvStageSecretID, config.EnvWABASecretPrefix, config.EnvSecretsKMSKeyID}, k) {
					t.Errorf("environment %s=%v looks like a secret", k, render(v))
				}
			}
			if v, ok := env[config.EnvWABASecretPrefix]; ok && v != stack.WABASecretPrefix("dev") {
				t.Errorf("%s: got %v, want %s", config.EnvWABASecretPrefix, v, stack.WABASecretPrefix("dev"))
			}
		})
	}
}

func TestTable(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			_, r := s.only(t, "AWS::DynamoDB::Table")
			p := props(r)
			checks := []struct {
				what      string
				got, want any
			}{
				{"BillingMode", p["BillingMode"], "PAY_PER_REQUEST"},
				{"PointInTimeRecoveryEnabled", obj(p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"], true},
				{"TTL attribute", obj(p["TimeToLiveSpecification"])["AttributeName"], ddbschema.AttrTTL},
				{"TTL enabled", obj(p["TimeToLiveSpecification"])["Enabled"], true},
				{"DeletionPolicy", r["DeletionPolicy"], "Retain"},
				{"UpdateReplacePolicy", r["UpdateReplacePolicy"], "Retain"},
				{"DeletionProtectionEnabled", p["DeletionProtectionEnabled"], name == "prod"},
				{"KeySchema", render(p["KeySchema"]), fmt.Sprintf(`[{"AttributeName":%q,"KeyType":"HASH"},{"AttributeName":%q,"KeyType":"RANGE"}]`, ddbschema.AttrPK, ddbschema.AttrSK)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
				}
			}
			var got []string
			for _, g := range list(p["GlobalSecondaryIndexes"]) {
				gp := obj(g)
				got = append(got, fmt.Sprintf("%v %s %v", gp["IndexName"], render(gp["KeySchema"]), obj(gp["Projection"])["ProjectionType"]))
			}
			var want []string
			for _, ix := range ddbschema.Indexes {
				want = append(want, fmt.Sprintf(`%s [{"AttributeName":%q,"KeyType":"HASH"},{"AttributeName":%q,"KeyType":"RANGE"}] ALL`, ix.Name, ix.PartitionKey, ix.SortKey))
			}
			if !slices.Equal(got, want) {
				t.Errorf("GlobalSecondaryIndexes:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestDeletionProtectionByStage(t *testing.T) {
	for _, tt := range []struct {
		stage string
		want  bool
	}{{"dev", false}, {"staging", false}, {"prod", true}} {
		t.Run(tt.stage, func(t *testing.T) {
			s := synth(t).stages[tt.stage]
			if got := s.stage.DeletionProtection; got != tt.want {
				t.Errorf("cdk.json deletionProtection: got %v, want %v", got, tt.want)
			}
			if got := s.stack.TerminationProtection(); got == nil || *got != tt.want {
				t.Errorf("stack termination protection: got %v, want %v", render(got), tt.want)
			}
			_, secret := s.only(t, "AWS::SecretsManager::Secret")
			wantPolicy := map[bool]string{true: "Retain", false: "Delete"}[tt.want]
			if got := secret["DeletionPolicy"]; got != wantPolicy {
				t.Errorf("stage secret DeletionPolicy: got %v, want %s", got, wantPolicy)
			}
		})
	}
}

func TestStateMachine(t *testing.T) {
	s := dev(t)
	_, r := s.only(t, "AWS::StepFunctions::StateMachine")
	p := props(r)
	logging := obj(p["LoggingConfiguration"])
	checks := []struct {
		what      string
		got, want any
	}{
		{"StateMachineType", p["StateMachineType"], "STANDARD"},
		{"LoggingConfiguration.Level", logging["Level"], "ALL"},
		{"LoggingConfiguration.IncludeExecutionData", logging["IncludeExecutionData"], false},
		{"TracingConfiguration.Enabled", obj(p["TracingConfiguration"])["Enabled"], true},
		{"DefinitionString", p["DefinitionString"], string(workflow.Definition)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %.200v, want %.200v", c.what, c.got, c.want)
		}
	}
	dest := list(logging["Destinations"])
	if len(dest) != 1 || getAtt(obj(obj(dest[0])["CloudWatchLogsLogGroup"])["LogGroupArn"], "Arn") == "" {
		t.Errorf("LoggingConfiguration.Destinations: got %v, want one log group", render(dest))
	}
	subs := obj(p["DefinitionSubstitutions"])
	if got, want := len(subs), len(catalog.Workflow()); got != want {
		t.Errorf("DefinitionSubstitutions: got %d, want %d", got, want)
	}
	for _, wf := range catalog.Workflow() {
		t.Run(wf.Placeholder, func(t *testing.T) {
			id, _ := s.function(t, wf.Name)
			if got := getAtt(subs[wf.Placeholder], "Arn"); got != id {
				t.Errorf("${%s}: got %v, want the Arn of %s (%s)", wf.Placeholder, render(subs[wf.Placeholder]), wf.Name, id)
			}
		})
	}
}

// TestDefinitionIsValidASL resolves the definition's substitutions with dummy ARNs, as CloudFormation
// would, and runs asl-validator on the result.
func TestDefinitionIsValidASL(t *testing.T) {
	s := dev(t)
	_, r := s.only(t, "AWS::StepFunctions::StateMachine")
	def := resolveDefinition(t, props(r))
	validateASL(t, synth(t).root, def)
}

// TestTaskTimeoutsOutlastLambdaTimeouts: each Task's TimeoutSeconds is longer than the timeout of the
// function it invokes, so a slow function fails as a Lambda error the retriers handle, not as a
// States.Timeout racing a function that is still running.
func TestTaskTimeoutsOutlastLambdaTimeouts(t *testing.T) {
	var def struct {
		States map[string]struct {
			Type           string
			Resource       string
			TimeoutSeconds *float64
			Parameters     struct{ FunctionName string }
		}
	}
	if err := json.Unmarshal(workflow.Definition, &def); err != nil {
		t.Fatal(err)
	}
	byPlaceholder := map[string]string{}
	for _, wf := range catalog.Workflow() {
		byPlaceholder["${"+wf.Placeholder+"}"] = wf.Name
	}
	for _, name := range sortedKeys(def.States) {
		st := def.States[name]
		if st.Type != "Task" || st.Resource != "arn:aws:states:::lambda:invoke" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			fn, ok := byPlaceholder[st.Parameters.FunctionName]
			if !ok {
				t.Fatalf("FunctionName %q is not a workflow placeholder", st.Parameters.FunctionName)
			}
			if st.TimeoutSeconds == nil {
				t.Fatalf("no TimeoutSeconds")
			}
			for _, f := range catalog.Functions {
				if f.Name == fn && float64(f.TimeoutSeconds) >= *st.TimeoutSeconds {
					t.Errorf("%s timeout %v s: want less than the state's TimeoutSeconds %v", fn, f.TimeoutSeconds, *st.TimeoutSeconds)
				}
			}
		})
	}
}

func TestAPI(t *testing.T) {
	for _, name := range []string{"dev", "staging", "prod"} {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			_, api := s.only(t, "AWS::ApiGatewayV2::Api")
			cors := obj(props(api)["CorsConfiguration"])
			var origins []string
			for _, o := range list(cors["AllowOrigins"]) {
				origins = append(origins, o.(string))
			}
			if !slices.Equal(origins, s.stage.AllowedOrigins) {
				t.Errorf("CORS AllowOrigins: got %v, want %v", origins, s.stage.AllowedOrigins)
			}
			if got, want := render(cors["AllowMethods"]), `["GET","POST","OPTIONS"]`; got != want {
				t.Errorf("CORS AllowMethods: got %s, want %s", got, want)
			}
			if got, want := render(cors["AllowHeaders"]), `["content-type"]`; got != want {
				t.Errorf("CORS AllowHeaders: got %s, want %s", got, want)
			}
			if cors["AllowCredentials"] == true {
				t.Errorf("CORS AllowCredentials: got true, want unset")
			}

			_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
			sp := props(stage)
			throttle := obj(sp["DefaultRouteSettings"])
			if got, want := throttle["ThrottlingRateLimit"], s.stage.ThrottleRateLimit; got != want {
				t.Errorf("ThrottlingRateLimit: got %v, want %v", got, want)
			}
			if got, want := throttle["ThrottlingBurstLimit"], float64(s.stage.ThrottleBurstLimit); got != want {
				t.Errorf("ThrottlingBurstLimit: got %v, want %v", got, want)
			}
			if got, want := sp["StageName"], "$default"; got != want {
				t.Errorf("StageName: got %v, want %v", got, want)
			}
			logs := obj(sp["AccessLogSettings"])
			if getAtt(logs["DestinationArn"], "Arn") == "" {
				t.Errorf("AccessLogSettings.DestinationArn: got %v, want a log group", render(logs["DestinationArn"]))
			}
			var format map[string]string
			if err := json.Unmarshal([]byte(fmt.Sprint(logs["Format"])), &format); err != nil {
				t.Fatalf("access log format is not JSON: %v", err)
			}
			for _, field := range []string{"requestId", "ip", "routeKey", "status", "latency", "integrationError"} {
				if format[field] == "" {
					t.Errorf("access log format: no %q field", field)
				}
			}
			for k, v := range format {
				// The path holds onboarding ids; the handshake's query string holds the verify token.
				if strings.Contains(v, "$context.path") || strings.Contains(v, "querystring") {
					t.Errorf("access log field %s=%s logs the path or query", k, v)
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	s := dev(t)
	integrations := s.resources("AWS::ApiGatewayV2::Integration")
	want := map[string]string{
		"POST /signup":                                   "api",
		"GET /onboardings":                               "api",
		"GET /onboardings/{id}":                          "api",
		"POST /onboardings/{id}/retry":                   "api",
		"POST /onboardings/{id}/phone-verification/code": "api",
		"POST /onboardings/{id}/phone-verification":      "api",
		"GET /healthz":                                   "api",
		"GET /webhooks":                                  "webhook",
		"POST /webhooks":                                 "webhook",
	}
	got := map[string]string{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		key := fmt.Sprint(p["RouteKey"])
		target := render(p["Target"]) // "integrations/<id>"
		id := target[strings.LastIndex(target, "<")+1 : strings.LastIndex(target, ">")]
		fnID := getAtt(props(integrations[id])["IntegrationUri"], "Arn")
		for _, f := range catalog.Functions {
			if fid, _ := s.function(t, f.Name); fid == fnID {
				got[key] = f.Name
			}
		}
		if p["AuthorizationType"] != nil && p["AuthorizationType"] != "NONE" {
			t.Errorf("%s AuthorizationType: got %v, want NONE (authenticated in the function)", key, p["AuthorizationType"])
		}
	}
	if g, w := render(got), render(want); g != w {
		t.Errorf("routes:\n got %s\nwant %s", g, w)
	}
	for _, k := range sortedKeys(got) {
		if k == "$default" || strings.Contains(k, "ANY") || strings.Contains(k, "{proxy+}") {
			t.Errorf("catch-all route %q", k)
		}
	}
	mustNotPanic(t, "one resource per route of the table", func() {
		s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(float64(len(stack.Routes))))
	})
}

func TestWebhookQueue(t *testing.T) {
	s := dev(t)
	queues := s.resources("AWS::SQS::Queue")
	if len(queues) != 2 {
		t.Fatalf("queues: got %d, want 2 (queue and dead-letter queue)", len(queues))
	}
	var queueID, dlqID string
	for id, q := range queues {
		if rp := obj(props(q)["RedrivePolicy"]); rp != nil {
			queueID, dlqID = id, getAtt(rp["deadLetterTargetArn"], "Arn")
			if got, want := rp["maxReceiveCount"], float64(5); got != want {
				t.Errorf("maxReceiveCount: got %v, want %v", got, want)
			}
		}
	}
	if queueID == "" || queues[dlqID] == nil {
		t.Fatalf("no queue with a dead-letter queue among %v", sortedKeys(queues))
	}
	_, worker := s.function(t, "webhook_worker")
	qp, dp := props(queues[queueID]), props(queues[dlqID])
	checks := []struct {
		what      string
		got, want any
	}{
		{"queue VisibilityTimeout (6x the worker's timeout)", qp["VisibilityTimeout"], 6 * worker["Timeout"].(float64)},
		{"queue encrypted with a key of the stack (TestDataKey)", getAtt(qp["KmsMasterKeyId"], "Arn") != "", true},
		{"dlq encrypted with a key of the stack (TestDataKey)", getAtt(dp["KmsMasterKeyId"], "Arn") != "", true},
		{"dlq MessageRetentionPeriod", dp["MessageRetentionPeriod"], float64(14 * 24 * 3600)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	ssl := 0
	for _, pol := range s.resources("AWS::SQS::QueuePolicy") {
		for _, st := range list(obj(props(pol)["PolicyDocument"])["Statement"]) {
			if render(obj(st)["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` && obj(st)["Effect"] == "Deny" {
				ssl++
			}
		}
	}
	if ssl != 2 {
		t.Errorf("queues denying non-TLS requests: got %d, want 2", ssl)
	}
	_, esm := s.only(t, "AWS::Lambda::EventSourceMapping")
	workerID, _ := s.function(t, "webhook_worker")
	if got := ref(props(esm)["FunctionName"]); got != workerID {
		t.Errorf("event source mapping function: got %s, want %s", got, workerID)
	}
	if got := getAtt(props(esm)["EventSourceArn"], "Arn"); got != queueID {
		t.Errorf("event source: got %s, want %s", got, queueID)
	}
	if got, want := render(props(esm)["FunctionResponseTypes"]), `["ReportBatchItemFailures"]`; got != want {
		t.Errorf("FunctionResponseTypes: got %s, want %s", got, want)
	}
	if got, want := render(props(esm)["BatchSize"])+" "+render(props(esm)["MaximumBatchingWindowInSeconds"]), "10 1"; got != want {
		t.Errorf("BatchSize and MaximumBatchingWindowInSeconds: got %s, want %s", got, want)
	}
	mustNotPanic(t, "event bus", func() {
		s.template.ResourceCountIs(jsii.String("AWS::Events::EventBus"), jsii.Number(1))
	})
}

func TestSecretsAndKeys(t *testing.T) {
	s := dev(t)
	_, secret := s.only(t, "AWS::SecretsManager::Secret")
	p := props(secret)
	if got, want := p["Name"], stack.StageSecretName("dev"); got != want {
		t.Errorf("stage secret Name: got %v, want %v", got, want)
	}
	gen := obj(p["GenerateSecretString"])
	var tmpl map[string]string
	if err := json.Unmarshal([]byte(fmt.Sprint(gen["SecretStringTemplate"])), &tmpl); err != nil {
		t.Fatalf("SecretStringTemplate: %v", err)
	}
	tmpl[fmt.Sprint(gen["GenerateStringKey"])] = "generated"
	for _, k := range []string{"app_id", "app_secret", "previous_app_secret", "previous_app_secret_until", "system_token", "system_user_id", "credit_line_id", "webhook_verify_token"} {
		v, ok := tmpl[k]
		switch {
		case !ok:
			t.Errorf("stage secret template: no %q key", k)
		case k != "webhook_verify_token" && v != "":
			t.Errorf("stage secret template %s: got %q, want empty (the operator fills it)", k, v)
		}
	}
	keys := s.resources("AWS::KMS::Key")
	keyID := getAtt(p["KmsKeyId"], "Arn")
	if keys[keyID] == nil {
		t.Fatalf("stage secret KmsKeyId: got %v, want a customer-managed key of the stack", render(p["KmsKeyId"]))
	}
	for id, k := range keys {
		if props(k)["EnableKeyRotation"] != true {
			t.Errorf("KMS key %s: rotation off", id)
		}
	}
	_, topic := s.only(t, "AWS::SNS::Topic")
	if getAtt(props(topic)["KmsMasterKeyId"], "Arn") == "" {
		t.Errorf("alarm topic KmsMasterKeyId: got %v, want a key of the stack", render(props(topic)["KmsMasterKeyId"]))
	}
}

func TestAlarms(t *testing.T) {
	s := dev(t)
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	got := map[string]int{}
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if actions := list(p["AlarmActions"]); len(actions) != 1 || ref(actions[0]) != topicID {
			t.Errorf("alarm %s actions: got %v, want the alarm topic", id, render(actions))
		}
		namespace, name := p["Namespace"], p["MetricName"]
		for _, m := range list(p["Metrics"]) { // a math expression: name it by the metrics it combines
			if ms := obj(obj(m)["MetricStat"]); ms != nil {
				namespace, name = obj(ms["Metric"])["Namespace"], obj(ms["Metric"])["MetricName"]
			}
		}
		got[fmt.Sprintf("%v/%v", namespace, name)]++
	}
	want := map[string]int{
		"AWS/States/ExecutionsFailed":                1,
		"AWS/States/ExecutionsTimedOut":              1,
		"AWS/ApiGateway/5xx":                         1,
		"AWS/Lambda/Errors":                          len(catalog.Functions),
		"AWS/Lambda/Throttles":                       len(catalog.Functions),
		"AWS/DynamoDB/ThrottledRequests":             1, // summed over the table's operations
		"AWS/SQS/ApproximateNumberOfMessagesVisible": 1,
		"AWS/SQS/ApproximateAgeOfOldestMessage":      1,
		"wa-onboarding/dev/GraphAPIVersionEnding":    1,
		"wa-onboarding/dev/TokenUnhealthy":           1,
	}
	if g, w := render(got), render(want); g != w {
		t.Errorf("alarms by metric:\n got %s\nwant %s", g, w)
	}
	filters := s.resources("AWS::Logs::MetricFilter")
	patterns := map[any]int{}
	for _, f := range filters {
		patterns[props(f)["FilterPattern"]]++
	}
	wantPatterns := map[any]int{
		`{ $.metric = "GraphAPIVersionEnding" }`: len(catalog.Functions), // one per function
		`{ $.metric = "TokenUnhealthy" }`:        1,                      // token_health's log group
	}
	if g, w := render(patterns), render(wantPatterns); g != w {
		t.Errorf("metric filters by pattern:\n got %s\nwant %s", g, w)
	}
	mustNotPanic(t, "dashboard", func() {
		s.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1))
	})
	mustNotPanic(t, "topic enforces TLS", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{
				"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})}),
			}),
		})
	})
}

func TestOutputs(t *testing.T) {
	s := dev(t)
	apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
	smID, _ := s.only(t, "AWS::StepFunctions::StateMachine")
	outputs := obj(s.doc["Outputs"])
	tests := []struct {
		name, want string
	}{
		{"ApiUrl", "<" + apiID + ".ApiEndpoint>"},
		{"WebhookCallbackUrl", "<" + apiID + ".ApiEndpoint>/webhooks"},
		{"StateMachineArn", "<" + smID + ">"},
		{"StageSecretName", stack.StageSecretName("dev")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(obj(outputs[tt.name])["Value"]); got != tt.want {
				t.Errorf("output %s: got %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestNoManagedPoliciesOrInlineRoles(t *testing.T) {
	s := dev(t)
	if n := len(s.resources("AWS::IAM::ManagedPolicy")); n != 0 {
		t.Errorf("managed policies: got %d, want 0", n)
	}
	for id, r := range s.resources("AWS::IAM::Role") {
		if p := props(r); p["ManagedPolicyArns"] != nil || p["Policies"] != nil {
			t.Errorf("role %s: got managed or inline policies %s, want only its attached policy", id, render(p))
		}
	}
}

// TestLeastPrivilege walks every IAM policy of the template: each principal gets exactly the actions it
// uses, no action wildcard, and no "*" resource on data actions.
func TestLeastPrivilege(t *testing.T) {
	s := dev(t)
	principal := map[string]string{} // role logical id -> function name, or "state machine"
	for _, f := range catalog.Functions {
		_, p := s.function(t, f.Name)
		principal[getAtt(p["Role"], "Arn")] = f.Name
	}
	_, sm := s.only(t, "AWS::StepFunctions::StateMachine")
	principal[getAtt(props(sm)["RoleArn"], "Arn")] = "state machine"
	_, sched := s.only(t, "AWS::Scheduler::Schedule")
	principal[getAtt(obj(props(sched)["Target"])["RoleArn"], "Arn")] = "scheduler"

	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	xray := []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	table := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
	secretRead := []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}
	secretWrite := []string{"secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:TagResource", "secretsmanager:UpdateSecretVersionStage"}
	decrypt := []string{"kms:Decrypt"}
	encrypt := []string{"kms:GenerateDataKey"}
	sqsConsume := []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}
	dataTable := []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
	set := func(groups ...[]string) []string {
		var out []string
		for _, g := range groups {
			for _, a := range g {
				if !slices.Contains(out, a) {
					out = append(out, a)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	// What each function's catalog needs grant, and nothing else.
	granted := func(n catalog.Needs) []string {
		groups := [][]string{logs, xray}
		add := func(cond bool, actions ...[]string) {
			if cond {
				groups = append(groups, actions...)
			}
		}
		add(n.Table, table)
		add(n.TableScan, []string{"dynamodb:Scan"})
		add(n.StageSecret, secretRead, decrypt)
		add(n.WABASecrets == catalog.WABARead, secretRead, decrypt)
		add(n.WABASecrets == catalog.WABAWrite, secretRead, secretWrite, decrypt, encrypt)
		add(n.WABASecrets == catalog.WABADelete, []string{"secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"})
		add(n.StartExecution, []string{"states:StartExecution"})
		add(n.SendTaskResult, []string{"states:SendTaskSuccess", "states:SendTaskFailure"})
		add(n.SendTaskSuccess, []string{"states:SendTaskSuccess"})
		add(n.QueueSend, []string{"sqs:SendMessage"})
		add(n.QueueConsume, sqsConsume)
		add(n.Events != catalog.EventsNone, []string{"events:PutEvents"})
		// The data key, through the service holding the data.
		add(n.Table, dataTable)
		add(n.QueueSend, decrypt, encrypt)
		add(n.QueueConsume, decrypt)
		add(n.Events != catalog.EventsNone, encrypt)
		return set(groups...)
	}
	want := map[string][]string{
		"state machine": set([]string{"lambda:InvokeFunction",
			"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
			"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
			"xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}),
		"scheduler": {"lambda:InvokeFunction"},
	}
	for _, f := range catalog.Functions {
		want[f.Name] = granted(f.Needs)
	}
	// Actions that do not support resource-level permissions (and so must use "*").
	resourceless := func(a string) bool {
		return strings.HasPrefix(a, "xray:") || (strings.HasPrefix(a, "logs:") && !slices.Contains(logs, a))
	}
	secretsKey := ""
	{
		_, secret := s.only(t, "AWS::SecretsManager::Secret")
		secretsKey = getAtt(props(secret)["KmsKeyId"], "Arn")
	}
	stageSecretID, _ := s.only(t, "AWS::SecretsManager::Secret")
	_, tableRes := s.only(t, "AWS::DynamoDB::Table")
	dataKey := getAtt(obj(props(tableRes)["SSESpecification"])["KMSMasterKeyId"], "Arn")
	tableID, _ := s.only(t, "AWS::DynamoDB::Table")
	wabaARN := "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:" + stack.WABASecretPrefix("dev") + "*"

	got := map[string][]string{}
	for policyID, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		roles := list(p["Roles"])
		if len(roles) != 1 {
			t.Errorf("policy %s: attached to %d roles, want 1", policyID, len(roles))
			continue
		}
		who, ok := principal[ref(roles[0])]
		if !ok {
			t.Errorf("policy %s: attached to %s, which is no function's or the state machine's role", policyID, render(roles[0]))
			continue
		}
		for _, st := range list(obj(p["PolicyDocument"])["Statement"]) {
			stmt := obj(st)
			if stmt["Effect"] != "Allow" || stmt["NotAction"] != nil || stmt["NotResource"] != nil {
				t.Errorf("%s: statement %s: want Allow with Action and Resource", who, render(stmt))
			}
			resources := list(stmt["Resource"])
			for _, a := range list(stmt["Action"]) {
				action := fmt.Sprint(a)
				got[who] = set(got[who], []string{action})
				if strings.Contains(action, "*") {
					t.Errorf("%s: wildcard action %q", who, action)
				}
				for _, r := range resources {
					res := render(r)
					if res == "*" && !resourceless(action) {
						t.Errorf("%s: %s on resource *", who, action)
					}
					switch service := action[:strings.Index(action, ":")]; service {
					case "secretsmanager":
						if ref(r) != stageSecretID && res != wabaARN {
							t.Errorf("%s: %s on %s, want the stage secret or %s", who, action, res, wabaARN)
						}
					case "dynamodb":
						if res != "<"+tableID+".Arn>" && !slices.ContainsFunc(ddbschema.Indexes, func(ix ddbschema.Index) bool {
							return res == "<"+tableID+".Arn>/index/"+ix.Name
						}) {
							t.Errorf("%s: %s on %s, want the table or one of its indexes", who, action, res)
						}
					case "kms":
						via := render(obj(obj(stmt["Condition"])["StringEquals"])["kms:ViaService"])
						switch key := getAtt(r, "Arn"); {
						case key == secretsKey:
							if via != "secretsmanager.<AWS::Region>.amazonaws.com" {
								t.Errorf("%s: %s on the secrets key without a kms:ViaService secretsmanager condition", who, action)
							}
						case key == dataKey:
							// The SQS event source's own grant (the worker's kms:Decrypt) has no condition;
							// the key policy still allows it only through SQS (TestDataKey).
							fromEventSource := who == "webhook_worker" && action == "kms:Decrypt" && stmt["Condition"] == nil
							if !fromEventSource && !slices.Contains([]string{"dynamodb", "sqs", "events"}, strings.TrimSuffix(via, ".<AWS::Region>.amazonaws.com")) {
								t.Errorf("%s: %s on the data key without a kms:ViaService dynamodb, sqs or events condition", who, action)
							}
						default:
							t.Errorf("%s: %s on %s, want the secrets key or the data key", who, action, res)
						}
					}
				}
			}
		}
	}
	for _, who := range sortedKeys(want) {
		t.Run(who, func(t *testing.T) {
			if !slices.Equal(got[who], want[who]) {
				t.Errorf("actions:\n got %v\nwant %v", got[who], want[who])
			}
		})
	}
	t.Run("only webhook_worker and api resume task tokens, only the worker fails them, only api starts executions", func(t *testing.T) {
		for who, actions := range got {
			if who != "webhook_worker" && who != "api" && slices.Contains(actions, "states:SendTaskSuccess") {
				t.Errorf("%s may resume task tokens", who)
			}
			if who != "webhook_worker" && slices.Contains(actions, "states:SendTaskFailure") {
				t.Errorf("%s may fail task tokens", who)
			}
			if who != "api" && slices.Contains(actions, "states:StartExecution") {
				t.Errorf("%s may start executions", who)
			}
		}
		// The API resumes the phone verification wait once Meta accepted the code: SendTaskSuccess on the
		// state machine, and nothing else of the task token API.
		if !slices.Contains(got["api"], "states:SendTaskSuccess") || slices.Contains(got["api"], "states:SendTaskFailure") {
			t.Errorf("api task token actions: got %v, want states:SendTaskSuccess only", got["api"])
		}
	})
}

func TestInvokeOnlyWorkflowFunctions(t *testing.T) {
	s := dev(t)
	_, sm := s.only(t, "AWS::StepFunctions::StateMachine")
	role := getAtt(props(sm)["RoleArn"], "Arn")
	var want []string
	for _, wf := range catalog.Workflow() {
		id, _ := s.function(t, wf.Name)
		want = append(want, "<"+id+".Arn>")
	}
	slices.Sort(want)
	var got []string
	for _, pol := range s.resources("AWS::IAM::Policy") {
		if ref(list(props(pol)["Roles"])[0]) != role {
			continue
		}
		for _, st := range list(obj(props(pol)["PolicyDocument"])["Statement"]) {
			if slices.Contains(list(obj(st)["Action"]), any("lambda:InvokeFunction")) {
				for _, r := range list(obj(st)["Resource"]) {
					got = append(got, render(r))
				}
			}
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("lambda:InvokeFunction resources:\n got %v\nwant %v", got, want)
	}
}

// TestNag: cdk-nag's AwsSolutions pack reports no unsuppressed finding, and every suppression sits on one
// resource with a one-line reason.
func TestNag(t *testing.T) {
	for _, name := range allStages {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			for _, m := range s.messages {
				if strings.Contains(m.text, "AwsSolutions-") && (m.level == "error" || m.level == "warning") {
					t.Errorf("unsuppressed cdk-nag %s at %s: %s", m.level, m.path, m.text)
				}
			}
			if md := obj(obj(s.doc["Metadata"])["cdk_nag"]); md != nil {
				t.Errorf("stack-wide cdk-nag suppressions: %s", render(md))
			}
			for _, id := range sortedKeys(obj(s.doc["Resources"])) {
				for _, rule := range list(obj(obj(obj(obj(s.doc["Resources"])[id])["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
					r := obj(rule)
					reason := fmt.Sprint(r["reason"])
					if reason == "" || strings.Contains(reason, "\n") {
						t.Errorf("%s: suppression %v: want a one-line reason, got %q", id, r["id"], reason)
					}
					if name == "dev" {
						t.Logf("%s %v %v: %s", id, r["id"], render(r["applies_to"]), reason)
					}
				}
			}
		})
	}
	mustNotPanic(t, "Annotations", func() {
		// The same check through the assertions API (it re-synthesizes, so once).
		assertions.Annotations_FromStack(dev(t).stack).HasNoError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	})
}

func TestResourceCount(t *testing.T) {
	s := dev(t)
	n := len(obj(s.doc["Resources"]))
	t.Logf("dev template: %d resources", n)
	if n >= 500 {
		t.Errorf("resources: got %d, want under CloudFormation's limit of 500", n)
	}
}

// resolveDefinition renders the definition CloudFormation would deploy: ${placeholders} substituted with
// dummy function ARNs.
func resolveDefinition(t *testing.T, p map[string]any) string {
	t.Helper()
	def := render(p["DefinitionString"])
	for placeholder, v := range obj(p["DefinitionSubstitutions"]) {
		id := getAtt(v, "Arn")
		if id == "" {
			t.Fatalf("substitution %s: got %s, want a function Arn", placeholder, render(v))
		}
		def = strings.ReplaceAll(def, "${"+placeholder+"}", "arn:aws:lambda:eu-west-1:123456789012:function:"+id)
	}
	if i := strings.Index(def, "${"); i >= 0 {
		t.Fatalf("unresolved placeholder in the definition: %.60s", def[i:])
	}
	var v any
	if err := json.Unmarshal([]byte(def), &v); err != nil {
		t.Fatalf("resolved definition is not JSON: %v", err)
	}
	return def
}
