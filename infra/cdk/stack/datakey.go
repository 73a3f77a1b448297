package stack

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/shared/catalog"
)

// The data key encrypts what the stage stores outside Secrets Manager: the table (onboarding records,
// webhook claims), the webhook queues and the partner event bus, which carry message text and phone
// numbers. Its key policy lets the account administer it but use it only through the service that stores
// the data, and only for the function roles whose catalog needs touch that service; EventBridge's own use is
// added by the bus (aws:SourceArn of the bus).

// keyAdminActions are the administrative actions the account keeps on the data key: no Encrypt, Decrypt,
// GenerateDataKey, ReEncrypt or CreateGrant, which only the statements below give.
var keyAdminActions = []string{
	"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
	"kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
	"kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
	"kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
	"kms:UpdateKeyDescription",
}

// webhookQueuePrefix starts the construct ids of the webhook queue and its dead-letter queue, and so the
// names CloudFormation generates for them.
const webhookQueuePrefix = "Webhook"

// dataKeyUse is one way a function uses the data key: the actions, through one service.
type dataKeyUse struct {
	sid     string
	service string // the kms:ViaService prefix: dynamodb, sqs, events
	actions []string
}

// dataKeyUses derives a function's uses of the data key from its catalog needs.
func dataKeyUses(n catalog.Needs) []dataKeyUse {
	var uses []dataKeyUse
	if n.Table {
		uses = append(uses, dataKeyUse{"DataKeyTable", "dynamodb", []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}})
	}
	switch {
	case n.QueueSend:
		uses = append(uses, dataKeyUse{"DataKeyQueueSend", "sqs", []string{"kms:Decrypt", "kms:GenerateDataKey"}})
	case n.QueueConsume:
		uses = append(uses, dataKeyUse{"DataKeyQueueConsume", "sqs", []string{"kms:Decrypt"}})
	}
	if n.Events != catalog.EventsNone {
		uses = append(uses, dataKeyUse{"DataKeyEvents", "events", []string{"kms:GenerateDataKey"}})
	}
	return uses
}

// createDataKey creates the data key with its administrative key policy; the usage statements follow once
// the function roles exist (grantDataKey, dataKeyPolicy).
func (b *builder) createDataKey() {
	admin := accountKeyStatement("AccountAdministersTheKey", keyAdminActions, nil)
	// CloudFormation (creating the table) and an operator restoring a backup create DynamoDB's grants on the
	// key: only for DynamoDB, only grants for an AWS resource.
	tableGrants := accountKeyStatement("DynamoDBTableGrants", []string{"kms:CreateGrant"}, map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": viaService("dynamodb")},
		"Bool":         map[string]any{"kms:GrantIsForAWSResource": "true"},
	})
	// The operator redrives the dead-letter queue (docs/deploy.md): SQS then decrypts and re-encrypts the
	// messages with the operator's credentials. Only through SQS, only for the stack's webhook queues, and
	// only for principals the account's IAM also allows. The queues are matched by the names CloudFormation
	// gives them (stack name, then logical id): naming them by ARN would make the key depend on the queues it
	// encrypts.
	redrive := accountKeyStatement("OperatorsRedriveWebhookQueues", []string{"kms:Decrypt", "kms:GenerateDataKey"}, map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": viaService("sqs")},
		"StringLike": map[string]any{"kms:EncryptionContext:aws:sqs:arn": b.stack.FormatArn(&awscdk.ArnComponents{
			Service:  jsii.String("sqs"),
			Resource: jsii.String(StackName(b.stage.Name) + "-" + webhookQueuePrefix + "*"),
		})},
	})
	b.dataKey = awskms.NewKey(b.stack, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String(AppName + " " + b.stage.Name + ": encrypts the table, the webhook queues and the partner event bus"),
		Alias:             jsii.String("alias/" + AppName + "/" + b.stage.Name + "/data"),
		EnableKeyRotation: jsii.Bool(true),
		// The table is retained in every stage, and unreadable without its key.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		// Replaces CDK's default policy, which would let any principal of the account use the key.
		Policy: awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{admin, tableGrants, redrive}}),
	})
}

// grantDataKey gives a function's role its uses of the data key (IAM side) and records the role for the key
// policy (dataKeyPolicy): both must allow.
func (b *builder) grantDataKey(f catalog.Function) {
	role := b.roles[f.Name]
	for _, u := range dataKeyUses(f.Needs) {
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(u.sid),
			Actions:    jsii.Strings(u.actions...),
			Resources:  jsii.Strings(*b.dataKey.KeyArn()),
			Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaService(u.service)}},
		}))
		b.dataKeyUsers[u.sid] = append(b.dataKeyUsers[u.sid], role.RoleArn())
	}
}

// dataKeyPolicy adds one key policy statement per use: the account's principals may use the key for it
// only through that service, and only as one of the roles granted the use.
func (b *builder) dataKeyPolicy() {
	byID := map[string]dataKeyUse{}
	for _, f := range catalog.Functions {
		for _, u := range dataKeyUses(f.Needs) {
			byID[u.sid] = u
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(byID)) {
		u := byID[sid]
		b.dataKey.AddToResourcePolicy(accountKeyStatement(sid, u.actions, map[string]any{
			"StringEquals": map[string]any{"kms:ViaService": viaService(u.service)},
			"ArnEquals":    map[string]any{"aws:PrincipalArn": b.dataKeyUsers[sid]},
		}), jsii.Bool(false))
	}
}

// accountKeyStatement is a key policy statement letting the account's principals (as far as their IAM
// policies also allow) take actions on the key, under conditions when not nil.
func accountKeyStatement(sid string, actions []string, conditions map[string]any) awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
	}
	if conditions != nil {
		props.Conditions = &conditions
	}
	return awsiam.NewPolicyStatement(props)
}

// viaService is the kms:ViaService value of an AWS service in the stack's region.
func viaService(service string) string {
	return service + "." + *awscdk.Aws_REGION() + ".amazonaws.com"
}
