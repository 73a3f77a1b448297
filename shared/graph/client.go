// Package graph is the client of Meta's Graph API for the onboarding steps: one client, one retry policy,
// typed errors classified by Graph error code, and no secret in any URL, error or log line it produces
// (except the query of the code exchange request itself, which Meta documents that way and which never
// leaves the request).
package graph

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Client calls the Graph API. It is safe for concurrent use; build it once (at cold start) and share it.
type Client struct {
	options Options
}

// New returns a Client. optFns change a copy of options before it is validated.
func New(options Options, optFns ...func(*Options)) (*Client, error) {
	for _, fn := range optFns {
		fn(&options)
	}
	if err := options.finalize(); err != nil {
		return nil, err
	}
	return &Client{options: options}, nil
}

// Options returns a copy of the client's options, defaults filled in.
func (c *Client) Options() Options { return c.options }

// resolve returns the options for one call: the client's, changed by the call's optFns.
func (c *Client) resolve(call string, optFns []func(*Options)) (*Options, error) {
	if len(optFns) == 0 {
		return &c.options, nil
	}
	o := c.options
	for _, fn := range optFns {
		fn(&o)
	}
	if err := o.finalize(); err != nil {
		return nil, fmt.Errorf("graph %s: per-call options: %w", call, err)
	}
	return &o, nil
}

// retryMode says which failures of a call may be repeated.
type retryMode int

const (
	// idempotent: repeating the request cannot cause a second effect (all reads; assign, which Meta refuses
	// the second time with "already assigned").
	idempotent retryMode = iota + 1
	// exchange: the code is single-use; repeat only if it provably never left or Meta definitely answered.
	exchange
	// neverAfterSent: a repeat could cause a second effect (credit line, register, message; subscribe, which
	// the step reads back before repeating); repeat only if the request provably never left.
	neverAfterSent
)

// operation is one Graph request as the retry loop needs it.
type operation struct {
	call   string
	method string
	// path is the request path after the version, e.g. "102290129340398/phone_numbers".
	path  string
	query url.Values
	// jsonBody is the request body before encoding (nil for none); body is its JSON, set by prepare.
	jsonBody any
	body     []byte
	token    onboarding.Secret
	mode     retryMode
	// secrets are scrubbed from every message this call produces: the call's other secrets (code, app
	// secret, PIN, ...), to which prepare adds the token.
	secrets []string
	// proof is the call's appsecret_proof (empty without Options.AppSecret or without a token).
	proof string
}

// do runs op under the retry policy and decodes a 2xx body into out.
func (c *Client) do(ctx context.Context, o *Options, op *operation, out any) error {
	if op.token.IsZero() && op.call != CallOAuth {
		return &InputError{Call: op.call, Field: "access_token", Reason: "is required"}
	}
	if !op.token.IsZero() && !validToken(op.token.Reveal()) {
		return &InputError{Call: op.call, Field: "access_token", Reason: "contains characters a token cannot have"}
	}
	if !op.token.IsZero() && o.AppSecret != nil {
		secret, err := o.AppSecret(ctx)
		if err != nil || secret.IsZero() {
			// The vault's error is not carried: the caller only needs to know the call did not leave.
			return &Error{Call: op.call, Class: ClassTransient,
				Message: op.method + " /" + o.APIVersion + "/" + op.path + ": no app secret for appsecret_proof (request not sent)"}
		}
		op.proof = AppSecretProof(secret, op.token)
		op.secrets = append(op.secrets[:len(op.secrets):len(op.secrets)], op.proof)
	}
	p := &o.Retry
	budgetEnd := time.Now().Add(p.Budget)
	var last *Error
	sent := false
	for attempt := 1; ; attempt++ {
		remaining := time.Until(budgetEnd)
		if remaining <= 0 {
			if last == nil {
				return &Error{Call: op.call, Class: ClassTransient, Timeout: true, cause: context.DeadlineExceeded,
					Message: op.method + " /" + o.APIVersion + "/" + op.path + ": retry budget exhausted (request not sent)"}
			}
			return last
		}
		err := c.attempt(ctx, o, op, out, attempt, min(o.CallTimeout, remaining))
		if err == nil {
			return nil
		}
		last = err
		// Once any attempt may have reached Meta, the call as a whole may have: never report otherwise.
		sent = sent || err.Sent
		err.Sent = sent
		if attempt >= p.MaxAttempts || ctx.Err() != nil || !shouldRetry(op.mode, err, p.RetryGraphErrors) {
			return err
		}
		delay := p.backoff(attempt, err.Class)
		if wait, ok := RetryAfter(err); ok && err.Code != 0 && wait > delay {
			delay = wait // Meta said how long: a shorter wait would only be refused again
		}
		wake := time.Now().Add(delay)
		if dl, ok := ctx.Deadline(); (ok && !wake.Before(dl)) || !wake.Before(budgetEnd) {
			return err // the next attempt could not finish in time anyway
		}
		if p.Sleep(ctx, delay) != nil {
			return err
		}
	}
}

