// Package stack defines the CloudFormation stack of one stage of the WhatsApp Embedded Signup onboarding
// bundle: the HTTP API, the Lambda functions, the Standard state machine of shared/workflow, the DynamoDB
// table of shared/store/dynamodb, the stage secret and its KMS key, the webhook queue, the partner event bus,
// the data key encrypting the table, the queues and the bus, and the alarms and dashboard an operator
// watches.
//
// It lives under infra/cdk, apart from shared/ and functions/, so Lambda builds and unit tests never compile
// the CDK.
package stack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
	ddbschema "github.com/waes/onboarding/shared/store/dynamodb/schema"
	"github.com/waes/onboarding/shared/workflow"
)

// AppName prefixes the stack, the secrets and the named resources of every stage.
const AppName = "wa-onboarding"

// OnboardingStackProps configure NewOnboardingStack.
type OnboardingStackProps struct {
	awscdk.StackProps
	// Stage is the stage's validated configuration (DecodeStages, SelectStage).
	Stage StageConfig
	// AssetDir returns the directory holding a function's bootstrap binary: build/<name> after `make build`.
	AssetDir func(function string) string
}

// StackName returns the CloudFormation stack name of a stage.
func StackName(stage string) string { return AppName + "-" + stage }

// StageSecretName returns the name of the stage secret the operator fills.
func StageSecretName(stage string) string { return AppName + "/" + stage + "/app" }

// WABASecretPrefix returns the name prefix of the per-WABA secrets the functions create at runtime.
func WABASecretPrefix(stage string) string { return AppName + "/" + stage + "/waba/" }

// StageSecretTemplate is the stage secret's initial value: every key the functions read, empty, for the
// operator to fill (docs/deploy.md). webhook_verify_token is generated instead, so the Meta handshake has a
// random token from the first deploy.
var StageSecretTemplate = map[string]string{
	"app_id":                    "",
	"app_secret":                "",
	"previous_app_secret":       "",
	"previous_app_secret_until": "",
	"system_token":              "",
	"system_user_id":            "",
	"credit_line_id":            "",
}

// builder carries the resources while the stack is assembled.
type builder struct {
	stack awscdk.Stack
	stage StageConfig
	// removal applies to what may go with the stack outside production: log groups and the stage secret.
	removal awscdk.RemovalPolicy

	secretsKey    awskms.Key
	dataKey       awskms.Key
	dataKeyUsers  map[string][]*string // data key use (sid) -> the role ARNs granted it
	stageSecret   awssecretsmanager.Secret
	wabaSecretARN *string // "arn:...:secret:<prefix>*"
	table         awsdynamodb.Table
	queue, dlq    awssqs.Queue
	bus           awsevents.EventBus
	fns           map[string]awslambda.Function
	roles         map[string]awsiam.Role
	stateMachine  awsstepfunctions.StateMachine
	api           awsapigatewayv2.HttpApi
	// alarmActions notify whoever watches the stage: every alarm takes all of them (addAlarm).
	alarmActions []awscloudwatch.IAlarmAction
	alarms       []awscloudwatch.IAlarm
}

// NewOnboardingStack defines the stack of one stage. It panics on an invalid stage configuration: main
// validates it first and reports the error.
func NewOnboardingStack(scope constructs.Construct, id string, props *OnboardingStackProps) awscdk.Stack {
	if err := props.Stage.Validate(); err != nil {
		panic(err)
	}
	if props.AssetDir == nil {
		panic("stack: OnboardingStackProps.AssetDir is required")
	}
	sprops := props.StackProps
	if sprops.Description == nil {
		sprops.Description = jsii.String("WhatsApp Embedded Signup onboarding (" + props.Stage.Name + ")")
	}
	removal := awscdk.RemovalPolicy_DESTROY
	if props.Stage.DeletionProtection {
		sprops.TerminationProtection = jsii.Bool(true)
		removal = awscdk.RemovalPolicy_RETAIN
	}
	st := awscdk.NewStack(scope, &id, &sprops)
	awscdk.Tags_Of(st).Add(jsii.String("app"), jsii.String(AppName), nil)
	awscdk.Tags_Of(st).Add(jsii.String("stage"), jsii.String(props.Stage.Name), nil)

	b := &builder{
		stack: st, stage: props.Stage, removal: removal,
		fns: map[string]awslambda.Function{}, roles: map[string]awsiam.Role{}, dataKeyUsers: map[string][]*string{},
	}
	b.secrets()
	b.createDataKey()
	b.tableFromSchema()
	b.messaging()
	for _, f := range catalog.Functions {
		b.function(f, props.AssetDir(f.Name))
	}
	b.workflow()
	for _, f := range catalog.Functions {
		b.grant(f)
		b.grantDataKey(f)
	}
	b.dataKeyPolicy()
	b.tokenHealthSchedule()
	b.httpAPI()
	b.monitoring()
	b.outputs()
	b.suppressions()
	return st
}

