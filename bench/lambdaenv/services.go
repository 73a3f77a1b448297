package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/waes/onboarding/shared/onboarding"
	store "github.com/waes/onboarding/shared/store/dynamodb"
	"github.com/waes/onboarding/shared/store/dynamodb/dynalitetest"
)

// Dummy AWS credentials: the local servers check none.
const (
	AccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	SecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// Credentials provides the dummy credentials to an SDK client of the local servers.
var Credentials = credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")

// ClientEnv is the environment that points an AWS SDK at the local servers only: the dummy credentials,
// us-east-1, no shared config files (none names a file that does not exist), no instance metadata, and
// each of endpoints ("SQS=http://...") as an AWS_ENDPOINT_URL_ variable.
func ClientEnv(none string, endpoints ...string) []string {
	env := []string{"AWS_ACCESS_KEY_ID=" + AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none}
	for _, e := range endpoints {
		env = append(env, "AWS_ENDPOINT_URL_"+e)
	}
	return env
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitPort waits until addr accepts TCP connections.
func WaitPort(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %s: %w", addr, timeout, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Goaws is a running goaws process (SQS, Query protocol) with one queue.
type Goaws struct {
	URL      string
	QueueURL string
	cmd      *exec.Cmd
	client   *http.Client
}

// StartGoaws runs the goaws binary with the queues named, on a free loopback port; QueueURL is the first's.
func StartGoaws(bin, dir string, queues ...string) (*Goaws, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`Local:
  Host: 127.0.0.1
  Port: %d
  Region: us-east-1
  AccountId: "000000000000"
  LogToFile: false
  QueueAttributeDefaults:
    VisibilityTimeout: 300
    ReceiveMessageWaitTimeSeconds: 0
    MaximumMessageSize: 262144
  Queues:
`, port)
	for _, q := range queues {
		cfg += "    - Name: " + q + "\n"
	}
	path := filepath.Join(dir, "goaws.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-config", path, "Local")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting goaws: %w", err)
	}
	g := &Goaws{URL: "http://127.0.0.1:" + strconv.Itoa(port), QueueURL: fmt.Sprintf("http://127.0.0.1:%d/000000000000/%s", port, queues[0]),
		cmd: cmd, client: &http.Client{Timeout: 30 * time.Second}}
	if err := WaitPort("127.0.0.1:"+strconv.Itoa(port), 20*time.Second); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// Close stops goaws.
func (g *Goaws) Close() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
		_ = g.cmd.Wait()
	}
}

// Message is a message received from goaws.
type Message struct {
	MessageId, ReceiptHandle, MD5OfBody, Body string
}

// Receive takes up to max (≤ 10) messages off the queue.
func (g *Goaws) Receive(max int) ([]Message, error) {
	var out struct {
		Result struct {
			Messages []Message `xml:"Message"`
		} `xml:"ReceiveMessageResult"`
	}
	err := postQuery(g.client, g.URL, url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {g.QueueURL},
		"MaxNumberOfMessages": {strconv.Itoa(max)}, "VisibilityTimeout": {"300"}}, &out)
	return out.Result.Messages, err
}

// Purge empties the queue named.
func (g *Goaws) Purge(queue string) error {
	return postQuery(g.client, g.URL, url.Values{"Action": {"PurgeQueue"}, "QueueUrl": {g.URL + "/000000000000/" + queue}}, nil)
}

// Dynalite is dynalite with a table of the project's schema, behind a counting proxy: the functions talk
// to the proxy, which asks dynalite for the consumed capacity of every request it can report it for.
type Dynalite struct {
	// URL is the proxy's base URL (AWS_ENDPOINT_URL_DYNAMODB).
	URL    string
	server *dynalitetest.Server
	srv    *http.Server
}

