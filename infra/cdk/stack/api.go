package stack

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// Route is one route of the HTTP API: the contract of docs/openapi.json.
type Route struct {
	// Method and Path form the route key.
	Method awsapigatewayv2.HttpMethod
	Path   string
	// Function is the name of the function serving the route.
	Function string
	// Partner marks the routes the partner's frontend calls: with partner authentication on (the stage's
	// auth), API Gateway's JWT authorizer guards them.
	Partner bool
	// Class selects the route's throttle (StageConfig.RouteThrottle); empty: the stage throttle.
	Class RouteClass
	// NoAuthorizerReason says what authenticates the route when no API Gateway authorizer does (it is the
	// reason of the route's cdk-nag APIG4 suppression).
	NoAuthorizerReason string
}

// RouteKey is the route's API Gateway route key, e.g. "POST /signup".
func (r Route) RouteKey() string { return string(r.Method) + " " + r.Path }

const (
	reasonWebhookPost = "Meta's webhook: every POST is authenticated by its X-Hub-Signature-256 HMAC of the raw body with the app secret, checked before parsing"
	reasonWebhookGet  = "Meta's verification handshake: answered only when hub.verify_token matches the stage secret's webhook_verify_token"
	reasonSignup      = "Partner authentication is off in this stage: called from the partner's browser frontend (CORS allow-list); the Embedded Signup code is the credential, verified with Meta before anything is stored"
	reasonOnboarding  = "Partner authentication is off in this stage: addressed by an unguessable 128-bit onboarding id returned only to the signup caller; CORS allow-list"
	reasonList        = "Partner authentication is off in this stage: the function answers 404, having no caller to list onboardings for"
	reasonHealthz     = "Liveness probe: returns no data"
)

// Routes are exactly the routes of the API: no catch-all, no $default route.
var Routes = []Route{
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/signup", Function: "api", Partner: true, Class: RouteSignup, NoAuthorizerReason: reasonSignup},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/onboardings", Function: "api", Partner: true, Class: RouteStatus, NoAuthorizerReason: reasonList},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/onboardings/{id}", Function: "api", Partner: true, Class: RouteStatus, NoAuthorizerReason: reasonOnboarding},
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/onboardings/{id}/retry", Function: "api", Partner: true, Class: RouteRetry, NoAuthorizerReason: reasonOnboarding},
	// The phone verification routes call Meta (request_code, verify_code) for a person typing a code: the
	// retry class's low rate suits them.
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/onboardings/{id}/phone-verification/code", Function: "api", Partner: true, Class: RouteRetry, NoAuthorizerReason: reasonOnboarding},
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/onboardings/{id}/phone-verification", Function: "api", Partner: true, Class: RouteRetry, NoAuthorizerReason: reasonOnboarding},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/healthz", Function: "api", NoAuthorizerReason: reasonHealthz},
	{Method: awsapigatewayv2.HttpMethod_GET, Path: "/webhooks", Function: "webhook", Class: RouteWebhooks, NoAuthorizerReason: reasonWebhookGet},
	{Method: awsapigatewayv2.HttpMethod_POST, Path: "/webhooks", Function: "webhook", Class: RouteWebhooks, NoAuthorizerReason: reasonWebhookPost},
}

// partnerFunctions returns the functions serving partner routes: with partner authentication they are told
// the issuer and audience.
func partnerFunctions() map[string]bool {
	out := map[string]bool{}
	for _, r := range Routes {
		if r.Partner {
			out[r.Function] = true
		}
	}
	return out
}

// envAuthAudience names the audience the partner's tokens carry, next to config.EnvAuthIssuer (which turns
// the api function's authentication on). The function does not need it, API Gateway having checked the
// audience; it is there for the operator reading the configuration, and is the local runner's setting.
const envAuthAudience = "AUTH_AUDIENCE"

