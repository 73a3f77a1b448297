//go:build unix

package webhook

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time the process has used (user and system, every thread, GC included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports cpu-ns/op, the process's CPU time per iteration since start: on a machine shared with
// other work, wall time per op grows with the contention, CPU time much less, so ratios of it compare.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}
