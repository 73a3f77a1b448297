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

func run() error {
	n := flag.Int("n", 3000, "invocations")
	goawsBin := flag.String("goaws", "build/bench/bin/goaws", "the goaws binary")
	out := flag.String("cpuprofile", "build/bench/webhook.pprof", "CPU profile")
	serveEdge := flag.String("serve-edge", "", "internal: serve the edge for the goaws at this URL and print its URL")
	flag.Parse()
	const secret = "prof-app-secret-0123456789abcdef"
	doc, _ := json.Marshal(map[string]string{"app_id": "1234567890", "app_secret": secret})
	if *serveEdge != "" {
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
	// The edge runs in a child process, so that the profile holds the function's work only.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-serve-edge", q.URL)
	stdin, _ := child.StdinPipe()
	pipe, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); _ = child.Wait() }()
	edgeURL, err := bufio.NewReader(pipe).ReadString('\n')
	if err != nil {
		return fmt.Errorf("starting the edge: %w", err)
	}
	edgeURL = strings.TrimSpace(edgeURL)
	queueURL := edgeURL + "/000000000000/webhooks-prof"
	none := filepath.Join(work, "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_ENDPOINT_URL_SQS": edgeURL, "AWS_ENDPOINT_URL_SECRETS_MANAGER": edgeURL,
		"STAGE_SECRET_ID": "stage", "WEBHOOK_QUEUE_URL": queueURL, "LOG_LEVEL": "INFO",
	} {
		os.Setenv(k, v)
	}
	// The function's logs go to stdout; keep them out of the terminal.
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	stdout := os.Stdout
	os.Stdout = devnull
	d, err := awswire.Load(context.Background(), catalog.Lookup("webhook").Needs)
	os.Stdout = stdout
	if err != nil {
		return err
	}
	h := lambda.NewHandler(apigw.Handler(webhook.NewHandler(d.Vault().AppConfig, d.Queue(), webhook.Options{Logger: d.Logger})))
	tpl, err := lambdaenv.LoadAPIGatewayEvent(filepath.Join("events", "apigw", "post_webhooks.json"))
	if err != nil {
		return err
	}
	b := metahook.New(5e12)
	events := make([][]byte, *n+10)
	for i := range events {
		body, _ := b.Single(i%2 == 0)
		if events[i], err = tpl.With(body, secret); err != nil {
			return err
		}
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
