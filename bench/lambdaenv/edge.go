// Package lambdaenv runs the project's Lambda functions (and the Node.js peer) the way Lambda runs them, on
// this machine: AWS's Runtime Interface Emulator for the runtime, dynalite for DynamoDB, goaws for SQS, and
// a small stand-in at the network edge for the services with no local server (Secrets Manager, EventBridge,
// Step Functions). Every AWS request the functions make passes through this package's servers, which count
// them by service and operation (and DynamoDB's capacity units) for the cost model.
package lambdaenv

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Counter counts AWS requests by "Service.Operation", plus DynamoDB's consumed capacity units and SQS's
// billed requests (one per started 64 KiB of payload). Safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	calls  map[string]int64
	rcu    float64
	wcu    float64
	sqsReq int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{calls: map[string]int64{}} }

func (c *Counter) add(op string, n int64) {
	c.mu.Lock()
	c.calls[op] += n
	c.mu.Unlock()
}

func (c *Counter) addCapacity(rcu, wcu float64) {
	c.mu.Lock()
	c.rcu += rcu
	c.wcu += wcu
	c.mu.Unlock()
}

func (c *Counter) addSQSBilled(payloadBytes int) {
	c.mu.Lock()
	c.sqsReq += int64(max(1, (payloadBytes+(64<<10)-1)/(64<<10)))
	c.mu.Unlock()
}

// Snapshot is a Counter's state at one moment.
type Snapshot struct {
	Calls map[string]int64 `json:"calls"`
	// RCU and WCU are DynamoDB's read and write request units as the server reported them (on-demand billing).
	RCU float64 `json:"rcu"`
	WCU float64 `json:"wcu"`
	// SQSBilled is SQS's billed requests: each API request counts once per started 64 KiB of payload.
	SQSBilled int64 `json:"sqs_billed"`
}

// Snapshot copies the counts.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Snapshot{Calls: maps.Clone(c.calls), RCU: c.rcu, WCU: c.wcu, SQSBilled: c.sqsReq}
}

// Sub returns s minus an earlier snapshot.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	m := map[string]int64{}
	for k, v := range s.Calls {
		if d := v - prev.Calls[k]; d != 0 {
			m[k] = d
		}
	}
	return Snapshot{Calls: m, RCU: s.RCU - prev.RCU, WCU: s.WCU - prev.WCU, SQSBilled: s.SQSBilled - prev.SQSBilled}
}

// Service sums the calls of one service ("SQS", "DynamoDB", ...).
func (s Snapshot) Service(name string) int64 {
	var n int64
	for k, v := range s.Calls {
		if strings.HasPrefix(k, name+".") {
			n += v
		}
	}
	return n
}

// Edge is the local stand-in at the network edge: an HTTP server speaking the AWS JSON protocol of SQS
// (translated to goaws's Query protocol and forwarded, so the messages are really queued), Secrets Manager
// (GetSecretValue of the secrets it is given), EventBridge (PutEvents) and Step Functions (StartExecution,
// SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat). The same URL serves all four: the X-Amz-Target
// header tells them apart, as it does on AWS.
type Edge struct {
	// URL is the base URL to give AWS_ENDPOINT_URL_SQS, _SECRETS_MANAGER, _EVENTBRIDGE and _SFN.
	URL string
	// Count counts every request served.
	Count *Counter

	goaws   string
	secrets map[string]string
	srv     *http.Server
	client  *http.Client
	seq     atomic.Int64
}

// StartEdge serves the edge on a free loopback port. goawsURL is goaws's base URL; secrets maps secret ids
// (names) to their SecretString.
func StartEdge(goawsURL string, secrets map[string]string, count *Counter) (*Edge, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("edge: listening: %w", err)
	}
	e := &Edge{
		URL: "http://" + ln.Addr().String(), Count: count, goaws: goawsURL, secrets: secrets,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// Close stops the server.
func (e *Edge) Close() { _ = e.srv.Close() }

type awsError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *Edge) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, 400, awsError{"SerializationException", err.Error()})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	svc, op, _ := strings.Cut(target, ".")
	switch svc {
	case "AmazonSQS":
		e.Count.add("SQS."+op, 1)
		e.Count.addSQSBilled(len(body))
		e.sqs(w, op, body)
	case "secretsmanager":
		e.Count.add("SecretsManager."+op, 1)
		e.secretsManager(w, op, body)
	case "AWSEvents":
		e.Count.add("EventBridge."+op, 1)
		e.eventBridge(w, op, body)
	case "AWSStepFunctions":
		e.Count.add("StepFunctions."+op, 1)
		e.stepFunctions(w, op, body)
	default:
		writeJSON(w, 400, awsError{"UnknownOperationException", "the edge does not serve " + target})
	}
}

