package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Defaults of Options and RetryPolicy.
const (
	// DefaultCallTimeout bounds one attempt of one call.
	DefaultCallTimeout = 10 * time.Second
	// DefaultMaxAttempts is the total number of attempts of a call, the first included.
	DefaultMaxAttempts = 3
	// DefaultBaseDelay and DefaultMaxDelay bound the full-jitter backoff between attempts.
	DefaultBaseDelay = 200 * time.Millisecond
	DefaultMaxDelay  = 2 * time.Second
	// DefaultRetryBudget bounds a whole call, retries and waits included. It is shorter than the 30 s life of
	// an Embedded Signup code so that the signup request can still answer the frontend in time.
	DefaultRetryBudget = 20 * time.Second
	// DefaultUserAgent identifies this client to Meta.
	DefaultUserAgent = "waes-onboarding-graph/1"
	// MaxResponseBytes caps how much of a response body is read; Graph answers for these calls are tiny.
	MaxResponseBytes = 1 << 20
	// MaxPages caps how many pages a list call follows, so a looping cursor cannot keep a call busy.
	MaxPages = 20
	// throttledFactor stretches the backoff after a throttled answer: rate limits need longer pauses.
	throttledFactor = 4
)

// HTTPClient sends HTTP requests. *http.Client implements it; tests pass func-type fakes.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// HTTPClientFunc adapts a function to HTTPClient (for tests and instrumentation).
type HTTPClientFunc func(*http.Request) (*http.Response, error)

// Do calls f(req).
func (f HTTPClientFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// RetryPolicy is the client's one retry policy. A call is retried only if (a) the request provably never
// left, or (b) the call is idempotent and failed transiently (network error, timeout, 5xx), or (c)
// RetryGraphErrors is set and Meta answered with a transient or throttled Graph error. Calls with side
// effects that must not repeat (subscribe, credit sharing, register, send message) are never retried once
// sent, and the code exchange is never retried after a timeout (the single-use code may be spent).
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included (default 3; 1 disables retries).
	MaxAttempts int
	// RetryGraphErrors also retries Meta's transient and throttled Graph error codes. Off by default:
	// workflow steps leave those to the state machine's retriers; the signup request turns it on.
	RetryGraphErrors bool
	// BaseDelay and MaxDelay bound the backoff: attempt n waits a uniformly random time in
	// [0, min(MaxDelay, BaseDelay*2^(n-1))) (full jitter), four times longer after a throttled answer.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Budget bounds the whole call, all attempts and waits included (default 20 s). The context deadline,
	// when earlier, wins.
	Budget time.Duration
	// Sleep waits d or until ctx is done (default: a timer). Tests inject a fake.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter (default math/rand/v2). Tests inject a fake.
	Rand func() float64
}

// Options configure a Client. Every operation also takes optFns that change a copy of them for one call,
// as the AWS SDK does.
type Options struct {
	// BaseEndpoint is https://graph.facebook.com (the default) or a loopback URL (http or https on
	// 127.0.0.1, ::1 or localhost, any port) for the simulator. Anything else is refused so that tokens can
	// only ever be sent to Meta or to this machine.
	BaseEndpoint string
	// APIVersion is the Graph API version, of the form vNN.N (default DefaultAPIVersion).
	APIVersion string
	// HTTPClient sends the requests (default: an *http.Client that follows no redirects). An *http.Client
	// given here is copied and made to follow no redirects either.
	HTTPClient HTTPClient
	// CallTimeout bounds each attempt (default 10 s), enforced with a context deadline.
	CallTimeout time.Duration
	// Retry is the retry policy.
	Retry RetryPolicy
	// Logger receives one debug line per attempt (default: discard).
	Logger *slog.Logger
	// UserAgent is sent with every request (default DefaultUserAgent).
	UserAgent string
	// AppSecret, when set, returns the app secret that signs the calls: every request made with an access
	// token then carries appsecret_proof = hex(HMAC-SHA256(key app secret, access token)), as apps with
	// "Require App Secret" on need. It is asked once per call (the vault caches it), so a rotated secret is
	// picked up without a restart. The proof never appears in a log line or an error.
	AppSecret func(ctx context.Context) (onboarding.Secret, error)

	// base is the validated BaseEndpoint as scheme://host, without a trailing slash.
	base string
}

