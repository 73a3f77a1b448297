package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/shared/tokenhealth"
)

// tokenHealthFunction is the catalog name of the scheduled token health check.
const tokenHealthFunction = "token_health"

// tokenHealthSchedule invokes the token health check on the stage's schedule (EventBridge Scheduler), with a
// role that may invoke exactly that function, assumable only by schedules of this account.
func (b *builder) tokenHealthSchedule() {
	fn := b.fns[tokenHealthFunction]
	role := awsiam.NewRole(b.stack, jsii.String("TokenHealthSchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
		Description: jsii.String("EventBridge Scheduler: invoke " + tokenHealthFunction + " (" + b.stage.Name + ")"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeTokenHealth"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{fn.FunctionArn()},
	}))
	awsscheduler.NewCfnSchedule(b.stack, jsii.String("TokenHealthSchedule"), &awsscheduler.CfnScheduleProps{
		Name:                       jsii.String(StackName(b.stage.Name) + "-token-health"),
		Description:                jsii.String("Daily check of the business and system tokens (debug_token)"),
		ScheduleExpression:         jsii.String(b.stage.TokenHealthScheduleOrDefault()),
		ScheduleExpressionTimezone: jsii.String("UTC"),
		FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:                      jsii.String("ENABLED"),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     fn.FunctionArn(),
			RoleArn: role.RoleArn(),
			Input:   jsii.String("{}"),
			// A run is idempotent (day-scoped event ids, no-op re-marking): retrying a failed invocation is safe.
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumRetryAttempts:     jsii.Number(2),
				MaximumEventAgeInSeconds: jsii.Number(3600),
			},
		},
	})
}

// tokenHealthAlarm counts the token health check's lines for invalid or expiring tokens (metric
// tokenhealth.UnhealthyMetric) and alarms on any.
func (b *builder) tokenHealthAlarm() {
	metric := b.logMetric("TokenHealthUnhealthyFilter", b.fns[tokenHealthFunction].LogGroup(), tokenhealth.UnhealthyMetric)
	b.addAlarm("TokenUnhealthyAlarm", metric, 1,
		"The token health check found a business token (or the system token) invalid or expiring within 7 days: see the token_health log "+
			"(waba_id, reason) and the token.invalid/token.expiring events; customers re-run Embedded Signup, the system token is renewed in the stage secret")
}
