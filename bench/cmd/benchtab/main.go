// Command benchtab reads `go test -bench` output (several runs of each benchmark, e.g. the whole suite run
// three times) on stdin and prints markdown tables: the figures docs/benchmarks.md reports (webhook intake vs the
// floor with their ratio, signup validation, the interpreter per state transition, the Graph client round
// trip, the end-to-end local onboarding), then every benchmark. Each figure is the best of the runs (lowest
// time, highest MB/s): other work on a shared machine only ever adds time, so the best run is the least
// disturbed one; the full table also shows the median time.
//
//	for i in 1 2 3; do go test -run '^$' -bench . -benchmem ./...; done | tee go-bench.txt | benchtab
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/waes/onboarding/bench/internal/stats"
)

// bench is one benchmark's runs: per unit (ns/op, MB/s, B/op, allocs/op, custom), the values seen.
type bench struct {
	pkg, name string
	units     []string // in first-seen order
	values    map[string][]float64
}

// best returns the best value of a unit: the highest for MB/s, the lowest otherwise.
func (b *bench) best(unit string) (float64, bool) {
	v := b.values[unit]
	if len(v) == 0 {
		return 0, false
	}
	if unit == "MB/s" {
		return slices.Max(v), true
	}
	return slices.Min(v), true
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parse(r io.Reader) ([]*bench, map[string]string, []string) {
	var order []*bench
	byKey := map[string]*bench{}
	header := map[string]string{}
	var failures []string
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			continue
		case strings.HasPrefix(line, "cpu: "), strings.HasPrefix(line, "goos: "), strings.HasPrefix(line, "goarch: "):
			k, v, _ := strings.Cut(line, ": ")
			header[k] = v
			continue
		case strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "--- FAIL"), strings.Contains(line, "[build failed]"):
			failures = append(failures, line)
			continue
		case !strings.HasPrefix(line, "Benchmark"):
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		key := pkg + " " + name
		b := byKey[key]
		if b == nil {
			b = &bench{pkg: pkg, name: name, values: map[string][]float64{}}
			byKey[key] = b
			order = append(order, b)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if _, seen := b.values[unit]; !seen {
				b.units = append(b.units, unit)
			}
			b.values[unit] = append(b.values[unit], v)
		}
	}
	return order, header, failures
}

func find(all []*bench, pkgSuffix, name string) *bench {
	for _, b := range withPrefix(all, pkgSuffix, name) {
		if b.name == name {
			return b
		}
	}
	return nil
}

func withPrefix(all []*bench, pkgSuffix, prefix string) []*bench {
	var out []*bench
	for _, b := range all {
		if strings.HasSuffix(b.pkg, pkgSuffix) && strings.HasPrefix(b.name, prefix) {
			out = append(out, b)
		}
	}
	return out
}

// dur formats nanoseconds with a readable unit.
func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + " ms"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'f', 2, 64) + " µs"
	}
	return strconv.FormatFloat(ns, 'f', 0, 64) + " ns"
}

func num(b *bench, unit string) string {
	v, ok := b.best(unit)
	if !ok {
		return ""
	}
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func runs(b *bench) int { return len(b.values["ns/op"]) }

func main() {
	all, header, failures := parse(os.Stdin)
	if len(all) == 0 {
		fmt.Fprintln(os.Stderr, "benchtab: no benchmark results on stdin")
		os.Exit(1)
	}
	fmt.Printf("\n### Go benchmarks (%s, %s/%s; best of the runs shown: lowest time, highest MB/s)\n", header["cpu"], header["goos"], header["goarch"])

	// Webhook intake vs the floor.
	fmt.Println("\n#### Webhook intake vs the floor (HMAC-SHA256 + json.Unmarshal into any of the same bytes); target ≤ 2x")
	fmt.Println()
	fmt.Println("| body | intake | intake MB/s | floor | floor MB/s | intake ÷ floor | intake allocs | floor allocs | runs |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, size := range []string{"1KB", "100KB", "3MB"} {
		in, fl := find(all, "shared/webhook", "Intake/"+size), find(all, "shared/webhook", "Floor/"+size)
		if in == nil || fl == nil {
			continue
		}
		a, _ := in.best("ns/op")
		f, _ := fl.best("ns/op")
		fmt.Printf("| %s | %s | %s | %s | %s | **%.2fx** | %s | %s | %d |\n", size, dur(a), num(in, "MB/s"), dur(f), num(fl, "MB/s"), a/f,
			num(in, "allocs/op"), num(fl, "allocs/op"), min(runs(in), runs(fl)))
	}

	section := func(title string, rows []*bench, extra string) {
		if len(rows) == 0 {
			return
		}
		fmt.Printf("\n#### %s\n\n", title)
		head := "| benchmark | time/op |"
		sep := "|---|---:|"
		if extra != "" {
			head += " " + extra + " |"
			sep += "---:|"
		}
		fmt.Println(head + " B/op | allocs/op | runs |")
		fmt.Println(sep + "---:|---:|---:|")
		for _, b := range rows {
			ns, _ := b.best("ns/op")
			line := fmt.Sprintf("| %s | %s |", b.name, dur(ns))
			if v, ok := b.best(extra); ok && strings.HasPrefix(extra, "ns/") {
				line += " " + dur(v) + " |"
			} else if extra != "" {
				line += " " + num(b, extra) + " |"
			}
			fmt.Printf("%s %s | %s | %d |\n", line, num(b, "B/op"), num(b, "allocs/op"), runs(b))
		}
	}
	section("Signup request validation (httpapi.ParseSignup)", withPrefix(all, "shared/httpapi", "ParseSignup"), "")
	section("Interpreter per state transition (100-state chains; target < 1 ms per transition)", withPrefix(all, "shared/asl/engine", "Transition"), "ns/transition")
	section("Graph API client round trip against the simulator on loopback", withPrefix(all, "shared/graph", "ClientRoundTrip"), "")
	section("End-to-end local onboarding (local runner in-process, no simulated latency)", withPrefix(all, "/bench", "Onboarding"), "signup-ms")

	fmt.Println("\n#### Every Go benchmark")
	fmt.Println()
	fmt.Println("| package | benchmark | time/op (best) | time/op (median) | other metrics (best) | B/op | allocs/op | runs |")
	fmt.Println("|---|---|---:|---:|---|---:|---:|---:|")
	for _, b := range all {
		ns, _ := b.best("ns/op")
		med := stats.Median(b.values["ns/op"])
		var other []string
		for _, u := range b.units {
			if u == "ns/op" || u == "B/op" || u == "allocs/op" {
				continue
			}
			other = append(other, num(b, u)+" "+u)
		}
		pkg := strings.TrimPrefix(b.pkg, "github.com/waes/onboarding/")
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %d |\n", pkg, b.name, dur(ns), dur(med), strings.Join(other, ", "), num(b, "B/op"), num(b, "allocs/op"), runs(b))
	}
	if len(failures) > 0 {
		fmt.Println("\nFailures in the benchmark run:")
		for _, f := range failures {
			fmt.Println("    " + f)
		}
		os.Exit(1)
	}
}