// secrets creates the customer-managed key of all the stage's secrets and the stage secret.
func (b *builder) secrets() {
	// The key is retained in every stage: the per-WABA secrets are created at runtime, outside the stack,
	// and would become unreadable with it.
	b.secretsKey = awskms.NewKey(b.stack, jsii.String("SecretsKey"), &awskms.KeyProps{
		Description:       jsii.String(AppName + " " + b.stage.Name + ": encrypts the stage secret and the per-WABA secrets"),
		Alias:             jsii.String("alias/" + AppName + "/" + b.stage.Name + "/secrets"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	tmpl, err := json.Marshal(StageSecretTemplate)
	if err != nil {
		panic(err)
	}
	b.stageSecret = awssecretsmanager.NewSecret(b.stack, jsii.String("StageSecret"), &awssecretsmanager.SecretProps{
		SecretName:    jsii.String(StageSecretName(b.stage.Name)),
		Description:   jsii.String("Meta app configuration of " + AppName + " " + b.stage.Name + ": fill with put-secret-value (docs/deploy.md)"),
		EncryptionKey: b.secretsKey,
		// CloudFormation generates the value once; later deploys leave what the operator put untouched.
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(string(tmpl)),
			GenerateStringKey:    jsii.String("webhook_verify_token"),
			PasswordLength:       jsii.Number(40),
			ExcludePunctuation:   jsii.Bool(true),
		},
		RemovalPolicy: b.removal,
	})
	b.wabaSecretARN = b.stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("secretsmanager"),
		Resource:     jsii.String("secret"),
		ResourceName: jsii.String(WABASecretPrefix(b.stage.Name) + "*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// tableFromSchema builds the one table from shared/store/dynamodb/schema's constants, so the deployed table
// and the one the adapter tests create cannot drift apart.
func (b *builder) tableFromSchema() {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	b.table = awsdynamodb.NewTable(b.stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str(ddbschema.AttrPK),
		SortKey:      str(ddbschema.AttrSK),
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(ddbschema.AttrTTL),
		Encryption:          awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:       b.dataKey,
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
		DeletionProtection:  jsii.Bool(b.stage.DeletionProtection),
	})
	for _, ix := range ddbschema.Indexes {
		b.table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   str(ix.PartitionKey),
			SortKey:        str(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
}

// messaging creates the webhook queue (with its dead-letter queue) and the partner event bus, encrypted with
// the data key: webhook changes and partner events carry message text and phone numbers.
func (b *builder) messaging() {
	worker := catalog.Lookup("webhook_worker")
	b.dlq = awssqs.NewQueue(b.stack, jsii.String(webhookQueuePrefix+"DLQ"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: b.dataKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
	})
	b.queue = awssqs.NewQueue(b.stack, jsii.String(webhookQueuePrefix+"Queue"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: b.dataKey,
		EnforceSSL:          jsii.Bool(true),
		// Lambda's guidance: at least 6x the consumer's timeout, so a batch being retried is not redelivered
		// to a second worker meanwhile.
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(float64(6 * worker.TimeoutSeconds))),
		// Acknowledged webhooks exist only here: keep them as long as SQS allows while a worker is broken.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: b.dlq, MaxReceiveCount: jsii.Number(5)},
	})
	b.bus = awsevents.NewEventBus(b.stack, jsii.String("PartnerEvents"), &awsevents.EventBusProps{
		EventBusName: jsii.String(AppName + "-" + b.stage.Name),
		Description:  jsii.String("Onboarding and WABA events for the partner's own consumers"),
		KmsKey:       b.dataKey,
	})
}

// constructID turns a function name into a construct id: "webhook_worker" -> "WebhookWorker".
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// function creates one Lambda function with its own role and log group, sized from its catalog entry
// (stages may override MemoryMB). Permissions come later (grant), once the state machine they may reference
// exists.
func (b *builder) function(f catalog.Function, assetDir string) {
	id := constructID(f.Name)
	logs := awslogs.NewLogGroup(b.stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention(b.stage.LogRetentionDays),
		RemovalPolicy: b.removal,
	})
	// An own role without AWSLambdaBasicExecutionRole: that managed policy may write to any log group.
	role := awsiam.NewRole(b.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Lambda " + f.Name + " (" + b.stage.Name + ")"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	memory := f.MemoryMB
	if mb, ok := b.stage.MemoryMB[f.Name]; ok {
		memory = mb
	}
	fn := awslambda.NewFunction(b.stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		FunctionName:          jsii.String(StackName(b.stage.Name) + "-" + f.Name),
		Description:           jsii.String(f.Description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(assetDir), nil),
		MemorySize:            jsii.Number(float64(memory)),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(float64(f.TimeoutSeconds))),
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel(b.stage.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
		Role:                  role,
		Environment:           b.environment(f),
	})
	b.fns[f.Name] = fn
	b.roles[f.Name] = role
}

// environment is a function's non-secret configuration (shared/config's contract). Resource names are given
// only to the functions allowed to use them: the catalog needs that grant the permissions (grant) set them,
// so a function cannot get a name without the permission, or the permission without the name.
func (b *builder) environment(f catalog.Function) *map[string]*string {
	s := b.stage
	env := map[string]*string{
		config.EnvStage:           jsii.String(s.Name),
		config.EnvLogLevel:        jsii.String(s.LogLevel),
		config.EnvGraphAPIVersion: jsii.String(s.GraphAPIVersion),
		config.EnvDefaultCurrency: jsii.String(s.DefaultCurrency),
		config.EnvInboundTimeout:  jsii.String(strconv.Itoa(s.InboundTimeoutSeconds)),
		config.EnvStatusTimeout:   jsii.String(strconv.Itoa(s.StatusTimeoutSeconds)),
	}
	set := func(need bool, name string, value *string) {
		if need {
			env[name] = value
		}
	}
	set(s.WebhookOverrideURL != "", config.EnvWebhookOverrideURL, jsii.String(s.WebhookOverrideURL))
	set(s.PhoneVerificationTimeoutSeconds != 0, config.EnvPhoneVerificationTimeout, jsii.String(strconv.Itoa(s.PhoneVerificationTimeoutSeconds)))
	a := f.Needs
	set(a.Table, config.EnvTableName, b.table.TableName())
	set(a.StageSecret, config.EnvStageSecretID, b.stageSecret.SecretArn())
	set(a.WABASecrets != catalog.WABANone, config.EnvWABASecretPrefix, jsii.String(WABASecretPrefix(s.Name)))
	set(a.WABASecrets != catalog.WABANone, config.EnvSecretsKMSKeyID, b.secretsKey.KeyArn())
	set(a.QueueSend, config.EnvWebhookQueueURL, b.queue.QueueUrl())
	set(a.Events != catalog.EventsNone, config.EnvEventBusName, b.bus.EventBusName())
	if auth := s.Auth; auth != nil && partnerFunctions()[f.Name] {
		env[config.EnvAuthIssuer] = jsii.String(auth.Issuer)
		env[envAuthAudience] = jsii.String(auth.Audience)
	}
	// STATE_MACHINE_ARN is added in workflow(): the state machine is created after the functions it runs.
	return &env
}

// workflow deploys the one definition of shared/workflow as a Standard state machine.
func (b *builder) workflow() {
	logs := awslogs.NewLogGroup(b.stack, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{
		// The /aws/vendedlogs/ prefix keeps Step Functions' log delivery from growing the account's CloudWatch
		// Logs resource policy, which has a size limit. The stack id's UUID keeps a retained group from
		// blocking a re-created stack.
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("/aws/vendedlogs/states/" + StackName(b.stage.Name) + "-"),
			awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil)),
		}),
		Retention:     retention(b.stage.LogRetentionDays),
		RemovalPolicy: b.removal,
	})
	subs := map[string]*string{}
	for placeholder, name := range workflow.Substitutions(func(name string) string { return name }) {
		fn, ok := b.fns[name]
		if !ok {
			panic(fmt.Sprintf("stack: the workflow invokes %q, which the catalog does not list", name))
		}
		subs[placeholder] = fn.FunctionArn()
	}
	b.stateMachine = awsstepfunctions.NewStateMachine(b.stack, jsii.String("Workflow"), &awsstepfunctions.StateMachineProps{
		StateMachineName:        jsii.String(StackName(b.stage.Name)),
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(string(workflow.Definition))),
		DefinitionSubstitutions: &subs,
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       awsstepfunctions.LogLevel_ALL,
			// Execution data stays out of the logs; the console's execution history has it for operators.
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(true),
	})
	// Only the six workflow functions, unqualified (the definition invokes them by unqualified ARN).
	var arns []*string
	for _, wf := range catalog.Workflow() {
		arns = append(arns, b.fns[wf.Name].FunctionArn())
	}
	b.stateMachine.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeWorkflowFunctions"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &arns,
	}))
	for _, f := range catalog.Functions {
		if f.Needs.StateMachine() {
			b.fns[f.Name].AddEnvironment(jsii.String(config.EnvStateMachineARN), b.stateMachine.StateMachineArn(), nil)
		}
	}
}

