package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/waes/onboarding/bench/lambdaenv"
)

type model struct {
	tpl          *Template
	bench        *lambdaenv.Results
	coldFraction float64
	sampling     float64
}

// candidates are the memory sizes the recommendation considers (MB).
var candidates = []int{128, 192, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008}

func (m *model) gbSecond(f *Fn) float64 {
	if f != nil && f.Arch == "x86_64" {
		return LambdaGBSecondX86
	}
	return LambdaGBSecondARM
}

func (m *model) fn(name string) *Fn {
	if f, ok := m.tpl.Functions[name]; ok {
		return f
	}
	return &Fn{Name: name, MemoryMB: 256, Arch: "arm64", RetentionDays: 14, Tracing: true}
}

// logCost is the ingestion and storage (for the retention) of one log event of n bytes.
func logCost(n float64, retentionDays int) float64 {
	if n <= 0 {
		return 0
	}
	stored := (n*LogsStoredFraction + LogsEventMetadata) / (1 << 30)
	return n/(1<<30)*LogsIngestGB + stored*LogsStoreGBMo*float64(retentionDays)/30
}

// line is one row of a breakdown: what, and its dollars per unit.
type line struct {
	what string
	usd  float64
}

func total(lines []line) float64 {
	var s float64
	for _, l := range lines {
		s += l.usd
	}
	return s
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("$%.0f", v)
	case v >= 1:
		return fmt.Sprintf("$%.2f", v)
	case v >= 0.01:
		return fmt.Sprintf("$%.3f", v)
	default:
		return fmt.Sprintf("$%.2g", v)
	}
}

// webhookCost is the intake's cost of one webhook of phase size for target key (go-webhook or
// node-webhook) at memory mb: API Gateway, the function, its cold starts, its SQS sends, its logs, X-Ray.
func (m *model) webhookCost(key, phase string, mb int) ([]line, Measured, float64, bool) {
	ms, ok := measured(m.bench, key, phase)
	if !ok {
		return nil, ms, 0, false
	}
	f := m.fn("webhook")
	batches := ms.Calls["SQS.SendMessageBatch"] + ms.Calls["SQS.SendMessage"]
	// The intake sends up to 8 batches at once: the waits are the rounds of 8.
	dur := ms.CPUms*cpuScale(mb) + math.Ceil(batches/8)*LatencySQSSendMs
	apigw := math.Ceil(float64(max(1, ms.BodyBytes))/HTTPAPIMeteredBytes) * HTTPAPIRequest
	lines := []line{
		{what: "API Gateway HTTP API request (512 KB steps)", usd: apigw},
		{what: "Lambda request", usd: LambdaRequest},
		{what: fmt.Sprintf("Lambda duration (%d MB; billed ms = CPU × %.1f + SQS waits)", mb, cpuScale(mb)), usd: lambdaGBs(mb, dur) * m.gbSecond(f)},
		{what: fmt.Sprintf("cold starts: init billed, %.1f %% of invocations", m.coldFraction*100), usd: m.coldFraction * lambdaGBs(mb, ms.InitMs) * m.gbSecond(f)},
		{what: "SQS SendMessageBatch (64 KB steps)", usd: ms.SQSBilled * SQSRequest},
		{what: "CloudWatch Logs: the function's line and the API access log line", usd: logCost(ms.LogBytes+float64(m.tpl.AccessLogBytes), f.RetentionDays)},
	}
	if f.Tracing {
		lines = append(lines, line{what: fmt.Sprintf("X-Ray traces (%.0f %% sampled)", m.sampling*100), usd: m.sampling * XRayTrace})
	}
	return lines, ms, dur, true
}

