package webhook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// MaxBodyBytes is the largest webhook body accepted. Meta sends up to 3 MB; the margin covers a batch at that
// limit, and anything larger is answered 413 before it is verified or parsed.
const MaxBodyBytes = 4 << 20

// DefaultInFlightBytes is the default budget of body bytes the handler holds across concurrent deliveries
// (Options.MaxInFlightBytes): 16 deliveries at MaxBodyBytes, or thousands of Meta's usual few-KB ones.
const DefaultInFlightBytes = 64 << 20

// DefaultBudgetWait is how long a delivery waits for budget by default before it is answered 503.
const DefaultBudgetWait = time.Second

// RetryAfterSeconds is the Retry-After of a 503 answered for want of budget.
const RetryAfterSeconds = 5

// MaxChallengeLength bounds the hub.challenge echoed by the handshake (Meta sends a short number).
const MaxChallengeLength = 256

// Sink takes the events of a verified notification. Accept returns nil only once every event is stored or
// enqueued durably: the handler then answers 200 and Meta never sends them again. Any error makes the handler
// answer 500, so Meta retries the whole delivery; a Sink must therefore tolerate events it already accepted
// (the worker dedupes on Event.Key). Accept must be safe for concurrent use. The handler never touches the
// events after Accept returns, so a Sink may keep them.
type Sink interface {
	Accept(ctx context.Context, events []Event) error
}

// ConfigFunc returns the stage's app config (the vault's AppConfig method). It is called on every request so
// that a rotated app secret or verify token is picked up as soon as the vault's cache refreshes.
type ConfigFunc func(ctx context.Context) (onboarding.AppConfig, error)

// Options configure the Handler.
type Options struct {
	// Logger receives one line per delivery (method, path, status, duration and the counts), never the body
	// or a secret. Default: discard.
	Logger *slog.Logger
	// MaxBodyBytes overrides MaxBodyBytes.
	MaxBodyBytes int64
	// MaxInFlightBytes is the budget of body bytes held at once by all deliveries in progress; default
	// DefaultInFlightBytes. A delivery takes budget as its bytes arrive, for each chunk of its buffer (64 KiB,
	// or what is left of its declared length when that is smaller) before it reads into it, and for the one
	// copy that joins a body of several chunks; never more than the whole budget (so one delivery can always
	// get through), and gives it all back when it is answered. So the bodies held at once (and what is decoded
	// from them, a small multiple of their size) are bounded whatever the number of concurrent or slow
	// senders, and a slow sender holds what it has sent plus at most one chunk, not what it declared.
	MaxInFlightBytes int64
	// BudgetWait is how long a delivery may wait for each addition to its share of the budget; past it the
	// delivery is answered 503 with a Retry-After header, having acknowledged nothing. Default DefaultBudgetWait.
	BudgetWait time.Duration
	// Now tells the time for the previous secret's rotation window. Default: time.Now.
	Now func() time.Time
	// KeepOther hands KindOther events (unknown fields, values of an unexpected shape) to the sink too. By
	// default they are answered 200, counted and logged, but not stored (ignored).
	KeepOther bool
}

// Handler serves GET (Meta's verification handshake) and POST (signed notifications) on the webhook route;
// it does not look at the path, so it is mounted at /webhooks by the router (API Gateway or the local runner).
// Other methods are answered 405. It is safe for concurrent use.
type Handler struct {
	config  ConfigFunc
	sink    Sink
	opts    Options
	budget  *semaphore.Weighted
	handler http.Handler
	// held and peak are the bytes the leases hold now and at most (see track).
	held, peak atomic.Int64
}

// NewHandler returns the webhook handler, wrapped in httpapi.Middleware for request ids, the access log and
// panic recovery.
func NewHandler(config ConfigFunc, sink Sink, opts Options) *Handler {
	opts.Logger = logging.OrDiscard(opts.Logger)
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = MaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxInFlightBytes <= 0 {
		opts.MaxInFlightBytes = DefaultInFlightBytes
	}
	if opts.BudgetWait <= 0 {
		opts.BudgetWait = DefaultBudgetWait
	}
	h := &Handler{config: config, sink: sink, opts: opts, budget: semaphore.NewWeighted(opts.MaxInFlightBytes)}
	h.handler = httpapi.Middleware(opts.Logger, http.HandlerFunc(h.route))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.handshake(w, r)
	case http.MethodPost:
		h.notify(w, r)
	default:
		// HEAD too: a handshake answered without its body would be a handshake Meta cannot complete.
		w.Header().Set("Allow", "GET, POST")
		httpapi.WriteError(w, http.StatusMethodNotAllowed, onboarding.CodeMethodNotAllowed, "", r.Method+" is not allowed here; use GET or POST")
	}
}

