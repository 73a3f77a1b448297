package main

// AWS list prices, us-east-1, as known on PricesAsOf from AWS's public pricing pages (Lambda, API Gateway,
// SQS, DynamoDB, Step Functions, EventBridge, Secrets Manager, CloudWatch, X-Ray). They were not fetched
// (this machine cannot browse): they are the list prices as last known and must be re-checked against the
// pricing pages before a figure here is quoted. First tiers only; free tiers are ignored (they matter only
// for tiny volumes).
const (
	PricesAsOf = "2026-12-04"

	// Lambda, arm64: per GB-second (first 7.5 billion GB-s a month) and per request.
	LambdaGBSecondARM = 0.0000133334
	// Lambda, x86_64, per GB-second (for a template that does not say arm64).
	LambdaGBSecondX86 = 0.0000166667
	LambdaRequest     = 0.20 / 1e6

	// API Gateway HTTP API, per request (first 300 million a month); metered in 512 KB steps.
	HTTPAPIRequest      = 1.00 / 1e6
	HTTPAPIMeteredBytes = 512 << 10

	// SQS standard queue, per request; each 64 KB of a request's payload is billed as one request.
	SQSRequest      = 0.40 / 1e6
	SQSMeteredBytes = 64 << 10

	// DynamoDB on-demand, per write and read request unit.
	DynamoDBWRU = 0.625 / 1e6
	DynamoDBRRU = 0.125 / 1e6

	// Step Functions standard workflows, per state transition.
	StepFunctionsTransition = 0.025 / 1000

	// EventBridge custom events, per event (64 KB each).
	EventBridgeEvent = 1.00 / 1e6

	// Secrets Manager: per secret per month, and per API call.
	SecretMonth = 0.40
	SecretCall  = 0.05 / 10000

	// CloudWatch Logs (standard class): ingestion per GB, storage per GB-month. Storage is billed on the
	// gzip-compressed size plus 26 bytes of metadata per event; the model assumes JSON lines compress to
	// LogsStoredFraction of their size.
	LogsIngestGB       = 0.50
	LogsStoreGBMo      = 0.03
	LogsStoredFraction = 0.2
	LogsEventMetadata  = 26

	// KMS, per request: the secrets are encrypted with the stage's customer managed key, so each Secrets
	// Manager read or write makes one KMS call.
	KMSRequest = 0.03 / 10000

	// X-Ray, per trace recorded.
	XRayTrace = 5.00 / 1e6
)

// Latencies assumed for the calls a function waits on when deployed (the local servers answer in well
// under a millisecond, AWS's endpoints and Meta's Graph API do not). Typical same-region figures; the
// billed duration of a function is its CPU time at its memory's CPU share plus these waits.
const (
	LatencySQSSendMs     = 8.0
	LatencyDynamoDBMs    = 5.0
	LatencyEventBridgeMs = 15.0
	LatencySecretsMs     = 15.0
	LatencyStepFnMs      = 20.0
	LatencyGraphMs       = 300.0
)

// Sizes of log lines the model assumes where it has no measurement.
const (
	// sfnLogEventBytes is one Step Functions execution log event at level ALL without execution data.
	sfnLogEventBytes = 350
	// esmRequestsPerBatch: the SQS event source receives a batch (ReceiveMessage) and deletes what
	// succeeded (DeleteMessageBatch).
	esmRequestsPerBatch = 2
)
