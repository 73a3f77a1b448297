package loadgen

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

// Run sends every request once, signed as Meta signs, and reads every kind of response body framing.
func TestRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(body, r.Header.Get(webhook.HeaderSignature), onboarding.NewSecret("s3cr3t")); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch n.Add(1) % 3 {
		case 0: // chunked
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, strings.Repeat("x", 100))
		case 1: // Content-Length, then the server closes the connection
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, `{"ok":true}`)
		default:
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	reqs := make([]Request, 300)
	for i := range reqs {
		reqs[i] = SignedPost(host, "/webhooks", []byte(fmt.Sprintf(`{"i":%d}`, i)), "s3cr3t")
	}
	res, err := Run(host, reqs, 8)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Statuses[200] != len(reqs) || len(res.Latencies) != len(reqs) || n.Load() != int64(len(reqs)) {
		t.Fatalf("got %d errors, statuses %v, %d latencies, %d served; want %d times 200", res.Errors, res.Statuses, len(res.Latencies), n.Load(), len(reqs))
	}
	if res.Percentile(50) <= 0 || res.Percentile(99) < res.Percentile(50) {
		t.Errorf("percentiles: p50 %v, p99 %v", res.Percentile(50), res.Percentile(99))
	}
}
