package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/waes/onboarding/infra/cdk/stack"
	"github.com/waes/onboarding/internal/testenv"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
)

// routesByKey returns the template's routes by route key.
func (s *synthesized) routesByKey() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		p["_id"] = id
		out[fmt.Sprint(p["RouteKey"])] = p
	}
	return out
}

// isPartnerPath: the routes the partner's frontend calls. Any new /onboardings/... route is one.
func isPartnerPath(path string) bool {
	return path == "/signup" || path == "/onboardings" || strings.HasPrefix(path, "/onboardings/")
}

func TestRouteTableMarksPartnerRoutes(t *testing.T) {
	for _, r := range stack.Routes {
		if got, want := r.Partner, isPartnerPath(r.Path); got != want {
			t.Errorf("%s: Partner %v, want %v", r.RouteKey(), got, want)
		}
		if r.NoAuthorizerReason == "" {
			t.Errorf("%s: no NoAuthorizerReason", r.RouteKey())
		}
	}
}

func TestPartnerAuthorizer(t *testing.T) {
	t.Run("off: no authorizer", func(t *testing.T) {
		for _, name := range []string{"dev", "staging", "prod"} {
			s := synth(t).stages[name]
			if n := len(s.resources("AWS::ApiGatewayV2::Authorizer")); n != 0 {
				t.Errorf("%s: %d authorizers, want 0 (cdk.json sets no auth)", name, n)
			}
			for key, p := range s.routesByKey() {
				if at := p["AuthorizationType"]; at != nil && at != "NONE" {
					t.Errorf("%s %s AuthorizationType: got %v, want NONE", name, key, at)
				}
			}
			_, api := s.function(t, "api")
			env := obj(obj(api["Environment"])["Variables"])
			if env[config.EnvAuthIssuer] != nil || env["AUTH_AUDIENCE"] != nil {
				t.Errorf("%s api environment: got AUTH_* %v, want none without auth", name, render(env))
			}
		}
	})

	s := synth(t).stages[authStage]
	authID, authorizer := s.only(t, "AWS::ApiGatewayV2::Authorizer")
	ap := props(authorizer)
	checks := []struct {
		what      string
		got, want any
	}{
		{"AuthorizerType", ap["AuthorizerType"], "JWT"},
		{"JwtConfiguration.Issuer", obj(ap["JwtConfiguration"])["Issuer"], testIssuer},
		{"JwtConfiguration.Audience", render(obj(ap["JwtConfiguration"])["Audience"]), `["` + testAudience + `"]`},
		{"IdentitySource", render(ap["IdentitySource"]), `["$request.header.Authorization"]`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("authorizer %s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	routes := s.routesByKey()
	if got, want := len(routes), len(stack.Routes); got != want {
		t.Errorf("routes: got %d, want %d", got, want)
	}
	for _, r := range stack.Routes {
		t.Run(r.RouteKey(), func(t *testing.T) {
			p, ok := routes[r.RouteKey()]
			if !ok {
				t.Fatalf("no route %s", r.RouteKey())
			}
			if isPartnerPath(r.Path) {
				if p["AuthorizationType"] != "JWT" || ref(p["AuthorizerId"]) != authID {
					t.Errorf("AuthorizationType %v, AuthorizerId %s: want JWT by %s", p["AuthorizationType"], render(p["AuthorizerId"]), authID)
				}
				return
			}
			// /webhooks (Meta signs them) and /healthz never take a token.
			if at := p["AuthorizationType"]; (at != nil && at != "NONE") || p["AuthorizerId"] != nil {
				t.Errorf("AuthorizationType %v, AuthorizerId %s: want no authorizer", at, render(p["AuthorizerId"]))
			}
		})
	}
	for _, f := range catalog.Functions {
		_, p := s.function(t, f.Name)
		env := obj(obj(p["Environment"])["Variables"])
		wantIssuer, wantAudience := any(nil), any(nil)
		if f.Name == "api" {
			wantIssuer, wantAudience = testIssuer, testAudience
		}
		if env[config.EnvAuthIssuer] != wantIssuer || env["AUTH_AUDIENCE"] != wantAudience {
			t.Errorf("%s AUTH_ISSUER, AUTH_AUDIENCE: got %v, %v, want %v, %v", f.Name, env[config.EnvAuthIssuer], env["AUTH_AUDIENCE"], wantIssuer, wantAudience)
		}
	}
	_, api := s.only(t, "AWS::ApiGatewayV2::Api")
	if got, want := render(obj(props(api)["CorsConfiguration"])["AllowHeaders"]), `["content-type","authorization"]`; got != want {
		t.Errorf("CORS AllowHeaders: got %s, want %s (the frontend sends the bearer token)", got, want)
	}
}

func TestRouteThrottles(t *testing.T) {
	for _, name := range allStages {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
			settings := obj(props(stage)["RouteSettings"])
			want := map[string]string{}
			for _, r := range stack.Routes {
				if r.Class == "" {
					continue
				}
				th := s.stage.RouteThrottle(r.Class)
				want[r.RouteKey()] = fmt.Sprintf(`{"ThrottlingBurstLimit":%d,"ThrottlingRateLimit":%v}`, th.BurstLimit, th.RateLimit)
			}
			got := map[string]string{}
			for k, v := range settings {
				got[k] = render(v)
			}
			if g, w := render(got), render(want); g != w {
				t.Errorf("RouteSettings:\n got %s\nwant %s", g, w)
			}
			// The stage names the routes in its settings: CloudFormation must create them first.
			deps := list(stage["DependsOn"])
			for key, p := range s.routesByKey() {
				if !slices.Contains(deps, p["_id"]) {
					t.Errorf("stage does not depend on route %s (%v)", key, p["_id"])
				}
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		dev := dev(t).stage
		checks := []struct {
			class stack.RouteClass
			rate  float64
			burst int
			why   string
		}{
			{stack.RouteWebhooks, 1000, 2000, "Meta batches and retries"},
			{stack.RouteSignup, 5, 10, "one per completed signup"},
		}
		for _, c := range checks {
			th := dev.RouteThrottle(c.class)
			if th.RateLimit != c.rate || th.BurstLimit != c.burst {
				t.Errorf("%s default: got %+v, want rate %v burst %d (%s)", c.class, th, c.rate, c.burst, c.why)
			}
		}
		if st := dev.RouteThrottle(stack.RouteStatus); st.RateLimit <= dev.RouteThrottle(stack.RouteSignup).RateLimit || st.RateLimit >= dev.RouteThrottle(stack.RouteWebhooks).RateLimit {
			t.Errorf("status reads: got %+v, want between signup and webhooks", st)
		}
		if got := synth(t).stages[authStage].stage.RouteThrottle(stack.RouteSignup); got != (stack.Throttle{RateLimit: 1, BurstLimit: 3}) {
			t.Errorf("override: got %+v, want the stage's", got)
		}
	})
}

func TestWebhookWorkerConcurrency(t *testing.T) {
	for _, name := range allStages {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			_, esm := s.only(t, "AWS::Lambda::EventSourceMapping")
			got := obj(props(esm)["ScalingConfig"])["MaximumConcurrency"]
			if want := float64(s.stage.WorkerMaxConcurrency()); got != want {
				t.Errorf("ScalingConfig.MaximumConcurrency: got %v, want %v", got, want)
			}
		})
	}
	if got := synth(t).stages[authStage].stage.WorkerMaxConcurrency(); got != 7 {
		t.Errorf("WorkerMaxConcurrency: got %d, want the stage's 7", got)
	}
}

// TestDataKey: the table, both queues and the bus are encrypted with one customer-managed key with
// rotation, whose policy lets the account administer it and use it only through those services, as the
// function roles whose catalog needs touch them.
func TestDataKey(t *testing.T) {
	s := dev(t)
	_, table := s.only(t, "AWS::DynamoDB::Table")
	sse := obj(props(table)["SSESpecification"])
	keyID := getAtt(sse["KMSMasterKeyId"], "Arn")
	keys := s.resources("AWS::KMS::Key")
	key, ok := keys[keyID]
	if !ok || sse["SSEEnabled"] != true || sse["SSEType"] != "KMS" {
		t.Fatalf("table SSESpecification: got %s, want KMS with a key of the stack", render(sse))
	}
	if props(key)["EnableKeyRotation"] != true {
		t.Error("data key: rotation off")
	}
	if key["DeletionPolicy"] != "Retain" {
		t.Errorf("data key DeletionPolicy: got %v, want Retain (the table is retained)", key["DeletionPolicy"])
	}
	for id, q := range s.resources("AWS::SQS::Queue") {
		if got := getAtt(props(q)["KmsMasterKeyId"], "Arn"); got != keyID {
			t.Errorf("queue %s KmsMasterKeyId: got %s, want the data key %s", id, render(props(q)["KmsMasterKeyId"]), keyID)
		}
	}
	_, bus := s.only(t, "AWS::Events::EventBus")
	if got := getAtt(props(bus)["KmsKeyIdentifier"], "Arn"); got != keyID {
		t.Errorf("event bus KmsKeyIdentifier: got %s, want the data key", render(props(bus)["KmsKeyIdentifier"]))
	}

	roleOf := map[string]string{} // role logical id -> function
	for _, f := range catalog.Functions {
		_, p := s.function(t, f.Name)
		roleOf[getAtt(p["Role"], "Arn")] = f.Name
	}
	usage := []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:CreateGrant"}
	users := map[string][]string{} // service -> functions
	redrive := false
	for _, st := range list(obj(props(key)["KeyPolicy"])["Statement"]) {
		stmt := obj(st)
		actions := list(stmt["Action"])
		if slices.Contains(actions, any("kms:*")) {
			t.Errorf("statement %v allows kms:*", stmt["Sid"])
		}
		uses := slices.ContainsFunc(actions, func(a any) bool { return slices.Contains(usage, fmt.Sprint(a)) })
		if !uses {
			continue
		}
		cond := obj(stmt["Condition"])
		if svc := obj(obj(stmt["Principal"]))["Service"]; svc != nil {
			if svc != "events.amazonaws.com" || render(obj(cond["StringEquals"])["aws:SourceArn"]) == "" {
				t.Errorf("statement %v: service %v, want events.amazonaws.com for this bus only", stmt["Sid"], svc)
			}
			continue
		}
		via := render(obj(cond["StringEquals"])["kms:ViaService"])
		service, _, _ := strings.Cut(via, ".")
		if !slices.Contains([]string{"dynamodb", "sqs", "events"}, service) || !strings.HasSuffix(via, ".<AWS::Region>.amazonaws.com") {
			t.Errorf("statement %v: kms:ViaService %q, want dynamodb, sqs or events of the region", stmt["Sid"], via)
		}
		if raw, ok := obj(cond["StringLike"])["kms:EncryptionContext:aws:sqs:arn"]; ok {
			ctx := render(raw)
			// The operator's DLQ redrive: the stack's webhook queues only, whose generated names start with
			// the stack name and their logical id.
			wantCtx := "arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:" + stack.StackName("dev") + "-Webhook*"
			if service != "sqs" || ctx != wantCtx || slices.Contains(actions, any("kms:Encrypt")) {
				t.Errorf("statement %v: via %s for queues %s, want SQS for %s", stmt["Sid"], service, ctx, wantCtx)
			}
			for id := range s.resources("AWS::SQS::Queue") {
				if !strings.HasPrefix(id, "Webhook") {
					t.Errorf("queue %s: its generated name would not match %s", id, wantCtx)
				}
			}
			redrive = true
			continue
		}
		if slices.Contains(actions, any("kms:CreateGrant")) {
			if service != "dynamodb" || obj(cond["Bool"])["kms:GrantIsForAWSResource"] != "true" {
				t.Errorf("statement %v: CreateGrant beyond DynamoDB's grants for the table", stmt["Sid"])
			}
			continue
		}
		principals := list(obj(cond["ArnEquals"])["aws:PrincipalArn"])
		if len(principals) == 0 {
			t.Errorf("statement %v: usage for any principal of the account, want named roles", stmt["Sid"])
		}
		for _, p := range principals {
			fn, ok := roleOf[getAtt(p, "Arn")]
			if !ok {
				t.Errorf("statement %v: principal %s is no function's role", stmt["Sid"], render(p))
			}
			users[service] = append(users[service], fn)
		}
	}
	want := map[string][]string{}
	for _, f := range catalog.Functions {
		n := f.Needs
		if n.Table {
			want["dynamodb"] = append(want["dynamodb"], f.Name)
		}
		if n.QueueSend || n.QueueConsume {
			want["sqs"] = append(want["sqs"], f.Name)
		}
		if n.Events != catalog.EventsNone {
			want["events"] = append(want["events"], f.Name)
		}
	}
	for svc := range want {
		slices.Sort(want[svc])
		slices.Sort(users[svc])
	}
	if g, w := render(users), render(want); g != w {
		t.Errorf("data key users by service:\n got %s\nwant %s", g, w)
	}
	if !redrive {
		t.Error("no key policy statement lets the operator redrive the dead-letter queue")
	}
}

// TestAccessLogFormat: the access log line holds no query string, path, header, token or authorizer
// identity source.
func TestAccessLogFormat(t *testing.T) {
	for _, name := range allStages {
		t.Run(name, func(t *testing.T) {
			s := synth(t).stages[name]
			_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")
			raw := fmt.Sprint(obj(props(stage)["AccessLogSettings"])["Format"])
			var format map[string]string
			if err := json.Unmarshal([]byte(raw), &format); err != nil {
				t.Fatalf("access log format is not JSON: %v", err)
			}
			for _, field := range []string{"requestId", "routeKey", "status"} {
				if format[field] == "" {
					t.Errorf("no %q field", field)
				}
			}
			for k, v := range format {
				lv := strings.ToLower(v)
				for _, bad := range []string{"$context.path", "querystring", "header", "authorization", "token", "$context.identity.useragent", "$context.identity.cognito", "$context.identity.user"} {
					if strings.Contains(lv, bad) {
						t.Errorf("field %s=%s: logs %s", k, v, bad)
					}
				}
				if strings.HasPrefix(lv, "$context.identity.") && lv != "$context.identity.sourceip" {
					t.Errorf("field %s=%s: only the source IP of the identity is logged", k, v)
				}
				if strings.HasPrefix(lv, "$context.authorizer.") && lv != "$context.authorizer.error" && lv != "$context.authorizer.claims.sub" {
					t.Errorf("field %s=%s: only the authorizer's error and the caller's sub are logged", k, v)
				}
			}
			logs := s.resources("AWS::Logs::LogGroup")
			lg := logs[getAtt(obj(props(stage)["AccessLogSettings"])["DestinationArn"], "Arn")]
			if got, want := props(lg)["RetentionInDays"], float64(s.stage.LogRetentionDays); got != want {
				t.Errorf("access log RetentionInDays: got %v, want %v", got, want)
			}
		})
	}
}

func TestAlarmDestination(t *testing.T) {
	t.Run("operator topic on every alarm", func(t *testing.T) {
		s := synth(t).stages[authStage]
		topicID, _ := s.only(t, "AWS::SNS::Topic")
		for id, a := range s.resources("AWS::CloudWatch::Alarm") {
			actions := list(props(a)["AlarmActions"])
			var got []string
			for _, x := range actions {
				got = append(got, render(x))
			}
			slices.Sort(got)
			want := []string{"<" + topicID + ">", testAlarmTopicARN}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("alarm %s actions: got %v, want %v", id, got, want)
			}
		}
	})
	t.Run("email subscription outside dev", func(t *testing.T) {
		for _, name := range []string{"staging", "prod"} {
			s := synth(t).stages[name]
			_, sub := s.only(t, "AWS::SNS::Subscription")
			if p := props(sub); p["Protocol"] != "email" || p["Endpoint"] != s.stage.AlarmEmail {
				t.Errorf("%s subscription: got %s, want email to %s", name, render(p), s.stage.AlarmEmail)
			}
		}
	})
	t.Run("non-dev stage without a destination fails the synth", func(t *testing.T) {
		testenv.NodeTools(t)
		cfg := synth(t).stages["prod"].stage
		cfg.AlarmEmail, cfg.AlarmTopicARN = "", ""
		app := awscdk.NewApp(nil)
		var got any
		func() {
			defer func() { got = recover() }()
			stack.NewOnboardingStack(app, "NoDestination", &stack.OnboardingStackProps{Stage: cfg, AssetDir: func(string) string { return "." }})
		}()
		if err, _ := got.(error); err == nil || !strings.Contains(err.Error(), "alarmEmail or alarmTopicArn is required outside dev") {
			t.Errorf("NewOnboardingStack: got %v, want a panic naming alarmEmail or alarmTopicArn", got)
		}
		if n := len(*app.Node().Children()); n != 0 {
			t.Errorf("the app got %d constructs before the check", n)
		}
		cfg.Name = "dev"
		if err := cfg.Validate(); err != nil {
			t.Errorf("dev without a destination: got %v, want valid", err)
		}
	})
	t.Run("placeholder address warns", func(t *testing.T) {
		s := synth(t).stages["prod"]
		if !slices.ContainsFunc(s.messages, func(m message) bool {
			return m.level == "warning" && strings.Contains(m.text, "placeholder") && strings.Contains(m.text, s.stage.AlarmEmail)
		}) {
			t.Errorf("no warning about the placeholder alarmEmail %s among %v", s.stage.AlarmEmail, s.messages)
		}
	})
}

// TestRoutesAreTheOpenAPIOperations: API Gateway serves exactly the operations docs/openapi.json documents
// (it has no catch-all route, so an operation without a route would be unreachable when deployed).
func TestRoutesAreTheOpenAPIOperations(t *testing.T) {
	b, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var documented, routed []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	for _, r := range stack.Routes {
		routed = append(routed, r.RouteKey())
	}
	slices.Sort(documented)
	slices.Sort(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("routes:\n got %v\nwant the documented operations %v", routed, documented)
	}
}
