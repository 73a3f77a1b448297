// Package apigw adapts plain net/http handlers to API Gateway HTTP API (payload format 2.0) Lambda events, so
// the same handlers serve Lambda and the local runner.
package apigw

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/waes/onboarding/shared/auth"
	"github.com/waes/onboarding/shared/logging"
)

// Handler returns a Lambda handler that serves API Gateway HTTP API v2 events with h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       `{"error":{"code":"invalid_request","message":"the request could not be read"}}`,
			}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Response(rec), nil
	}
}

// Request builds the http.Request of an API Gateway v2 event. The body is base64-decoded when API Gateway
// marked it encoded, so handlers always see the raw bytes (the webhook signature is computed over them). The
// API Gateway request id is put in the context for the logs.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("decoding the base64 body: %w", err)
		}
		body = b
	}
	method := cmp.Or(ev.RequestContext.HTTP.Method, http.MethodGet)
	target := cmp.Or(ev.RawPath, ev.RequestContext.HTTP.Path, "/")
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	// Parsed as a request line's target, as net/http's server does: http.NewRequest would read a path that
	// starts with "//" as a host ("//evil/healthz" would become the path "/healthz").
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("parsing the request target: %w", err)
	}
	if id := ev.RequestContext.RequestID; id != "" {
		ctx = logging.WithRequestID(ctx, id)
	}
	if c, ok := Caller(ev); ok {
		ctx = auth.WithCaller(ctx, c)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	req.URL = u
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas; keep them as one value as a proxy would.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.Host = ev.RequestContext.DomainName
	req.RequestURI = target
	return req, nil
}

// Caller returns the partner customer the API Gateway JWT authorizer verified for the request: the sub
// claim of requestContext.authorizer.jwt.claims. API Gateway fills that object only after validating the
// bearer token, and a client cannot set it, so the token is not parsed again here; a request without it
// (no authorizer on the route) has no caller. A sub longer than auth.MaxSubjectLength is ignored.
func Caller(ev events.APIGatewayV2HTTPRequest) (auth.Caller, bool) {
	a := ev.RequestContext.Authorizer
	if a == nil || a.JWT == nil {
		return auth.Caller{}, false
	}
	sub := a.JWT.Claims["sub"]
	if !auth.ValidSubject(sub) {
		return auth.Caller{}, false
	}
	return auth.Caller{Subject: sub}, true
}

// Response converts a recorded response into the API Gateway v2 response. Bodies that are not valid UTF-8
// are base64-encoded.
func Response(rec *httptest.ResponseRecorder) events.APIGatewayV2HTTPResponse {
	res := events.APIGatewayV2HTTPResponse{StatusCode: rec.Code, Headers: map[string]string{}}
	// The headers as they were when the status was written, as a server sends them: rec.Header() would also
	// carry headers the handler set afterwards.
	for k, v := range rec.Result().Header {
		if strings.EqualFold(k, "Set-Cookie") {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ", ")
	}
	b := rec.Body.Bytes()
	if utf8.Valid(b) {
		res.Body = string(b)
	} else {
		res.Body, res.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	return res
}
