// Package graphsim is a Graph API simulator: a real HTTP server that behaves like Meta for every call of the
// onboarding (code exchange, debug_token, phone numbers, webhook subscription, system user assignment,
// credit line sharing and checks, register, messages), with Meta's success bodies and error envelopes, the
// world rules (single-use 30-second codes, register budget and PIN rules, the 24-hour
// window, attach-once credit lines) and injectable faults. Tests use it through httptest; the local runner
// starts it with Start. It never logs a token, code, PIN or secret.
package graphsim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// The ids of Meta's documents: any code not of the sim: form grants this WABA and phone number.
const (
	DefaultWABAID        = "102290129340398"
	DefaultPhoneNumberID = "106540352242922"
	DefaultAppID         = "236484624622562"
	DefaultCreditLineID  = "1972385232742146"
	DefaultSystemUserID  = "100000000000001"
	DefaultTesterNumber  = "+16505551234"
	DefaultCodeTTL       = 30 * time.Second
	DefaultPageSize      = 25
	// TesterText is the text of the simulated tester's inbound message after a registration.
	TesterText = "Hello from the simulated tester"
)

// Config configures a Server.
type Config struct {
	// AppID and AppSecret are the partner app's credentials: the code exchange checks them, debug_token
	// accepts the app token "<AppID>|<AppSecret>". AppID defaults to DefaultAppID; an empty AppSecret is
	// replaced by a random one (set it to exchange codes).
	AppID     string
	AppSecret onboarding.Secret
	// AppName is the application name debug_token reports.
	AppName string
	// SystemToken is the partner's system user token (credit calls, assigned_users, debug_token). Empty
	// means a random one.
	SystemToken  onboarding.Secret
	SystemUserID string
	CreditLineID string
	// TesterNumber is the simulated tester (E.164) who messages each newly registered number.
	TesterNumber string
	// CodeTTL is how long an issued code may be exchanged (default 30 s, as at Meta).
	CodeTTL time.Duration
	// PageSize is the default page size of list answers (default 25, as at Meta).
	PageSize int
	// Latency is added to every call.
	Latency time.Duration
	// Faults are injected from the start (see ParseFaults).
	Faults []Fault
	// Now tells the time (default time.Now); tests pass a fake clock.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
	// Observer is told about registrations, inbound and outbound messages (nil: nobody).
	Observer Observer
	// RequireAppSecretProof refuses calls made with an access token but without appsecret_proof, as Meta does
	// for an app with "Require App Secret" on. A proof that is sent is always checked, required or not.
	RequireAppSecretProof bool
	// OnChange, when set, is called after each call that may have changed the world (a write or the code
	// exchange answered 200, a user message), outside the simulator's lock, before the call is answered,
	// so that SaveWorld can keep it. The call counters of reads may lag behind until the next change.
	OnChange func()
}

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu          sync.Mutex
	codes       map[string]*codeRec
	tokens      map[string]*tokenRec
	wabas       map[string]*wabaRec
	phones      map[string]*phoneRec
	allocations map[string]*allocationRec
	faults      map[string][]*Fault
	calls       map[string]int
	effects     map[string]int
	seq         int64

	done      chan struct{}
	closeOnce sync.Once
	srv       *http.Server
}

// New returns a simulator with an empty world (WABAs and numbers appear as codes grant them).
func New(cfg Config) *Server {
	cfg.AppID = cmp.Or(cfg.AppID, DefaultAppID)
	cfg.AppName = cmp.Or(cfg.AppName, "Embedded Signup Simulator App")
	cfg.SystemUserID = cmp.Or(cfg.SystemUserID, DefaultSystemUserID)
	cfg.CreditLineID = cmp.Or(cfg.CreditLineID, DefaultCreditLineID)
	cfg.TesterNumber = cmp.Or(cfg.TesterNumber, DefaultTesterNumber)
	if cfg.AppSecret.IsZero() {
		cfg.AppSecret = onboarding.NewSecret(randomHex(16))
	}
	if cfg.SystemToken.IsZero() {
		cfg.SystemToken = onboarding.NewSecret(newToken())
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:         cfg,
		codes:       map[string]*codeRec{},
		tokens:      map[string]*tokenRec{},
		wabas:       map[string]*wabaRec{},
		phones:      map[string]*phoneRec{},
		allocations: map[string]*allocationRec{},
		faults:      map[string][]*Fault{},
		calls:       map[string]int{},
		effects:     map[string]int{},
		done:        make(chan struct{}),
	}
	for _, f := range cfg.Faults {
		s.InjectFault(f)
	}
	return s
}

