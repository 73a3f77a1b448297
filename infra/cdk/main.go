// Command cdk is the CDK app of the onboarding bundle: one stack per stage, the stage chosen with
// `-c stage=dev|staging|prod` (default dev) and configured by the "stages" object of cdk.json's context.
// `make synth|diff|deploy STAGE=...` run it through the pinned CDK CLI.
//
// Account and region come from CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION (set by the CLI from the
// credentials); without them the stack is environment-agnostic, so `cdk synth` works offline. The app makes
// no lookups.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/waes/onboarding/infra/cdk/stack"
	"github.com/waes/onboarding/shared/catalog"
)

// buildDir is where `make build` writes each function's bootstrap, relative to the repository root (the
// CLI runs the app from there, per cdk.json).
const buildDir = "build"

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cdk app:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)

	stageName := "dev"
	if v, ok := app.Node().TryGetContext(jsii.String("stage")).(string); ok && v != "" {
		stageName = v
	}
	stages, err := stack.DecodeStages(app.Node().TryGetContext(jsii.String("stages")))
	if err != nil {
		return err
	}
	stage, err := stack.SelectStage(stages, stageName)
	if err != nil {
		return err
	}
	assetDir := func(name string) string { return filepath.Join(buildDir, name) }
	for _, f := range catalog.Functions {
		if _, err := os.Stat(filepath.Join(assetDir(f.Name), "bootstrap")); err != nil {
			return fmt.Errorf("function %s: %w (run `make build`, or use `make synth`, which builds first)", f.Name, err)
		}
	}

	stack.NewOnboardingStack(app, stack.StackName(stage.Name), &stack.OnboardingStackProps{
		StackProps: awscdk.StackProps{Env: env()},
		Stage:      stage,
		AssetDir:   assetDir,
	})
	stack.ApplyChecks(app)
	app.Synth(nil)
	return nil
}

// env pins the stack to the CLI's account and region when it knows them; otherwise the stack stays
// environment-agnostic (offline synth).
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