// workerCost is the worker's cost per event at batch size b: its invocation share, its SQS receive and
// delete, DynamoDB units, EventBridge events, logs and traces. The measured batches of 1 and 10 give the
// per-invocation and per-record parts of the CPU.
func (m *model) workerCost(b float64, mb int) ([]line, float64, bool) {
	one, ok1 := measured(m.bench, "go-worker", "SQS batch of 1")
	ten, ok10 := measured(m.bench, "go-worker", "SQS batch of 10")
	if !ok1 || !ok10 {
		return nil, 0, false
	}
	f := m.fn("webhook_worker")
	perRecord := math.Max(0, (ten.CPUms-one.CPUms)/9)
	fixed := math.Max(0, one.CPUms-perRecord)
	perRecordCalls := map[string]float64{}
	for k, v := range ten.Calls {
		perRecordCalls[k] = v / 10
	}
	wait := perRecordCalls["DynamoDB.GetItem"] + perRecordCalls["DynamoDB.PutItem"] + perRecordCalls["DynamoDB.UpdateItem"] +
		perRecordCalls["DynamoDB.Query"] + perRecordCalls["DynamoDB.DeleteItem"]
	waitMs := wait*LatencyDynamoDBMs + perRecordCalls["EventBridge.PutEvents"]*LatencyEventBridgeMs + perRecordCalls["StepFunctions.SendTaskSuccess"]*LatencyStepFnMs
	durBatch := (fixed+b*perRecord)*cpuScale(mb) + b*waitMs
	logBytes := one.LogBytes + (ten.LogBytes-one.LogBytes)/9*(b-1)
	lines := []line{
		{what: "Lambda request (per event: 1 / batch)", usd: LambdaRequest / b},
		{what: fmt.Sprintf("Lambda duration (%d MB; CPU %.2f ms per invocation + %.2f ms per record, × %.1f, + %.0f ms of waits per record)", mb, fixed, perRecord, cpuScale(mb), waitMs),
			usd: lambdaGBs(mb, durBatch) * m.gbSecond(f) / b},
		{what: "SQS ReceiveMessage + DeleteMessageBatch (per event: 2 / batch)", usd: esmRequestsPerBatch * SQSRequest / b},
		{what: "DynamoDB on-demand units", usd: ten.WCU/10*DynamoDBWRU + ten.RCU/10*DynamoDBRRU},
		{what: "EventBridge partner events", usd: perRecordCalls["EventBridge.PutEvents.entries"] * EventBridgeEvent},
		{what: "CloudWatch Logs", usd: logCost(logBytes, f.RetentionDays) / b},
	}
	if f.Tracing {
		lines = append(lines, line{what: fmt.Sprintf("X-Ray traces (%.0f %% sampled, one per invocation)", m.sampling*100), usd: m.sampling * XRayTrace / b})
	}
	return lines, durBatch, true
}

// report prints the model: its inputs, the cost per million webhooks and per onboarding, the recommended
// memory sizes and the worker's SQS batching.
func (m *model) report(w io.Writer, completed, verified *Onboarding) {
	m.inputs(w)
	m.perMillionWebhooks(w)
	m.perOnboarding(w, completed, verified)
	m.recommend(w, verified)
	m.batching(w)
}

func (m *model) inputs(w io.Writer) {
	b := m.bench
	fmt.Fprintf(w, "### Inputs\n\n")
	fmt.Fprintf(w, "- template: `%s` (%s state machine, SQS event source batch size %d, batching window %d s, API access log line ≈ %d bytes)\n",
		m.tpl.File, m.tpl.StateMachineTyp, m.tpl.BatchSize, m.tpl.BatchWindowS, m.tpl.AccessLogBytes)
	fmt.Fprintf(w, "- measurements: `make bench-lambda` of %s, %d rounds, load average %s before / %s after; Node peer on %s\n",
		b.When.Format(time.RFC3339Nano), b.Rounds, b.LoadBefore, b.LoadAfter, b.NodeRuntime)
	fmt.Fprintf(w, "- prices: us-east-1 list prices as of %s (from AWS's pricing pages as known; not fetched: re-check before quoting)\n", PricesAsOf)
	fmt.Fprintf(w, "- cold starts: %.1f %% of invocations; X-Ray: %.0f %% of requests traced\n\n", m.coldFraction*100, m.sampling*100)
	fmt.Fprintf(w, "| function | memory MB | architecture | log retention days | log level | tracing |\n|---|---:|---|---:|---|---|\n")
	for _, n := range slices.Sorted(maps.Keys(m.tpl.Functions)) {
		f := m.tpl.Functions[n]
		fmt.Fprintf(w, "| %s | %d | %s | %d | %s | %v |\n", n, f.MemoryMB, f.Arch, f.RetentionDays, f.AppLogLevel, f.Tracing)
	}
}