// handshake answers Meta's subscription check: hub.mode=subscribe and hub.verify_token equal to the stage's
// verify token, then hub.challenge echoed as text/plain. No signature is involved (Meta sends none on GET).
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	cfg, err := h.config(ctx)
	if err != nil {
		h.opts.Logger.ErrorContext(ctx, "webhook handshake: loading the app config failed", "error", err.Error())
		httpapi.WriteError(w, http.StatusInternalServerError, onboarding.CodeDependency, "", "the configuration could not be loaded; try again")
		return
	}
	if cfg.WebhookVerifyToken.IsZero() {
		h.opts.Logger.ErrorContext(ctx, "webhook handshake refused: no verify token is configured for the stage")
		httpapi.WriteError(w, http.StatusForbidden, onboarding.CodeForbidden, "", "the verification handshake failed")
		return
	}
	if q.Get("hub.mode") != "subscribe" || !tokenEqual(q.Get("hub.verify_token"), cfg.WebhookVerifyToken.Reveal()) {
		h.opts.Logger.WarnContext(ctx, "webhook handshake refused", "mode_ok", q.Get("hub.mode") == "subscribe")
		httpapi.WriteError(w, http.StatusForbidden, onboarding.CodeForbidden, "", "the verification handshake failed")
		return
	}
	challenge := q.Get("hub.challenge")
	if !validChallenge(challenge) {
		httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidField, "hub.challenge",
			fmt.Sprintf("hub.challenge must be 1 to %d visible ASCII characters", MaxChallengeLength))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, challenge)
	h.opts.Logger.InfoContext(ctx, "webhook handshake answered")
}