// Start serves the simulator on addr (default 127.0.0.1:0: a free loopback port) and returns its base URL,
// e.g. http://127.0.0.1:41234. Only loopback addresses are accepted: the simulator holds dev credentials.
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("graphsim: address must be host:port")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", errors.New("graphsim: the simulator listens on loopback only (127.0.0.1, ::1 or localhost)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("graphsim: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on Close
	return "http://" + ln.Addr().String(), nil
}

// Close releases stalled responses (timeout faults) and stops the server started by Start. When the
// simulator runs under httptest, call Close before the httptest server's Close.
func (s *Server) Close() {
	// The listener closes before stalled answers are released: a client whose stalled GET is dropped would
	// otherwise have it retried by net/http's Transport on a fresh connection, and answered.
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	s.closeOnce.Do(func() { close(s.done) })
}

// InjectFault adds a fault at run time. Faults of the same call are used in the order they were added.
func (s *Server) InjectFault(f Fault) {
	if f.Count < 1 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Call] = append(s.faults[f.Call], &f)
}

// popFault takes one use of the next fault of call that applies to method. Callers hold s.mu.
func (s *Server) popFault(call, method string) *Fault {
	q := s.faults[call]
	for i, next := range q {
		if next.Method != "" && next.Method != method {
			continue
		}
		f := *next
		next.Count--
		if next.Count <= 0 {
			s.faults[call] = append(q[:i:i], q[i+1:]...)
		}
		return &f
	}
	return nil
}

// Calls returns how many requests of a call (a graph.Call* name) arrived, faults included.
func (s *Server) Calls(call string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[call]
}

// SideEffects returns how many state-changing requests of a call succeeded: subscribe and override
// (subscribed_apps), assignment (assigned_users), credit attach (credit_sharing), register and message
// send. A repeated subscribe or same-PIN register counts again: the count tells how often Meta was asked.
func (s *Server) SideEffects(call string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.effects[call]
}

// Reset sets the call and side-effect counters to zero; the world stays as it is.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.effects = map[string]int{}
}

// request is one parsed request as the handlers see it.
type request struct {
	method string
	// segs are the path segments after the version.
	segs   []string
	query  url.Values
	body   []byte
	token  string
	now    time.Time
	scheme string
	host   string
	path   string
	// form is set when the body was form-encoded (its parameters are merged into query).
	form bool
}

// param returns a parameter from the query or, for form bodies, the body.
func (q *request) param(name string) string { return q.query.Get(name) }

// result is a handler's answer, written after the lock is released.
type result struct {
	status    int
	body      any
	graphCode int
	// traceID is the fbtrace_id of an error answer, repeated in its X-FB-Trace-ID header.
	traceID string
	// effect names the call whose side-effect counter a success increments.
	effect string
	// notify are Observer calls, made after the lock is released.
	notify []func(Observer)
}

func ok(body any) *result { return &result{status: http.StatusOK, body: body} }

var versionPattern = regexp.MustCompile(`^v[0-9]{1,2}\.[0-9]{1,2}$`)

// maxBody bounds request bodies; the largest legitimate one is a 4096-character message.
const maxBody = 1 << 20

// ServeHTTP answers one Graph request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	q, errRes := s.parse(r)
	var (
		call  string
		h     handler
		fault *Fault
	)
	if errRes == nil {
		s.mu.Lock()
		call, h = s.route(q)
		s.calls[call]++
		s.mu.Unlock()
	}
	if s.cfg.Latency > 0 && !sleep(s.cfg.Latency, r.Context().Done(), s.done) {
		return
	}
	if errRes == nil {
		s.mu.Lock()
		fault = s.popFault(call, r.Method)
		s.mu.Unlock()
	}
	var res *result
	switch {
	case errRes != nil:
		res = errRes
	case fault != nil && fault.Kind == FaultGraphError:
		var opts []errOpt
		if fault.Details != "" {
			opts = append(opts, withDetails(fault.Details))
		}
		res = s.gerr(fault.Code, opts...)
		if fault.Code == 1 || fault.Code == 2 {
			res.status = http.StatusInternalServerError
		}
	case fault != nil && fault.Kind == FaultHTTP500:
		s.log(r, q, call, http.StatusInternalServerError, 0, "http500", started)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "<html><body><h1>500 Internal Server Error</h1></body></html>")
		return
	default:
		s.mu.Lock()
		q.now = s.cfg.Now()
		res = h(s, q)
		if res.status == http.StatusOK && res.effect != "" {
			s.effects[res.effect]++
		}
		s.mu.Unlock()
		if res.status == http.StatusOK && (r.Method != http.MethodGet || call == graph.CallOAuth) {
			// Reads change nothing but the call counter; the code exchange issues a token.
			s.changed()
		}
		if obs := s.cfg.Observer; obs != nil {
			for _, n := range res.notify {
				n(obs)
			}
		}
	}
	if fault != nil && fault.Kind == FaultTimeout {
		// The call took effect; the answer is lost. Stall until the client gives up or the simulator closes.
		s.log(r, q, call, 0, res.graphCode, "timeout", started)
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			panic(http.ErrAbortHandler) // drop the connection rather than answer
		}
	}
	faultName := ""
	if fault != nil {
		faultName = "graph_error"
	}
	s.log(r, q, call, res.status, res.graphCode, faultName, started)
	writeJSON(w, res)
}

