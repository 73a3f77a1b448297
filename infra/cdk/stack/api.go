package stack

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// Route is one route of the HTTP API: the contract partner frontends rely on (docs/openapi.json).
type Route struct {
	// Method and Path form the route key.
	Method awsapigatewayv2.HttpMethod
	Path   string
	// Function is the name of the function serving the route.
	Function string
	// NoAuthorizerReason says what authenticates the route instead of an API Gateway authorizer (it is the
	// reason of the route's cdk-nag APIG4 suppression).
	NoAuthorizerReason string
}

// RouteKey is the route's API Gateway route key, e.g. "POST /signup".
func (r Route) RouteKey() string { return string(r.Method) + " " + r.Path }

const (
	reasonWebhookPost = "Meta's webhook: every POST is authenticated by its X-Hub-Signature-256 HMAC of the raw body with the app secret, checked before parsing"
	reasonWebhookGet  = "Meta's verification handshake: answered only when hub.verify_token matches the stage secret's webhook_verify_token"
	reasonSignup      = "Called from the partner's browser frontend (CORS allow-list); the Embedded Signup code is the credential, verified with Meta before anything is stored"
	reasonOnboarding  = "Addressed by an unguessable 128-bit onboarding id returned only to the signup caller; CORS allow-list"
	reasonHealthz     = "Liveness probe: returns no data"
)

// Routes are exactly the routes of the API: no catch-all, no $default route.
var Routes = []Route{
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/signup", Function: "api", NoAuthorizerReason: reasonSignup},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/onboardings/{id}", Function: "api", NoAuthorizerReason: reasonOnboarding},
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/onboardings/{id}/retry", Function: "api", NoAuthorizerReason: reasonOnboarding},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/healthz", Function: "api", NoAuthorizerReason: reasonHealthz},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/webhooks", Function: "webhook", NoAuthorizerReason: reasonWebhookGet},
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/webhooks", Function: "webhook", NoAuthorizerReason: reasonWebhookPost},
}

// AccessLogFormat is the API's access log line (JSON). It carries the route key, never the path or the
// query: the path holds onboarding ids (which authorize their status route) and the handshake's query holds
// the verify token.
var AccessLogFormat = map[string]string{
	"requestId":          "$context.requestId",
	"ip":                 "$context.identity.sourceIp",
	"userAgent":          "$context.identity.userAgent",
	"requestTime":        "$context.requestTime",
	"httpMethod":         "$context.httpMethod",
	"routeKey":           "$context.routeKey",
	"status":             "$context.status",
	"protocol":           "$context.protocol",
	"responseLength":     "$context.responseLength",
	"latency":            "$context.responseLatency",
	"integrationLatency": "$context.integrationLatency",
	"integrationStatus":  "$context.integrationStatus",
	"integrationError":   "$context.integrationErrorMessage",
	"error":              "$context.error.message",
}

// httpAPI creates the HTTP API with its routes, throttling, CORS allow-list and access logs.
func (b *builder) httpAPI() {
	origins := make([]*string, 0, len(b.stage.AllowedOrigins))
	for _, o := range b.stage.AllowedOrigins {
		origins = append(origins, jsii.String(o))
	}
	b.api = awsapigatewayv2.NewHttpApi(b.stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String(StackName(b.stage.Name)),
		Description: jsii.String("WhatsApp Embedded Signup onboarding API (" + b.stage.Name + ")"),
		// The stage is created below, with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: &origins,
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders: jsii.Strings("content-type"),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	b.apiStage = b.api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(b.stage.ThrottleRateLimit),
			BurstLimit: jsii.Number(float64(b.stage.ThrottleBurstLimit)),
		},
	})
	accessLogs := awslogs.NewLogGroup(b.stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(b.stage.LogRetentionDays),
		RemovalPolicy: b.removal,
	})
	format, err := json.Marshal(AccessLogFormat)
	if err != nil {
		panic(err)
	}
	// The L2 stage takes access log settings only through a Go-implemented interface; the L1 property is
	// the same thing, set directly.
	cfnStage := b.apiStage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, r := range Routes {
		in, ok := integrations[r.Function]
		if !ok {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(constructID(r.Function)+"Integration"), b.fns[r.Function], nil)
			integrations[r.Function] = in
		}
		routes := b.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{r.Method},
			Integration: in,
		})
		for _, route := range *routes {
			suppress(route.Node().DefaultChild(), "AwsSolutions-APIG4", r.NoAuthorizerReason)
		}
	}
}

// consumeQueue makes the webhook queue fn's event source. Partial batch responses: one bad change is retried
// (and eventually dead-lettered) alone instead of redelivering the whole batch.
func (b *builder) consumeQueue(fn awslambda.Function) {
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
}
