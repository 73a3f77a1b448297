package main

import (
	"cmp"
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

// runnerLoad is one load test of the local runner: its flags, the runner, what it sends and what came back.
type runnerLoad struct {
	nSignups, nHooks, conc int
	dup                    float64
	timeout                time.Duration

	r          *runner.Runner
	execPrefix string
	signups    []signup
	reqs       []loadgen.Request
	keys       []string // the unique events' dedupe keys
	nDup       int

	outcomes []outcome
	hooks    loadgen.Result
	start    time.Time
	allDone  time.Duration
	// lost, twice and republished count the unique events lost, processed more than once, and without
	// exactly one partner event.
	lost, twice, republished int
}

// signup is one signup of a unique WABA and phone.
type signup struct{ waba, phone, body string }

// outcome is what became of a signup.
type outcome struct {
	accepted, done time.Duration
	id             string
	status         onboarding.Status
	err            error
}

// cmdRunner is the load test of the local runner (`make run`'s system, in this process so that its store
// can be inspected afterwards): -signups concurrent signups with unique sim: codes for unique WABAs and
// phones, and at the same time -webhooks signed webhooks of which -dup are duplicates (some sent right next
// to their original so that both are in flight together, some later), over -c connections. It fails unless
// every signup was accepted and reached COMPLETED, every webhook was answered 200, every unique event was
// claimed and completed exactly once, and exactly one partner event was published per unique event.
func cmdRunner(args []string) error {
	var l runnerLoad
	fs := flag.NewFlagSet("runner", flag.ExitOnError)
	fs.IntVar(&l.nSignups, "signups", 1000, "concurrent signups")
	fs.IntVar(&l.nHooks, "webhooks", 10000, "webhook deliveries, duplicates included")
	fs.Float64Var(&l.dup, "dup", 0.10, "fraction of the deliveries that are duplicates")
	fs.IntVar(&l.conc, "c", 64, "concurrent webhook connections")
	fs.DurationVar(&l.timeout, "timeout", 5*time.Minute, "time allowed for every onboarding to finish")
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

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if l.r, err = runner.New(cfg, logging.New(logw, slog.LevelInfo)); err != nil {
		return err
	}
	l.r.Events.Limit = 1 << 22 // keep every partner event for the exactly-once check
	go func() { _ = l.r.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = l.r.Shutdown(ctx)
	}()
	l.execPrefix = strings.Replace(l.r.Engine.StateMachineARN(), ":stateMachine:", ":execution:", 1) + ":"
	u, _ := url.Parse(l.r.URL)
	l.build(u.Host, cfg.App.AppSecret.Reveal())
	fmt.Fprintf(os.Stderr, "local runner at %s: %d concurrent signups, %d webhooks (%d unique events, %d duplicates) over %d connections\n",
		l.r.URL, len(l.signups), len(l.reqs), len(l.keys), l.nDup, l.conc)
	if err := l.send(u.Host); err != nil {
		return err
	}
	problems, err := l.check()
	if err != nil {
		return err
	}
	if *slowest {
		l.printSlowest()
	}
	l.report(cfg.TimeScale)
	if len(problems) > 0 {
		for _, p := range problems[:min(len(problems), 20)] {
			fmt.Fprintln(os.Stderr, "FAIL:", p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	fmt.Println("\nResult: **pass** (zero lost, zero stored twice, every onboarding terminal).")
	return nil
}

// build makes the signups (unique WABA and phone each; phone ids end in 0: never the simulator's special
// ...1111/...2222) and the webhooks: unique ~1 KB deliveries (inbound messages and statuses alternating)
// to the signups' phones, then duplicates of random ones, half right after their original, half at a
// random later position.
func (l *runnerLoad) build(host, secret string) {
	l.signups = make([]signup, l.nSignups)
	for i := range l.signups {
		s := signup{waba: fmt.Sprintf("2%014d", i), phone: fmt.Sprintf("3%013d0", i)}
		code := fmt.Sprintf("sim:%s:%s:load-%d", s.waba, s.phone, i)
		s.body = fmt.Sprintf(`{"code":%q,"waba_id":%q,"phone_number_id":%q}`, code, s.waba, s.phone)
		l.signups[i] = s
	}
	rng := rand.New(rand.NewPCG(6, 2026))
	l.nDup = int(float64(l.nHooks) * l.dup)
	unique := l.nHooks - l.nDup
	b := metahook.New(7e12)
	bodies := make([][]byte, unique)
	order := make([]int, 0, l.nHooks)
	for i := range bodies {
		s := l.signups[i%len(l.signups)]
		b.WABA, b.Phone = s.waba, s.phone
		body, evs := b.Single(i%2 == 0)
		bodies[i] = body
		for _, e := range evs {
			l.keys = append(l.keys, e.Key)
		}
		order = append(order, i)
	}
	for d := range l.nDup {
		orig := rng.IntN(unique)
		at := slices.Index(order, orig) + 1
		if d%2 == 1 {
			at += rng.IntN(len(order) - at + 1)
		}
		order = slices.Insert(order, min(at, len(order)), orig)
	}
	l.reqs = make([]loadgen.Request, len(order))
	for i, j := range order {
		l.reqs[i] = loadgen.SignedPost(host, "/webhooks", bodies[j], secret)
	}
}

// send starts every signup and the webhooks at once and waits until every onboarding is terminal and every
// webhook answered.
func (l *runnerLoad) send(host string) error {
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: len(l.signups)}}
	l.outcomes = make([]outcome, len(l.signups))
	var hookErr error
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range l.signups {
		wg.Go(func() {
			<-gate
			l.outcomes[i] = l.onboard(client, i)
		})
	}
	wg.Go(func() {
		<-gate
		l.hooks, hookErr = loadgen.Run(host, l.reqs, l.conc)
	})
	l.start = time.Now()
	close(gate)
	wg.Wait()
	l.allDone = time.Since(l.start)
	return hookErr
}

// onboard posts signup i and waits for its execution to end.
func (l *runnerLoad) onboard(client *http.Client, i int) (o outcome) {
	t0 := time.Now()
	resp, err := client.Post(l.r.URL+"/signup", "application/json", strings.NewReader(l.signups[i].body))
	if err != nil {
		return outcome{err: err}
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
		return o
	}
	o.id = m.ID
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	d, err := l.r.Engine.Wait(ctx, l.execPrefix+onboarding.ExecutionName(m.ID, 1))
	if err != nil {
		o.err = err
		return o
	}
	o.done = d.StopDate.Sub(t0)
	rec, err := l.r.Store.Get(context.Background(), m.ID)
	if err != nil {
		o.err = err
		return o
	}
	o.status = rec.Status
	return o
}

// check lists what went wrong: a signup not accepted or not COMPLETED, a webhook not answered 200, an event
// lost, stored twice or published other than once.
func (l *runnerLoad) check() ([]string, error) {
	var problems []string
	for i, o := range l.outcomes {
		switch {
		case o.err != nil:
			problems = append(problems, fmt.Sprintf("signup %d: %v", i, o.err))
		case o.status != onboarding.StatusCompleted:
			problems = append(problems, fmt.Sprintf("onboarding %s ended %s, want COMPLETED", o.id, o.status))
		}
	}
	if l.hooks.Errors > 0 || l.hooks.Non200 > 0 {
		problems = append(problems, fmt.Sprintf("webhooks: %d transport errors, statuses %v (want every one 200)", l.hooks.Errors, l.hooks.Statuses))
	}
	published := map[string]int{}
	for _, e := range l.r.Events.Events() {
		published[e.ID]++
	}
	for _, k := range l.keys {
		c, err := l.r.Store.GetEventClaim(context.Background(), k)
		switch {
		case errors.Is(err, onboarding.ErrNotFound) || (err == nil && !c.Done):
			l.lost++
		case err != nil:
			return nil, err
		case c.Attempts != 1:
			l.twice++
		}
		if published[k] != 1 {
			l.republished++
		}
	}
	if l.lost > 0 || l.twice > 0 || l.republished > 0 {
		problems = append(problems, fmt.Sprintf("events: %d lost, %d processed more than once, %d without exactly one partner event", l.lost, l.twice, l.republished))
	}
	return problems, nil
}

// printSlowest prints the execution history of the slowest onboarding to stderr.
func (l *runnerLoad) printSlowest() {
	o := slices.MaxFunc(l.outcomes, func(a, b outcome) int { return cmp.Compare(a.done, b.done) })
	events, _ := l.r.Engine.GetExecutionHistory(l.execPrefix + onboarding.ExecutionName(o.id, 1))
	fmt.Fprintf(os.Stderr, "slowest onboarding %s (%v after its signup started):\n", o.id, o.done)
	for _, e := range events {
		name := ""
		if e.StateEnteredEventDetails != nil {
			name = e.StateEnteredEventDetails.Name
		}
		fmt.Fprintf(os.Stderr, "  %s %s %s\n", e.Timestamp.Sub(l.start).Round(time.Millisecond), e.Type, name)
	}
}

func (l *runnerLoad) report(timeScale float64) {
	var accepted, done []time.Duration
	completed := 0
	for _, o := range l.outcomes {
		if o.err == nil {
			accepted = append(accepted, o.accepted)
			done = append(done, o.done)
			if o.status == onboarding.StatusCompleted {
				completed++
			}
		}
	}
	slices.Sort(accepted)
	slices.Sort(done)
	p50p99 := func(sorted []time.Duration) string {
		return loadgen.Ms(loadgen.Percentile(sorted, 50)) + " / " + loadgen.Ms(loadgen.Percentile(sorted, 99))
	}
	fmt.Printf("\n### Load on the local runner (in-process, loopback, Graph simulator with no latency, time scale %g)\n\n", timeScale)
	fmt.Printf("%d signups started at once (unique codes, WABAs and phones) while %d webhooks (%d unique events, %d duplicates: half in flight together with their original) were delivered over %d connections.\n\n",
		len(l.signups), len(l.reqs), len(l.keys), l.nDup, l.conc)
	fmt.Println("| measure | result |")
	fmt.Println("|---|---|")
	fmt.Printf("| signups answered 202 | %d / %d |\n", len(accepted), len(l.signups))
	fmt.Printf("| signup latency (POST /signup → 202) p50 / p99 | %s ms |\n", p50p99(accepted))
	fmt.Printf("| onboardings COMPLETED | %d / %d |\n", completed, len(l.signups))
	fmt.Printf("| signup → COMPLETED p50 / p99 | %s ms |\n", p50p99(done))
	fmt.Printf("| time until all terminal (and all webhooks answered) | %s ms |\n", loadgen.Ms(l.allDone))
	fmt.Printf("| webhooks answered 200 | %d / %d (%.0f req/s while the signups ran) |\n", l.hooks.Statuses[200], len(l.reqs), l.hooks.ReqPerSec())
	fmt.Printf("| webhook latency p50 / p99 | %s ms |\n", p50p99(l.hooks.Latencies))
	fmt.Printf("| unique events lost / stored more than once / partner events ≠ 1 | %d / %d / %d (of %d) |\n", l.lost, l.twice, l.republished, len(l.keys))
}