// tokenEqual compares in constant time; hashing first hides the expected token's length as well.
func tokenEqual(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// validChallenge accepts 1 to MaxChallengeLength visible ASCII characters: the value is reflected into a
// response, so nothing that could be markup-significant whitespace or a control character goes back.
func validChallenge(s string) bool {
	if s == "" || len(s) > MaxChallengeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// okResponse is the 200 body of a notification.
var okResponse = json.RawMessage(`{"ok":true}`)

// notify takes a notification: read the raw body, taking budget as it arrives, verify its signature over those
// exact bytes, and only then parse it and hand the events to the sink. The order matters: nothing
// unauthenticated reaches the parser.
func (h *Handler) notify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log := h.opts.Logger
	limit := h.opts.MaxBodyBytes
	if r.ContentLength > limit {
		log.WarnContext(ctx, "webhook refused: body too large", "content_length", r.ContentLength)
		httpapi.WriteError(w, http.StatusRequestEntityTooLarge, onboarding.CodeBodyTooLarge, "", fmt.Sprintf("the body is larger than %d bytes", limit))
		return
	}
	l := &lease{h: h}
	defer l.release()
	body, status, err := h.readBody(w, r, l)
	if errors.Is(err, errBudget) {
		// Nothing is acknowledged: Meta delivers again after Retry-After.
		log.WarnContext(ctx, "webhook deferred: the in-flight body budget is exhausted", "content_length", r.ContentLength)
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		httpapi.WriteError(w, http.StatusServiceUnavailable, onboarding.CodeUnavailable, "", "too many deliveries in progress; deliver again later")
		return
	}
	if err != nil {
		log.WarnContext(ctx, "webhook refused: body not read", "error", err.Error(), "content_length", r.ContentLength)
		code := onboarding.CodeInvalidJSON
		if status == http.StatusRequestEntityTooLarge {
			code = onboarding.CodeBodyTooLarge
		}
		httpapi.WriteError(w, status, code, "", err.Error())
		return
	}
	cfg, err := h.config(ctx)
	if err != nil {
		// Meta retries a 5xx for days, so a vault outage loses nothing.
		log.ErrorContext(ctx, "webhook not taken: loading the app config failed", "error", err.Error(), "bytes", len(body))
		httpapi.WriteError(w, http.StatusInternalServerError, onboarding.CodeDependency, "", "the configuration could not be loaded; try again")
		return
	}
	if err := Verify(body, r.Header.Get(HeaderSignature), AcceptedSecrets(cfg, h.opts.Now())...); err != nil {
		h.refuse(ctx, w, r, err, len(body))
		return
	}
	res, err := Parse(body)
	if err != nil {
		log.WarnContext(ctx, "webhook refused: signed body is not a notification", "error", err.Error(), "bytes", len(body))
		httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidJSON, "", "the body is not a webhook notification")
		return
	}
	events := res.Events
	if !h.opts.KeepOther {
		events = withoutOther(events)
	}
	if len(events) > 0 {
		if err := h.sink.Accept(ctx, events); err != nil {
			// Never acknowledge what was not kept: Meta redelivers a non-200 for up to 7 days.
			log.ErrorContext(ctx, "webhook not taken: the sink refused the events", "error", err.Error(), "counts", res.Counts)
			httpapi.WriteError(w, http.StatusInternalServerError, onboarding.CodeInternal, "", "the events could not be stored; deliver again")
			return
		}
	}
	level := slog.LevelInfo
	switch {
	case res.Counts.UndecodableValues > 0:
		level = slog.LevelError // a documented field in a shape the parser does not know: Meta changed something
	case res.Counts.UnknownFields > 0 || res.Counts.IgnoredObjects > 0:
		level = slog.LevelWarn // new fields or objects: answered 200 and counted, worth a look
	}
	// The delivery's one line: the request line Middleware writes, with what was taken.
	taken := []slog.Attr{slog.String("object", res.Object), slog.Int("bytes", len(body)), slog.Int("stored", len(events)),
		slog.Any("counts", res.Counts)}
	if !httpapi.Annotate(ctx, level, "webhook taken", taken...) {
		log.LogAttrs(ctx, level, "webhook taken", taken...)
	}
	httpapi.WriteJSON(w, http.StatusOK, okResponse)
}

// refuse answers 401 for every signature failure. A missing app secret is an operator error, logged as such;
// the others are what an unauthenticated caller sends. Neither log line holds the header or a secret.
func (h *Handler) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request, err error, n int) {
	log := h.opts.Logger
	if errors.Is(err, ErrNoAppSecret) {
		log.ErrorContext(ctx, "webhook refused: no app secret is configured, failing closed", "bytes", n)
	} else {
		log.WarnContext(ctx, "webhook refused: signature check failed", "reason", err.Error(), "bytes", n,
			"sha1_header_only", r.Header.Get(HeaderSignature) == "" && r.Header.Get(HeaderSignatureSHA1) != "")
	}
	httpapi.WriteError(w, http.StatusUnauthorized, onboarding.CodeUnauthorized, "", "the webhook signature is missing or invalid")
}

// readChunk is the most a body's buffer grows by at a time, and so the most budget a delivery holds beyond the
// bytes it has actually sent. A body under readChunk bytes with a declared length (Meta's usual few KB) is
// read into one buffer sized once, with one acquisition.
const readChunk = 64 << 10

// lease is one delivery's share of the in-flight budget. It grows as the delivery's buffer grows and is
// given back whole when the delivery is answered. It is used by one goroutine.
type lease struct {
	h    *Handler
	held int64
}

// reserve makes the lease hold want bytes, taking the difference from the budget: at once when it is free,
// otherwise waiting at most BudgetWait. A lease never holds more than the whole budget, so one delivery can
// always get through, however small the budget is next to its body. It reports false, holding what it held,
// when the difference could not be had in time.
func (l *lease) reserve(ctx context.Context, want int64) bool {
	want = min(want, l.h.opts.MaxInFlightBytes)
	n := want - l.held
	if n <= 0 {
		return true
	}
	if !l.h.budget.TryAcquire(n) { // the usual case is free budget: no timer needed
		ctx, cancel := context.WithTimeout(ctx, l.h.opts.BudgetWait)
		defer cancel()
		if err := l.h.budget.Acquire(ctx, n); err != nil {
			return false
		}
	}
	l.held = want
	l.h.track(n)
	return true
}

