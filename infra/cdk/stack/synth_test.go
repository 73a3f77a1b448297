package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/infra/cdk/stack"
	"github.com/waes/onboarding/internal/testenv"
)

// The stack tests synthesize one app holding the three stages of cdk.json once, and share the templates:
// each synthesis costs seconds.

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// synthesized is one stage's synthesized stack.
type synthesized struct {
	stage    stack.StageConfig
	stack    awscdk.Stack
	template assertions.Template
	// doc is the template as decoded JSON, for walking.
	doc map[string]any
	// messages are the stack's synthesis messages (cdk-nag findings among them).
	messages []message
}

type message struct {
	level, path, text string
}

type synthesis struct {
	root   string
	stages map[string]*synthesized
}

var synthOnce = sync.OnceValues(func() (*synthesis, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	stages, err := loadStages(root)
	if err != nil {
		return nil, err
	}
	assets, err := os.MkdirTemp("", "cdk-assets-")
	if err != nil {
		return nil, err
	}
	// A dummy bootstrap stands for `make build`'s binaries: the tests check the stack, not the functions.
	if err := os.WriteFile(filepath.Join(assets, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		return nil, err
	}
	outdir, err := os.MkdirTemp("", "cdk-out-")
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	s := &synthesis{root: root, stages: map[string]*synthesized{}}
	for _, name := range []string{"dev", "staging", "prod"} {
		cfg, ok := stages[name]
		if !ok {
			return nil, fmt.Errorf("cdk.json has no stage %q", name)
		}
		st := stack.NewOnboardingStack(app, stack.StackName(name), &stack.OnboardingStackProps{
			Stage:    cfg,
			AssetDir: func(string) string { return assets },
		})
		s.stages[name] = &synthesized{stage: cfg, stack: st}
	}
	// A stage with every optional setting the cdk.json stages leave out: partner authentication, an
	// operator alarm topic, per-route throttle overrides.
	variant := stages["dev"]
	variant.Name = authStage
	variant.Auth = &stack.AuthConfig{Issuer: testIssuer, Audience: testAudience}
	variant.AlarmTopicARN = testAlarmTopicARN
	variant.RouteThrottles = map[stack.RouteClass]stack.Throttle{stack.RouteSignup: {RateLimit: 1, BurstLimit: 3}}
	variant.WebhookWorkerMaxConcurrency = 7
	st := stack.NewOnboardingStack(app, stack.StackName(authStage), &stack.OnboardingStackProps{
		Stage:    variant,
		AssetDir: func(string) string { return assets },
	})
	s.stages[authStage] = &synthesized{stage: variant, stack: st}
	stack.ApplyChecks(app)
	for _, st := range s.stages {
		// Template_FromStack synthesizes the app once; the later calls reuse the assembly.
		st.template = assertions.Template_FromStack(st.stack, nil)
		st.doc = *st.template.ToJSON()
	}
	asm := app.Synth(nil) // the cached assembly: the messages of the synthesis above
	for _, st := range s.stages {
		for _, m := range *asm.GetStackArtifact(st.stack.ArtifactId()).Messages() {
			text := fmt.Sprint(m.Entry.Data)
			if d, ok := m.Entry.Data.(*string); ok && d != nil {
				text = *d
			}
			// jsii names the levels by their enum names (ERROR, WARNING, INFO).
			st.messages = append(st.messages, message{level: strings.ToLower(string(m.Level)), path: *m.Id, text: text})
		}
	}
	return s, nil
})

// synth returns the shared synthesis, failing the test when it cannot be built (without node it skips, or
// fails under REQUIRE_NODE_TOOLS).
func synth(t *testing.T) *synthesis {
	t.Helper()
	// The CDK runs its constructs in Node.js (jsii): without node there is nothing to synthesize.
	testenv.NodeTools(t)
	s, err := synthOnce()
	if err != nil {
		t.Fatalf("synthesizing the stacks: %v", err)
	}
	return s
}

// The test-only stage with partner authentication and an operator alarm topic.
const (
	authStage         = "devauth"
	testIssuer        = "https://login.partner.example/"
	testAudience      = "https://onboarding.partner.example/api"
	testAlarmTopicARN = "arn:aws:sns:eu-west-1:123456789012:ops-pager"
)

// allStages are the cdk.json stages and the test-only one.
var allStages = []string{"dev", "staging", "prod", authStage}

// dev returns the dev stage's stack.
func dev(t *testing.T) *synthesized {
	t.Helper()
	return synth(t).stages["dev"]
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// loadStages decodes the stages of the repository's cdk.json, as main does from the CDK context.
func loadStages(root string) (map[string]stack.StageConfig, error) {
	raw, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return stack.DecodeStages(doc.Context["stages"])
}

// resources returns the template's resources of type typ, by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range obj(s.doc["Resources"]) {
		if res := obj(r); res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// only returns the single resource of type typ.
func (s *synthesized) only(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%s resources: got %d, want 1", typ, len(rs))
	}
	for id, r := range rs {
		return id, r
	}
	return "", nil
}

// function returns the logical id and properties of the Lambda function deployed for name.
func (s *synthesized) function(t *testing.T, name string) (string, map[string]any) {
	t.Helper()
	want := stack.StackName(s.stage.Name) + "-" + name
	for id, r := range s.resources("AWS::Lambda::Function") {
		if p := props(r); p["FunctionName"] == want {
			return id, p
		}
	}
	t.Fatalf("no Lambda function named %s", want)
	return "", nil
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func props(r map[string]any) map[string]any { return obj(r["Properties"]) }

// list returns v as a list: IAM allows a single value where it means a list of one.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// getAtt returns the logical id of {"Fn::GetAtt": [id, attr]}, or "".
func getAtt(v any, attr string) string {
	ga := list(obj(v)["Fn::GetAtt"])
	if len(ga) == 2 && ga[1] == attr {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}

// ref returns the logical id of {"Ref": id}, or "".
func ref(v any) string {
	id, _ := obj(v)["Ref"].(string)
	return id
}

// render turns a CloudFormation value into a readable string, with references as <id.attr> (dummy values
// where a test needs a concrete string).
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if id := ref(x); id != "" {
			return "<" + id + ">"
		}
		if ga := list(x["Fn::GetAtt"]); len(ga) == 2 {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if j := list(x["Fn::Join"]); len(j) == 2 {
			var parts []string
			for _, p := range list(j[1]) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mustNotPanic runs an assertions call: jsii reports a failed assertion as a panic.
func mustNotPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}