// StartDynalite launches dynalite (the repository's node_modules), creates table with the project's
// schema, and serves the counting proxy.
func StartDynalite(ctx context.Context, table string, count *Counter) (*Dynalite, error) {
	s, err := dynalitetest.Launch()
	if err != nil {
		return nil, err
	}
	if err := store.CreateTable(ctx, dynamoClient(s.Endpoint), table); err != nil {
		s.Close()
		return nil, fmt.Errorf("creating the table: %w", err)
	}
	target, _ := url.Parse(s.Endpoint)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	d := &Dynalite{URL: "http://" + ln.Addr().String(), server: s}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	rp.ModifyResponse = func(resp *http.Response) error {
		op, _ := resp.Request.Context().Value(opKey{}).(string)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		switch {
		case resp.StatusCode == 200:
			rcu, wcu := capacity(op, b)
			count.addCapacity(rcu, wcu)
		case bytes.Contains(b, []byte("ConditionalCheckFailed")):
			// DynamoDB bills a refused conditional write as a write of the item (one unit up to 1 KB);
			// dynalite's error answer carries no capacity.
			count.addCapacity(0, 1)
			count.add("DynamoDB."+op+".conditionFailed", 1)
		}
		return nil
	}
	d.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		count.add("DynamoDB."+op, 1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b = withConsumedCapacity(op, b)
		// The body changed, so the SigV4 signature no longer matches; dynalite does not check signatures.
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		r = r.WithContext(context.WithValue(r.Context(), opKey{}, op))
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = d.srv.Serve(ln) }()
	return d, nil
}

type opKey struct{}

// Close stops the proxy and dynalite.
func (d *Dynalite) Close() {
	_ = d.srv.Close()
	d.server.Close()
}

// reportsCapacity are the operations dynalite answers with ConsumedCapacity when asked.
var reportsCapacity = map[string]bool{"GetItem": true, "PutItem": true, "UpdateItem": true, "DeleteItem": true,
	"BatchGetItem": true, "BatchWriteItem": true}

func withConsumedCapacity(op string, body []byte) []byte {
	if !reportsCapacity[op] {
		return body
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	m["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// capacity reads the request units of one answer: dynalite's ConsumedCapacity where it reports it. A Query
// (which dynalite reports as 0) is billed as DynamoDB bills an eventually consistent read, the only kind an
// index allows: half a unit per started 4 KB of the items returned, at least one 4 KB.
func capacity(op string, body []byte) (rcu, wcu float64) {
	var out struct {
		ConsumedCapacity json.RawMessage
		Items            []json.RawMessage
	}
	if json.Unmarshal(body, &out) != nil {
		return 0, 0
	}
	if op == "Query" {
		n := 0
		for _, it := range out.Items {
			n += len(it)
		}
		return 0.5 * math.Max(1, math.Ceil(float64(n)/4096)), 0
	}
	units := 0.0
	if len(out.ConsumedCapacity) > 0 {
		var one struct{ CapacityUnits float64 }
		var many []struct{ CapacityUnits float64 }
		if json.Unmarshal(out.ConsumedCapacity, &one) == nil {
			units = one.CapacityUnits
		} else if json.Unmarshal(out.ConsumedCapacity, &many) == nil {
			for _, c := range many {
				units += c.CapacityUnits
			}
		}
	}
	switch op {
	case "GetItem", "BatchGetItem", "Scan":
		return units, 0
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
		return 0, units
	}
	return 0, 0
}

// CompletedOnboarding is a completed onboarding of the WABA and phone, as a partner's store holds one for
// every number it receives webhooks for (so that the worker's correlation lookup finds a record, as it does
// in production).
func CompletedOnboarding(waba, phone string) *onboarding.Record {
	rec := onboarding.NewRecord(onboarding.NewRecordInput{
		ID: onboarding.NewID(), WABAID: waba, PhoneNumberID: phone, Event: onboarding.EventFinish, Currency: "USD", Now: time.Now(),
	})
	rec.Status = onboarding.StatusCompleted
	return rec
}

// SeedCompletedOnboarding stores a CompletedOnboarding in the table behind url.
func SeedCompletedOnboarding(ctx context.Context, url, table, waba, phone string) error {
	if err := store.New(dynamoClient(url), table).Create(ctx, CompletedOnboarding(waba, phone)); err != nil {
		return fmt.Errorf("seeding the onboarding of %s: %w", phone, err)
	}
	return nil
}

// dynamoClient is a DynamoDB client of endpoint, with dummy credentials.
func dynamoClient(endpoint string) *ddb.Client {
	return ddb.New(ddb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: Credentials})
}