// shrink gives back what the lease holds beyond keep.
func (l *lease) shrink(keep int64) {
	if n := l.held - min(keep, l.h.opts.MaxInFlightBytes); n > 0 {
		l.h.track(-n) // before Release, so the tally never counts bytes another lease has taken since
		l.h.budget.Release(n)
		l.held -= n
	}
}

// release gives back everything the lease holds.
func (l *lease) release() {
	if l.held > 0 {
		l.h.track(-l.held)
		l.h.budget.Release(l.held)
		l.held = 0
	}
}

// track keeps the bytes held by all leases and their high-water mark, which the tests read to check the
// accounting against the budget. A lease tracks what it takes after taking it and what it gives back before
// giving it back, so the tally never exceeds what the semaphore has handed out.
func (h *Handler) track(n int64) {
	v := h.held.Add(n)
	for {
		p := h.peak.Load()
		if v <= p || h.peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// errBudget reports that a delivery could not get the budget for its next bytes within BudgetWait.
var errBudget = errors.New("the in-flight body budget is exhausted")

// readBody reads the whole body through http.MaxBytesReader, so a body over the limit is refused (413) as
// soon as its limit+1st byte arrives, whatever its declared length, and a body shorter than it declared is
// refused (400).
//
// The body is read into chunks of at most readChunk bytes, each allocated only after the lease has taken
// budget for it (errBudget, a 503, when it cannot). A declared length only trims the last chunk, so a slow
// sender declaring a large body holds what it sent plus at most one chunk. A longer body is joined once into a
// buffer of its exact length, whose budget is taken before it is allocated. Chunks rather than one growing
// buffer: growing a single buffer would copy it at every growth, quadratic in the body's size.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, l *lease) ([]byte, int, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, http.StatusOK, nil
	}
	ctx := r.Context()
	limit := h.opts.MaxBodyBytes
	src := http.MaxBytesReader(w, r.Body, limit)
	var chunks [][]byte
	var buf []byte
	var total, capacity int64 // bytes read, and the capacity of all chunks
	for {
		if len(buf) == cap(buf) {
			if buf != nil {
				chunks = append(chunks, buf)
			}
			size := int64(readChunk)
			// One byte past a declared length lets the read see the end without another chunk.
			if rest := r.ContentLength - total + 1; r.ContentLength >= 0 && rest > 0 {
				size = min(size, rest)
			}
			// MaxBytesReader fails on the limit+1st byte, so no more is ever read.
			size = min(size, limit+1-total)
			if !l.reserve(ctx, capacity+size) {
				return nil, http.StatusServiceUnavailable, errBudget
			}
			capacity += size
			buf = make([]byte, 0, size)
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		total += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", limit)
			}
			return nil, http.StatusBadRequest, fmt.Errorf("reading the body: %w", err)
		}
	}
	if r.ContentLength >= 0 && total < r.ContentLength {
		return nil, http.StatusBadRequest, fmt.Errorf("the body ended after %d of %d declared bytes", total, r.ContentLength)
	}
	if len(chunks) == 0 {
		return buf, http.StatusOK, nil
	}
	if !l.reserve(ctx, capacity+total) {
		return nil, http.StatusServiceUnavailable, errBudget
	}
	body := make([]byte, 0, total)
	for _, c := range chunks {
		body = append(body, c...)
	}
	body = append(body, buf...)
	l.shrink(total)
	return body, http.StatusOK, nil
}

func kept(ev Event) bool { return ev.Kind != KindOther || IsBusinessAppField(ev.Field) }

// withoutOther returns the events that are not KindOther (the coexistence fields excepted: the worker reads
// them), reusing the slice when there are none to drop.
func withoutOther(events []Event) []Event {
	n := 0
	for i := range events {
		if kept(events[i]) {
			n++
		}
	}
	if n == len(events) {
		return events
	}
	out := make([]Event, 0, n)
	for i := range events {
		if kept(events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}
