// Command cost is the cost model of the onboarding bundle on AWS (us-east-1, arm64): dollars per onboarding
// and per million webhooks, side by side with the Node.js peer on the same design, and the memory sizes and
// SQS batching that the measurements recommend. It reads
//
//   - the synthesized CloudFormation template (`make synth`: memory sizes, architectures, log retention, log
//     levels, tracing, the SQS event source's batch size and window, the API's access log format);
//   - build/bench/lambda.json (`make bench-lambda`: CPU, latency, memory, log bytes and AWS calls per
//     invocation of the functions and the Node.js peer under the Runtime Interface Emulator);
//
// and runs one whole onboarding in this process (runOnboarding) to count its state transitions, Lambda
// invocations, DynamoDB units, Secrets Manager, EventBridge and Graph calls. Prices are named constants
// (prices.go). It prints markdown (docs/cost.md is written from it).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/waes/onboarding/bench/lambdaenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

// Fn is a deployed function as the template configures it.
type Fn struct {
	Name          string
	MemoryMB      int
	Arch          string
	RetentionDays int
	AppLogLevel   string
	Tracing       bool
}

// Template is what the cost model reads of the synthesized stack.
type Template struct {
	File            string
	Functions       map[string]*Fn
	BatchSize       int
	BatchWindowS    int
	AccessLogBytes  int
	SFNLogLevel     string
	SFNRetention    int
	StateMachineTyp string
}

// templateDoc holds the properties read, of every resource type read. A property of another shape (an
// intrinsic function where a value was expected) is left zero: Unmarshal goes on past it and reports it,
// which is ignored.
type templateDoc struct {
	Resources map[string]struct {
		Type       string
		Properties struct {
			FunctionName, StateMachineType string
			MemorySize, RetentionInDays    int
			BatchSize                      int
			BatchWindowS                   int `json:"MaximumBatchingWindowInSeconds"`
			Architectures                  []string
			LoggingConfig                  struct {
				ApplicationLogLevel string
				LogGroup            struct{ Ref string }
			}
			TracingConfig        struct{ Mode string }
			AccessLogSettings    struct{ Format string }
			LoggingConfiguration struct {
				Level        string
				Destinations []struct {
					CloudWatchLogsLogGroup struct {
						LogGroupArn struct {
							GetAtt []string `json:"Fn::GetAtt"`
						}
					}
				}
			}
		}
	}
}

// readTemplate reads what the cost model needs of the synthesized template at path.
func readTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc templateDoc
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(b, &doc); err != nil && !errors.As(err, &typeErr) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Template{File: path, Functions: map[string]*Fn{}}
	retention := map[string]int{}
	for id, r := range doc.Resources {
		if r.Type == "AWS::Logs::LogGroup" {
			retention[id] = r.Properties.RetentionInDays
		}
	}
	for id, r := range doc.Resources {
		p := r.Properties
		switch r.Type {
		case "AWS::Lambda::Function":
			name := p.FunctionName
			if i := strings.LastIndexByte(name, '-'); i >= 0 {
				name = name[i+1:]
			}
			if name == "" {
				name = id
			}
			f := &Fn{Name: name, MemoryMB: p.MemorySize, Arch: "x86_64", RetentionDays: retention[p.LoggingConfig.LogGroup.Ref],
				AppLogLevel: p.LoggingConfig.ApplicationLogLevel, Tracing: p.TracingConfig.Mode == "Active"}
			if len(p.Architectures) > 0 {
				f.Arch = p.Architectures[0]
			}
			t.Functions[name] = f
		case "AWS::Lambda::EventSourceMapping":
			t.BatchSize, t.BatchWindowS = p.BatchSize, p.BatchWindowS
		case "AWS::ApiGatewayV2::Stage":
			// Each $context variable becomes a value of about the same length, so the format's length is
			// about the line's.
			t.AccessLogBytes = len(p.AccessLogSettings.Format)
		case "AWS::StepFunctions::StateMachine":
			lc := p.LoggingConfiguration
			t.SFNLogLevel, t.StateMachineTyp = lc.Level, p.StateMachineType
			if len(lc.Destinations) > 0 && len(lc.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn.GetAtt) > 0 {
				t.SFNRetention = retention[lc.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn.GetAtt[0]]
			}
		}
	}
	if t.BatchSize == 0 {
		t.BatchSize = 10
	}
	if len(t.Functions) == 0 {
		return nil, fmt.Errorf("%s: no Lambda functions", path)
	}
	return t, nil
}

