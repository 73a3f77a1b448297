// Package loadgen is the load generator of the benchmark programs: a minimal HTTP/1.1 client over
// keep-alive connections that sends pre-built requests (so that the generator spends as little CPU as
// possible and the same bytes go to every target), and latency statistics.
package loadgen

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one pre-built HTTP/1.1 request: its head (request line and headers) and its body.
type Request struct {
	Head []byte
	Body []byte
}

// SignedPost builds a POST of body to path with Meta's X-Hub-Signature-256 under secret.
func SignedPost(host, path string, body []byte, secret string) Request {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	var h bytes.Buffer
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: facebookexternalua\r\nAccept: */*\r\n"+
		"Content-Type: application/json\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n",
		path, host, hex.EncodeToString(mac.Sum(nil)), len(body))
	return Request{Head: h.Bytes(), Body: body}
}

// Conn is one keep-alive connection.
type Conn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

// Dial connects to addr (host:port).
func Dial(addr string) (*Conn, error) {
	c := &Conn{addr: addr}
	return c, c.redial()
}

func (c *Conn) redial() error {
	if c.c != nil {
		c.c.Close()
	}
	nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		return err
	}
	c.c = nc
	c.br = bufio.NewReaderSize(nc, 16<<10)
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.c == nil {
		return nil
	}
	return c.c.Close()
}

// Do sends r and reads the whole response; it returns the status code. A connection the server closed
// before answering is redialled once.
func (c *Conn) Do(r Request) (int, error) {
	status, closeAfter, err := c.roundTrip(r)
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)) {
		if rerr := c.redial(); rerr != nil {
			return 0, rerr
		}
		status, closeAfter, err = c.roundTrip(r)
	}
	if err == nil && closeAfter {
		err = c.redial()
	}
	return status, err
}

func (c *Conn) roundTrip(r Request) (status int, closeAfter bool, err error) {
	bufs := net.Buffers{r.Head, r.Body}
	if _, err := bufs.WriteTo(c.c); err != nil {
		return 0, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked := -1, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.Atoi(string(value))
			if err != nil {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closeAfter = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			l, err := c.br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			l, _, _ = bytes.Cut(bytes.TrimSpace(l), []byte(";"))
			n, err := strconv.ParseInt(string(l), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("malformed chunk size %q", l)
			}
			if _, err := c.br.Discard(int(n) + 2); err != nil {
				return 0, false, err
			}
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := c.br.Discard(length); err != nil {
			return 0, false, err
		}
	default:
		return status, true, nil // read to close: nothing more to reuse
	}
	return status, closeAfter, nil
}

// Result is the outcome of a run.
type Result struct {
	Requests  int
	Errors    int // transport errors
	Non200    int
	Statuses  map[int]int
	BodyBytes int64
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
}

// ReqPerSec is the throughput in requests per second.
func (r Result) ReqPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r Result) Percentile(p float64) time.Duration { return Percentile(r.Latencies, p) }

// Percentile returns the p-th percentile of sorted (nearest rank).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Run sends every request once over concurrency keep-alive connections to addr, each connection taking the
// next unsent request, and returns the statistics. Each request's latency runs from the first byte written
// to the last byte of the response read.
func Run(addr string, reqs []Request, concurrency int) (Result, error) {
	conns := make([]*Conn, concurrency)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		var err error
		if conns[i], err = Dial(addr); err != nil {
			return Result{}, err
		}
	}
	var next atomic.Int64
	type local struct {
		lat      []time.Duration
		statuses map[int]int
		errs     int
		bytes    int64
	}
	locals := make([]local, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Go(func() {
			l := &locals[w]
			l.lat = make([]time.Duration, 0, len(reqs)/concurrency+1)
			l.statuses = map[int]int{}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				t0 := time.Now()
				status, err := conns[w].Do(reqs[i])
				d := time.Since(t0)
				if err != nil {
					l.errs++
					_ = conns[w].redial()
					continue
				}
				l.lat = append(l.lat, d)
				l.statuses[status]++
				l.bytes += int64(len(reqs[i].Body))
			}
		})
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Requests: len(reqs), Statuses: map[int]int{}}
	for _, l := range locals {
		res.Latencies = append(res.Latencies, l.lat...)
		res.Errors += l.errs
		res.BodyBytes += l.bytes
		for s, n := range l.statuses {
			res.Statuses[s] += n
			if s != 200 {
				res.Non200 += n
			}
		}
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// Ms formats a duration in milliseconds with 2 decimals.
func Ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }
