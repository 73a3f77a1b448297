package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/bench/lambdaenv"
	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/store/memory"
	vaultmem "github.com/waes/onboarding/shared/vault/memory"
	"github.com/waes/onboarding/shared/webhook"
	"github.com/waes/onboarding/shared/webhook/worker"
)

// cmdServe serves the project's intake on a free loopback port, prints "listening <url>" once ready and
// serves until SIGINT or SIGTERM. Logs are JSON at INFO, encoded as usual, then discarded (the peer logs
// nothing either).
//
//   - handler (default): the webhook handler (signature, parse) with the local runner's inline worker (dedupe
//     claim, status, correlation lookup, completion) on the in-memory store, partner events discarded: the
//     intake path of `make run` without the rest of the runner.
//   - runner: the whole local runner as `make run` serves it (API, simulator, interpreter, and partner
//     events kept in memory and logged one line each).
//   - gofloor: not the project: the peer's program written in Go (net/http, HMAC-SHA256 over the raw body,
//     constant-time compare, json.Unmarshal into any, 200), to separate what the language and net/http give
//     from what the project's intake adds.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	target := fs.String("target", "handler", "handler, runner or gofloor")
	logs := fs.Bool("logs", false, "write the logs to stderr instead of discarding them")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole serving time to this file")
	_ = fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	var w io.Writer = io.Discard
	if *logs {
		w = os.Stderr
	}
	log := logging.New(w, slog.LevelInfo)

	var (
		url      string
		serve    func() error
		shutdown func(context.Context) error
	)
	switch *target {
	case "runner":
		r, err := runner.New(cfg, log)
		if err != nil {
			return err
		}
		url, serve, shutdown = r.URL, r.Serve, r.Shutdown
	case "handler", "gofloor":
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return err
		}
		srv := FloorServer(cfg.App.AppSecret.Reveal())
		if *target == "handler" {
			if srv, err = IntakeServer(cfg, log); err != nil {
				return err
			}
		}
		url = "http://" + ln.Addr().String()
		serve = func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
		shutdown = srv.Shutdown
	default:
		return fmt.Errorf("unknown target %q: handler, runner or gofloor", *target)
	}

	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	fmt.Println("listening " + url)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = shutdown(sctx)
	return nil
}

// IntakeServer wires POST /webhooks as the local runner does (infra/local/runner: the vault's app config,
// worker.Inline over a worker.Processor on the in-memory store, the same server timeouts), with partner
// events discarded. The store holds a completed onboarding of the phone the benchmark's webhooks are for,
// as a partner's store does for every number it receives webhooks for.
func IntakeServer(cfg runner.Config, log *slog.Logger) (*http.Server, error) {
	store := memory.New()
	if err := store.Create(context.Background(), lambdaenv.CompletedOnboarding(metahook.DefaultWABA, metahook.DefaultPhone)); err != nil {
		return nil, err
	}
	vault := vaultmem.New(cfg.App)
	proc := worker.New(store, store, nil, worker.Options{
		Publisher: partnerevents.Discard{}, Logger: log,
		IsTaskGone: runner.IsTaskGone,
	})
	mux := http.NewServeMux()
	mux.Handle("/webhooks", webhook.NewHandler(vault.AppConfig, worker.Inline{P: proc}, webhook.Options{Logger: log}))
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}, nil
}

// FloorServer is the peer's program in Go: what any receiver must at least do.
func FloorServer(secret string) *http.Server {
	key := []byte(secret)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
		got, err := hex.DecodeString(sig)
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if !ok || err != nil || !hmac.Equal(got, mac.Sum(nil)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
}

// loadConfig is the local runner's configuration from the environment, on a free loopback port and in
// memory: a load run measures the system, not a state directory left by earlier runs.
func loadConfig() (runner.Config, error) {
	return runner.ConfigFromEnv(func(k string) (string, bool) {
		switch k {
		case runner.EnvAddr:
			return "127.0.0.1:0", true
		case runner.EnvState:
			return runner.StateMemory, true
		}
		return os.LookupEnv(k)
	})
}
