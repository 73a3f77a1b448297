package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waes/onboarding/bench/internal/loadgen"
	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/infra/local/runner"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// cmdRunner is the load test of the local runner (`make run`'s system, in this process so that its store
// can be inspected afterwards): -signups concurrent signups with unique sim: codes for unique WABAs and
// phones, and at the same time -webhooks signed webhooks of which -dup are duplicates (some sent right next
// to their original so that both are in flight together, some later), over -c connections. It fails unless
// every signup was accepted and reached COMPLETED, every webhook was answered 200, every unique event was
// claimed and completed exactly once, and exactly one partner event was published per unique event.
func cmdRunner(args []string) error {
	fs := flag.NewFlagSet("runner", flag.ExitOnError)
	nSignups := fs.Int("signups", 1000, "concurrent signups")
	nHooks := fs.Int("webhooks", 10000, "webhook deliveries, duplicates included")
	dup := fs.Float64("dup", 0.10, "fraction of the deliveries that are duplicates")
	conc := fs.Int("c", 64, "concurrent webhook connections")
	timeout := fs.Duration("timeout", 5*time.Minute, "time allowed for every onboarding to finish")
	logFile := fs.String("log", "", "write the runner's JSON logs to this file (default: encoded, then discarded)")
	slowest := fs.Bool("slowest", false, "print the execution history of the slowest onboarding (to stderr)")
	blockProfile := fs.String("blockprofile", "", "write a blocking profile (channel and mutex waits) to this file")
	_ = fs.Parse(args)
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(10000) // one sample per 10 µs blocked
		defer func() {
			f, err := os.Create(*blockProfile)
			if err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	var logw io.Writer = io.Discard
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}

	cfg, err := runner.ConfigFromEnv(func(k string) (string, bool) {
		switch k {
		case runner.EnvAddr:
			return "127.0.0.1:0", true
		case runner.EnvState:
			// A load run measures the system, not a state directory left by earlier runs.
			return runner.StateMemory, true
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		return err
	}
	r, err := runner.New(cfg, logging.New(logw, slog.LevelInfo))
	if err != nil {
		return err
	}
	r.Events.Limit = 1 << 22 // keep every partner event for the exactly-once check
	go func() { _ = r.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	}()
	u, _ := url.Parse(r.URL)

	// Signups: unique WABA and phone each (phone ids end in 0: never the simulator's special ...1111/...2222).
	type signup struct{ waba, phone, body string }
	signups := make([]signup, *nSignups)
	for i := range signups {
		s := signup{waba: fmt.Sprintf("2%014d", i), phone: fmt.Sprintf("3%013d0", i)}
		code := fmt.Sprintf("sim:%s:%s:load-%d", s.waba, s.phone, i)
		s.body = fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q}`, code, s.waba, s.phone)
		signups[i] = s
	}

	// Webhooks: unique ~1 KB deliveries (inbound messages and statuses alternating) to the signups' phones,
	// then duplicates of random ones: half right after their original, half at a random later position.
	rng := rand.New(rand.NewPCG(6, 2026))
	nDup := int(float64(*nHooks) * *dup)
	unique := *nHooks - nDup
	b := metahook.New(7e12)
	var keys []string
	bodies := make([][]byte, unique)
	for i := range bodies {
		s := signups[i%len(signups)]
		b.WABA, b.Phone = s.waba, s.phone
		body, evs := b.Single(i%2 == 0)
		bodies[i] = body
		for _, e := range evs {
			keys = append(keys, e.Key)
		}
	}
	order := make([]int, 0, *nHooks)
	for i := range unique {
		order = append(order, i)
	}
	for d := range nDup {
		orig := rng.IntN(unique)
		if d%2 == 0 {
			at := slices.Index(order, orig) + 1
			order = slices.Insert(order, at, orig)
		} else {
			pos := slices.Index(order, orig) + 1 + rng.IntN(len(order)-slices.Index(order, orig))
			order = slices.Insert(order, min(pos, len(order)), orig)
		}
	}
	reqs := make([]loadgen.Request, len(order))
	for i, j := range order {
		reqs[i] = loadgen.SignedPost(u.Host, "/webhooks", bodies[j], cfg.App.AppSecret.Reveal())
	}

	fmt.Fprintf(os.Stderr, "local runner at %s: %d concurrent signups, %d webhooks (%d unique events, %d duplicates) over %d connections\n",
		r.URL, len(signups), len(reqs), len(keys), nDup, *conc)

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: len(signups)}}
	execPrefix := strings.Replace(r.Engine.StateMachineARN(), ":stateMachine:", ":execution:", 1) + ":"
	type outcome struct {
		accepted, done time.Duration
		id             string
		status         onboarding.Status
		err            error
	}
	outcomes := make([]outcome, len(signups))
	var hookRes loadgen.Result
	var hookErr error
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range signups {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			o := &outcomes[i]
			<-gate
			t0 := time.Now()
			resp, err := client.Post(r.URL+"/signup", "application/json", strings.NewReader(signups[i].body))
			if err != nil {
				o.err = err
				return
			}
			var m struct {
				ID    string `json:"id"`
				Error any    `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			o.accepted = time.Since(t0)
			if resp.StatusCode != http.StatusAccepted {
				o.err = fmt.Errorf("signup %d: %d %v", i, resp.StatusCode, m.Error)
				return
			}
			o.id = m.ID
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			defer cancel()
			d, err := r.Engine.Wait(ctx, execPrefix+onboarding.ExecutionName(m.ID, 1))
			if err != nil {
				o.err = err
				return
			}
			o.done = d.StopDate.Sub(t0)
			rec, err := r.Store.Get(context.Background(), m.ID)
			if err != nil {
				o.err = err
				return
			}
			o.status = rec.Status
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-gate
		hookRes, hookErr = loadgen.Run(u.Host, reqs, *conc)
	}()
	start := time.Now()
	close(gate)
	wg.Wait()
	allDone := time.Since(start)
	if hookErr != nil {
		return hookErr
	}

	// Checks.
	var problems []string
	var accepted, done []time.Duration
	completed := 0
	for i, o := range outcomes {
		switch {
		case o.err != nil:
			problems = append(problems, fmt.Sprintf("signup %d: %v", i, o.err))
		case o.status != onboarding.StatusCompleted:
			problems = append(problems, fmt.Sprintf("onboarding %s ended %s, want COMPLETED", o.id, o.status))
		default:
			completed++
		}
		if o.err == nil {
			accepted = append(accepted, o.accepted)
			done = append(done, o.done)
		}
	}
	if hookRes.Errors > 0 || hookRes.Non200 > 0 {
		problems = append(problems, fmt.Sprintf("webhooks: %d transport errors, statuses %v (want every one 200)", hookRes.Errors, hookRes.Statuses))
	}
	published := map[string]int{}
	for _, e := range r.Events.Events() {
		published[e.ID]++
	}
	lost, twice, republished := 0, 0, 0
	for _, k := range keys {
		c, err := r.Store.GetEventClaim(context.Background(), k)
		switch {
		case errors.Is(err, onboarding.ErrNotFound) || (err == nil && !c.Done):
			lost++
		case err != nil:
			return err
		case c.Attempts != 1:
			twice++
		}
		if published[k] != 1 {
			republished++
		}
	}
	if lost > 0 || twice > 0 || republished > 0 {
		problems = append(problems, fmt.Sprintf("events: %d lost, %d processed more than once, %d without exactly one partner event", lost, twice, republished))
	}

	if *slowest {
		i := 0
		for j, o := range outcomes {
			if o.done > outcomes[i].done {
				i = j
			}
		}
		events, _ := r.Engine.GetExecutionHistory(execPrefix + onboarding.ExecutionName(outcomes[i].id, 1))
		fmt.Fprintf(os.Stderr, "slowest onboarding %s (%v after its signup started):\n", outcomes[i].id, outcomes[i].done)
		for _, e := range events {
			name := ""
			if e.StateEnteredEventDetails != nil {
				name = e.StateEnteredEventDetails.Name
			}
			fmt.Fprintf(os.Stderr, "  %s %s %s\n", e.Timestamp.Sub(start).Round(time.Millisecond), e.Type, name)
		}
	}
	slices.Sort(accepted)
	slices.Sort(done)
	fmt.Printf("\n### Load on the local runner (in-process, loopback, Graph simulator with no latency, time scale %g)\n\n", cfg.TimeScale)
	fmt.Printf("%d signups started at once (unique codes, WABAs and phones) while %d webhooks (%d unique events, %d duplicates: half in flight together with their original) were delivered over %d connections.\n\n",
		len(signups), len(reqs), len(keys), nDup, *conc)
	fmt.Println("| measure | result |")
	fmt.Println("|---|---|")
	fmt.Printf("| signups answered 202 | %d / %d |\n", len(accepted), len(signups))
	fmt.Printf("| signup latency (POST /signup → 202) p50 / p99 | %s / %s ms |\n", loadgen.Ms(loadgen.Percentile(accepted, 50)), loadgen.Ms(loadgen.Percentile(accepted, 99)))
	fmt.Printf("| onboardings COMPLETED | %d / %d |\n", completed, len(signups))
	fmt.Printf("| signup → COMPLETED p50 / p99 | %s / %s ms |\n", loadgen.Ms(loadgen.Percentile(done, 50)), loadgen.Ms(loadgen.Percentile(done, 99)))
	fmt.Printf("| time until all terminal (and all webhooks answered) | %s ms |\n", loadgen.Ms(allDone))
	fmt.Printf("| webhooks answered 200 | %d / %d (%.0f req/s while the signups ran) |\n", hookRes.Statuses[200], len(reqs), hookRes.ReqPerSec())
	fmt.Printf("| webhook latency p50 / p99 | %s / %s ms |\n", loadgen.Ms(hookRes.Percentile(50)), loadgen.Ms(hookRes.Percentile(99)))
	fmt.Printf("| unique events lost / stored more than once / partner events ≠ 1 | %d / %d / %d (of %d) |\n", lost, twice, republished, len(keys))
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	fmt.Println("\nResult: **pass** (zero lost, zero stored twice, every onboarding terminal).")
	return nil
}