// sleep waits d (nothing for d <= 0) and reports whether it did: false when stop or stop2 closes first.
func sleep(d time.Duration, stop, stop2 <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-stop2:
		return false
	}
}

func writeJSON(w http.ResponseWriter, res *result) {
	b, err := json.Marshal(res.body)
	if err != nil {
		http.Error(w, "simulator encoding error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if res.traceID != "" {
		w.Header().Set("X-FB-Trace-ID", res.traceID)
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(b)
}

// parse splits the path, checks the version prefix, reads the body and finds the access token.
func (s *Server) parse(r *http.Request) (*request, *result) {
	q := &request{method: r.Method, query: r.URL.Query(), host: r.Host, path: r.URL.Path, scheme: "http"}
	if r.TLS != nil {
		q.scheme = "https"
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < 2 || !versionPattern.MatchString(segs[0]) {
		return q, s.gerr(2500, withMessage("Unknown path components: "+safePath(r.URL.Path)))
	}
	q.segs = segs[1:]
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(b) > maxBody {
			return q, s.invalidParam("Request body is too large or unreadable", false)
		}
		q.body = b
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			q.form = true
			if form, err := url.ParseQuery(string(b)); err == nil {
				for k, v := range form {
					q.query[k] = append(q.query[k], v...)
				}
			}
		}
	}
	auth := r.Header.Get("Authorization")
	if scheme, tok, found := strings.Cut(auth, " "); found && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "OAuth")) {
		q.token = strings.TrimSpace(tok)
	} else {
		q.token = q.query.Get("access_token")
	}
	if res := s.checkProof(q); res != nil {
		return q, res
	}
	return q, nil
}

// proofTTL is how long a time-stamped proof (appsecret_time) stays valid at Meta.
const proofTTL = 5 * time.Minute

// checkProof checks appsecret_proof: hex HMAC-SHA256 of the access token (or, with appsecret_time, of
// "<token>|<time>") keyed with the app secret. Meta's answer to a wrong proof is error 100
// "Invalid appsecret_proof provided in the API argument" (GraphMethodException).
func (s *Server) checkProof(q *request) *result {
	proof := q.query.Get("appsecret_proof")
	if q.token == "" {
		return nil
	}
	if proof == "" {
		if s.cfg.RequireAppSecretProof {
			return s.gerr(100, withType("GraphMethodException"), withMessage("API calls from the server require an appsecret_proof argument"))
		}
		return nil
	}
	msg := q.token
	if ts := q.query.Get("appsecret_time"); ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || s.cfg.Now().Sub(time.Unix(sec, 0)) > proofTTL {
			return s.gerr(100, withType("GraphMethodException"), withMessage("Invalid appsecret_proof provided in the API argument"))
		}
		msg += "|" + ts
	}
	m := hmac.New(sha256.New, []byte(s.cfg.AppSecret.Reveal()))
	m.Write([]byte(msg))
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(strings.ToLower(proof)), []byte(want)) {
		return s.gerr(100, withType("GraphMethodException"), withMessage("Invalid appsecret_proof provided in the API argument"))
	}
	return nil
}

var safeSegment = regexp.MustCompile(`^(v[0-9]{1,2}\.[0-9]{1,2}|[0-9]{1,20}|[a-z_]{1,64})$`)

// safePath renders a request path for logs and error messages: segments that are neither a version, an id
// nor an edge name are masked, in case a client put something secret in its path.
func safePath(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, sg := range segs {
		if !safeSegment.MatchString(sg) {
			segs[i] = "{masked}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

func (s *Server) log(r *http.Request, q *request, call string, status, code int, fault string, started time.Time) {
	if !s.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "graph sim request",
		slog.String("method", r.Method),
		slog.String("path", safePath(r.URL.Path)),
		slog.String("call", call),
		slog.Int("status", status),
		slog.Int("graph_code", code),
		slog.String("fault", fault),
		slog.Int64("duration_ms", time.Since(started).Milliseconds()),
	)
}
