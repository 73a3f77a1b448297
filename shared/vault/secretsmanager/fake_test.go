package secretsmanager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// fakeSM is an aws.HTTPClient that plays Secrets Manager's JSON protocol in memory: it records every request
// (X-Amz-Target and body) and emulates the semantics the vault relies on: ClientRequestToken idempotency,
// staging labels (AWSCURRENT, AWSPREVIOUS, custom ones), the RemoveFromVersionId check of
// UpdateSecretVersionStage, secrets scheduled for deletion, and injected error answers.
type fakeSM struct {
	mu      sync.Mutex
	secrets map[string]*fakeSecret
	calls   []fakeCall
	faults  map[string][]fakeFault
	// hook runs before an operation is handled, outside the lock, so it can call the fake (or a vault)
	// itself: this is how tests interleave a concurrent writer deterministically.
	hook     func(op string, in map[string]any)
	versions int // versions created by requests (seeded ones excluded)
}

type fakeSecret struct {
	name, arn   string
	kmsKeyID    string
	description string
	tags        []map[string]any
	versions    []*fakeVersion
	deleted     bool
}

type fakeVersion struct {
	id, value string
	stages    []string
}

type fakeCall struct {
	Op string
	In map[string]any
}

type fakeFault struct {
	errType    string
	status     int
	afterApply bool // handle the request, then answer the error (a lost response)
}

func newFakeSM() *fakeSM {
	return &fakeSM{secrets: map[string]*fakeSecret{}, faults: map[string][]fakeFault{}}
}

// newClient returns a real Secrets Manager client whose transport is f. The standard retryer is kept, with
// no backoff wait, so that throttling and lost responses are retried by the SDK as in production.
func newClient(f *fakeSM, optFns ...func(*sm.Options)) *sm.Client {
	return sm.New(sm.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "fake-secret-access-key", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   f,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	}, optFns...)
}

func (f *fakeSM) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager.")
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return f.respond(req, 400, errBody("SerializationException", "bad JSON"))
	}
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{Op: op, In: in})
	hook := f.hook
	var fault *fakeFault
	if q := f.faults[op]; len(q) > 0 {
		fault, f.faults[op] = &q[0], q[1:]
	}
	f.mu.Unlock()

	if hook != nil {
		hook(op, in)
	}
	if fault != nil && !fault.afterApply {
		return f.respond(req, fault.status, errBody(fault.errType, "injected"))
	}
	f.mu.Lock()
	status, out := f.handle(op, in)
	f.mu.Unlock()
	if fault != nil {
		return f.respond(req, fault.status, errBody(fault.errType, "injected after apply"))
	}
	return f.respond(req, status, out)
}

func (f *fakeSM) respond(req *http.Request, status int, out any) (*http.Response, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", "fake-request-id")
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Header: h, Request: req,
		Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)),
	}, nil
}

func errBody(typ, msg string) map[string]any { return map[string]any{"__type": typ, "message": msg} }

func str(in map[string]any, k string) string { s, _ := in[k].(string); return s }

