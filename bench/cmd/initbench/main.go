// Command initbench reports each Lambda function binary's size and its init time: from process start to
// the function being ready for its first invocation, i.e. its first GET /2018-06-01/runtime/invocation/next
// on the Lambda Runtime API, which this program emulates on loopback. Each binary runs with the environment
// the CDK stack gives it (dummy values), dummy AWS credentials and no network access to AWS; the median of
// -runs cold starts is reported, after one unmeasured start that warms the page cache.
//
//	initbench -host build/bench/linux-amd64 -arm64 build -runs 20
//
// -host holds <function>/bootstrap built for this machine (measured and sized), -arm64 the linux/arm64
// builds that are deployed (sized only).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/waes/onboarding/bench/lambdaenv"
	"github.com/waes/onboarding/shared/config"
)

const (
	targetSize = 15 << 20 // 15 MiB
	targetInit = 50 * time.Millisecond
)

func main() {
	hostDir := flag.String("host", "build/bench/linux-"+runtime.GOARCH, "directory of <function>/bootstrap built for this machine")
	armDir := flag.String("arm64", "build", "directory of <function>/bootstrap built for linux/arm64 (make build)")
	runs := flag.Int("runs", 20, "measured cold starts per function")
	flag.Parse()
	if err := run(*hostDir, *armDir, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "initbench:", err)
		os.Exit(1)
	}
}

type row struct {
	name              string
	hostSize, armSize int64
	p50, min, max     time.Duration
}

func run(hostDir, armDir string, runs int) error {
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		return err
	}
	var rows []row
	for _, e := range entries {
		bin := filepath.Join(hostDir, e.Name(), "bootstrap")
		hs, err := os.Stat(bin)
		if err != nil || !e.IsDir() {
			continue
		}
		r := row{name: e.Name(), hostSize: hs.Size(), armSize: -1}
		if as, err := os.Stat(filepath.Join(armDir, e.Name(), "bootstrap")); err == nil {
			r.armSize = as.Size()
		}
		var times []time.Duration
		for i := 0; i <= runs; i++ {
			d, err := lambdaenv.MeasureInit([]string{bin}, "", lambdaEnv(e.Name()))
			if err != nil {
				return fmt.Errorf("%s: %w", e.Name(), err)
			}
			if i > 0 { // the first start only warms the page cache
				times = append(times, d)
			}
		}
		slices.Sort(times)
		r.p50, r.min, r.max = times[len(times)/2], times[0], times[len(times)-1]
		fmt.Fprintf(os.Stderr, "%-20s init median %6.2f ms (min %.2f, max %.2f), %d bytes\n", r.name, ms(r.p50), ms(r.min), ms(r.max), r.hostSize)
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return fmt.Errorf("no <function>/bootstrap under %s: run make bench-init", hostDir)
	}
	fmt.Printf("\n### Lambda function binaries: size and init time (median of %d cold starts, Runtime API emulated on loopback)\n\n", runs)
	fmt.Printf("Built with the Makefile's flags (CGO_ENABLED=0, -trimpath, -ldflags='-s -w -buildid=', -tags lambda.norpc). Targets: < 15 MiB (%d bytes), init < 50 ms.\n\n", targetSize)
	fmt.Printf("| function | linux/arm64 bytes (deployed) | linux/%s bytes | init median ms | min ms | max ms | targets |\n", runtime.GOARCH)
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		ok := "met"
		if r.hostSize >= targetSize || r.armSize >= targetSize || r.p50 >= targetInit {
			ok = "**missed**"
		}
		arm := "not built"
		if r.armSize >= 0 {
			arm = fmt.Sprint(r.armSize)
		}
		fmt.Printf("| %s | %s | %d | %.2f | %.2f | %.2f | %s |\n", r.name, arm, r.hostSize, ms(r.p50), ms(r.min), ms(r.max), ok)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// lambdaEnv is what Lambda (provided.al2023) and the CDK stack set, with dummy values: no AWS call can
// succeed and none is needed before the first invocation.
func lambdaEnv(name string) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=wa-onboarding-bench-" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/wa-onboarding-bench-" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/01/01/[$LATEST]0123456789abcdef",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=/var/task",
		"TZ=:UTC",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		// Dummy credentials; no shared config files, no instance metadata.
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDBENCHMARKONLY000",
		"AWS_SECRET_ACCESS_KEY=benchmark/only/not/a/real/secret/key/000",
		"AWS_SESSION_TOKEN=benchmark-session-token",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		// The stage configuration (shared/config): every function gets the settings any function needs.
		config.EnvStage + "=bench",
		config.EnvTableName + "=wa-onboarding-bench",
		config.EnvStageSecretID + "=arn:aws:secretsmanager:us-east-1:123456789012:secret:wa-onboarding/bench/app-AbCdEf",
		config.EnvWABASecretPrefix + "=wa-onboarding/bench/waba/",
		config.EnvStateMachineARN + "=arn:aws:states:us-east-1:123456789012:stateMachine:wa-onboarding-bench",
		config.EnvWebhookQueueURL + "=https://sqs.us-east-1.amazonaws.com/123456789012/wa-onboarding-bench-webhooks",
		config.EnvEventBusName + "=wa-onboarding-bench",
		config.EnvLogLevel + "=INFO",
	}
}