func (m *model) perMillionWebhooks(w io.Writer) {
	hookMB := m.fn("webhook").MemoryMB
	workerMB := m.fn("webhook_worker").MemoryMB
	fmt.Fprintf(w, "\n### Per million webhooks\n\n")
	fmt.Fprintf(w, "Intake (API Gateway → webhook function → SQS) measured for both; the worker (SQS → webhook_worker → DynamoDB, EventBridge) is the project's, measured, and the same for the peer (same design). Each event of a webhook is one queue message and one worker record.\n\n")
	type sizeRow struct {
		phase                string
		goTotal, nodeTotal   float64
		goIntake, nodeIntake float64
	}
	var rows []sizeRow
	workerLines, _, okW := m.workerCost(1, workerMB)
	perEventWorker := total(workerLines)
	for _, phase := range []string{"1 KB", "100 KB", "1 MB"} {
		gl, gm, gdur, ok := m.webhookCost("go-webhook", phase, hookMB)
		nl, _, ndur, okN := m.webhookCost("node-webhook", phase, hookMB)
		if !ok || !okN {
			continue
		}
		events := math.Max(1, gm.Calls["SQS.SendMessageBatch.entries"])
		gt := total(gl) + perEventWorker*events
		nt := total(nl) + perEventWorker*events
		if phase == "1 KB" {
			fmt.Fprintf(w, "**1 KB webhooks** (%d bytes, %.0f event each), webhook function at %d MB: billed %.0f ms (project) and %.0f ms (peer)\n\n", gm.BodyBytes, events, hookMB, math.Ceil(gdur), math.Ceil(ndur))
			fmt.Fprintf(w, "| per million webhooks | project (Go) | Node peer |\n|---|---:|---:|\n")
			for i := range gl {
				fmt.Fprintf(w, "| %s | %s | %s |\n", gl[i].what, usd(gl[i].usd*1e6), usd(nl[i].usd*1e6))
			}
			fmt.Fprintf(w, "| **intake** | **%s** | **%s** |\n", usd(total(gl)*1e6), usd(total(nl)*1e6))
			if okW {
				for _, l := range workerLines {
					fmt.Fprintf(w, "| worker: %s | %s | %s |\n", l.what, usd(l.usd*1e6*events), usd(l.usd*1e6*events))
				}
			}
			fmt.Fprintf(w, "| **total** | **%s** | **%s** |\n\n", usd(gt*1e6), usd(nt*1e6))
		}
		rows = append(rows, sizeRow{phase, gt, nt, total(gl), total(nl)})
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "| webhook size | intake, project | intake, Node peer | total with the worker, project | total, Node peer | peer ÷ project (intake) |\n|---|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2fx |\n", r.phase, usd(r.goIntake*1e6), usd(r.nodeIntake*1e6), usd(r.goTotal*1e6), usd(r.nodeTotal*1e6), r.nodeIntake/r.goIntake)
		}
		fmt.Fprintf(w, "\n**Cost per million webhooks (1 KB, one event each, as deployed): %s** for the project; %s for the Node peer on the same design.\n\n",
			usd(rows[0].goTotal*1e6), usd(rows[0].nodeTotal*1e6))
		// What the delivery log line costs: the project's intake with the peer's log bytes per invocation.
		if g, ok := measured(m.bench, "go-webhook", "1 KB"); ok {
			if n, ok := measured(m.bench, "node-webhook", "1 KB"); ok {
				ret := m.fn("webhook").RetentionDays
				d := logCost(g.LogBytes+float64(m.tpl.AccessLogBytes), ret) - logCost(n.LogBytes+float64(m.tpl.AccessLogBytes), ret)
				fmt.Fprintf(w, "The delivery log line: the project writes %.0f bytes per 1 KB webhook, the peer %.0f; that difference costs %s per million webhooks. With a line of the peer's size the project's intake would cost %s, its total %s.\n\n",
					g.LogBytes, n.LogBytes, usd(d*1e6), usd((rows[0].goIntake-d)*1e6), usd((rows[0].goTotal-d)*1e6))
			}
		}
		// Each at the memory size the model recommends for it (the peer needs more for its RSS).
		gmb, nmb := m.webhookSize("go-webhook"), m.webhookSize("node-webhook")
		gl, _, gd, ok1 := m.webhookCost("go-webhook", "1 KB", gmb)
		nl, _, nd, ok2 := m.webhookCost("node-webhook", "1 KB", nmb)
		if ok1 && ok2 {
			fmt.Fprintf(w, "Each at its recommended memory size (project %d MB, billed %.0f ms; peer %d MB, billed %.0f ms): intake %s vs %s, total %s vs %s per million 1 KB webhooks.\n\n",
				gmb, math.Ceil(gd), nmb, math.Ceil(nd), usd(total(gl)*1e6), usd(total(nl)*1e6), usd((total(gl)+perEventWorker)*1e6), usd((total(nl)+perEventWorker)*1e6))
		}
	}
}