// AccessLogFormat is the API's access log line (JSON). It carries the route key, never the path or the
// query: the path holds onboarding ids (which authorize their status route without partner
// authentication) and the handshake's query holds the verify token. No header is logged (the Authorization
// header holds the bearer token); the caller is the authorizer's verified sub claim, an identifier.
var AccessLogFormat = map[string]string{
	"requestId":          "$context.requestId",
	"ip":                 "$context.identity.sourceIp",
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
	"authorizerError":    "$context.authorizer.error",
	"caller":             "$context.authorizer.claims.sub",
}

// httpAPI creates the HTTP API with its stage throttle, CORS allow-list, access logs and routes.
func (b *builder) httpAPI() {
	headers := []string{"content-type"}
	if b.stage.Auth != nil {
		headers = append(headers, "authorization")
	}
	b.api = awsapigatewayv2.NewHttpApi(b.stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String(StackName(b.stage.Name)),
		Description: jsii.String("WhatsApp Embedded Signup onboarding API (" + b.stage.Name + ")"),
		// The stage is created below, with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
		// API Gateway answers CORS preflights itself, before any authorizer: a preflight carries no token.
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(b.stage.AllowedOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders: jsii.Strings(headers...),
			MaxAge:       awscdk.Duration_Hours(jsii.Number(1)),
		},
	})
	stage := b.api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
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
	// The L2 stage takes access log settings only through a Go-implemented interface, and has no per-route
	// settings; the L1 properties are the same things, set directly.
	cfnStage := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfnStage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})
	b.routes(cfnStage)
}

// routes adds Routes to the API, each with its throttle in the stage's route settings and, with partner
// authentication, the JWT authorizer on the partner routes.
func (b *builder) routes(cfnStage awsapigatewayv2.CfnStage) {
	var authorizer awsapigatewayv2.IHttpRouteAuthorizer
	if a := b.stage.Auth; a != nil {
		authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("PartnerAuthorizer"), jsii.String(a.Issuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String("partner-jwt"),
				JwtAudience:    jsii.Strings(a.Audience),
				IdentitySource: jsii.Strings("$request.header.Authorization"),
			})
	}

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	routeSettings := map[string]any{}
	for _, r := range Routes {
		in, ok := integrations[r.Function]
		if !ok {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(constructID(r.Function)+"Integration"), b.fns[r.Function], nil)
			integrations[r.Function] = in
		}
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{r.Method},
			Integration: in,
		}
		guarded := r.Partner && authorizer != nil
		if guarded {
			opts.Authorizer = authorizer
		}
		for _, route := range *b.api.AddRoutes(opts) {
			if !guarded {
				suppress(route.Node().DefaultChild(), "AwsSolutions-APIG4", r.NoAuthorizerReason)
			}
			// A stage's route settings must name routes that exist: deploy the routes first.
			cfnStage.Node().AddDependency(route)
		}
		if r.Class != "" {
			t := b.stage.RouteThrottle(r.Class)
			// RouteSettings is plain JSON to CloudFormation: CloudFormation's property names, not the CDK
			// struct's (jsii would write them in camelCase).
			routeSettings[r.RouteKey()] = map[string]any{
				"ThrottlingRateLimit":  t.RateLimit,
				"ThrottlingBurstLimit": t.BurstLimit,
			}
		}
	}
	cfnStage.SetRouteSettings(routeSettings)
}

// consumeQueue makes the webhook queue fn's event source. Partial batch responses: one bad change is retried
// (and eventually dead-lettered) alone instead of redelivering the whole batch.
func (b *builder) consumeQueue(fn awslambda.Function) {
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(10),
		// A 1 s window fills batches under load (27 % less worker cost per event at 10 events/s and more,
		// docs/cost.md) and changes nothing at low traffic; partner events wait at most that second longer.
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
		ReportBatchItemFailures: jsii.Bool(true),
		// A webhook flood then waits in the queue (Meta has its 200 already) instead of taking the account's
		// concurrency from the api and the workflow functions.
		MaxConcurrency: jsii.Number(float64(b.stage.WorkerMaxConcurrency())),
	}))
}