// shouldRetry is the one retry rule (see RetryPolicy).
func shouldRetry(mode retryMode, e *Error, retryGraphErrors bool) bool {
	if !e.Sent {
		return true // (a) the request never left: repeating it is a first try
	}
	switch mode {
	case neverAfterSent:
		return false
	case idempotent:
		if e.Class == ClassTransient && (e.HTTPStatus == 0 || e.HTTPStatus >= 500 || e.MalformedResponse) {
			return true // (b)
		}
	}
	// (c) a definite answer from Meta (an error envelope, not a timeout) with a retryable code.
	return retryGraphErrors && e.HTTPStatus != 0 && e.Code != 0 &&
		(e.Class == ClassTransient || e.Class == ClassThrottled)
}

// connTrace records whether the transport started and finished getting a connection: a request whose
// transport began dialling but never got a connection provably never left.
type connTrace struct{ getConn, gotConn atomic.Bool }

// attempt sends op once and logs it, whatever the outcome. It always returns a *Error on failure.
func (c *Client) attempt(ctx context.Context, o *Options, op *operation, out any, n int, timeout time.Duration) (e *Error) {
	started := time.Now()
	logPath := "/" + o.APIVersion + "/" + op.path
	defer func() { c.logAttempt(ctx, o, op, logPath, n, started, e) }()
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ct connTrace
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		GetConn: func(string) { ct.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { ct.gotConn.Store(true) },
	})
	target := o.base + logPath
	query := op.query
	if op.proof != "" {
		query = url.Values{}
		maps.Copy(query, op.query)
		query.Set("appsecret_proof", op.proof)
	}
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if op.body != nil {
		body = bytes.NewReader(op.body)
	}
	req, err := http.NewRequestWithContext(actx, op.method, target, body)
	if err != nil {
		// The error text of NewRequest can quote the URL, and the URL can hold the code: drop it.
		return &Error{Call: op.call, Class: ClassPermanent, Message: op.method + " " + logPath + ": cannot build request"}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", o.UserAgent)
	if !op.token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+op.token.Reveal())
	}
	if op.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	if err := ctx.Err(); err != nil {
		// The caller gave up before this attempt: nothing was sent.
		return &Error{Call: op.call, Class: ClassTransient, Timeout: err == context.DeadlineExceeded, cause: err,
			Message: op.method + " " + logPath + ": " + err.Error() + " (request not sent)"}
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return transportError(ctx, actx, op, logPath, err, timeout, ct.getConn.Load() && !ct.gotConn.Load())
	}
	return c.readResponse(ctx, actx, op, logPath, req, resp, timeout, out)
}

// readResponse turns a response into nil (2xx decoded into out) or a *Error.
func (c *Client) readResponse(ctx, actx context.Context, op *operation, logPath string, req *http.Request,
	resp *http.Response, timeout time.Duration, out any) *Error {
	defer resp.Body.Close()
	where := op.method + " " + logPath
	if resp.Request != nil && resp.Request != req && resp.Request.URL.String() != req.URL.String() {
		// A custom HTTPClient followed a redirect despite our policy. Report it without the Location.
		return &Error{Call: op.call, HTTPStatus: resp.StatusCode, Class: ClassPermanent, Sent: true,
			Message: where + ": the HTTP client followed a redirect; " + errNoRedirects.Error()}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		// Headers arrived but the body did not: Meta may have acted, so this is a lost response.
		e := transportError(ctx, actx, op, logPath, err, timeout, false)
		e.Message = fmt.Sprintf("%s (after HTTP %d headers)", e.Message, resp.StatusCode)
		return e
	}
	status := resp.StatusCode
	if len(data) > MaxResponseBytes {
		return &Error{Call: op.call, HTTPStatus: status, Class: ClassTransient, Sent: true,
			MalformedResponse: status < 300,
			Message:           fmt.Sprintf("%s: response body larger than %d bytes", where, MaxResponseBytes)}
	}
	switch {
	case status >= 200 && status < 300:
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Call: op.call, HTTPStatus: status, Class: ClassTransient, Sent: true, MalformedResponse: true,
				Message: fmt.Sprintf("%s: HTTP %d with a body that is not the expected JSON", where, status)}
		}
		return nil
	case status >= 300 && status < 400:
		// Never quote the Location: it can carry a token in its query.
		return &Error{Call: op.call, HTTPStatus: status, Class: ClassPermanent, Sent: true,
			Message: fmt.Sprintf("%s: unexpected redirect (HTTP %d); %s", where, status, errNoRedirects)}
	}
	if e := decodeEnvelope(op, status, data); e != nil {
		return e
	}
	class := Classify(0, status)
	if !json.Valid(data) {
		class = ClassTransient // an HTML or empty error page comes from a proxy or load balancer, not Graph
	}
	return &Error{Call: op.call, HTTPStatus: status, Class: class, Sent: true,
		Message: fmt.Sprintf("%s: HTTP %d without a Graph error envelope", where, status)}
}

