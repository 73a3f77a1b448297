package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/waes/onboarding/bench/internal/loadgen"
	"github.com/waes/onboarding/bench/internal/metahook"
	"github.com/waes/onboarding/infra/local/runner"
)

// summary is what `load send -json` prints: the figures `load peer` tabulates.
type summary struct {
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	Statuses  map[int]int   `json:"statuses"`
	BodyBytes int64         `json:"body_bytes"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
}

func (s summary) reqPerSec() float64 { return float64(s.Requests) / s.Elapsed.Seconds() }
func (s summary) mbPerSec() float64  { return float64(s.BodyBytes) / 1e6 / s.Elapsed.Seconds() }

// payloads builds n unique signed webhooks of the given size class, deterministically from seq: the same
// arguments give the same bytes, whichever process builds them.
func payloads(host, path, size string, n int, seq int64, secret string) ([]loadgen.Request, error) {
	b := metahook.New(seq)
	reqs := make([]loadgen.Request, n)
	for i := range reqs {
		var body []byte
		switch strings.ToLower(size) {
		case "1kb":
			body, _ = b.Single(i%2 == 0)
		case "100kb":
			body, _ = b.Batch(100 << 10)
		default:
			return nil, fmt.Errorf("unknown size %q: 1kb or 100kb", size)
		}
		reqs[i] = loadgen.SignedPost(host, path, body, secret)
	}
	return reqs, nil
}

// cmdSend sends unique signed webhooks to a running intake (`make run`, or a server `load peer` started)
// and reports throughput and latency.
func cmdSend(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	target := fs.String("url", "http://127.0.0.1:8080/webhooks", "the webhook URL")
	n := fs.Int("n", 10000, "requests")
	size := fs.String("size", "1kb", "1kb (one inbound message or one status each, alternating) or 100kb (batches of both)")
	conc := fs.Int("c", 32, "concurrent keep-alive connections")
	secret := fs.String("secret", runner.DefaultAppSecret, "the app secret to sign with")
	seq := fs.Int64("seq", 0, "first wamid sequence number (change it to send new events again)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	_ = fs.Parse(args)
	u, err := url.Parse(*target)
	if err != nil {
		return err
	}
	reqs, err := payloads(u.Host, u.Path, *size, *n, *seq, *secret)
	if err != nil {
		return err
	}
	res, err := loadgen.Run(u.Host, reqs, *conc)
	if err != nil {
		return err
	}
	s := summary{Requests: res.Requests, Errors: res.Errors, Statuses: res.Statuses, BodyBytes: res.BodyBytes,
		Elapsed: res.Elapsed, P50: res.Percentile(50), P99: res.Percentile(99)}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(s)
	}
	fmt.Printf("%d requests (%d body bytes on average) in %v: %.0f req/s, %.1f MB/s, p50 %s ms, p99 %s ms, statuses %v, transport errors %d\n",
		s.Requests, s.BodyBytes/int64(max(1, s.Requests)), s.Elapsed.Round(time.Millisecond), s.reqPerSec(), s.mbPerSec(), loadgen.Ms(s.P50), loadgen.Ms(s.P99), s.Statuses, s.Errors)
	return nil
}