var (
	apiVersionPattern = regexp.MustCompile(`^v[0-9]{1,2}\.[0-9]$`)
	errNoRedirects    = errors.New("redirects are not followed")
)

// noRedirectClient marks an *http.Client already made to refuse redirects, so per-call option copies do not
// copy it again.
type noRedirectClient struct{ *http.Client }

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newDefaultHTTPClient() HTTPClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16 // one Lambda container talks to one host
	return &noRedirectClient{&http.Client{Transport: tr, CheckRedirect: refuseRedirect}}
}

// finalize fills defaults and validates. It is called by New and by every call that has optFns.
func (o *Options) finalize() error {
	o.BaseEndpoint = cmp.Or(o.BaseEndpoint, DefaultBaseEndpoint)
	base, err := validateBaseEndpoint(o.BaseEndpoint)
	if err != nil {
		return err
	}
	o.base = base
	o.APIVersion = cmp.Or(o.APIVersion, DefaultAPIVersion)
	if !apiVersionPattern.MatchString(o.APIVersion) {
		return errors.New("graph: APIVersion must have the form vNN.N (for example v25.0)")
	}
	switch hc := o.HTTPClient.(type) {
	case nil:
		o.HTTPClient = newDefaultHTTPClient()
	case *http.Client:
		// Copy rather than modify: the caller's client may be shared with code that wants redirects.
		cp := *hc
		cp.CheckRedirect = refuseRedirect
		o.HTTPClient = &noRedirectClient{&cp}
	}
	if o.CallTimeout < 0 {
		return errors.New("graph: CallTimeout must not be negative")
	}
	o.CallTimeout = cmp.Or(o.CallTimeout, DefaultCallTimeout)
	o.Logger = cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	o.UserAgent = cmp.Or(o.UserAgent, DefaultUserAgent)
	if strings.ContainsAny(o.UserAgent, "\r\n") {
		return errors.New("graph: UserAgent must not contain line breaks")
	}
	return o.Retry.finalize()
}

func (p *RetryPolicy) finalize() error {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.Budget < 0 {
		return errors.New("graph: retry policy values must not be negative")
	}
	p.MaxAttempts = cmp.Or(p.MaxAttempts, DefaultMaxAttempts)
	p.BaseDelay = cmp.Or(p.BaseDelay, DefaultBaseDelay)
	p.MaxDelay = max(cmp.Or(p.MaxDelay, DefaultMaxDelay), p.BaseDelay)
	p.Budget = cmp.Or(p.Budget, DefaultRetryBudget)
	if p.Sleep == nil {
		p.Sleep = sleepContext
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return nil
}

// backoff returns the full-jitter wait before attempt+1.
func (p *RetryPolicy) backoff(attempt int, class Class) time.Duration {
	limit := p.BaseDelay
	if class == ClassThrottled {
		limit *= throttledFactor
	}
	for i := 1; i < attempt && limit < p.MaxDelay; i++ {
		limit *= 2
	}
	limit = min(limit, p.MaxDelay)
	r := p.Rand()
	if r < 0 || r >= 1 {
		r = 0
	}
	return time.Duration(r * float64(limit))
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// validateBaseEndpoint accepts exactly https://graph.facebook.com or a loopback URL and returns it as
// scheme://host. The error never repeats the value: a misconfigured endpoint could carry a secret.
func validateBaseEndpoint(s string) (string, error) {
	bad := errors.New("graph: BaseEndpoint must be https://graph.facebook.com or a loopback URL " +
		"(http or https on 127.0.0.1, ::1 or localhost)")
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		(u.Path != "" && u.Path != "/") {
		return "", bad
	}
	switch {
	case u.Scheme == "https" && u.Host == "graph.facebook.com":
	case (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(u.Hostname()) && validPort(u.Port()):
	default:
		return "", bad
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopbackHost(h string) bool { return h == "127.0.0.1" || h == "::1" || h == "localhost" }

func validPort(p string) bool { return len(p) <= 5 && strings.Trim(p, "0123456789") == "" }

// InputError reports an input that failed validation before any request was sent. It is not a Graph error:
// nothing reached Meta. Reason never contains the rejected value (it may be a secret).
type InputError struct {
	Call   string
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("graph %s: invalid %s: %s", e.Call, e.Field, e.Reason)
}
