// Command local runs the whole onboarding on this machine (`make run`): the HTTP API and the webhooks on
// ADDR (default 127.0.0.1:8080), the workflow definition interpreted in-process with the real step handlers,
// state and secrets kept in LOCAL_STATE_DIR (default .local/; LOCAL_STATE=memory keeps them in memory), and
// the Graph API simulator (unless GRAPH_BASE_URL is set). Configuration comes from environment variables
// with dev defaults; see the README.
//
// `local reset` (make reset-local) deletes the local state instead, and refuses while a runner is using it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/logging"
)

// shutdownGrace is how long in-flight requests and workflow tasks get to finish on SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	log := logging.New(os.Stdout, slog.LevelInfo)
	if len(os.Args) > 1 {
		if err := command(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := run(log); err != nil {
		log.Error("local runner failed", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := runner.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	r, err := runner.New(cfg, log)
	if err != nil {
		return err
	}
	state := "memory (nothing survives a restart)"
	if dir := r.StateDir(); dir != "" {
		state = dir
	}
	graph := "the embedded Graph simulator"
	if cfg.GraphBaseURL != "" {
		graph = cfg.GraphBaseURL
	}
	log.Info("serving the onboarding API and webhooks", "url", r.URL, "graph", graph, "state", state,
		"time_scale", cfg.TimeScale, "credit_line", cfg.App.CreditLineID != "", "partner_auth", cfg.AuthIssuer != "",
		"try", "curl -s -X POST "+r.URL+"/signup -H 'Content-Type: application/json' -d '{\"code\":\"sim:102290129340398:106540352242922:demo\",\"waba_id\":\"102290129340398\",\"phone_number_id\":\"106540352242922\"}'")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- r.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests and workflow tasks", "grace", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := r.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}

// command runs a subcommand: only "reset", which deletes the local state directory's files.
func command(args []string) error {
	if len(args) != 1 || args[0] != "reset" {
		return fmt.Errorf("usage: go run ./infra/local [reset]  (reset deletes the local state in %s, default %s)", runner.EnvStateDir, runner.DefaultStateDir)
	}
	dir := os.Getenv(runner.EnvStateDir)
	if dir == "" {
		dir = runner.DefaultStateDir
	}
	if err := localstate.Reset(dir, localstate.Options{}); err != nil {
		return fmt.Errorf("reset-local: %w", err)
	}
	fmt.Printf("local state in %s deleted (%s, %s)\n", dir, localstate.DBFile, localstate.KeyFile)
	return nil
}
