// Package stats holds the small statistics the benchmark programs share.
package stats

import (
	"math"
	"os"
	"slices"
	"strings"
)

// Median returns the median of xs (the mean of the middle two for an even count), NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// LoadAvg returns the first n fields of /proc/loadavg (the 1-, 5- and 15-minute load averages), to tell a
// quiet machine from a busy one; "unknown" where there is none.
func LoadAvg(n int) string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= n {
		return strings.Join(f[:n], " ")
	}
	return "unknown"
}
