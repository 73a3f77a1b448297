// Package awswire builds a deployed function's dependencies once per cold start: the stage configuration from
// the environment, the JSON logger, the AWS SDK clients and the adapters over them. Functions' main packages
// call it and then lambda.Start; nothing here runs per invocation.
package awswire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/waes/onboarding/shared/catalog"
	"github.com/waes/onboarding/shared/config"
	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/partnerevents/eventbridge"
	"github.com/waes/onboarding/shared/signup"
	"github.com/waes/onboarding/shared/stepfunctions"
	"github.com/waes/onboarding/shared/stephandlers"
	ddbstore "github.com/waes/onboarding/shared/store/dynamodb"
	"github.com/waes/onboarding/shared/tokenhealth"
	smvault "github.com/waes/onboarding/shared/vault/secretsmanager"
	"github.com/waes/onboarding/shared/webhook/sqsqueue"
	"github.com/waes/onboarding/shared/webhook/worker"
)

// awsCallTimeout bounds each attempt of every AWS SDK call (DynamoDB, Secrets Manager, Step Functions, SQS,
// EventBridge): it is the HTTP client's timeout, so it applies per attempt, not to the retries together (at most
// 5 attempts; the invocation's deadline, carried by the context, bounds them all).
const awsCallTimeout = 10 * time.Second

// Deps are a function's dependencies.
type Deps struct {
	Stage  config.Stage
	Logger *slog.Logger
	AWS    aws.Config
}

// Load reads the configuration (failing when a setting the function needs is missing: config.Require of its
// catalog entry's needs), builds the logger and loads the AWS SDK configuration with the standard retryer
// (backoff with jitter, at most 5 attempts).
func Load(ctx context.Context, needs catalog.Needs) (*Deps, error) {
	return load(ctx, config.Require(needs))
}

func load(ctx context.Context, need config.Need) (*Deps, error) {
	stage, err := config.FromEnv(os.Getenv, need)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, stage.LogLevel)
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 })
	}))
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cfg.HTTPClient = awsHTTPClient()
	// Once per cold start: a version near its end date shows up as a counted warning long before Meta retires it.
	graph.LogVersionCheck(ctx, log, stage.GraphAPIVersion, time.Now())
	return &Deps{Stage: stage, Logger: log, AWS: cfg}, nil
}

// MustLoad is Load for main: it logs the error and exits, so Lambda reports a failed init.
func MustLoad(needs catalog.Needs) *Deps {
	d, err := Load(context.Background(), needs)
	if err != nil {
		logging.New(os.Stderr, slog.LevelInfo).Error("cold start failed", "error", err.Error())
		os.Exit(1)
	}
	return d
}

// Fatal logs a cold-start failure and exits.
func (d *Deps) Fatal(msg string, err error) {
	d.Logger.Error(msg, "error", err.Error())
	os.Exit(1)
}

// Store returns the DynamoDB store of the stage table.
func (d *Deps) Store() *ddbstore.Store {
	return ddbstore.New(dynamodb.NewFromConfig(d.AWS), d.Stage.TableName, func(o *ddbstore.Options) { o.Logger = d.Logger })
}

// Vault returns the Secrets Manager vault of the stage.
func (d *Deps) Vault() *smvault.Vault {
	return smvault.New(secretsmanager.NewFromConfig(d.AWS), smvault.Options{
		StageSecretID:    d.Stage.StageSecretID,
		WABASecretPrefix: d.Stage.WABASecretPrefix,
		KMSKeyID:         d.Stage.SecretsKMSKeyID,
		Tags:             map[string]string{"stage": d.Stage.Name, "managed-by": "wa-onboarding"},
		Logger:           d.Logger,
	})
}

// Graph returns the Graph API client: https://graph.facebook.com unless GRAPH_BASE_URL names a loopback
// simulator. A function that may read the stage secret signs every call with appsecret_proof (the app secret
// comes from the vault's cache, so a rotation is picked up).
func (d *Deps) Graph() (*graph.Client, error) {
	opts := graph.Options{BaseEndpoint: d.Stage.GraphBaseURL, APIVersion: d.Stage.GraphAPIVersion, Logger: d.Logger}
	if d.Stage.StageSecretID != "" {
		v := d.Vault()
		opts.AppSecret = func(ctx context.Context) (onboarding.Secret, error) {
			app, err := v.AppConfig(ctx)
			return app.AppSecret, err
		}
	}
	return graph.New(opts)
}

