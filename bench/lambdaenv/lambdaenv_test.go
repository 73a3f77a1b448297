package lambdaenv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestCapacity(t *testing.T) {
	tests := []struct {
		name, op, body string
		rcu, wcu       float64
	}{
		{"get reported", "GetItem", `{"Item":{},"ConsumedCapacity":{"CapacityUnits":1,"TableName":"t"}}`, 1, 0},
		{"put reported", "PutItem", `{"ConsumedCapacity":{"CapacityUnits":2}}`, 0, 2},
		{"batch write as a list", "BatchWriteItem", `{"ConsumedCapacity":[{"CapacityUnits":1},{"CapacityUnits":3}]}`, 0, 4},
		{"empty query bills half a unit", "Query", `{"Items":[],"ConsumedCapacity":{"CapacityUnits":0}}`, 0.5, 0},
		{"query of 5000 bytes bills two half units", "Query", `{"Items":[{"a":{"S":"` + pad(5000) + `"}}]}`, 1, 0},
		{"not JSON", "GetItem", `nope`, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcu, wcu := capacity(tt.op, []byte(tt.body))
			if rcu != tt.rcu || wcu != tt.wcu {
				t.Errorf("capacity(%s): got %v RCU %v WCU, want %v and %v", tt.op, rcu, wcu, tt.rcu, tt.wcu)
			}
		})
	}
}

func pad(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func TestWithConsumedCapacity(t *testing.T) {
	got := withConsumedCapacity("PutItem", []byte(`{"TableName":"t"}`))
	var m map[string]string
	if err := json.Unmarshal(got, &m); err != nil || m["ReturnConsumedCapacity"] != "TOTAL" || m["TableName"] != "t" {
		t.Errorf("PutItem: got %s, want the request with ReturnConsumedCapacity TOTAL", got)
	}
	if got, want := string(withConsumedCapacity("DescribeTable", []byte(`{"TableName":"t"}`))), `{"TableName":"t"}`; got != want {
		t.Errorf("DescribeTable: got %s, want %s unchanged", got, want)
	}
}

func TestSyncBufferPlatformLines(t *testing.T) {
	var b syncBuffer
	b.keep = 1 << 20
	for _, chunk := range []string{"START RequestId: 1 Version: $LATEST\n{\"msg\":\"web", "hook taken\"}\nEND Req", "uestId: 1\nREPORT RequestId: 1\tDuration: 1 ms\n"} {
		if _, err := b.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.total-b.platform, int64(len("{\"msg\":\"webhook taken\"}\n")); got != want {
		t.Errorf("function bytes: got %d, want %d (total %d, platform %d)", got, want, b.total, b.platform)
	}
}

func TestAPIGatewayTemplateSignsTheBody(t *testing.T) {
	tpl, err := LoadAPIGatewayEvent(filepath.Join("..", "..", "events", "apigw", "post_webhooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	ev, err := tpl.With(body, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(ev, &got); err != nil {
		t.Fatal(err)
	}
	if got.Body != string(body) || got.Headers["content-length"] != strconv.Itoa(len(body)) {
		t.Errorf("got body %q, content-length %q; want the new body and its length", got.Body, got.Headers["content-length"])
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	if got, want := got.Headers["x-hub-signature-256"], "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("x-hub-signature-256: got %q, want %q", got, want)
	}
}

func TestReadStatOfThisProcess(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if got, want := st.PPID, os.Getppid(); got != want {
		t.Errorf("PPID: got %d, want %d", got, want)
	}
	if _, err := PeakRSS(os.Getpid()); err != nil {
		t.Errorf("PeakRSS: %v", err)
	}
}

func TestSnapshotSub(t *testing.T) {
	c := NewCounter()
	c.add("SQS.SendMessageBatch", 1)
	before := c.Snapshot()
	c.add("SQS.SendMessageBatch", 2)
	c.add("DynamoDB.GetItem", 1)
	c.addCapacity(0.5, 1)
	c.addSQSBilled(100 << 10)
	d := c.Snapshot().Sub(before)
	if d.Calls["SQS.SendMessageBatch"] != 2 || d.Service("DynamoDB") != 1 || d.RCU != 0.5 || d.WCU != 1 || d.SQSBilled != 2 {
		t.Errorf("got %+v, want 2 SendMessageBatch, 1 GetItem, 0.5 RCU, 1 WCU, 2 billed SQS requests (100 KB)", d)
	}
}
