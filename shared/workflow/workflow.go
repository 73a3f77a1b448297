// Package workflow holds the one definition of the onboarding workflow: an Amazon States Language document
// whose Lambda function ARNs are ${...} placeholders. The CDK stack deploys it to AWS Step Functions with
// definition substitutions; the local runner substitutes local function names and interprets it. Nothing
// else encodes the order of the steps.
package workflow

import (
	_ "embed"

	"github.com/waes/onboarding/shared/catalog"
)

// Definition is the state machine definition, with ${...} placeholders (catalog.Function.Placeholder).
//
//go:embed definition.asl.json
var Definition []byte

// Substitutions returns the definition substitutions mapping each placeholder of the catalog to arn(name).
func Substitutions(arn func(name string) string) map[string]string {
	fns := catalog.Workflow()
	m := make(map[string]string, len(fns))
	for _, f := range fns {
		m[f.Placeholder] = arn(f.Name)
	}
	return m
}
