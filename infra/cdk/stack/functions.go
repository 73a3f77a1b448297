package stack

import (
	"strings"
	"time"
)

// AppName prefixes the stack, the secrets and the named resources of every stage.
const AppName = "wa-onboarding"

// Function describes one Lambda function of the bundle: its directory under functions/ (and build/), and its
// default sizing. Stages may override MemoryMB (StageConfig.MemoryMB).
type Function struct {
	// Name is the directory under functions/ and build/, and the suffix of the deployed function name.
	Name string
	// Description is the deployed function's description.
	Description string
	// Timeout is the function timeout.
	Timeout time.Duration
	// MemoryMB is the default memory size.
	MemoryMB int

	access access
}

// secretAccess is what a function may do with the per-WABA secrets.
type secretAccess int

const (
	wabaNone secretAccess = iota
	wabaRead
	wabaWrite
)

// access lists what a function may touch; the stack derives both its IAM policy and its environment from it,
// so a function cannot be given a resource name without the permission or the permission without the name.
type access struct {
	table          bool         // GetItem, PutItem, UpdateItem, DeleteItem, Query on the table and its GSIs
	stageSecret    bool         // read the stage secret
	wabaSecrets    secretAccess // read, or read and write, the per-WABA secrets
	startExecution bool         // states:StartExecution on the state machine
	sendTaskResult bool         // states:SendTaskSuccess/SendTaskFailure: resume the test-message waits
	queueSend      bool         // sqs:SendMessage to the webhook queue
	queueConsume   bool         // the webhook queue is this function's event source
	putEvents      bool         // events:PutEvents on the partner event bus
}

// Functions lists every function the stack deploys. The six workflow functions are the ones
// shared/workflow.Functions names; the tests check that the two lists agree.
//
// Timeouts: api stays under API Gateway's 30-second integration limit; each workflow function times out
// before the Task state that runs it (45 s for Graph steps, 30 s for record_outcome), so a slow run surfaces
// as a Lambda error the state's retriers handle rather than as a States.Timeout racing a still-running
// function; the worker's 60 s sets the queue's visibility timeout (6x).
var Functions = []Function{
	{Name: "api", Description: "HTTP API: POST /signup, GET /onboardings/{id}, POST /onboardings/{id}/retry, GET /healthz",
		Timeout: 29 * time.Second, MemoryMB: 512,
		access: access{table: true, stageSecret: true, wabaSecrets: wabaWrite, startExecution: true, putEvents: true}},
	{Name: "webhook", Description: "GET/POST /webhooks: Meta's handshake; verifies the signature and enqueues each change",
		Timeout: 10 * time.Second, MemoryMB: 256,
		access: access{stageSecret: true, queueSend: true}},
	{Name: "webhook_worker", Description: "Consumes the webhook queue: dedupe, correlation, resumes task tokens, publishes partner events",
		Timeout: 60 * time.Second, MemoryMB: 256,
		access: access{table: true, sendTaskResult: true, queueConsume: true, putEvents: true}},
	{Name: "subscribe_webhooks", Description: "Workflow step: subscribe the app to the WABA's webhooks",
		Timeout: 30 * time.Second, MemoryMB: 256,
		access: access{table: true, stageSecret: true, wabaSecrets: wabaRead}},
	{Name: "share_credit_line", Description: "Workflow step: share the partner's credit line with the WABA",
		Timeout: 30 * time.Second, MemoryMB: 256,
		access: access{table: true, stageSecret: true}},
	{Name: "register_phone", Description: "Workflow step: register the phone number for Cloud API",
		Timeout: 30 * time.Second, MemoryMB: 256,
		access: access{table: true, wabaSecrets: wabaWrite}},
	{Name: "send_test_message", Description: "Workflow step: reply to the tester's message",
		Timeout: 30 * time.Second, MemoryMB: 256,
		access: access{table: true, wabaSecrets: wabaRead}},
	{Name: "await_webhook", Description: "Workflow step: store the task token of a test-message wait and ask the worker to correlate",
		Timeout: 30 * time.Second, MemoryMB: 256,
		access: access{table: true, queueSend: true}},
	{Name: "record_outcome", Description: "Workflow bookkeeping: record a skipped, failed or completed step",
		Timeout: 25 * time.Second, MemoryMB: 256,
		access: access{table: true, putEvents: true}},
}

func specByName(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// constructID turns a function name into a construct id: "webhook_worker" -> "WebhookWorker".
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
