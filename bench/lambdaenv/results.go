package lambdaenv

import (
	"slices"
	"time"

	"github.com/waes/onboarding/bench/internal/stats"
)

// Results is the JSON bench/cmd/lambdabench writes and bench/cmd/cost reads.
type Results struct {
	When        time.Time       `json:"when"`
	LoadBefore  string          `json:"load_before"`
	LoadAfter   string          `json:"load_after"`
	Rounds      int             `json:"rounds"`
	NodeRuntime string          `json:"node_runtime"`
	Targets     []*TargetResult `json:"targets"`
}

// TargetResult gathers a target's rounds.
type TargetResult struct {
	Key     string                   `json:"key"`
	Name    string                   `json:"name"`
	Runtime string                   `json:"runtime"`
	Colds   []ColdResult             `json:"colds"`
	Phases  map[string][]PhaseResult `json:"phases"`
	Order   []string                 `json:"phase_order"`
}

// ColdResult is one cold start.
type ColdResult struct {
	ColdMs float64 `json:"cold_ms"`
	// RuntimeInitMs is process start to first /next under a Runtime API stand-in (MeasureInit).
	RuntimeInitMs float64 `json:"runtime_init_ms"`
	InitMs        float64 `json:"init_ms"`
	RSSKiB        int64   `json:"rss_kib"`
}

// PhaseResult is one round's figures of one phase (one kind of warm invocation).
type PhaseResult struct {
	N          int      `json:"n"`
	P50ms      float64  `json:"p50_ms"`
	P99ms      float64  `json:"p99_ms"`
	MeanMs     float64  `json:"mean_ms"`
	CPUus      float64  `json:"cpu_us"`       // /proc/<pid>/stat utime+stime per invocation
	SchedCPUus float64  `json:"sched_cpu_us"` // /proc/<pid>/task/*/schedstat per invocation (finer clock)
	PeakRSSKiB int64    `json:"peak_rss_kib"` // VmHWM after the phase (phases run in order, so it is cumulative)
	LogBytes   float64  `json:"log_bytes"`    // bytes the function and the emulator wrote per invocation
	BodyBytes  int      `json:"body_bytes"`   // webhook body size (first event)
	Items      int      `json:"items"`        // events per invocation (SQS records, or webhook events)
	AWS        Snapshot `json:"aws"`          // AWS requests during the phase
}

// Summary are a target's medians over rounds.
type Summary struct {
	ColdMs, ColdMin, ColdMax, InitMs, RuntimeInitMs, ColdRSSMiB float64
	Phases                                                      map[string]PhaseSummary
}

// PhaseSummary are a phase's medians over rounds.
type PhaseSummary struct {
	N                                               int
	BodyBytes, Items                                int
	P50, P99, Mean, CPUus, SchedCPUus, RSSMiB, LogB float64
	AWS                                             Snapshot
}

// medianOf is the median of f over xs.
func medianOf[T any](xs []T, f func(T) float64) float64 { return stats.Median(pick(xs, f)) }

func pick[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// Summarize reduces a target's rounds to medians.
func Summarize(tr *TargetResult) Summary {
	s := Summary{Phases: map[string]PhaseSummary{}}
	colds := pick(tr.Colds, func(c ColdResult) float64 { return c.ColdMs })
	s.ColdMs, s.ColdMin, s.ColdMax = stats.Median(colds), slices.Min(colds), slices.Max(colds)
	s.InitMs = medianOf(tr.Colds, func(c ColdResult) float64 { return c.InitMs })
	s.RuntimeInitMs = medianOf(tr.Colds, func(c ColdResult) float64 { return c.RuntimeInitMs })
	s.ColdRSSMiB = medianOf(tr.Colds, func(c ColdResult) float64 { return float64(c.RSSKiB) / 1024 })
	for name, prs := range tr.Phases {
		ps := PhaseSummary{BodyBytes: prs[0].BodyBytes, Items: prs[0].Items, AWS: prs[len(prs)-1].AWS}
		for _, p := range prs {
			ps.N += p.N
		}
		ps.P50 = medianOf(prs, func(p PhaseResult) float64 { return p.P50ms })
		ps.P99 = medianOf(prs, func(p PhaseResult) float64 { return p.P99ms })
		ps.Mean = medianOf(prs, func(p PhaseResult) float64 { return p.MeanMs })
		ps.CPUus = medianOf(prs, func(p PhaseResult) float64 { return p.CPUus })
		ps.SchedCPUus = medianOf(prs, func(p PhaseResult) float64 { return p.SchedCPUus })
		ps.RSSMiB = medianOf(prs, func(p PhaseResult) float64 { return float64(p.PeakRSSKiB) / 1024 })
		ps.LogB = medianOf(prs, func(p PhaseResult) float64 { return p.LogBytes })
		s.Phases[name] = ps
	}
	return s
}