// envelope is Meta's error body.
type envelope struct {
	Error *struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		Subcode        int    `json:"error_subcode"`
		ErrorUserTitle string `json:"error_user_title"`
		ErrorUserMsg   string `json:"error_user_msg"`
		FBTraceID      string `json:"fbtrace_id"`
		ErrorData      *struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// decodeEnvelope returns the *Error of Meta's error envelope in data, or nil if data holds none.
func decodeEnvelope(op *operation, status int, data []byte) *Error {
	var env envelope
	if json.Unmarshal(data, &env) != nil || env.Error == nil || (env.Error.Code == 0 && env.Error.Message == "") {
		return nil
	}
	m := env.Error
	e := &Error{
		Call:        op.call,
		HTTPStatus:  status,
		Code:        m.Code,
		Subcode:     m.Subcode,
		Type:        sanitizeShort(m.Type, op.secrets),
		Message:     sanitize(m.Message, op.secrets),
		FBTraceID:   sanitizeShort(m.FBTraceID, op.secrets),
		Class:       Classify(m.Code, status),
		Sent:        true,
		UserTitle:   sanitize(m.ErrorUserTitle, op.secrets),
		UserMessage: sanitize(m.ErrorUserMsg, op.secrets),
	}
	if m.ErrorData != nil {
		e.Details = sanitize(m.ErrorData.Details, op.secrets)
	}
	return e
}

// transportError describes a request that got no (complete) response. It names method and path only:
// *url.Error quotes the whole URL, query included, so its text is never used.
func transportError(ctx, actx context.Context, op *operation, logPath string, err error, timeout time.Duration,
	neverConnected bool) *Error {
	e := &Error{Call: op.call, Class: ClassTransient, Sent: !(neverConnected || isDialError(err))}
	where := op.method + " " + logPath
	switch {
	case ctx.Err() == context.Canceled:
		e.Message, e.cause = where+": canceled", context.Canceled
	case ctx.Err() == context.DeadlineExceeded:
		e.Timeout, e.cause = true, context.DeadlineExceeded
		e.Message = where + ": context deadline exceeded"
	case actx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.Timeout, e.cause = true, context.DeadlineExceeded
		e.Message = fmt.Sprintf("%s: timed out after %s", where, timeout.Round(time.Millisecond))
	default:
		e.Message = where + ": " + sanitize(causeText(err), op.secrets)
	}
	if !e.Sent {
		e.Message += " (request not sent)"
	}
	return e
}

// causeText returns the innermost useful error text without the URL that *url.Error adds.
func causeText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if err == nil {
		return "transport error"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isDialError reports failures that happen before a connection exists: the request never left.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// validToken accepts what a bearer token can be: printable ASCII without spaces. Anything else would break
// the header (or smuggle a second one).
func validToken(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' })
}

// logAttempt writes the one debug line of an attempt: never a query, a token or a body.
func (c *Client) logAttempt(ctx context.Context, o *Options, op *operation, path string, n int, started time.Time, e *Error) {
	if !o.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	args := []any{"call", op.call, "method", op.method, "path", path, "attempt", n,
		"duration_ms", time.Since(started).Milliseconds()}
	if e == nil {
		args = append(args, "outcome", "ok")
	} else {
		args = append(args, "outcome", "error", "status", e.HTTPStatus, "graph_code", e.Code, "graph_subcode", e.Subcode,
			"class", e.Class.String(), "timeout", e.Timeout, "sent", e.Sent, "fbtrace_id", e.FBTraceID, "error", e.Message)
	}
	o.Logger.Log(ctx, slog.LevelDebug, "graph attempt", args...)
}

// AppSecretProof returns Meta's appsecret_proof of token: the hex HMAC-SHA256 of the access token keyed with the
// app secret. It is computed per token (business and system tokens differ).
func AppSecretProof(appSecret, token onboarding.Secret) string {
	m := hmac.New(sha256.New, []byte(appSecret.Reveal()))
	m.Write([]byte(token.Reveal()))
	return hex.EncodeToString(m.Sum(nil))
}

// pathParam checks an id that goes into a URL path.
func pathParam(call, field, id string) error {
	return check(onboarding.ValidGraphID(id), call, field, "must be 1 to 20 ASCII digits")
}

// secretValues lists the non-empty values of secrets, to be scrubbed from messages.
func secretValues(secrets ...onboarding.Secret) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if !s.IsZero() {
			out = append(out, s.Reveal())
		}
	}
	return out
}

// joinPath builds a request path from validated parts.
func joinPath(parts ...string) string { return strings.Join(parts, "/") }