// handle runs one operation; f.mu is held.
func (f *fakeSM) handle(op string, in map[string]any) (int, any) {
	switch op {
	case "GetSecretValue":
		s := f.lookup(str(in, "SecretId"))
		if s == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}
		if s.deleted {
			return 400, errBody("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
		}
		var ver *fakeVersion
		if id := str(in, "VersionId"); id != "" {
			ver = s.version(id)
		} else {
			stage := str(in, "VersionStage")
			if stage == "" {
				stage = currentStage
			}
			ver = s.withStage(stage)
		}
		if ver == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret value.")
		}
		return 200, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": ver.id, "SecretString": ver.value,
			"VersionStages": slices.Clone(ver.stages), "CreatedDate": 1.7e9}

	case "DescribeSecret":
		s := f.lookup(str(in, "SecretId"))
		if s == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}
		out := map[string]any{"ARN": s.arn, "Name": s.name}
		if s.deleted {
			out["DeletedDate"] = 1.7e9
		}
		return 200, out

	case "CreateSecret":
		token := str(in, "ClientRequestToken")
		if n := len(token); n < 32 || n > 64 {
			return 400, errBody("ValidationException", "ClientRequestToken length")
		}
		name := str(in, "Name")
		if s := f.secrets[name]; s != nil {
			if s.deleted {
				return 400, errBody("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
			}
			if v := s.version(token); v != nil && v.value == str(in, "SecretString") {
				return 200, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id}
			}
			return 400, errBody("ResourceExistsException", "The operation failed because the secret "+name+" already exists.")
		}
		s := &fakeSecret{name: name, arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf",
			kmsKeyID: str(in, "KmsKeyId"), description: str(in, "Description")}
		if tags, ok := in["Tags"].([]any); ok {
			for _, t := range tags {
				s.tags = append(s.tags, t.(map[string]any))
			}
		}
		s.versions = []*fakeVersion{{id: token, value: str(in, "SecretString"), stages: []string{currentStage}}}
		f.secrets[name] = s
		f.versions++
		return 200, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": token}

	case "PutSecretValue":
		s := f.lookup(str(in, "SecretId"))
		if s == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}
		if s.deleted {
			return 400, errBody("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
		}
		token := str(in, "ClientRequestToken")
		if n := len(token); n < 32 || n > 64 {
			return 400, errBody("ValidationException", "ClientRequestToken length")
		}
		if v := s.version(token); v != nil {
			if v.value != str(in, "SecretString") {
				return 400, errBody("ResourceExistsException", "A resource with the ID you requested already exists.")
			}
			return 200, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id, "VersionStages": slices.Clone(v.stages)}
		}
		stages := []string{currentStage}
		if raw, ok := in["VersionStages"].([]any); ok && len(raw) > 0 {
			stages = nil
			for _, st := range raw {
				stages = append(stages, st.(string))
			}
		}
		v := &fakeVersion{id: token, value: str(in, "SecretString")}
		s.versions = append(s.versions, v)
		for _, st := range stages {
			s.moveStage(st, v)
		}
		f.versions++
		return 200, map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id, "VersionStages": slices.Clone(v.stages)}

	case "DeleteSecret":
		s := f.lookup(str(in, "SecretId"))
		if s == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}
		if force, _ := in["ForceDeleteWithoutRecovery"].(bool); force {
			delete(f.secrets, s.name)
		} else {
			s.deleted = true
		}
		return 200, map[string]any{"ARN": s.arn, "Name": s.name, "DeletionDate": 1.7e9}

	case "UpdateSecretVersionStage":
		s := f.lookup(str(in, "SecretId"))
		if s == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		}
		stage, to, from := str(in, "VersionStage"), str(in, "MoveToVersionId"), str(in, "RemoveFromVersionId")
		target := s.version(to)
		if target == nil {
			return 400, errBody("ResourceNotFoundException", "Secrets Manager can't find the specified secret version.")
		}
		if holder := s.withStage(stage); holder != nil && holder != target && holder.id != from {
			return 400, errBody("InvalidParameterException", "The staging label "+stage+" is currently attached to version "+holder.id+", but you have specified a different version to remove it from.")
		}
		s.moveStage(stage, target)
		return 200, map[string]any{"ARN": s.arn, "Name": s.name}
	}
	return 400, errBody("UnknownOperationException", op)
}

func (f *fakeSM) lookup(id string) *fakeSecret {
	if s := f.secrets[id]; s != nil {
		return s
	}
	for _, s := range f.secrets {
		if s.arn == id {
			return s
		}
	}
	return nil
}

func (s *fakeSecret) version(id string) *fakeVersion {
	for _, v := range s.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (s *fakeSecret) withStage(stage string) *fakeVersion {
	for _, v := range s.versions {
		if slices.Contains(v.stages, stage) {
			return v
		}
	}
	return nil
}

// moveStage attaches stage to v, removing it from any other version; moving AWSCURRENT moves AWSPREVIOUS to
// the version it left, as Secrets Manager does.
func (s *fakeSecret) moveStage(stage string, v *fakeVersion) {
	old := s.withStage(stage)
	if old == v {
		return
	}
	if old != nil {
		old.stages = slices.DeleteFunc(old.stages, func(x string) bool { return x == stage })
	}
	v.stages = append(v.stages, stage)
	if stage == currentStage && old != nil {
		s.moveStage("AWSPREVIOUS", old)
	}
}

// Test helpers.

// seed stores a secret with one current version, as an operator or an earlier run would have; it does not
// count as a write.
func (f *fakeSM) seed(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("seed-%032d", len(f.secrets))
	f.secrets[name] = &fakeSecret{name: name, arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf",
		versions: []*fakeVersion{{id: id, value: value, stages: []string{currentStage}}}}
	return id
}

// putCurrent stores a new current version directly, as a writer that does not compare and swap would.
func (f *fakeSM) putCurrent(name, id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	v := &fakeVersion{id: id, value: value}
	s.versions = append(s.versions, v)
	s.moveStage(currentStage, v)
}

// addVersion stores a version with no staging label (an earlier run's pending version, for example).
func (f *fakeSM) addVersion(name, id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	s.versions = append(s.versions, &fakeVersion{id: id, value: value})
}

func (f *fakeSM) scheduleDeletion(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name].deleted = true
}

// current returns the AWSCURRENT value of a secret ("" if none).
func (f *fakeSM) current(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.secrets[name]; s != nil {
		if v := s.withStage(currentStage); v != nil {
			return v.value
		}
	}
	return ""
}

// writes returns the number of versions created by requests.
func (f *fakeSM) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.versions
}

func (f *fakeSM) setHook(h func(op string, in map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeSM) failNext(op, errType string, status int, afterApply bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = append(f.faults[op], fakeFault{errType: errType, status: status, afterApply: afterApply})
}

// callsOf returns the recorded requests of op (all requests if op is "").
func (f *fakeSM) callsOf(op string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSM) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// stageJSON renders an AppConfig as the operator would fill the stage secret.
func stageJSON(t testing.TB, c stageFields) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type stageFields map[string]string
