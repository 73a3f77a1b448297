package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/waes/onboarding/shared/catalog"
)

// ApplyChecks applies cdk-nag's AwsSolutions pack to scope (the app, in main and in the tests): a finding
// without a suppression is an error annotation, which fails `cdk synth`.
func ApplyChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// suppress records an accepted cdk-nag finding on one CloudFormation resource, with the reason. appliesTo
// narrows an IAM5 suppression to the named wildcard resources.
func suppress(c constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var at []interface{}
		for _, a := range appliesTo {
			at = append(at, a)
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(false))
}

// defaultPolicy returns the CloudFormation policy CDK attaches to role for the statements added to it.
func defaultPolicy(role awsiam.IRole) constructs.IConstruct {
	policy := role.Node().TryFindChild(jsii.String("DefaultPolicy"))
	if policy == nil {
		panic("stack: role " + *role.Node().Path() + " has no default policy")
	}
	return policy.Node().DefaultChild()
}

// Reasons of the suppressions, one line each.
const (
	reasonXRay       = "X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions"
	reasonWABAPrefix = "Per-WABA secrets are created at runtime, one per customer WABA: the name prefix is the narrowest possible scope"
	reasonSFNLogs    = "Step Functions log delivery (logs:*LogDelivery, resource policies) and X-Ray actions do not support resource-level permissions"
	reasonRotation   = "Meta app credentials are rotated by the operator in Meta's dashboard (previous_app_secret window, docs/deploy.md); no Lambda can rotate them"
)

// suppressions records the stack's accepted cdk-nag findings (the API routes' are recorded with the routes).
func (b *builder) suppressions() {
	for _, f := range catalog.Functions {
		policy := defaultPolicy(b.roles[f.Name])
		suppress(policy, "AwsSolutions-IAM5", reasonXRay, "Resource::*")
		if f.Needs.WABASecrets != catalog.WABANone {
			suppress(policy, "AwsSolutions-IAM5", reasonWABAPrefix, "Resource::"+wabaSecretARNForNag(b.stage.Name))
		}
	}
	suppress(defaultPolicy(b.stateMachine.Role()), "AwsSolutions-IAM5", reasonSFNLogs, "Resource::*")
	suppress(b.stageSecret.Node().DefaultChild(), "AwsSolutions-SMG4", reasonRotation)
}

// wabaSecretARNForNag is the per-WABA secret ARN pattern as cdk-nag prints it in IAM5 findings.
func wabaSecretARNForNag(stage string) string {
	return "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:" + WABASecretPrefix(stage) + "*"
}