func (m *model) perOnboarding(w io.Writer, completed, verified *Onboarding) {
	for _, ob := range []struct {
		name string
		o    *Onboarding
	}{{"without a test message (COMPLETED)", completed}, {"with the test message (VERIFIED)", verified}} {
		lines := m.onboardingCost(ob.o)
		fmt.Fprintf(w, "### Per onboarding, %s\n\n", ob.name)
		fmt.Fprintf(w, "Counted in one local onboarding (status %s): %d state transitions, %d Lambda invocations (%s), %d Graph calls, DynamoDB %.1f RRU / %.1f WRU (%s), %d Secrets Manager calls (upper bound), %d partner events, %d webhook deliveries (%d events), %d correlation requests.\n\n",
			ob.o.Status, ob.o.Transitions, len(ob.o.Invocations), invocationList(ob.o), ob.o.GraphCalls, ob.o.AWS.RCU, ob.o.AWS.WCU, callList(ob.o.AWS.Calls, "DynamoDB."),
			ob.o.SecretsManager, ob.o.PartnerEvents, ob.o.WebhookDeliveries, ob.o.WebhookEvents, ob.o.Correlations)
		fmt.Fprintf(w, "| per onboarding | USD |\n|---|---:|\n")
		for _, l := range lines {
			fmt.Fprintf(w, "| %s | %s |\n", l.what, usd(l.usd))
		}
		fmt.Fprintf(w, "| **total** | **%s** |\n\n", usd(total(lines)))
	}
	fmt.Fprintf(w, "Recurring, not per onboarding: the WABA's secret in Secrets Manager, %s per month per onboarded customer.\n\n", usd(SecretMonth))
}

func invocationList(o *Onboarding) string {
	n := map[string]int64{}
	for _, inv := range o.Invocations {
		n[inv.Function]++
	}
	return callList(n, "")
}

