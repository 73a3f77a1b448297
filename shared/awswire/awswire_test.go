package awswire

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/partnerevents/eventbridge"
	"github.com/waes/onboarding/shared/stepfunctions"
	"github.com/waes/onboarding/shared/stephandlers"
	"github.com/waes/onboarding/shared/webhook/sqsqueue"
)

// stageVars are the values of every variable a Need may require.
var stageVars = map[string]string{
	config.EnvTableName:        "onboarding-test",
	config.EnvStageSecretID:    "wa-onboarding/test/stage",
	config.EnvWABASecretPrefix: "wa-onboarding/test/waba/",
	config.EnvStateMachineARN:  "arn:aws:states:us-east-1:123456789012:stateMachine:onboarding-test",
	config.EnvWebhookQueueURL:  "https://sqs.us-east-1.amazonaws.com/123456789012/webhooks-test",
	config.EnvEventBusName:     "partner-events-test",
}

var needVar = []struct {
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

// functions are what each deployed function builds from its Deps (its needs are its catalog entry's).
var functions = []struct {
	name  string
	build func(t *testing.T, d *Deps)
}{
	{"api", func(t *testing.T, d *Deps) {
		if svc, err := d.Signup(); err != nil || svc == nil {
			t.Fatalf("Signup: got %v, %v; want a service", svc, err)
		}
		o := d.signupOptions()
		if o.Logger == nil {
			t.Error("Signup options: got no logger, want the function's")
		}
		if _, ok := o.Publisher.(partnerevents.Discard); !ok {
			t.Errorf("Signup publisher without a bus: got %T, want partnerevents.Discard", o.Publisher)
		}
		if got, want := o.Config.DefaultCurrency, "USD"; got != want {
			t.Errorf("DefaultCurrency: got %q, want %q", got, want)
		}
		if o.Config.InboundTimeout != 24*time.Hour || o.Config.StatusTimeout != time.Hour || o.Config.PhoneVerificationTimeout != 7*24*time.Hour {
			t.Errorf("timeouts: got %v, %v and %v, want 24h, 1h and 168h", o.Config.InboundTimeout, o.Config.StatusTimeout, o.Config.PhoneVerificationTimeout)
		}
		if o.IsTaskGone == nil {
			t.Error("Signup options: no IsTaskGone for the phone verification resume")
		}
	}},
	{"await_webhook", func(t *testing.T, d *Deps) {
		buildSteps(t, d)
		if c, ok := d.correlator().(*sqsqueue.Queue); !ok || c == nil {
			t.Errorf("Correlator: got %T, want the webhook queue", d.correlator())
		}
	}},
	{"record_outcome", func(t *testing.T, d *Deps) {
		buildSteps(t, d)
		if c := d.correlator(); c != nil {
			t.Errorf("Correlator without a queue: got %T, want nil", c)
		}
	}},
	{"register_phone", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"send_test_message", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"share_credit_line", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"subscribe_webhooks", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"sync_business_app", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"verify_phone", func(t *testing.T, d *Deps) { buildSteps(t, d) }},
	{"token_health", func(t *testing.T, d *Deps) {
		if c, err := d.TokenHealth(); err != nil || c == nil {
			t.Fatalf("TokenHealth: got %v, %v; want a checker", c, err)
		}
		if _, ok := d.Publisher().(*eventbridge.Publisher); !ok {
			t.Errorf("token_health publisher: got %T, want the EventBridge bus", d.Publisher())
		}
	}},
	{"webhook", func(t *testing.T, d *Deps) {
		if d.Vault() == nil || d.Queue() == nil {
			t.Error("Vault and Queue: want both built")
		}
	}},
	{"webhook_worker", func(t *testing.T, d *Deps) {
		if p := d.Worker(); p == nil {
			t.Fatal("Worker: got nil, want a processor")
		}
		o := d.workerOptions()
		if o.Logger == nil {
			t.Error("Worker options: got no logger, want the function's")
		}
		if _, ok := o.Publisher.(*eventbridge.Publisher); !ok {
			t.Errorf("Worker publisher: got %T, want the EventBridge bus", o.Publisher)
		}
		if o.IsTaskGone == nil || !o.IsTaskGone(fmt.Errorf("SendTaskSuccess: %w", stepfunctions.ErrTaskGone)) || o.IsTaskGone(errors.New("throttled")) {
			t.Error("IsTaskGone: want it true for sfn.ErrTaskGone only")
		}
		if _, ok := o.Offboarder.(*stephandlers.Service); !ok {
			t.Errorf("Worker offboarder: got %T, want the steps service (revoke the credit line, delete the secret)", o.Offboarder)
		}
	}},
}

func buildSteps(t *testing.T, d *Deps) *stephandlers.Service {
	t.Helper()
	svc, err := d.Steps()
	if err != nil || svc == nil {
		t.Fatalf("Steps: got %v, %v; want a service", svc, err)
	}
	if o := d.stepsOptions(); o.Logger == nil || o.Publisher == nil {
		t.Errorf("Steps options: got %+v, want a logger and a publisher", o)
	}
	return svc
}

// setEnv isolates the test from the machine's AWS and stage settings: dummy static credentials, a region, no
// instance metadata, no shared config files, and only the given stage variables.
func setEnv(t *testing.T, stage map[string]string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_ENDPOINT_URL": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{
		config.EnvStage, config.EnvTableName, config.EnvStageSecretID, config.EnvWABASecretPrefix, config.EnvSecretsKMSKeyID,
		config.EnvStateMachineARN, config.EnvGraphBaseURL, config.EnvGraphAPIVersion, config.EnvWebhookOverrideURL,
		config.EnvDefaultCurrency, config.EnvTestMessageBody, config.EnvInboundTimeout, config.EnvStatusTimeout,
		config.EnvWebhookQueueURL, config.EnvEventBusName, config.EnvLogLevel,
	} {
		t.Setenv(k, stage[k])
	}
}