// Measured is one phase of one target reduced to medians over the rounds, per invocation.
type Measured struct {
	CPUms, MeanMs, P50ms, P99ms, RSSMiB, LogBytes float64
	InitMs                                        float64
	BodyBytes, Items                              int
	Calls                                         map[string]float64
	RCU, WCU, SQSBilled                           float64
}

// measured reduces phase of target key of lambdabench's figures; the AWS calls and the body size are the
// last round's.
func measured(b *lambdaenv.Results, key, phase string) (Measured, bool) {
	i := slices.IndexFunc(b.Targets, func(t *lambdaenv.TargetResult) bool { return t.Key == key })
	if i < 0 || len(b.Targets[i].Phases[phase]) == 0 {
		return Measured{}, false
	}
	prs := b.Targets[i].Phases[phase]
	s := lambdaenv.Summarize(b.Targets[i])
	p, last := s.Phases[phase], prs[len(prs)-1]
	n := float64(last.N)
	m := Measured{CPUms: p.CPUus / 1000, MeanMs: p.Mean, P50ms: p.P50, P99ms: p.P99, RSSMiB: p.RSSMiB, LogBytes: p.LogB,
		InitMs: s.RuntimeInitMs, BodyBytes: last.BodyBytes, Items: max(1, last.Items), Calls: map[string]float64{},
		RCU: last.AWS.RCU / n, WCU: last.AWS.WCU / n, SQSBilled: float64(last.AWS.SQSBilled) / n}
	for k, v := range last.AWS.Calls {
		m.Calls[k] = float64(v) / n
	}
	return m, true
}

func run() error {
	tplPath := flag.String("template", "", "the synthesized template (default: the only cdk.out/*.template.json, or the prod one)")
	benchPath := flag.String("bench", "build/bench/lambda.json", "lambdabench's figures")
	coldFraction := flag.Float64("cold-fraction", 0.005, "share of invocations that are cold starts (steady traffic)")
	sampling := flag.Float64("xray-sampling", 0.05, "share of requests X-Ray records at volume (its default rule: 1/s, then 5 %)")
	jsonOut := flag.String("json", "build/bench/cost.json", "write the onboarding's counts here")
	flag.Parse()

	if *tplPath == "" {
		files, _ := filepath.Glob("cdk.out/*.template.json")
		for _, f := range files {
			if strings.Contains(f, "prod") || *tplPath == "" {
				*tplPath = f
			}
		}
		if *tplPath == "" {
			return fmt.Errorf("no cdk.out/*.template.json: run `make synth STAGE=prod` first")
		}
	}
	tpl, err := readTemplate(*tplPath)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*benchPath)
	if err != nil {
		return fmt.Errorf("%w (run `make bench-lambda` first)", err)
	}
	var bench lambdaenv.Results
	if err := json.Unmarshal(raw, &bench); err != nil {
		return err
	}
	ctx := context.Background()
	completed, err := runOnboarding(ctx, "")
	if err != nil {
		return fmt.Errorf("the onboarding run: %w", err)
	}
	verified, err := runOnboarding(ctx, "+16505551234")
	if err != nil {
		return fmt.Errorf("the onboarding run with a test message: %w", err)
	}
	if *jsonOut != "" {
		out, _ := json.MarshalIndent(map[string]any{"completed": completed, "verified": verified}, "", "  ")
		_ = os.WriteFile(*jsonOut, out, 0o644)
	}
	m := &model{tpl: tpl, bench: &bench, coldFraction: *coldFraction, sampling: *sampling}
	m.report(os.Stdout, completed, verified)
	return nil
}

// lambdaGBs is the GB-seconds of an invocation of ms billed milliseconds at mb MB (Lambda bills in 1 ms
// steps).
func lambdaGBs(mb int, ms float64) float64 { return float64(mb) / 1024 * math.Ceil(ms) / 1000 }

// cpuScale is how much slower CPU work runs at mb than on the full core measured here: Lambda gives a
// function CPU in proportion to its memory, one vCPU at 1769 MB (and more above, which a single-threaded
// handler cannot use).
func cpuScale(mb int) float64 { return math.Max(1, 1769/float64(mb)) }
