package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/graph"
)

// monitoring creates the alarm topic, the alarms and the dashboard.
func (b *builder) monitoring() {
	// A key of its own: CloudWatch must be allowed to use it to publish alarms, which the secrets key must
	// not allow. (The AWS managed aws/sns key cannot grant CloudWatch anything.)
	key := awskms.NewKey(b.stack, jsii.String("AlarmsKey"), &awskms.KeyProps{
		Description:       jsii.String(AppName + " " + b.stage.Name + ": encrypts the alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     b.removal,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
	}), nil)
	topic := awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(AppName + " " + b.stage.Name + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if b.stage.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(b.stage.AlarmEmail), nil))
		if placeholderAddress(b.stage.AlarmEmail) {
			awscdk.Annotations_Of(b.stack).AddWarningV2(jsii.String("wa-onboarding:alarmEmailPlaceholder"), jsii.String(
				"alarmEmail "+b.stage.AlarmEmail+" is a placeholder (reserved domain): replace it in cdk.json, or the stage's alarms reach nobody"))
		}
	}
	actions := []awscloudwatch.IAlarmAction{awscloudwatchactions.NewSnsAction(topic)}
	if b.stage.AlarmTopicARN != "" {
		operator := awssns.Topic_FromTopicArn(b.stack, jsii.String("OperatorAlarmTopic"), jsii.String(b.stage.AlarmTopicARN))
		actions = append(actions, awscloudwatchactions.NewSnsAction(operator))
	}
	b.alarmActions = actions

	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}
	alarm := b.addAlarm

	sm := b.stateMachine
	alarm("WorkflowFailedAlarm", sm.MetricFailed(sum), 1,
		"An onboarding execution failed: open it in the Step Functions console (execution history) and GET /onboardings/{id}")
	alarm("WorkflowTimedOutAlarm", sm.MetricTimedOut(sum), 1,
		"An onboarding execution timed out: see its execution history in the Step Functions console")
	alarm("Api5xxAlarm", b.api.MetricServerError(sum), 1,
		"The API answered 5xx: Meta retries webhooks that fail; check the api and webhook function logs")
	for _, f := range catalog.Functions {
		fn := b.fns[f.Name]
		id := constructID(f.Name)
		alarm(id+"ErrorsAlarm", fn.MetricErrors(sum), 1, "Lambda "+f.Name+" reported errors: see its log group")
		alarm(id+"ThrottlesAlarm", fn.MetricThrottles(sum), 1, "Lambda "+f.Name+" was throttled: check the account's concurrency")
	}
	tableThrottles := b.table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
		Operations: &[]awsdynamodb.Operation{
			awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_PUT_ITEM, awsdynamodb.Operation_UPDATE_ITEM,
			awsdynamodb.Operation_DELETE_ITEM, awsdynamodb.Operation_QUERY,
		},
		Period: fiveMinutes,
	})
	alarm("TableThrottlesAlarm", tableThrottles, 1, "DynamoDB throttled requests on the onboarding table")
	alarm("WebhookDLQAlarm", b.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
	}), 1, "Webhook changes the worker could not process are in the dead-letter queue: inspect and redrive them (docs/deploy.md)")
	alarm("WebhookQueueAgeAlarm", b.queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{
		Period: fiveMinutes, Statistic: jsii.String("Maximum"),
	}), 900, "Webhook changes wait in the queue for 15 minutes or more: is webhook_worker failing or throttled?")

	b.addAlarm("GraphAPIVersionEndingAlarm", b.graphVersionMetric(), 1,
		"A function started with a Graph API version that ends within 90 days (or has ended): set graphApiVersion in cdk.json to a newer version and deploy (docs/deploy.md)")
	b.tokenHealthAlarm()

	b.dashboard(b.alarms)
}

// addAlarm creates an alarm at or above threshold on one evaluation period, notifying b.alarmActions.
func (b *builder) addAlarm(id string, metric awscloudwatch.IMetric, threshold float64, description string) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(b.stack, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(description),
	})
	a.AddAlarmAction(b.alarmActions...)
	b.alarms = append(b.alarms, a)
	return a
}

// graphVersionMetric counts, over every function's log group, the start-up warnings the Graph client logs when
// the configured version is near its end date (the line carries metric=graph.VersionEndingMetric).
func (b *builder) graphVersionMetric() awscloudwatch.IMetric {
	var metric awscloudwatch.IMetric
	for _, f := range catalog.Functions {
		// Every filter feeds the same metric: one alarm covers all functions.
		metric = b.logMetric(constructID(f.Name)+"GraphVersionFilter", b.fns[f.Name].LogGroup(), graph.VersionEndingMetric)
	}
	return metric
}

// logMetric counts the JSON log lines of group that carry metric=name, as the hourly sum of the stage's
// metric name.
func (b *builder) logMetric(id string, group awslogs.ILogGroup, name string) awscloudwatch.IMetric {
	mf := awslogs.NewMetricFilter(b.stack, jsii.String(id), &awslogs.MetricFilterProps{
		LogGroup:        group,
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.metric"), jsii.String("="), jsii.String(name)),
		MetricNamespace: jsii.String(AppName + "/" + b.stage.Name),
		MetricName:      jsii.String(name),
		MetricValue:     jsii.String("1"),
	})
	return mf.Metric(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Hours(jsii.Number(1)), Statistic: jsii.String("Sum")})
}

// dashboard shows the workflow, the API, the functions, the queue and the table on one page.
func (b *builder) dashboard(alarms []awscloudwatch.IAlarm) {
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum")}
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	sm := b.stateMachine
	var errors, durations []awscloudwatch.IMetric
	for _, f := range catalog.Functions {
		fn := b.fns[f.Name]
		errors = append(errors, fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String(f.Name)}))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Label: jsii.String(f.Name)}))
	}
	awscloudwatch.NewDashboard(b.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(StackName(b.stage.Name)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24), Height: jsii.Number(4),
			})},
			{
				graph("Onboarding executions", sm.MetricStarted(sum), sm.MetricSucceeded(sum), sm.MetricFailed(sum), sm.MetricTimedOut(sum)),
				graph("API requests and errors", b.api.MetricCount(sum), b.api.MetricClientError(sum), b.api.MetricServerError(sum)),
			},
			{graph("Lambda errors", errors...), graph("Lambda duration p99 (ms)", durations...)},
			{
				graph("Webhook queue",
					b.queue.MetricApproximateNumberOfMessagesVisible(nil),
					b.queue.MetricApproximateAgeOfOldestMessage(nil),
					b.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Label: jsii.String("DLQ messages")})),
				graph("Table", b.table.MetricConsumedReadCapacityUnits(sum), b.table.MetricConsumedWriteCapacityUnits(sum)),
			},
		},
	})
}

// placeholderAddress reports an address at a domain reserved for documentation and testing: mail to it is
// never delivered.
func placeholderAddress(addr string) bool {
	domain := strings.ToLower(addr[strings.LastIndex(addr, "@")+1:])
	for _, reserved := range []string{"example", "invalid", "test", "localhost", "example.com", "example.net", "example.org"} {
		if domain == reserved || strings.HasSuffix(domain, "."+reserved) {
			return true
		}
	}
	return false
}