// varsFor returns the stage variables need requires, and STAGE.
func varsFor(need config.Need) map[string]string {
	m := map[string]string{config.EnvStage: "test"}
	for _, n := range needVar {
		if need&n.need != 0 {
			m[n.env] = stageVars[n.env]
		}
	}
	return m
}

// need is the settings function name requires: those of its catalog entry.
func need(name string) config.Need { return config.Require(catalog.Lookup(name).Needs) }

func TestFunctionsCoverTheCatalog(t *testing.T) {
	var got, want []string
	for _, fn := range functions {
		got = append(got, fn.name)
	}
	for _, f := range catalog.Functions {
		want = append(want, f.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("functions built here: got %v, want the catalog's %v", got, want)
	}
}

func TestFunctionsLoadAndBuild(t *testing.T) {
	for _, fn := range functions {
		t.Run(fn.name, func(t *testing.T) {
			setEnv(t, varsFor(need(fn.name)))
			d, err := Load(context.Background(), catalog.Lookup(fn.name).Needs)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if d.Stage.Name != "test" || d.Logger == nil {
				t.Errorf("Deps: got stage %q, logger %v; want test and a logger", d.Stage.Name, d.Logger)
			}
			for _, n := range needVar {
				if need(fn.name)&n.need == 0 {
					continue
				}
				if got := stageValue(d.Stage, n.env); got != stageVars[n.env] {
					t.Errorf("%s: got %q, want %q", n.env, got, stageVars[n.env])
				}
			}
			if d.AWS.Region != "us-east-1" {
				t.Errorf("region: got %q, want us-east-1", d.AWS.Region)
			}
			creds, err := d.AWS.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" {
				t.Errorf("credentials: got %q, %v; want the environment's", creds.AccessKeyID, err)
			}
			if got := d.AWS.Retryer().MaxAttempts(); got != 5 {
				t.Errorf("retryer attempts: got %d, want 5", got)
			}
			hc, ok := d.AWS.HTTPClient.(*awshttp.BuildableClient)
			if !ok || hc.GetTimeout() != awsCallTimeout {
				t.Errorf("HTTP client: got %T with timeout %v, want a client with timeout %v", d.AWS.HTTPClient, timeoutOf(hc), awsCallTimeout)
			}
			fn.build(t, d)
		})
	}
}

func timeoutOf(c *awshttp.BuildableClient) time.Duration {
	if c == nil {
		return 0
	}
	return c.GetTimeout()
}

func stageValue(s config.Stage, env string) string {
	return map[string]string{
		config.EnvTableName: s.TableName, config.EnvStageSecretID: s.StageSecretID, config.EnvWABASecretPrefix: s.WABASecretPrefix,
		config.EnvStateMachineARN: s.StateMachineARN, config.EnvWebhookQueueURL: s.WebhookQueueURL, config.EnvEventBusName: s.EventBusName,
	}[env]
}

func TestLoadNamesMissingVariables(t *testing.T) {
	for _, fn := range functions {
		t.Run(fn.name+"/all missing", func(t *testing.T) {
			setEnv(t, nil)
			d, err := Load(context.Background(), catalog.Lookup(fn.name).Needs)
			if err == nil {
				t.Fatalf("Load: got %+v, want an error", d)
			}
			for _, n := range needVar {
				named := strings.Contains(err.Error(), n.env)
				if want := need(fn.name)&n.need != 0; named != want {
					t.Errorf("error %q names %s: got %v, want %v", err, n.env, named, want)
				}
			}
		})
		for _, n := range needVar {
			if need(fn.name)&n.need == 0 {
				continue
			}
			t.Run(fn.name+"/without "+n.env, func(t *testing.T) {
				vars := varsFor(need(fn.name))
				delete(vars, n.env)
				setEnv(t, vars)
				_, err := Load(context.Background(), catalog.Lookup(fn.name).Needs)
				if err == nil || !strings.Contains(err.Error(), n.env+" is not set") {
					t.Fatalf("Load: got %v, want an error naming %s", err, n.env)
				}
			})
		}
	}
}