// Workflow returns the Step Functions adapter of the stage's state machine.
func (d *Deps) Workflow() *stepfunctions.Workflow {
	return stepfunctions.New(awssfn.NewFromConfig(d.AWS), d.Stage.StateMachineARN)
}

// Queue returns the webhook queue (the intake's sink, the wait handler's correlator).
func (d *Deps) Queue() *sqsqueue.Queue {
	return sqsqueue.New(sqs.NewFromConfig(d.AWS), d.Stage.WebhookQueueURL)
}

// Publisher returns the partner event publisher: the stage's EventBridge bus, or nothing when the function
// has no bus configured.
func (d *Deps) Publisher() partnerevents.Publisher {
	if d.Stage.EventBusName == "" {
		return partnerevents.Discard{}
	}
	return eventbridge.New(awseventbridge.NewFromConfig(d.AWS), d.Stage.EventBusName, d.Stage.Name)
}

// Steps returns the workflow steps' service. The store is shared by the record and the waits; the webhook
// queue correlates the waits of the functions given one (await_webhook).
func (d *Deps) Steps() (*stephandlers.Service, error) {
	g, err := d.Graph()
	if err != nil {
		return nil, err
	}
	store := d.Store()
	return stephandlers.New(store, d.Vault(), g, store, d.correlator(), d.stepsOptions()), nil
}

// correlator is the webhook queue when the function has one, and nil otherwise (it never runs AwaitWebhook).
func (d *Deps) correlator() stephandlers.Correlator {
	if d.Stage.WebhookQueueURL == "" {
		return nil
	}
	return d.Queue()
}

func (d *Deps) stepsOptions() stephandlers.Options {
	return stephandlers.Options{
		Config:    stephandlers.Config{WebhookOverrideURL: d.Stage.WebhookOverrideURL, TestMessageBody: d.Stage.TestMessageBody},
		Publisher: d.Publisher(), Logger: d.Logger,
	}
}

// Worker returns the webhook worker's processor.
func (d *Deps) Worker() *worker.Processor {
	store := d.Store()
	return worker.New(store, store, d.Workflow(), d.workerOptions())
}

func (d *Deps) workerOptions() worker.Options {
	opts := worker.Options{Publisher: d.Publisher(), Logger: d.Logger, IsTaskGone: isTaskGone}
	if d.Stage.StageSecretID != "" && d.Stage.WABASecretPrefix != "" {
		// Offboarding clean-up: revoke the credit line (system token) and delete the WABA's secret.
		if svc, err := d.Steps(); err == nil {
			opts.Offboarder = svc
		} else {
			d.Logger.Error("offboarding clean-up disabled: the Graph client could not be built", "error", err.Error())
		}
	}
	return opts
}

// isTaskGone recognises Step Functions' answer for a task token that is no longer waiting.
func isTaskGone(err error) bool { return errors.Is(err, stepfunctions.ErrTaskGone) }

// Signup returns the signup application service.
func (d *Deps) Signup() (*signup.Service, error) {
	g, err := d.Graph()
	if err != nil {
		return nil, err
	}
	store := d.Store()
	opts := d.signupOptions()
	opts.PhoneGraph, opts.Waits = g, store // the phone verification routes: request_code, verify_code, the wait
	return signup.New(store, d.Vault(), g, d.Workflow(), opts), nil
}

func (d *Deps) signupOptions() signup.Options {
	return signup.Options{
		Config: signup.Config{DefaultCurrency: d.Stage.DefaultCurrency, InboundTimeout: d.Stage.InboundTimeout, StatusTimeout: d.Stage.StatusTimeout,
			PhoneVerificationTimeout: d.Stage.PhoneVerificationTimeout},
		Publisher: d.Publisher(), Logger: d.Logger, IsTaskGone: isTaskGone,
	}
}

// TokenHealth returns the token health check of the stage: the table (WABA listing, records, publish
// claims), the vault, the Graph client and the event bus.
func (d *Deps) TokenHealth() (*tokenhealth.Checker, error) {
	g, err := d.Graph()
	if err != nil {
		return nil, err
	}
	store := d.Store()
	return tokenhealth.New(store, store, d.Vault(), g, d.Publisher(), d.Logger, nil, tokenhealth.Config{}), nil
}

// Handler wraps a Lambda handler so that its context carries the Lambda request id for the logs and every
// AWS call made under it is bounded by the invocation's deadline.
func Handler[In, Out any](fn func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			ctx = logging.WithRequestID(ctx, lc.AwsRequestID)
		}
		return fn(ctx, in)
	}
}