// callList lists the counts of the keys with prefix, "name count" each without the prefix, sorted.
func callList(calls map[string]int64, prefix string) string {
	var parts []string
	for k, v := range calls {
		if strings.HasPrefix(k, prefix) {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(k, prefix), v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// invocationMs models an onboarding invocation's billed duration at mb: the CPU time measured during it (an
// upper bound: it includes the in-process simulator's and stand-ins' work) at the CPU share, plus the
// deployed waits.
func invocationMs(inv Invocation, mb int) float64 {
	ddb := float64(inv.AWS.Service("DynamoDB"))
	eb := float64(inv.AWS.Calls["EventBridge.PutEvents"])
	sfn := float64(inv.AWS.Service("StepFunctions"))
	return inv.CPUMs*cpuScale(mb) + float64(inv.GraphCalls)*LatencyGraphMs + ddb*LatencyDynamoDBMs + eb*LatencyEventBridgeMs +
		float64(inv.Vault)*LatencySecretsMs + sfn*LatencyStepFnMs
}

func (m *model) onboardingCost(o *Onboarding) []line {
	var gbs, logs, requests float64
	for _, inv := range o.Invocations {
		f := m.fn(inv.Function)
		gbs += lambdaGBs(f.MemoryMB, invocationMs(inv, f.MemoryMB)) * m.gbSecond(f)
		requests++
		logs += logCost(600, f.RetentionDays)
	}
	history := 0
	for _, n := range o.History {
		history += n
	}
	sfnLogs := 0.0
	if m.tpl.SFNLogLevel == "ALL" {
		sfnLogs = logCost(float64(history*sfnLogEventBytes), m.tpl.SFNRetention)
	}
	lines := []line{
		{what: fmt.Sprintf("Step Functions: %d state transitions", o.Transitions), usd: float64(o.Transitions) * StepFunctionsTransition},
		{what: fmt.Sprintf("Step Functions execution logs (level %s, %d events)", m.tpl.SFNLogLevel, history), usd: sfnLogs},
		{what: fmt.Sprintf("Lambda: %d requests", len(o.Invocations)), usd: requests * LambdaRequest},
		{what: fmt.Sprintf("Lambda duration (CPU measured × CPU share + %.0f ms per Graph call + AWS call waits)", LatencyGraphMs), usd: gbs},
		{what: "API Gateway: POST /signup and the webhook deliveries", usd: float64(1+o.WebhookDeliveries) * HTTPAPIRequest},
		{what: "SQS: the events' and correlations' messages, sent, received, deleted", usd: float64(o.WebhookEvents+o.Correlations) * 3 * SQSRequest},
		{what: "DynamoDB on-demand units", usd: o.AWS.WCU*DynamoDBWRU + o.AWS.RCU*DynamoDBRRU},
		{what: "Secrets Manager API calls", usd: float64(o.SecretsManager) * SecretCall},
		{what: "KMS requests (one per Secrets Manager call, the stage's customer key)", usd: float64(o.SecretsManager) * KMSRequest},
		{what: "EventBridge partner events", usd: float64(o.PartnerEvents) * EventBridgeEvent},
		{what: "CloudWatch Logs (600 bytes per invocation)", usd: logs},
		{what: "X-Ray (every invocation traced at this volume)", usd: requests * XRayTrace},
	}
	return lines
}

// option is one memory size's modelled figures for a function.
type option struct {
	mb        int
	meanMs    float64
	p99Ms     float64
	usdPerInv float64
}

// options models fn at every candidate size: mean duration = cpu × share + waits, p99 = that plus the
// measured p99's excess over the mean (jitter, not scaled), cost = GB-s + request.
func (m *model) options(cpuMs, waitMs, jitterMs, rssMiB float64) []option {
	var out []option
	for _, mb := range candidates {
		if float64(mb) >= 1.5*rssMiB { // headroom over the peak RSS measured
			out = append(out, optionAt(mb, cpuMs, waitMs, jitterMs))
		}
	}
	return out
}

// optionAt models fn at mb MB (see options).
func optionAt(mb int, cpuMs, waitMs, jitterMs float64) option {
	mean := cpuMs*cpuScale(mb) + waitMs
	return option{mb: mb, meanMs: mean, p99Ms: mean + jitterMs, usdPerInv: lambdaGBs(mb, mean)*LambdaGBSecondARM + LambdaRequest}
}

// choose is the cheapest option whose p99 is within 2x of the best p99.
func choose(opts []option) (option, option) {
	best := opts[0]
	for _, o := range opts {
		if o.p99Ms < best.p99Ms {
			best = o
		}
	}
	pick := best
	for _, o := range opts {
		if o.p99Ms <= 2*best.p99Ms && (o.usdPerInv < pick.usdPerInv || (o.usdPerInv == pick.usdPerInv && o.mb < pick.mb)) {
			pick = o
		}
	}
	return pick, best
}

// basis is what a function's memory size is modelled from.
type basis struct {
	fn, what               string
	cpu, wait, jitter, rss float64
}

// webhookBasis is a webhook target's basis: its 1 KB figures, and its 1 MB RSS.
func (m *model) webhookBasis(key string) (basis, bool) {
	g, ok := measured(m.bench, key, "1 KB")
	big, _ := measured(m.bench, key, "1 MB")
	return basis{"webhook", "1 KB webhooks (RSS: 1 MB ones)", g.CPUms, math.Ceil(g.Calls["SQS.SendMessageBatch"]/8) * LatencySQSSendMs,
		math.Max(0, g.P99ms-g.MeanMs), math.Max(g.RSSMiB, big.RSSMiB)}, ok
}

// webhookSize is the memory size recommended for a webhook target (webhookBasis).
func (m *model) webhookSize(key string) int {
	b, ok := m.webhookBasis(key)
	opts := m.options(b.cpu, b.wait, b.jitter, b.rss)
	if !ok || len(opts) == 0 {
		return m.fn("webhook").MemoryMB
	}
	pick, _ := choose(opts)
	return pick.mb
}

func (m *model) recommend(w io.Writer, ob *Onboarding) {
	fmt.Fprintf(w, "### Recommended memory sizes\n\n")
	fmt.Fprintf(w, "Lambda's CPU share is modelled as proportional to memory (1769 MB = 1 vCPU): billed ms = CPU ms measured here × max(1, 1769 / MB) + the deployed waits; p99 adds the measured p99's excess over the mean. Recommended: the cheapest size whose p99 is within 2x of the best p99, with at least 1.5x the peak RSS measured. Sizes considered: %v MB.\n\n", candidates)
	fmt.Fprintf(w, "| function | basis | CPU ms / inv | waits ms | peak RSS MiB | now MB | now: mean / p99 ms, $ per M | **recommended MB** | then: mean / p99 ms, $ per M | best p99 (MB) |\n|---|---|---:|---:|---:|---:|---|---:|---|---|\n")
	var rows []basis
	if b, ok := m.webhookBasis("go-webhook"); ok {
		rows = append(rows, b)
	}
	if a, ok := measured(m.bench, "go-api", "signup 400"); ok {
		rows = append(rows, basis{"api", "signup refused by validation", a.CPUms, 0, math.Max(0, a.P99ms-a.MeanMs), a.RSSMiB})
	}
	if wk, ok := measured(m.bench, "go-worker", "SQS batch of 10"); ok {
		waits := (wk.Calls["DynamoDB.GetItem"] + wk.Calls["DynamoDB.PutItem"] + wk.Calls["DynamoDB.UpdateItem"] + wk.Calls["DynamoDB.Query"]) * LatencyDynamoDBMs
		waits += wk.Calls["EventBridge.PutEvents"] * LatencyEventBridgeMs
		rows = append(rows, basis{"webhook_worker", "SQS batch of 10", wk.CPUms, waits, math.Max(0, wk.P99ms-wk.MeanMs), wk.RSSMiB})
	}
	// The workflow steps, from the in-process onboarding: local time taken as CPU (an upper bound).
	seen := map[string]bool{}
	for _, inv := range ob.Invocations {
		if inv.Function == "webhook" || seen[inv.Function] {
			continue
		}
		seen[inv.Function] = true
		waits := invocationMs(inv, 1769) - inv.CPUMs
		what := "in-process onboarding (process CPU during the step)"
		if inv.Function == "api" {
			what = "signup accepted, in-process onboarding (process CPU)"
		}
		rows = append(rows, basis{inv.Function, what, inv.CPUMs, waits, 0, 20})
	}
	for _, r := range rows {
		opts := m.options(r.cpu, r.wait, r.jitter, r.rss)
		if len(opts) == 0 {
			continue
		}
		pick, best := choose(opts)
		now := optionAt(m.fn(r.fn).MemoryMB, r.cpu, r.wait, r.jitter)
		fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | %.0f | %d | %.1f / %.1f, %s | **%d** | %.1f / %.1f, %s | %.1f (%d) |\n", r.fn, r.what, r.cpu, r.wait, r.rss,
			now.mb, now.meanMs, now.p99Ms, usd(now.usdPerInv*1e6), pick.mb, pick.meanMs, pick.p99Ms, usd(pick.usdPerInv*1e6), best.p99Ms, best.mb)
	}
	fmt.Fprintln(w)
}

func (m *model) batching(w io.Writer) {
	mb := m.fn("webhook_worker").MemoryMB
	fmt.Fprintf(w, "### SQS batching of the worker\n\n")
	fmt.Fprintf(w, "The worker's cost per event by the records per invocation it actually gets. With no batching window (the template: batch size %d, window %d s) a batch holds what is waiting when the poller looks, which at steady low traffic is one message; a window lets a batch fill. Records per invocation ≈ min(batch size, max(1, events/s × window)).\n\n", m.tpl.BatchSize, m.tpl.BatchWindowS)
	fmt.Fprintf(w, "| setting | traffic | records per invocation | worker $ per million events | worker ms per invocation (%d MB) | added delay |\n|---|---|---:|---:|---:|---|\n", mb)
	type setting struct {
		name   string
		size   float64
		window float64
	}
	for _, rate := range []float64{0.4, 10, 100} {
		for _, s := range []setting{{fmt.Sprintf("before: batch %d, window %d s", m.tpl.BatchSize, m.tpl.BatchWindowS), float64(m.tpl.BatchSize), float64(m.tpl.BatchWindowS)},
			{"after: batch 10, window 1 s", 10, 1}, {"after: batch 100, window 2 s", 100, 2}} {
			b := math.Min(s.size, math.Max(1, rate*s.window))
			if s.window == 0 {
				// Pollers take what is there: at high rates batches fill, at low rates they hold one message.
				b = math.Min(s.size, math.Max(1, rate*0.02))
			}
			lines, dur, ok := m.workerCost(b, mb)
			if !ok {
				return
			}
			delay := "none"
			if s.window > 0 {
				delay = fmt.Sprintf("up to %.0f s", s.window)
			}
			fmt.Fprintf(w, "| %s | %.1f events/s | %.1f | %s | %.0f | %s |\n", s.name, rate, b, usd(total(lines)*1e6), dur, delay)
		}
	}
	fmt.Fprintln(w)
}