// grant writes the function's IAM policy from its catalog needs: named actions on named resources only.
func (b *builder) grant(f catalog.Function) {
	role, a := b.roles[f.Name], f.Needs
	allow := func(need bool, sid string, actions []string, resources ...*string) {
		if need {
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources,
			}))
		}
	}
	tableAndIndexes := []*string{b.table.TableArn()}
	for _, ix := range ddbschema.Indexes {
		tableAndIndexes = append(tableAndIndexes, jsii.String(*b.table.TableArn()+"/index/"+ix.Name))
	}
	allow(a.Table, "Table", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}, tableAndIndexes...)
	// ListWABAs scans the WABA index only, never the table.
	allow(a.TableScan, "ScanWABAIndex", []string{"dynamodb:Scan"}, jsii.String(*b.table.TableArn()+"/index/"+ddbschema.IndexGSI2))
	readSecret := []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
	allow(a.StageSecret, "ReadStageSecret", readSecret, b.stageSecret.SecretArn())
	allow(a.WABASecrets == catalog.WABARead, "ReadWABASecrets", readSecret, b.wabaSecretARN)
	// The vault's compare-and-swap writes: put under a pending label, then move AWSCURRENT
	// (UpdateSecretVersionStage); CreateSecret with tags needs TagResource.
	allow(a.WABASecrets == catalog.WABAWrite, "WriteWABASecrets", []string{
		"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:CreateSecret",
		"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:TagResource",
	}, b.wabaSecretARN)
	// Offboarding: delete the customer's token and PINs; the values are never read, so no KMS.
	allow(a.WABASecrets == catalog.WABADelete, "DeleteWABASecrets", []string{"secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret"}, b.wabaSecretARN)
	// Secrets Manager calls KMS on the function's behalf, with the secret's ARN as encryption context: the
	// key may be used only through Secrets Manager, and only for the secrets this function may read.
	var kmsSecrets []*string
	if a.StageSecret {
		kmsSecrets = append(kmsSecrets, b.stageSecret.SecretArn())
	}
	if a.WABASecrets == catalog.WABARead || a.WABASecrets == catalog.WABAWrite {
		kmsSecrets = append(kmsSecrets, b.wabaSecretARN)
	}
	if len(kmsSecrets) > 0 {
		kmsActions := []string{"kms:Decrypt"}
		if a.WABASecrets == catalog.WABAWrite {
			kmsActions = append(kmsActions, "kms:GenerateDataKey")
		}
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("SecretsKey"),
			Actions:   jsii.Strings(kmsActions...),
			Resources: &[]*string{b.secretsKey.KeyArn()},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"kms:ViaService": viaService("secretsmanager")},
				"StringLike":   map[string]any{"kms:EncryptionContext:SecretARN": kmsSecrets},
			},
		}))
	}
	sm := b.stateMachine.StateMachineArn()
	allow(a.StartExecution, "StartWorkflow", []string{"states:StartExecution"}, sm)
	allow(a.SendTaskResult, "ResumeWorkflow", []string{"states:SendTaskSuccess", "states:SendTaskFailure"}, sm)
	allow(a.SendTaskSuccess, "ResumePhoneVerification", []string{"states:SendTaskSuccess"}, sm)
	allow(a.QueueSend, "EnqueueWebhooks", []string{"sqs:SendMessage"}, b.queue.QueueArn())
	allow(a.Events != catalog.EventsNone, "PublishPartnerEvents", []string{"events:PutEvents"}, b.bus.EventBusArn())
	if a.QueueConsume {
		b.consumeQueue(b.fns[f.Name])
	}
}

// outputs are what the operator needs after a deploy (docs/deploy.md).
func (b *builder) outputs() {
	out := func(id, value, description string) {
		awscdk.NewCfnOutput(b.stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	endpoint := *b.api.ApiEndpoint()
	out("ApiUrl", endpoint, "Base URL of the onboarding API (POST /signup, GET /onboardings/{id}, ...)")
	out("WebhookCallbackUrl", endpoint+"/webhooks", "Callback URL to configure in the Meta app's WhatsApp webhooks")
	out("StateMachineArn", *b.stateMachine.StateMachineArn(), "Onboarding workflow: its executions are in the Step Functions console")
	out("StageSecretName", StageSecretName(b.stage.Name), "Stage secret to fill with the Meta app configuration")
	out("EventBusName", *b.bus.EventBusName(), "EventBridge bus carrying onboarding and WABA events for the partner")
}

// retentionDays maps the retention periods CloudWatch Logs accepts to the CDK's names.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// retention converts validated days to the CDK's enumeration.
func retention(days int) awslogs.RetentionDays {
	r, ok := retentionDays[days]
	if !ok {
		panic(fmt.Sprintf("stack: log retention of %d days is not a CloudWatch value", days))
	}
	return r
}