func TestLoadRejectsInvalidSettings(t *testing.T) {
	for _, tc := range []struct{ env, value string }{
		{config.EnvLogLevel, "loud"},
		{config.EnvDefaultCurrency, "XYZ"},
		{config.EnvWebhookOverrideURL, "http://partner.example/hook"},
		{config.EnvInboundTimeout, "0"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			vars := varsFor(config.NeedTable)
			vars[tc.env] = tc.value
			setEnv(t, vars)
			if _, err := load(context.Background(), config.NeedTable); err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Errorf("Load with %s=%q: got %v, want an error naming it", tc.env, tc.value, err)
			}
		})
	}
}

func TestGraphBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url     string
		wantErr bool
	}{
		{"", false},
		{"https://graph.facebook.com", false},
		{"http://127.0.0.1:8081", false},
		{"https://evil.example", true},
		{"http://graph.facebook.com", true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			vars := varsFor(config.NeedTable | config.NeedStateMachine)
			vars[config.EnvGraphBaseURL] = tc.url
			setEnv(t, vars)
			d, err := load(context.Background(), config.NeedTable|config.NeedStateMachine)
			if err != nil {
				t.Fatal(err)
			}
			for name, build := range map[string]func() error{
				"Graph":  func() error { _, err := d.Graph(); return err },
				"Steps":  func() error { _, err := d.Steps(); return err },
				"Signup": func() error { _, err := d.Signup(); return err },
			} {
				if err := build(); (err != nil) != tc.wantErr {
					t.Errorf("%s with %s=%q: got %v, want error %v", name, config.EnvGraphBaseURL, tc.url, err, tc.wantErr)
				}
			}
			if !tc.wantErr {
				g, _ := d.Graph()
				want := tc.url
				if want == "" {
					want = graph.DefaultBaseEndpoint
				}
				if got := g.Options().BaseEndpoint; got != want {
					t.Errorf("BaseEndpoint: got %q, want %q", got, want)
				}
			}
		})
	}
}

func TestPublisher(t *testing.T) {
	for _, tc := range []struct {
		bus  string
		want string
	}{{"", "partnerevents.Discard"}, {"partner-events-test", "*eventbridge.Publisher"}} {
		t.Run("bus "+tc.bus, func(t *testing.T) {
			d := &Deps{Stage: config.Stage{Name: "test", EventBusName: tc.bus}, Logger: logging.Discard()}
			if got := fmt.Sprintf("%T", d.Publisher()); got != tc.want {
				t.Errorf("Publisher: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestHandlerPutsTheLambdaRequestIDInTheContext(t *testing.T) {
	type in struct{ N int }
	type out struct{ N int }
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		wantID string
		err    error
	}{
		{"lambda context", lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}), "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", nil},
		{"lambda context, error passed through", lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "r-2"}), "r-2", boom},
		{"no lambda context", context.Background(), "", nil},
		{"an earlier request id is replaced", lambdacontext.NewContext(logging.WithRequestID(context.Background(), "old"), &lambdacontext.LambdaContext{AwsRequestID: "new"}), "new", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotID string
			h := Handler(func(ctx context.Context, i in) (out, error) {
				gotID = logging.RequestID(ctx)
				return out{N: i.N * 2}, tc.err
			})
			got, err := h(tc.ctx, in{N: 21})
			if gotID != tc.wantID {
				t.Errorf("request id in the handler's context: got %q, want %q", gotID, tc.wantID)
			}
			if got.N != 42 || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Errorf("result: got %+v, %v; want {42}, %v", got, err, tc.err)
			}
		})
	}
}

func TestHTTPClientTimeouts(t *testing.T) {
	c := awsHTTPClient()
	if got := c.GetTimeout(); got != awsCallTimeout {
		t.Errorf("timeout: got %v, want %v", got, awsCallTimeout)
	}
	tr := c.GetTransport()
	if tr.ResponseHeaderTimeout != 5*time.Second || tr.TLSHandshakeTimeout != 3*time.Second {
		t.Errorf("transport timeouts: got header %v, TLS %v; want 5s and 3s", tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout)
	}
	if d := c.GetDialer(); d.Timeout != 3*time.Second {
		t.Errorf("dial timeout: got %v, want 3s", d.Timeout)
	}
}

func ExampleHandler() {
	h := Handler(func(ctx context.Context, onboardingID string) (string, error) {
		return logging.RequestID(ctx) + " " + onboardingID, nil
	})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	s, _ := h(ctx, "ob-1")
	fmt.Println(s)
	// Output: req-1 ob-1
}
