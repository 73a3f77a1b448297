// Command lambdaprof profiles the webhook function's work per invocation without the Runtime API: it builds
// the function exactly as functions/webhook does (awswire, the vault, the queue, apigw.Handler), against the
// same local servers lambdabench uses (goaws behind the edge, the Secrets Manager stand-in), and invokes it
// through lambda.NewHandler (the JSON decoding and encoding the runtime does) -n times, writing a CPU
// profile. What the profile does not hold, next to lambdabench's CPU per invocation, is the Runtime API
// client's share (the GET /next and POST /response of every invocation).
//
//	lambdaprof -n 5000 -cpuprofile build/bench/webhook.pprof
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/bench/lambdaenv"
	"github.com/waes/onboarding/shared/apigw"
	"github.com/waes/onboarding/shared/awswire"
	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/webhook"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lambdaprof:", err)
		os.Exit(1)
	}
}

const secret = "prof-app-secret-0123456789abcdef"

func run() error {
	n := flag.Int("n", 3000, "invocations")
	goawsBin := flag.String("goaws", "build/bench/bin/goaws", "the goaws binary")
	out := flag.String("cpuprofile", "build/bench/webhook.pprof", "CPU profile")
	serveEdge := flag.String("serve-edge", "", "internal: serve the edge for the goaws at this URL and print its URL")
	flag.Parse()
	if *serveEdge != "" {
		doc, _ := json.Marshal(map[string]string{"app_id": "1234567890", "app_secret": secret})
		edge, err := lambdaenv.StartEdge(*serveEdge, map[string]string{"stage": string(doc)}, lambdaenv.NewCounter())
		if err != nil {
			return err
		}
		fmt.Println(edge.URL)
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent exits
		return nil
	}
	work, err := os.MkdirTemp("", "lambdaprof")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	q, err := lambdaenv.StartGoaws(*goawsBin, work, "webhooks-prof")
	if err != nil {
		return err
	}
	defer q.Close()
	edgeURL, stop, err := startEdgeChild(q.URL)
	if err != nil {
		return err
	}
	defer stop()
	for _, kv := range append(lambdaenv.ClientEnv(filepath.Join(work, "none"), "SQS="+edgeURL, "SECRETS_MANAGER="+edgeURL),
		"STAGE_SECRET_ID=stage", "WEBHOOK_QUEUE_URL="+edgeURL+"/000000000000/webhooks-prof", "LOG_LEVEL=INFO") {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	h, err := webhookHandler()
	if err != nil {
		return err
	}
	events, err := webhookEvents(*n + 10)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := h.Invoke(ctx, events[i]); err != nil {
			return err
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	t0 := time.Now()
	for i := 10; i < len(events); i++ {
		if _, err := h.Invoke(ctx, events[i]); err != nil {
			return err
		}
	}
	pprof.StopCPUProfile()
	fmt.Printf("%d in-process invocations of the webhook function (1 KB), %.1f µs each (wall, one at a time); profile in %s\n",
		*n, float64(time.Since(t0).Microseconds())/float64(*n), *out)
	return nil
}

// startEdgeChild runs the edge in a child process, so that the profile holds the function's work only, and
// returns its URL and what stops it.
func startEdgeChild(goawsURL string) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	child := exec.Command(self, "-serve-edge", goawsURL)
	stdin, _ := child.StdinPipe()
	pipe, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { stdin.Close(); _ = child.Wait() }
	edgeURL, err := bufio.NewReader(pipe).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("starting the edge: %w", err)
	}
	return strings.TrimSpace(edgeURL), stop, nil
}

// webhookHandler builds the function as functions/webhook does, from the environment, behind the JSON
// decoding and encoding of the runtime.
func webhookHandler() (lambda.Handler, error) {
	// The function's logs go to stdout; keep them out of the terminal.
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	stdout := os.Stdout
	os.Stdout = devnull
	d, err := awswire.Load(context.Background(), catalog.Lookup("webhook").Needs)
	os.Stdout = stdout
	if err != nil {
		return nil, err
	}
	return lambda.NewHandler(apigw.Handler(webhook.NewHandler(d.Vault().AppConfig, d.Queue(), webhook.Options{Logger: d.Logger}))), nil
}

// webhookEvents are n signed API Gateway events of 1 KB webhooks, inbound messages and statuses alternating.
func webhookEvents(n int) ([][]byte, error) {
	tpl, err := lambdaenv.LoadAPIGatewayEvent(filepath.Join("events", "apigw", "post_webhooks.json"))
	if err != nil {
		return nil, err
	}
	b := metahook.New(5e12)
	events := make([][]byte, n)
	for i := range events {
		body, _ := b.Single(i%2 == 0)
		if events[i], err = tpl.With(body, secret); err != nil {
			return nil, err
		}
	}
	return events, nil
}
