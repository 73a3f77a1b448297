// Package catalog is the one list of the bundle's Lambda functions and what each may touch. It is data
// only, with no AWS or CDK imports: the functions' main packages load their configuration from it, the CDK
// stack derives each function's IAM policy, environment, timeout and memory from it, and the workflow's
// definition substitutions and the local runner's handlers follow its placeholders.
package catalog

import "fmt"

// SecretAccess is what a function may do with the per-WABA secrets.
type SecretAccess int

// Per-WABA secret access levels.
const (
	WABANone SecretAccess = iota
	// WABARead reads the per-WABA secrets.
	WABARead
	// WABAWrite reads, creates and rotates them.
	WABAWrite
	// WABADelete deletes them (the webhook worker, at an offboarding), without reading their values.
	WABADelete
)

// Events is whether a function publishes partner events on the stage's event bus.
type Events int

// Partner event publishing levels.
const (
	EventsNone Events = iota
	// EventsIfConfigured: the function may publish and is given the bus, but starts without one (it then
	// publishes nothing).
	EventsIfConfigured
	// EventsRequired: the function fails its cold start without the bus.
	EventsRequired
)

// Needs lists the resources a function may touch. The stack grants exactly these, and sets the
// environment variable naming each resource only for the functions that need it; the function's cold start
// fails when one of them is missing (except the bus with EventsIfConfigured).
type Needs struct {
	// Table: read and write items of the stage table and query its indexes.
	Table bool
	// TableScan: also scan the WABA index (gsi2), to list every onboarded WABA (the token health check).
	TableScan bool
	// StageSecret: read the stage secret (the Meta app configuration).
	StageSecret bool
	// WABASecrets: read, or read and write, the per-WABA secrets.
	WABASecrets SecretAccess
	// StartExecution: start executions of the state machine.
	StartExecution bool
	// SendTaskResult: resume the state machine's task-token waits (SendTaskSuccess and SendTaskFailure).
	SendTaskResult bool
	// SendTaskSuccess: resume a task-token wait with SendTaskSuccess only (the phone verification wait,
	// resumed by the API once Meta accepted the code; it never fails a wait).
	SendTaskSuccess bool
	// QueueSend: send messages to the webhook queue.
	QueueSend bool
	// QueueConsume: the webhook queue is the function's event source.
	QueueConsume bool
	// Events: publish partner events.
	Events Events
}

// StateMachine reports whether the function calls the state machine, and so needs its ARN.
func (n Needs) StateMachine() bool { return n.StartExecution || n.SendTaskResult || n.SendTaskSuccess }

// Function is one Lambda function of the bundle.
type Function struct {
	// Name is the function's directory under functions/ (and build/), the suffix of its deployed name, and
	// its name in the local runner.
	Name string
	// Description is the deployed function's description.
	Description string
	// TimeoutSeconds is the function timeout.
	TimeoutSeconds int
	// MemoryMB is the default memory size (stages may override it): the cheapest size whose p99 stays within
	// 2x of the best, from the CPU per invocation measured under the Lambda emulator (docs/cost.md).
	MemoryMB int
	// Placeholder is the ${...} variable of the workflow definition that names this function's ARN; empty
	// when the workflow does not invoke it.
	Placeholder string
	// Needs is what the function may touch.
	Needs Needs
}

// Functions lists every function the bundle deploys.
//
// Timeouts: api stays under API Gateway's 30-second integration limit; each workflow function times out
// before the Task state that runs it (45 s for Graph steps, 30 s for record_outcome), so a slow run surfaces
// as a Lambda error the state's retriers handle rather than as a States.Timeout racing a still-running
// function; the worker's 60 s sets the queue's visibility timeout (6x).
var Functions = []Function{
	{Name: "api", Description: "HTTP API: POST /signup, GET /onboardings/{id}, POST /onboardings/{id}/retry, phone verification, GET /healthz",
		TimeoutSeconds: 29, MemoryMB: 192,
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABAWrite, StartExecution: true, SendTaskSuccess: true, Events: EventsIfConfigured}},
	{Name: "webhook", Description: "GET/POST /webhooks: Meta's handshake; verifies the signature and enqueues each change",
		TimeoutSeconds: 10, MemoryMB: 128,
		Needs: Needs{StageSecret: true, QueueSend: true}},
	{Name: "webhook_worker", Description: "Consumes the webhook queue: dedupe, correlation, resumes task tokens, publishes partner events",
		TimeoutSeconds: 60, MemoryMB: 128,
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABADelete, SendTaskResult: true, QueueConsume: true, Events: EventsRequired}},
	{Name: "subscribe_webhooks", Description: "Workflow step: subscribe the app to the WABA's webhooks",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "SubscribeWebhooksFunctionArn",
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABARead}},
	{Name: "sync_business_app", Description: "Workflow step: request the one-time contacts and history sync of a WhatsApp Business app number",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "SyncBusinessAppFunctionArn",
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABARead}},
	{Name: "share_credit_line", Description: "Workflow step: share the partner's credit line with the WABA",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "ShareCreditLineFunctionArn",
		Needs: Needs{Table: true, StageSecret: true}},
	{Name: "verify_phone", Description: "Workflow step: check the phone number's code verification status before it is registered",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "VerifyPhoneFunctionArn",
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABARead}},
	{Name: "register_phone", Description: "Workflow step: register the phone number for Cloud API",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "RegisterPhoneFunctionArn",
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABAWrite}},
	{Name: "send_test_message", Description: "Workflow step: reply to the tester's message",
		TimeoutSeconds: 30, MemoryMB: 128, Placeholder: "SendTestMessageFunctionArn",
		Needs: Needs{Table: true, StageSecret: true, WABASecrets: WABARead}},
	{Name: "await_webhook", Description: "Workflow step: store the task token of a wait (test message, phone verification)",
		TimeoutSeconds: 30, MemoryMB: 256, Placeholder: "AwaitWebhookFunctionArn",
		Needs: Needs{Table: true, QueueSend: true}},
	{Name: "record_outcome", Description: "Workflow bookkeeping: record a skipped, failed or completed step",
		TimeoutSeconds: 25, MemoryMB: 128, Placeholder: "RecordOutcomeFunctionArn",
		Needs: Needs{Table: true, Events: EventsIfConfigured}},
	{Name: "token_health", Description: "Scheduled: debug_token on every business token and the system token; token events, reauth_required",
		TimeoutSeconds: 900, MemoryMB: 256,
		Needs: Needs{Table: true, TableScan: true, StageSecret: true, WABASecrets: WABARead, Events: EventsRequired}},
}

// Find returns the function named name.
func Find(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Lookup returns the function named name; it panics when there is none, since the names are compiled in
// (a main package or the stack naming an unknown function is a programming error).
func Lookup(name string) Function {
	f, ok := Find(name)
	if !ok {
		panic(fmt.Sprintf("catalog: no function %q", name))
	}
	return f
}

// Workflow returns the functions the workflow definition invokes, in catalog order.
func Workflow() []Function {
	var out []Function
	for _, f := range Functions {
		if f.Placeholder != "" {
			out = append(out, f)
		}
	}
	return out
}