func (e *Edge) secretsManager(w http.ResponseWriter, op string, body []byte) {
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, 400, awsError{"SerializationException", err.Error()})
		return
	}
	v, ok := e.secrets[in.SecretId]
	if !ok || (op != "GetSecretValue" && op != "DescribeSecret") {
		writeJSON(w, 400, awsError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret."})
		return
	}
	arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + in.SecretId + "-AbCdEf"
	if op == "DescribeSecret" {
		writeJSON(w, 200, map[string]any{"ARN": arn, "Name": in.SecretId})
		return
	}
	writeJSON(w, 200, map[string]any{
		"ARN": arn, "Name": in.SecretId, "SecretString": v, "VersionId": "00000000-0000-0000-0000-000000000001",
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
}

func (e *Edge) eventBridge(w http.ResponseWriter, op string, body []byte) {
	var in struct{ Entries []json.RawMessage }
	if op != "PutEvents" || json.Unmarshal(body, &in) != nil {
		writeJSON(w, 400, awsError{"ValidationException", "only PutEvents is served"})
		return
	}
	e.Count.add("EventBridge.PutEvents.entries", int64(len(in.Entries)))
	out := make([]map[string]string, len(in.Entries))
	for i := range out {
		out[i] = map[string]string{"EventId": strconv.FormatInt(e.seq.Add(1), 10)}
	}
	writeJSON(w, 200, map[string]any{"FailedEntryCount": 0, "Entries": out})
}

func (e *Edge) stepFunctions(w http.ResponseWriter, op string, body []byte) {
	switch op {
	case "StartExecution":
		var in struct{ StateMachineArn, Name string }
		_ = json.Unmarshal(body, &in)
		arn := strings.Replace(in.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
		writeJSON(w, 200, map[string]any{"executionArn": arn, "startDate": float64(time.Now().Unix())})
	case "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat":
		writeJSON(w, 200, map[string]any{})
	default:
		writeJSON(w, 400, awsError{"UnknownOperationException", op + " is not served"})
	}
}

// sqs translates the JSON protocol's SendMessage and SendMessageBatch (what the functions call) to goaws's
// Query protocol, and its XML answers back to JSON.
func (e *Edge) sqs(w http.ResponseWriter, op string, body []byte) {
	switch op {
	case "SendMessage":
		var in struct{ QueueUrl, MessageBody string }
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSON(w, 400, awsError{"SerializationException", err.Error()})
			return
		}
		form := url.Values{"Action": {"SendMessage"}, "QueueUrl": {e.goawsQueue(in.QueueUrl)}, "MessageBody": {in.MessageBody}}
		var out struct {
			Result struct {
				MessageId string
			} `xml:"SendMessageResult"`
		}
		if err := postQuery(e.client, e.goaws, form, &out); err != nil {
			writeJSON(w, 500, awsError{"InternalFailure", err.Error()})
			return
		}
		writeJSON(w, 200, map[string]string{"MessageId": out.Result.MessageId, "MD5OfMessageBody": md5hex(in.MessageBody)})
	case "SendMessageBatch":
		var in struct {
			QueueUrl string
			Entries  []struct{ Id, MessageBody string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSON(w, 400, awsError{"SerializationException", err.Error()})
			return
		}
		e.Count.add("SQS.SendMessageBatch.entries", int64(len(in.Entries)))
		form := url.Values{"Action": {"SendMessageBatch"}, "QueueUrl": {e.goawsQueue(in.QueueUrl)}}
		for i, en := range in.Entries {
			p := "SendMessageBatchRequestEntry." + strconv.Itoa(i+1)
			form.Set(p+".Id", en.Id)
			form.Set(p+".MessageBody", en.MessageBody)
		}
		var out struct {
			Result struct {
				Entries []struct{ Id, MessageId string } `xml:"SendMessageBatchResultEntry"`
			} `xml:"SendMessageBatchResult"`
		}
		if err := postQuery(e.client, e.goaws, form, &out); err != nil {
			writeJSON(w, 500, awsError{"InternalFailure", err.Error()})
			return
		}
		bodies := map[string]string{}
		for _, en := range in.Entries {
			bodies[en.Id] = en.MessageBody
		}
		ok := make([]map[string]string, 0, len(out.Result.Entries))
		for _, en := range out.Result.Entries {
			ok = append(ok, map[string]string{"Id": en.Id, "MessageId": en.MessageId, "MD5OfMessageBody": md5hex(bodies[en.Id])})
		}
		writeJSON(w, 200, map[string]any{"Successful": ok, "Failed": []any{}})
	default:
		writeJSON(w, 400, awsError{"UnsupportedOperation", op + " is not translated"})
	}
}

// QueueURL is the URL the functions are given for the queue named name: on the edge's host, as a queue URL
// is on SQS's endpoint on AWS (the Node.js SDK sends to the queue URL's host by default).
func (e *Edge) QueueURL(name string) string { return e.URL + "/000000000000/" + name }

// goawsQueue maps a queue URL of the edge to goaws's URL of the same queue.
func (e *Edge) goawsQueue(q string) string {
	u, err := url.Parse(q)
	if err != nil {
		return q
	}
	return e.goaws + u.Path
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// postQuery posts a Query-protocol request to goaws at base and decodes its XML answer into out.
func postQuery(client *http.Client, base string, form url.Values, out any) error {
	resp, err := client.Post(base+"/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("goaws %s: %w", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("goaws %s: reading the answer: %w", form.Get("Action"), err)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("goaws %s: %s: %s", form.Get("Action"), resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("goaws %s: decoding the answer: %w", form.Get("Action"), err)
	}
	return nil
}
