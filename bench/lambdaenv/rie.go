package lambdaenv

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RIE is one AWS Lambda Runtime Interface Emulator process running one function: the emulator starts the
// function's runtime process (its bootstrap) on the first invocation, as Lambda starts an execution
// environment on a cold start.
type RIE struct {
	// InvokeURL is the emulator's invocation endpoint.
	InvokeURL string
	cmd       *exec.Cmd
	out       *syncBuffer
	client    *http.Client
	runtime   int
}

// syncBuffer collects the emulator's output (its REPORT lines and the function's logs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	// keep bounds what is kept: only the report lines matter, and a long run logs a line per invocation.
	keep int
	// total counts every byte written, kept or not; platform the bytes of the emulator's START, END and
	// REPORT lines among them (Lambda writes those only at system log level INFO, and the stack sets WARN).
	total, platform int64
	line            []byte
	pending         int64
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total += int64(len(p))
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(s.line) < 64 {
				s.line = append(s.line, rest[:min(len(rest), 64)]...)
			}
			s.pending += int64(len(rest))
			break
		}
		s.line = append(s.line, rest[:min(i+1, 64)]...)
		s.pending += int64(i + 1)
		if isPlatformLine(s.line) {
			s.platform += s.pending
		}
		s.line, s.pending = s.line[:0], 0
		rest = rest[i+1:]
	}
	if s.b.Len() > s.keep {
		// Keep the start (the init report) and drop the rest.
		return len(p), nil
	}
	return s.b.Write(p)
}

func isPlatformLine(b []byte) bool {
	return bytes.HasPrefix(b, []byte("START RequestId:")) || bytes.HasPrefix(b, []byte("END RequestId:")) ||
		bytes.HasPrefix(b, []byte("REPORT RequestId:"))
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartRIE runs the emulator binary with the function command cmd (its bootstrap and arguments), the
// environment env (the function's configuration; the emulator passes it on to the runtime) and memoryMB
// as the function's memory size. It returns once the emulator accepts connections; the runtime is not
// started yet.
func StartRIE(bin string, cmd []string, dir string, env []string, memoryMB int) (*RIE, error) {
	ripPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--runtime-interface-emulator-address", "127.0.0.1:" + strconv.Itoa(ripPort),
		"--runtime-api-address", "127.0.0.1:" + strconv.Itoa(apiPort),
		"--log-level", "error",
	}, cmd...)
	c := exec.Command(bin, args...)
	c.Dir = dir
	c.Env = append(append([]string{}, env...),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(memoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"PATH="+os.Getenv("PATH"),
	)
	out := &syncBuffer{keep: 1 << 20}
	c.Stdout, c.Stderr = out, out
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	r := &RIE{
		InvokeURL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", ripPort),
		cmd:       c, out: out,
		client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}},
	}
	if err := WaitPort("127.0.0.1:"+strconv.Itoa(ripPort), 20*time.Second); err != nil {
		r.Close()
		return nil, fmt.Errorf("%w: %s", err, out.String())
	}
	return r, nil
}

// Invoke posts one event and returns the function's answer and the round trip's duration.
func (r *RIE) Invoke(event []byte) ([]byte, time.Duration, error) {
	t0 := time.Now()
	resp, err := r.client.Post(r.InvokeURL, "application/json", bytes.NewReader(event))
	if err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return nil, d, err
	}
	if resp.StatusCode != 200 {
		return b, d, fmt.Errorf("invocation answered %s: %.300s", resp.Status, b)
	}
	return b, d, nil
}

var initDuration = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

// InitDuration is the "Init Duration" of the emulator's first REPORT line (runtime start to its first
// /next), in milliseconds, or -1 when there is none yet.
func (r *RIE) InitDuration() float64 {
	m := initDuration.FindStringSubmatch(r.out.String())
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// OutputBytes counts the bytes the function wrote so far (its logs), without the emulator's START, END and
// REPORT lines.
func (r *RIE) OutputBytes() int64 {
	r.out.mu.Lock()
	defer r.out.mu.Unlock()
	return r.out.total - r.out.platform
}

// Output is what the emulator and the function wrote so far (the first MiB).
func (r *RIE) Output() string { return r.out.String() }

// RuntimePID finds the runtime process: the emulator's child.
func (r *RIE) RuntimePID() (int, error) {
	if r.runtime != 0 {
		return r.runtime, nil
	}
	parent := r.cmd.Process.Pid
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		st, err := ReadStat(pid)
		if err == nil && st.PPID == parent {
			r.runtime = pid
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no runtime process under the emulator (pid %d)", parent)
}

// Close stops the emulator and its runtime.
func (r *RIE) Close() {
	if r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		_ = r.cmd.Wait()
	}
}

// Stat is what the benchmark reads of /proc/<pid>/stat and /proc/<pid>/status.
type Stat struct {
	PPID int
	// CPU is user + system time, in clock ticks (USER_HZ: 100 per second on Linux).
	UTime, STime int64
}

// ClockTick is USER_HZ, the unit of /proc/<pid>/stat's times (100 on every Linux architecture Go runs on).
const ClockTick = 10 * time.Millisecond

// CPU returns user + system time.
func (s Stat) CPU() time.Duration { return time.Duration(s.UTime+s.STime) * ClockTick }

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	// The command name may contain spaces and parentheses: the fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return Stat{PPID: ppid, UTime: ut, STime: st}, nil
}

// SchedCPU sums the CPU time the scheduler accounted to every thread of pid (/proc/<pid>/task/*/schedstat,
// nanoseconds): a finer clock than /proc/<pid>/stat's ticks, used to check it.
func SchedCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/schedstat")
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no tasks for pid %d", pid)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum), nil
}

// PeakRSS returns VmHWM (the peak resident set) of pid, in KiB.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmHWM", pid)
}

// MeasureInit starts cmd as Lambda starts a runtime, with AWS_LAMBDA_RUNTIME_API pointing at a Runtime API
// stand-in served here, and returns the time from just before the process starts to its first
// GET /runtime/invocation/next: the runtime's init (its wiring done, waiting for work). The process is
// killed then. The emulator's own "Init Duration" does not measure this: it times only its dispatch of the
// init to the runtime.
func MeasureInit(cmd []string, dir string, env []string) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/runtime/invocation/next") {
			select {
			case got <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the runtime here until it is killed
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = dir
	// env's own memory size and PATH, if any, win (the last of a variable counts).
	c.Env = append(append([]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1769", "PATH=" + os.Getenv("PATH")}, env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	out := &syncBuffer{keep: 64 << 10}
	c.Stdout, c.Stderr = out, out
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := c.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	defer func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	select {
	case t1 := <-got:
		return t1.Sub(t0), nil
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("the runtime exited before its first /next (%v): %.1000s", err, out.String())
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("no /next within 30s: %.1000s", out.String())
	}
}
